"""The training run: prepare the data, build or resume, then for each epoch plan -> train -> validate -> record.

Every epoch appends a line to ``OUT/metrics.csv``, rewrites ``OUT/run.json``, ``OUT/val_predictions.csv`` and
``OUT/last.pt``, and ``OUT/best.pt`` when the validation video-level AUC improves (then log loss). A resumed run gives
the same result as an uninterrupted one: every epoch's random choices derive from ``(seed, epoch)``
(:func:`dfdetect.data.epoch_plan`) and torch's global RNG, used by dropout, is saved and restored.

Example:
    >>> selection_key({"auc": 0.9, "log_loss": 0.3}) > selection_key({"auc": 0.9, "log_loss": 0.4})
    True
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from dfdetect.clips.audio import SourceAudio, source_audios
from dfdetect.core.checkpoint import config_from_checkpoint, load_checkpoint, save_checkpoint, unwrap_model
from dfdetect.core.config import Config, config_from_dict, save_config, validate_config
from dfdetect.core.io import InputError, write_csv, write_json
from dfdetect.core.metrics import compute_metrics
from dfdetect.core.runtime import set_cpu_threads, timed
from dfdetect.core.schemas import SETTINGS_FILE, TRAIN_METRICS_COLUMNS, VAL_PREDICTION_COLUMNS, RunStatus
from dfdetect.data import (
    ClipDataset,
    ClipSpec,
    DataSplit,
    VideoCrops,
    build_clip_augmentation,
    check_frame_methods,
    draws_labelled_fakes,
    epoch_plan,
    prepare_data,
    rank_batches,
    render_clips,
    training_clips,
    val_plan,
    video_scores,
)
from dfdetect.training.build import (
    BEST_CHECKPOINT,
    LAST_CHECKPOINT,
    TrainingState,
    build_training,
    resume_checkpoint,
    training_extras,
)
from dfdetect.training.calibration import fit_temperature
from dfdetect.training.distributed import (
    DistContext,
    barrier,
    epoch_seed,
    gather_by_index,
    init_distributed,
    shutdown,
    sum_over_ranks,
    wrap_model,
)
from dfdetect.training.inputs import from_images, training_inputs
from dfdetect.training.landmarks import (
    SCALE_WINDOWS,
    StoredClips,
    at_most,
    clips_features,
    fit_head,
    landmark_training_set,
    stream_specs,
    time_only_methods,
)
from dfdetect.training.step import predict_clips, predict_logits, refresh_batchnorm, train_step
from face_crop.mesh import LandmarkModelError, load_landmarker
from models.build import load_model, model_complexity
from models.classifier import calibrated

log = logging.getLogger(__name__)

AUGMENTATIONS_FILE = "augmentations.png"
"""``--show-augmentations``: the picture of the first clips the run trains on."""


class NothingToTrainError(RuntimeError):
    """Well-formed input that leaves nothing to train on (e.g. every video unlabelled): exit 1."""


def adopt_preprocessing(cfg: Config, data: str | Path) -> Config:
    """Take the crop contract (:class:`~dfdetect.core.config.CropConfig`: margin, min-faces and min-face-size rules,
    every face-detector setting) and the frame sampling from the settings the training crops were made with.

    ``python -m face_crop`` writes :data:`~dfdetect.core.schemas.SETTINGS_FILE` beside ``crops.csv`` (with
    frame_extraction's sampling settings inside). They win over the config, so the checkpoint records how its
    training data was made and inference detects, crops and samples the same way (a ``--max-side 640`` at crop time
    is the detector scoring uses). Missing settings (a manifest made by other tools, or an older face_crop) keep the
    config's values.

    Args:
        cfg: the resolved config (left unchanged).
        data: the training crops manifest.

    Returns:
        A copy of ``cfg`` with ``data.margin``, ``data.min_faces``, ``data.min_face_size``, ``data.box_smoothing``
        (0 where the settings predate it), ``data.detector``,
        ``data.sample_frames`` and ``data.stride`` (this one only for random sampling) as the crops were made.

    Raises:
        InputError: a settings file without the expected entries.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> _ = (root / SETTINGS_FILE).write_text(json.dumps(
        ...     {"margin": 0.4, "min_faces": 5, "size": 224, "frames": {"n": 12, "stride": 3, "mode": "random"}}))
        >>> cfg = adopt_preprocessing(Config(), root / "crops.csv")
        >>> cfg.data.margin, cfg.data.min_faces, cfg.data.sample_frames, cfg.data.stride
        (0.4, 5, 12, 3)
    """
    cfg = copy.deepcopy(cfg)  # a new config: the caller's is left as it was
    path = Path(data).parent / SETTINGS_FILE
    if not path.is_file():
        log.warning("no %s: assuming the crops were made with data.margin=%s, data.sample_frames=%s, data.stride=%s",
                    path, cfg.data.margin, cfg.data.sample_frames, cfg.data.stride)
        return cfg
    try:
        crops = json.loads(path.read_text())
        found = {"margin": float(crops["margin"]), "min_faces": int(crops["min_faces"])}
        if "min_face_size" in crops:  # the smallest face they judged
            found["min_face_size"] = int(crops["min_face_size"])
        # crops made before boxes were smoothed along the track were cut from each frame's own box
        found["box_smoothing"] = float(crops.get("box_smoothing", 0.0))
        if isinstance(crops.get("detector"), dict):  # the detector that found the faces, whole
            found["detector"] = config_from_dict({"data": {"detector": crops["detector"]}}).data.detector
        frames = crops.get("frames") or {}
        if frames:
            found["sample_frames"] = int(frames["n"])
            if frames.get("mode", "random") == "random":
                found["stride"] = int(frames["stride"])
            else:
                log.warning("training frames were sampled with --mode %s; evaluation samples windows at stride %d",
                            frames.get("mode"), cfg.data.stride)
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path}: unreadable preprocessing settings ({e})") from None
    for key, value in found.items():
        if getattr(cfg.data, key) != value:
            log.info("data.%s = %s, as the training crops were made (%s; the config said %s)", key, value, path,
                     getattr(cfg.data, key))
            setattr(cfg.data, key, value)
    if int(crops.get("size", cfg.data.size)) != cfg.data.size:
        log.info("crops are %s px and the model takes %d px: training resizes them; inference crops at %d px directly",
                 crops.get("size"), cfg.data.size, cfg.data.size)
    return cfg


def _worker_init(_: int) -> None:
    cv2.setNumThreads(1)  # one core per worker; torch already sets 1 thread in workers


def _loader(ds: ClipDataset, batch_size: int, workers: int, device: torch.device,
            batches: list[list[int]] | None = None) -> DataLoader:
    """The DataLoader of an epoch or of validation: the plan's order, never shuffled by the loader; ``batches``: the
    clip positions of each batch (a rank's parts of the global batches, :func:`dfdetect.data.rank_batches`)."""
    kwargs: dict[str, Any] = {"batch_sampler": batches} if batches is not None else {"batch_size": batch_size}
    return DataLoader(
        ds,
        shuffle=False,  # the order is part of the epoch plan (seeded), never the loader's
        num_workers=workers,
        pin_memory=device.type == "cuda",
        worker_init_fn=_worker_init,
        **kwargs,
    )


def _normalization(model: nn.Module) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The backbone's input normalisation (``unwrap_model`` sees through compile/DataParallel wrappers)."""
    m = unwrap_model(model)
    return tuple(m.mean), tuple(m.std)


def _dataset(
    videos: list[VideoCrops], specs: list[ClipSpec], model: nn.Module, cfg: Config, augment: Any,
    audio: dict[str, SourceAudio] | None = None,
) -> ClipDataset:
    """The dataset of a plan, normalised for ``model``'s backbone (with each clip's sound for ``audio``/``av``; with
    the localisation targets in training when the model has its heads and a weight is on)."""
    mean, std = _normalization(model)
    return ClipDataset(videos, specs, cfg.data.size, mean, std, augment=augment, margin=cfg.data.margin,
                       audio=audio, data=cfg.data, aux_targets=augment is not None and _dense(model, cfg))


def _dense(model: nn.Module, cfg: Config) -> bool:
    """The model has the localisation heads (``model.aux_heads``) and a localisation weight is positive."""
    return getattr(unwrap_model(model), "mask_head", None) is not None and max(
        cfg.train.mask_weight, cfg.train.frame_weight) > 0


def selection_key(metrics: dict[str, float]) -> tuple[float, float]:
    """Model selection order: higher AUC, then lower log loss; NaN ranks below any number.

    Args:
        metrics: with ``auc`` and ``log_loss`` (missing or NaN: worst).

    Returns:
        A key where larger is better.

    Example:
        >>> selection_key({"auc": 0.8, "log_loss": 0.5}), selection_key({"auc": float("nan")})
        ((0.8, -0.5), (-inf, -inf))
    """
    auc, ll = metrics.get("auc", math.nan), metrics.get("log_loss", math.nan)
    return (-math.inf if not np.isfinite(auc) else float(auc), -math.inf if not np.isfinite(ll) else -float(ll))


def validate(
    model: nn.Module,
    videos: list[VideoCrops],
    cfg: Config,
    device: torch.device,
    amp_dtype: torch.dtype | None = None,
    ctx: DistContext = DistContext(),
    audio: dict[str, SourceAudio] | None = None,
) -> tuple[dict[str, float], np.ndarray]:
    """Video-level validation: mean of sigmoid(logit) over the fixed clip windows, then compute_metrics.

    Under torchrun every rank scores every ``world``-th clip and the scores are gathered: each rank returns the same.

    Args:
        model: the network (put in eval mode).
        videos: labelled validation videos.
        cfg: ``data.frames``, ``data.size``, ``data.margin``, ``train.val_clips``, ``train.batch_size``,
            ``data.workers``.
        device: where the model is.
        amp_dtype: the autocast dtype, ``None`` for fp32.
        ctx: the process's place among the torchrun processes (one process by default).
        audio: each video's sound, for an ``audio``/``av`` model (:func:`dfdetect.clips.audio.source_audios`).

    Returns:
        The metrics (``auc``, ``log_loss``, ``accuracy`` NaN without validation videos) and the scores, float64
        ``(len(videos),)``.

    Example:
        >>> metrics, scores = validate(nn.Identity(), [], Config(), torch.device("cpu"))
        >>> metrics, scores.shape
        ({'auc': nan, 'log_loss': nan, 'accuracy': nan}, (0,))
    """
    if not videos:
        return {"auc": math.nan, "log_loss": math.nan, "accuracy": math.nan}, np.zeros(0)
    specs = val_plan(videos, cfg.data.frames, cfg.train.val_clips)
    mine = list(range(ctx.rank, len(specs), ctx.world))  # every clip for one process
    ds = _dataset(videos, [specs[i] for i in mine], model, cfg, augment=None, audio=audio)
    clip_scores = predict_clips(model, _loader(ds, cfg.train.batch_size, cfg.data.workers, device), device, amp_dtype)
    if ctx.enabled:
        clip_scores = gather_by_index(len(specs), mine, clip_scores, ctx)  # (n_clips,) on every rank
    scores = video_scores(specs, clip_scores, len(videos))  # (V,)
    metrics = compute_metrics([v.label for v in videos], scores)
    return metrics, scores


def train_epoch(state: TrainingState, ds: ClipDataset, cfg: Config, device: torch.device, desc: str,
                ctx: DistContext = DistContext()) -> float:
    """One pass over an epoch's clips with :func:`~dfdetect.training.step.train_step`, then the schedule's step.

    Under torchrun each rank trains its part of every global batch of ``train.batch_size`` clips
    (:func:`dfdetect.data.rank_batches`), weighted so that DDP's gradient is the global batch's.

    Args:
        state: the model, optimiser, scheduler, scaler, loss and precision (updated in place).
        ds: the epoch's clips (:func:`dfdetect.data.epoch_plan` order).
        cfg: ``train.batch_size`` and ``data.workers``.
        device: where the model is.
        desc: the progress bar's label.
        ctx: the process's place among the torchrun processes (one process by default).

    Returns:
        The mean training loss over the epoch's clips (over every rank's).
    """
    state.model.train()
    loss_sum, n_seen = 0.0, 0
    parts = rank_batches(len(ds), cfg.train.batch_size, ctx.rank, ctx.world) if ctx.enabled else None
    loader = _loader(ds, cfg.train.batch_size, cfg.data.workers, device,
                     batches=[p for p, _ in parts] if parts is not None else None)
    bar = tqdm(loader, desc=desc, unit="batch", leave=False, dynamic_ncols=True, disable=not ctx.main)
    for step, batch in enumerate(bar):
        weight = parts[step][1] if parts is not None else 1.0
        loss = train_step(state.model, batch, state.optimizer, state.scaler, state.criterion, device, state.amp_dtype,
                          loss_weight=weight, aux_weights=(cfg.train.mask_weight, cfg.train.frame_weight))
        n = len(batch["label"]) if weight > 0 else 0  # a weight-0 filler clip is no training clip
        loss_sum += float(loss) * n
        n_seen += n
        bar.set_postfix(loss=f"{loss_sum / max(n_seen, 1):.4f}")
    bar.close()
    # The audio branch's BatchNorm statistics from this epoch's clips as scoring hears them (no jitter), with the
    # final weights: the same on every rank (every rank sees the whole plan).
    refresh_batchnorm(unwrap_model(state.model), ds.scoring_mels(), device)
    if state.scheduler is not None:
        state.scheduler.step()
    loss_sum, n_seen = sum_over_ranks([loss_sum, n_seen], ctx)
    return loss_sum / max(n_seen, 1)


def _csv_value(v: Any) -> Any:
    """A ``metrics.csv`` cell: floats to 6 decimals, NaN as an empty cell."""
    return "" if isinstance(v, float) and math.isnan(v) else (round(v, 6) if isinstance(v, float) else v)


def _epoch_row(
    epoch: int, train_loss: float, metrics: dict[str, float], seconds: float, counts: dict[str, int], lr: float
) -> dict[str, Any]:
    """The ``metrics.csv`` line of an epoch (from 1), columns :data:`~dfdetect.core.schemas.TRAIN_METRICS_COLUMNS`."""
    row = {
        "epoch": epoch,
        "train_loss": train_loss,
        "val_auc": metrics["auc"],
        "val_log_loss": metrics["log_loss"],
        "val_accuracy": metrics["accuracy"],
        "seconds": seconds,
        "n_train_real": counts["n_real"],
        "n_train_fake": counts["n_fake"],
        "n_train_synth": counts["n_synth"],
        "lr": lr,
    }
    return {k: float(v) if isinstance(v, float) else v for k, v in row.items()}


def _add_epoch(state: TrainingState, row: dict[str, Any], metrics: dict[str, float], has_val: bool) -> bool:
    """Append the epoch's row to the history; True when it is the best so far (always, without validation)."""
    state.history.append(row)
    key = selection_key(metrics)
    improved = state.best_key is None or key > state.best_key or not has_val
    if improved:
        state.best_key, state.best_epoch = key, row["epoch"]
    return improved


@dataclass
class RunFolder:
    """Where a run writes, and what ``run.json`` says about it.

    Attributes:
        out: the run folder.
        cfg: the resolved config.
        split: the training and validation videos.
        device: the training device.
        threads: torch's CPU thread count.
        inputs: ``data``, ``val``, ``labels`` and ``split_file`` as given, ``data_crops``/``val_crops`` the manifests
            read (a folder of images' crops in the run folder), as absolute paths (``None`` when not given).
    """

    out: Path
    cfg: Config
    split: DataSplit
    device: torch.device
    threads: int
    inputs: dict[str, str | None]

    calibration: dict[str, Any] | None = None
    landmarks: dict[str, Any] | None = None
    model_size: dict[str, Any] | None = None
    writes: bool = True  # False on the ranks > 0 of a torchrun job: rank 0 alone writes the run folder

    def summary(self, state: TrainingState, status: str) -> dict[str, Any]:
        """The content of ``run.json``: status, inputs, split, balance, per-epoch counts, the best epoch and its
        calibration."""
        history = state.history
        return {
            "calibration": self.calibration,
            "landmarks": self.landmarks,
            "status": status,
            "model_size": self.model_size,
            **self.inputs,
            "epochs_done": len(history),
            "epochs": self.cfg.train.epochs,
            "best_epoch": state.best_epoch,
            "best": next((h for h in history if h["epoch"] == state.best_epoch), None),
            "device": str(self.device),
            "torch_threads": self.threads,
            "split": self.split.source,
            "train_videos": [v.video for v in self.split.train],
            "val_videos": [v.video for v in self.split.val],
            "skipped": self.split.skipped,
            "balance": self.cfg.data.balance,
            "synth_fakes": self.cfg.train.synth_fakes,
            "synth_methods": self.cfg.train.synth_methods,
            "per_epoch_counts": [
                {k: h[k] for k in ("epoch", "n_train_real", "n_train_fake", "n_train_synth")} for h in history
            ],
        }

    def write_summary(self, state: TrainingState, status: str) -> dict[str, Any]:
        """Write ``run.json`` (NaN as null) and return its content."""
        summary = self.summary(state, status)
        if self.writes:
            write_json(self.out / "run.json", summary)
        return summary

    def record(
        self, state: TrainingState, epoch: int, metrics: dict[str, float], scores: np.ndarray, improved: bool
    ) -> None:
        """After epoch ``epoch`` (from 1): ``metrics.csv``, ``val_predictions.csv``, ``best.pt`` when ``improved``,
        ``last.pt`` and ``run.json``, in that order (``last.pt`` after everything it vouches for); nothing on a
        rank that does not write."""
        if not self.writes:
            return
        write_csv(self.out / "metrics.csv", [{k: _csv_value(v) for k, v in h.items()} for h in state.history],
                  TRAIN_METRICS_COLUMNS)
        if self.split.val:
            name_col, label_col, score_col = VAL_PREDICTION_COLUMNS
            rows = [{name_col: v.video, label_col: v.label, score_col: f"{s:.6f}"}
                    for v, s in zip(self.split.val, scores)]
            write_csv(self.out / "val_predictions.csv", rows, VAL_PREDICTION_COLUMNS)
        val_metrics = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        if improved:
            save_checkpoint(self.out / BEST_CHECKPOINT, state.model, self.cfg, epoch=epoch, metrics=val_metrics)
        save_checkpoint(self.out / LAST_CHECKPOINT, state.model, self.cfg, epoch=epoch, metrics=val_metrics,
                        **training_extras(state, self.device))
        self.write_summary(state, status=RunStatus.RUNNING)


def _log_data(split: DataSplit, cfg: Config, data: str | Path) -> None:
    """Say what the run trains on; a run with no labelled training video is a :class:`NothingToTrainError`."""
    if not split.train:
        raise NothingToTrainError(f"no labelled training videos in {data} ({split.source})")
    n_real = sum(v.label == 0 for v in split.train)
    log.info(
        "data: %d train videos (%d real, %d fake), %d val videos; %s; balance=%s synth_fakes=%.2f",
        len(split.train), n_real, len(split.train) - n_real, len(split.val), split.source,
        cfg.data.balance, cfg.train.synth_fakes,
    )
    if not split.val:
        log.warning("no validation videos: best.pt follows last.pt")
    if not draws_labelled_fakes(cfg.data.balance, cfg.train.synth_fakes) and n_real < len(split.train):
        log.warning("synth_fakes = 1 with balance = undersample: every real clip has a blended twin, so the %d "
                    "labelled fake video(s) are never drawn; lower synth_fakes or use balance none to train on them",
                    len(split.train) - n_real)


def _training_audio(cfg: Config, split: DataSplit, videos: str | Path | None) -> dict[str, SourceAudio] | None:
    """The sound of every training and validation video for an ``audio``/``av`` model (None for ``video``); an
    ``audio`` model leaves out the videos without sound (logged with the reason, and kept in ``split.skipped``).

    Raises:
        InputError: ``audio``/``av`` without ``videos``, or an ``audio`` model with visual twins (``synth_fakes``).
    """
    modalities = cfg.model.modalities
    if modalities == "video":
        return None
    if videos is None:
        raise InputError(f"model.modalities {modalities} needs --videos DIR: the videos the crops were cut from "
                         "(the crops manifest holds pictures only; the sound is read from the source files)")
    if modalities == "audio" and cfg.train.synth_fakes > 0:
        raise InputError("model.modalities audio: the twins of train.synth_fakes are visual fakes with their real "
                         "sound; set train.synth_fakes 0 (--synth-fakes 0)")
    audio = source_audios([v.video for v in split.train + split.val], videos, cfg.data)
    if modalities == "audio":
        for part in (split.train, split.val):
            kept = [v for v in part if audio[v.video].audio is not None]
            for v in part:
                if audio[v.video].audio is None:
                    log.warning("%s left out of the audio model: %s", v.video, audio[v.video].reason)
                    split.skipped[v.video] = f"no sound for the audio model: {audio[v.video].reason}"
            part[:] = kept
    return audio


def train(
    cfg: Config,
    data: str | Path,
    out: str | Path,
    val: str | Path | None = None,
    split: str | Path | None = None,
    resume: bool = False,
    show_augmentations: int = 0,
    stop_after: int | None = None,
    labels: str | Path | None = None,
    videos: str | Path | None = None,
) -> dict[str, Any]:
    """Train a clip model (or a frame model) on a face-crop manifest or a folder of images and write the run folder.

    Run folder: ``config.yaml`` (resolved config), ``metrics.csv`` (a line per epoch), ``run.json`` (split, balance
    and counts per epoch, best epoch), ``last.pt`` (resumable), ``best.pt`` (best validation AUC, then log loss),
    ``val_predictions.csv`` (the latest epoch's video scores), ``augmentations.png`` (``show_augmentations``);
    ``crops/`` (and ``val_crops/``) when ``data`` (``val``) is a folder of images
    (:func:`dfdetect.training.inputs.training_inputs`).

    Args:
        cfg: the resolved config.
        data: training crops manifest (or its folder), or a folder of images (with ``labels``).
        out: run folder (must not hold a run unless ``resume``).
        val: separate validation crops manifest, or a folder of images.
        split: split file ``video_name,split`` applied to ``data``.
        resume: continue from ``out/last.pt`` (a fresh start when there is none).
        show_augmentations: write this many augmented clips to ``out/augmentations.png`` before training.
        stop_after: stop after this many epochs in this call (a time-boxed job; continue later with ``resume``).
        labels: ``img_name,target`` labels of a folder of images.
        videos: the folder of the videos the crops were cut from (``model.modalities: audio | av``): a video's sound
            is ``videos/<video>`` (the manifest's name is the source file's name), its clips' windows from the crops'
            frame numbers and the file's timestamps (:func:`dfdetect.clips.audio.source_audios`).

    Returns:
        The run summary also written to ``run.json`` (status ``done``, or ``stopped`` after ``stop_after``).

    Raises:
        InputError: bad data/config, an existing run without ``resume``, a config that differs from the run
            being resumed, images with a video model, or a generator a frame model cannot use.
        NothingToTrainError: no labelled training video.
        models.WeightsUnavailableError: pretrained backbone weights that cannot be had.
    """
    validate_config(cfg)
    out = Path(out)
    if not resume:
        resume_checkpoint(out, cfg, resume)  # an existing run is an error before any image is cropped
    ctx, device = init_distributed(cfg.train.device)
    given = {"data": data, "val": val, "labels": labels}
    if not ctx.main:
        barrier(ctx)  # rank 0 crops a folder of images first; the others then read its finished crops
    data, val = training_inputs(cfg, data, val, labels, out)
    if ctx.main:
        barrier(ctx)
    cfg = adopt_preprocessing(cfg, data)
    images = from_images(data)
    if images and cfg.model.kind != "frame":
        raise InputError(f"{data}: the training data are single images; they train a frame model (--kind frame, "
                         "model.kind: frame)")
    if cfg.model.kind == "frame" and cfg.train.synth_fakes > 0:
        check_frame_methods(cfg.train.synth_methods, single_images=images)
    ckpt = resume_checkpoint(out, cfg, resume)
    threads = (set_cpu_threads(cfg.data.workers, ctx.local_world) if device.type == "cpu"
               else torch.get_num_threads())
    ds_split = prepare_data(data, val=val, split=split, seed=cfg.train.seed)
    audio = _training_audio(cfg, ds_split, videos)
    _log_data(ds_split, cfg, data)

    state = build_training(cfg, device, ckpt)
    if ckpt is not None:
        log.info("resumed %s at epoch %d/%d", out, state.start_epoch, cfg.train.epochs)
    size = model_complexity(state.model, cfg.data.frames, cfg.data.size)
    log.info("%s model: %s parameters (thop %s), %.3f GMACs per input %s (thop)", cfg.model.kind,
             f"{size.params:,}", f"{size.thop_params:,}", size.macs / 1e9, "x".join(map(str, size.input_shape)))
    del ckpt
    state.model = wrap_model(state.model, ctx, device)  # DDP under torchrun
    if ctx.main:
        out.mkdir(parents=True, exist_ok=True)
        save_config(cfg, out / "config.yaml")
    inputs = {k: (str(Path(v).resolve()) if v is not None else None) for k, v in
              {**given, "split_file": split, "data_crops": data, "val_crops": val, "videos": videos}.items()}
    run = RunFolder(out, cfg, ds_split, device, threads, inputs, writes=ctx.main)
    run.model_size = {"kind": cfg.model.kind, "params": size.params, "thop_params": size.thop_params,
                      "macs": size.macs, "input_shape": list(size.input_shape)}

    augment = build_clip_augmentation(cfg.data.size) if cfg.data.augment else None
    if show_augmentations > 0 and ctx.main:
        specs = training_clips(ds_split.train, cfg, show_augmentations, first_epoch=state.start_epoch)
        render_clips(_dataset(ds_split.train, specs, state.model, cfg, augment, audio), range(len(specs)),
                     out / AUGMENTATIONS_FILE)
        log.info("wrote %s", out / AUGMENTATIONS_FILE)

    end_epoch = cfg.train.epochs if stop_after is None else min(cfg.train.epochs, state.start_epoch + stop_after)
    for epoch in range(state.start_epoch, end_epoch):
        timings: dict[str, float] = {}
        epoch_seed(cfg.train.seed, epoch, ctx)
        with timed(timings, "epoch"):
            specs, counts = epoch_plan(
                ds_split.train, epoch, cfg.train.seed, cfg.data.frames, cfg.data.balance, cfg.train.synth_fakes,
                cfg.train.synth_methods,
            )
            lr = state.optimizer.param_groups[0]["lr"]
            train_loss = train_epoch(state, _dataset(ds_split.train, specs, state.model, cfg, augment, audio), cfg,
                                     device, desc=f"epoch {epoch + 1}/{cfg.train.epochs}", ctx=ctx)
            metrics, scores = validate(state.model, ds_split.val, cfg, device, state.amp_dtype, ctx=ctx, audio=audio)
        row = _epoch_row(epoch + 1, train_loss, metrics, timings["epoch"], counts, lr)
        improved = _add_epoch(state, row, metrics, has_val=bool(ds_split.val))
        log.info(
            "epoch %d/%d: loss %.4f, val AUC %.4f, log loss %.4f, acc %.3f, %.0f s, train %d real/%d fake (%d synth)%s",
            epoch + 1, cfg.train.epochs, train_loss, metrics["auc"], metrics["log_loss"], metrics["accuracy"],
            timings["epoch"], counts["n_real"], counts["n_fake"], counts["n_synth"], " *best*" if improved else "",
        )
        run.record(state, epoch + 1, metrics, scores, improved)

    done = len(state.history) >= cfg.train.epochs
    if done and state.history and ctx.main:  # --epochs 0 (the augmentation picture only) wrote no best.pt
        run.calibration = calibrate_best(out, cfg, ds_split.val, device, audio)
        run.landmarks = fit_landmarks_best(out, cfg, ds_split, device)
    summary = run.write_summary(state, status=RunStatus.DONE if done else RunStatus.STOPPED)
    shutdown(ctx)  # the other ranks wait for rank 0's last writes
    return summary


def calibrate_best(out: Path, cfg: Config, videos: list[VideoCrops], device: torch.device,
                   audio: dict[str, SourceAudio] | None = None) -> dict[str, Any] | None:
    """Fit temperature scaling (never sharper: ``T >= 1``) on ``best.pt``'s validation clip logits and write it into
    ``best.pt``'s config (``model.logit_scale = 1 / T``; :mod:`dfdetect.training.calibration` says why).

    Skipped (``None``, with the reason logged) when ``train.calibrate`` is off or when the validation videos lack a
    class; a ``best.pt`` calibrated already (a finished run resumed) is left untouched and its record returned.

    Args:
        out: the run folder (holds ``best.pt``).
        cfg: the run's config.
        videos: the labelled validation videos.
        device: where to run the model.
        audio: each video's sound, for an ``audio``/``av`` model.

    Returns:
        ``{"scale", "temperature", "val_log_loss_before", "val_log_loss_after", "n_clips"}`` (also in ``run.json``)
        or None.
    """
    if not cfg.train.calibrate:
        return None
    if {v.label for v in videos} != {0, 1}:
        log.info("calibration skipped: it needs real and fake validation videos")
        return None
    ckpt = load_checkpoint(out / BEST_CHECKPOINT)
    if isinstance(ckpt.get("calibration"), dict):  # a finished run resumed again: best.pt is left as it is
        log.info("best.pt is calibrated already (%s)", out / BEST_CHECKPOINT)
        return ckpt["calibration"]
    model, _ = load_model(out / BEST_CHECKPOINT, device)  # the checkpoint's own model, strictly, in eval mode
    specs = val_plan(videos, cfg.data.frames, cfg.train.val_clips)
    ds = _dataset(videos, specs, model, cfg, augment=None, audio=audio)
    # the trained model's own scale and bias (1 and 0 unless the config set them) stay under the temperature
    logits = cfg.model.logit_scale * predict_logits(model, _loader(ds, cfg.train.batch_size, cfg.data.workers, device),
                                                    device)
    labels = np.array([videos[s.video].label for s in specs])
    scale = fit_temperature(logits, labels)
    y = [v.label for v in videos]
    bias = cfg.model.logit_bias
    clip_logits = torch.from_numpy(logits)  # (N,)
    before, after = (compute_metrics(y, video_scores(specs, calibrated(clip_logits, s, bias).numpy(),
                                                     len(videos)))["log_loss"] for s in (1.0, scale))
    calibrated_model = dataclasses.replace(cfg.model, logit_scale=cfg.model.logit_scale * scale)
    calibrated_cfg = dataclasses.replace(cfg, model=calibrated_model)
    record = {"scale": calibrated_cfg.model.logit_scale, "temperature": 1 / scale, "val_log_loss_before": before,
              "val_log_loss_after": after, "n_clips": len(specs)}
    extra = {k: v for k, v in ckpt.items() if k not in ("model", "config")}
    save_checkpoint(out / BEST_CHECKPOINT, model, calibrated_cfg, **{**extra, "calibration": record})
    log.info("calibrated best.pt on %d validation clips: temperature %.3f (P(fake) = sigmoid(%.3f * logit)); "
             "validation log loss %.4f -> %.4f", len(specs), 1 / scale, calibrated_cfg.model.logit_scale, before,
             after)
    return record


def fit_landmarks_best(out: Path, cfg: Config, split: DataSplit, device: torch.device) -> dict[str, Any] | None:
    """Fit ``best.pt``'s landmark stream (``model.landmarks``; :mod:`dfdetect.training.landmarks`) and write it in.

    The fusion's scales come from the validation reals, or from the training reals when there is no real validation
    video (``scales_from`` in the record: the network's logits of videos it trained on are tighter than of unseen
    ones, so its cue then counts for more). Skipped (a record with the ``skipped`` reason, logged, the head left
    unfitted: scoring then uses the network alone) when the recipe has no time-only generator, the face mesh is not
    installed, or no clip has landmarks; ``None`` without ``model.landmarks``. A ``best.pt`` fitted already (a
    finished run resumed) is left untouched and its record returned.

    Args:
        out: the run folder (holds ``best.pt``).
        cfg: the run's config.
        split: the training videos (reals and their time-only fakes fit the classifier) and the validation videos
            (their reals fix the fusion's scales, else the training reals do).
        device: where to run the network for the validation logits.

    Returns:
        What was fitted (:func:`~dfdetect.training.landmarks.fit_head`'s record, with the generators), also in
        ``run.json`` and ``best.pt``, or ``{"skipped": reason}``, or None (a model without the stream:
        :attr:`~dfdetect.core.config.ModelConfig.landmark_stream`).
    """
    if not cfg.model.landmark_stream:
        return None
    ckpt = load_checkpoint(out / BEST_CHECKPOINT)
    if isinstance(ckpt.get("landmarks"), dict):  # a finished run resumed again: best.pt is left as it is
        return ckpt["landmarks"]
    methods = time_only_methods(cfg.train.synth_methods) if cfg.train.synth_fakes > 0 else ()
    # the fusion's scales: the validation reals (unseen, as the videos to score), else the training reals
    scale_from = "validation" if any(v.label == 0 for v in split.val) else "training"
    scale_reals = [v for v in (split.val if scale_from == "validation" else split.train) if v.label == 0]
    reason = "the recipe draws no time-only fake (train.synth_methods)" if not methods else ""
    landmarker = None
    if not reason:
        try:
            landmarker = load_landmarker()
        except LandmarkModelError as e:
            reason = str(e)
    record: dict[str, Any] = {"skipped": reason}
    if landmarker is not None:
        model, _ = load_model(out / BEST_CHECKPOINT, device)  # the checkpoint's own model (calibrated), eval mode
        stored = StoredClips(landmarker, cfg.data.size)  # each crop read and meshed once for both uses
        x, y = landmark_training_set(split.train, cfg.data.frames, cfg.train.val_clips, cfg.data.margin, methods,
                                     stored, seed=cfg.train.seed, stream_frames=cfg.model.landmark_frames)
        specs = at_most(val_plan(scale_reals, cfg.data.frames, max(cfg.train.val_clips, SCALE_WINDOWS)),
                        seed=cfg.train.seed)
        loader = _loader(_dataset(scale_reals, specs, model, cfg, augment=None), cfg.train.batch_size,
                         cfg.data.workers, device)
        logits = predict_logits(model, loader, device)  # (M,) raw
        # the network's logits of the T-frame clips, the stream's features of the crops around each (as at scoring)
        features = clips_features(scale_reals, stream_specs(scale_reals, specs, cfg.model.landmark_frames),
                                  stored)  # (M, F)
        try:
            record = {**fit_head(model.landmark_head, x, y, features, logits), "generators": list(methods),
                      "scales_from": scale_from, "landmark_frames": cfg.model.landmark_frames,
                      "landmark_unusual": cfg.model.landmark_unusual}
        except ValueError as e:
            record = {"skipped": str(e)}
        else:
            extra = {k: v for k, v in ckpt.items() if k not in ("model", "config")}
            save_checkpoint(out / BEST_CHECKPOINT, model, config_from_checkpoint(ckpt),
                            **{**extra, "landmarks": record})
    if record.get("skipped"):
        log.warning("landmark stream not fitted: %s; best.pt scores with the network alone", record["skipped"])
    else:
        log.info("landmark stream fitted into best.pt on %d real and %d fake training clips (%s; training AUC %.3f)",
                 record["n_train_real"], record["n_train_fake"], ", ".join(methods), record["train_auc"])
    return record
