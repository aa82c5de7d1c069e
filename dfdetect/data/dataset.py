"""The clip plan of an epoch and the dataset that executes it.

A *clip* is ``T = cfg.data.frames`` consecutive face crops of one video, in frame order, as a float tensor
``(T, C, H, W)`` normalised with the backbone's mean/std; the DataLoader batches clips to ``(B, T, C, H, W)``.

Determinism: every random choice of an epoch (which videos, which window, which clips become self-blended fakes, the
augmentation parameters) is drawn in the main process from a generator seeded with ``(seed, epoch)`` and written into
a list of :class:`ClipSpec`; the dataset only executes a spec. So the number of loader workers never changes the
result, and a resumed run replays exactly the epochs an uninterrupted run would have.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from dfdetect.core.io import save_image
    >>> root = Path(tempfile.mkdtemp())
    >>> paths = [root / f"{i}.png" for i in range(6)]
    >>> for i, p in enumerate(paths):
    ...     save_image(p, np.full((32, 32, 3), 40 * i, np.uint8))
    >>> def video(name, label):
    ...     return VideoCrops(name, label, list(range(6)), paths, np.zeros((6, 4), np.float32),
    ...                       np.full((6, 5, 2), np.nan, np.float32))
    >>> videos = [video("r.mp4", 0), video("f.mp4", 1)]
    >>> specs, counts = epoch_plan(videos, epoch=0, seed=0, t=4)
    >>> counts
    {'n_videos': 2, 'n_real': 1, 'n_fake': 1, 'n_synth': 0, 'n_synth_sbi': 0}
    >>> ds = ClipDataset(videos, specs, 32, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    >>> ds[0]["clip"].shape
    torch.Size([4, 3, 32, 32])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from dfdetect.clips.audio import SourceAudio, clip_audio
from dfdetect.clips.transforms import to_tensor_clip
from dfdetect.clips.windows import clip_windows, random_window
from dfdetect.core.config import BALANCE_MODES, DataConfig, TrainConfig
from dfdetect.core.io import InputError
from dfdetect.data.augmentation import augment_clip
from dfdetect.data.av import batched_mels
from dfdetect.data.manifests import VideoCrops
from dfdetect.data.transforms import load_crop
from dfdetect.synth import GENERATORS, SINGLE_IMAGE_GENERATORS, Donors, clip_faces, draw_method, generate, parse_mix
from face_crop.crop import expand_box, points_to_region

# Frame size used by points_to_crop when the manifest has no width/height columns: only the left/top shift of the
# crop region is reproduced then (a region clamped at the right/bottom border maps slightly off).
_UNKNOWN_SIDE = 1_000_000
_DATA = DataConfig()  # THE defaults: balance mode, face margin
_TRAIN = TrainConfig()  # THE default share of self-blended twins


@dataclass(frozen=True)
class ClipSpec:
    """One clip to build. Plain values, so a plan is cheap to pickle to loader workers.

    Attributes:
        video: index into the videos list the plan was made for.
        window: ``T`` indices into that video's crops (:mod:`dfdetect.clips.windows`).
        synth: turn the clip into a self-made fake (labelled fake) before augmenting it.
        seed: seed of the clip's augmentation and blending.
        method: the fake generator of a synth clip (:data:`dfdetect.synth.GENERATORS`).
        donor: crop indices of the same video giving the donor faces (``selfswap``), one per window index; empty
            for the other generators.
    """

    video: int
    window: tuple[int, ...]
    synth: bool = False
    seed: int = 0
    method: str = "sbi"
    donor: tuple[int, ...] = ()


def check_frame_methods(synth_methods: str, single_images: bool) -> None:
    """Refuse a generator mix a frame model cannot be trained with, in one line.

    Args:
        synth_methods: ``train.synth_methods``.
        single_images: the training items are single images (no other moment to take a ``selfswap`` donor from);
            False for a frame model trained on videos' crops, where ``selfswap`` takes another frame as donor.

    Raises:
        InputError: ``temporal`` in the mix, or ``selfswap`` with single images.

    Example:
        >>> check_frame_methods("sbi:2,resample", single_images=True)
        >>> check_frame_methods("sbi,temporal", single_images=False)
        Traceback (most recent call last):
        ...
        dfdetect.core.io.InputError: train.synth_methods 'sbi,temporal': temporal needs several frames; a frame \
model's twins can be made by sbi, resample (and selfswap on videos' crops)
    """
    names = list(parse_mix(synth_methods))
    bad = [m for m in names if m not in SINGLE_IMAGE_GENERATORS and (single_images or m != "selfswap")]
    if bad:
        why = {"temporal": "temporal needs several frames", "selfswap": "selfswap needs another moment of the same "
               "video as donor, which a single image has not"}
        raise InputError(f"train.synth_methods {synth_methods!r}: {why.get(bad[0], bad[0] + ' is not for images')}; a "
                         f"frame model's twins can be made by {', '.join(SINGLE_IMAGE_GENERATORS)} (and selfswap on "
                         "videos' crops)")


def donor_window(n: int, window: Sequence[int], rng: np.random.Generator) -> tuple[int, ...]:
    """A window of the same length elsewhere in the video (another moment: another pose and expression).

    Windows not overlapping ``window`` are preferred; a video too short for one gives the farthest start; a video with
    fewer crops than ``t`` (its clip window padded by repeating the last crop) gives its crops in reverse order, padded
    the same way, so each frame's donor is another moment where one exists.

    Args:
        n: the video's crop count.
        window: the clip's consecutive crop indices.
        rng: the plan's generator.

    Returns:
        ``len(window)`` consecutive crop indices.

    Example:
        >>> donor_window(20, range(4), np.random.default_rng(0))
        (15, 16, 17, 18)
        >>> donor_window(5, range(4), np.random.default_rng(0))
        (1, 2, 3, 4)
        >>> donor_window(3, [0, 1, 2, 2, 2], np.random.default_rng(0))  # 3 crops, T = 5
        (2, 2, 2, 1, 0)
    """
    t, first = len(window), int(window[0])
    if n < t:
        return tuple(min(i, n - 1) for i in range(t))[::-1]  # never an index past the video's crops
    starts = np.arange(max(n - t + 1, 1))
    apart = starts[np.abs(starts - first) >= t]
    if len(apart):
        start = int(rng.choice(apart))
    else:
        start = int(starts[np.argmax(np.abs(starts - first))])
    return tuple(range(start, start + t))


def draws_labelled_fakes(balance: str, synth_fakes: float) -> bool:
    """Whether :func:`epoch_plan` ever trains on a labelled fake video: not when every real clip has a twin
    (``synth_fakes`` = 1) and ``"undersample"`` balances, since the twins alone then match the reals.

    Example:
        >>> draws_labelled_fakes("undersample", 1.0), draws_labelled_fakes("undersample", 0.5)
        (False, True)
    """
    return not (synth_fakes >= 1.0 and balance == "undersample")


def epoch_plan(
    videos: Sequence[VideoCrops],
    epoch: int,
    seed: int,
    t: int,
    balance: str = _DATA.balance,
    synth_fakes: float = _TRAIN.synth_fakes,
    synth_methods: str = _TRAIN.synth_methods,
) -> tuple[list[ClipSpec], dict[str, int]]:
    """All random choices of one training epoch, from a generator seeded with ``(seed, epoch)`` only.

    Self-blended fakes come as TWINS, as in the SBI recipe (real and blended images in equal numbers): each real video
    gets, with probability ``synth_fakes`` (exactly ``round(P * n_real)`` of them, stochastically rounded, so the ratio
    does not drift), an extra clip on the same window that is blended on the fly and labelled fake. The real clip stays.
    ``"undersample"`` then balances the labels as the model sees them (labelled fakes + twins against reals) without
    splitting a pair: it drops labelled fakes first when fakes are the majority, and reals without a twin when reals
    are. So ``P = 1`` trains on pure real/blend pairs (a user with only real videos), and ``P = 0.5`` with as many
    labelled fakes as reals gives half pairs, half labelled fakes. Every clip gets its own random window (a twin shares
    its real's) and augmentation seed. Each twin's generator is drawn from ``synth_methods`` (no draw for a single
    generator, so the default plan does not depend on it), with a donor window for ``selfswap``.

    Args:
        videos: labelled videos (filter out unknown labels first).
        epoch: the epoch, from 0.
        seed: the run's seed.
        t: timesteps per clip.
        balance: one of :data:`~dfdetect.core.config.BALANCE_MODES`.
        synth_fakes: probability P in [0, 1] that a real clip gets a blended twin.
        synth_methods: the generator mix (``train.synth_methods``: ``"sbi"``, ``"sbi:2,temporal:1"``...).

    Returns:
        The clip specs in training order and the counts ``{"n_videos", "n_real", "n_fake", "n_synth"}`` (labels as
        the model sees them: twins count as fakes; ``n_videos`` is the number of clips), plus ``n_synth_<name>`` per
        generator of the mix.

    Raises:
        ValueError: an unlabelled video, an unknown balance mode or a malformed generator mix.

    Example:
        >>> from pathlib import Path
        >>> one = VideoCrops("r.mp4", 0, list(range(8)), [Path("x.png")] * 8, np.zeros((8, 4)), np.zeros((8, 5, 2)))
        >>> specs, counts = epoch_plan([one], epoch=0, seed=0, t=4, synth_fakes=1.0)
        >>> counts, [s.synth for s in specs], specs[0].window == specs[1].window
        ({'n_videos': 2, 'n_real': 1, 'n_fake': 1, 'n_synth': 1, 'n_synth_sbi': 1}, [False, True], True)
    """
    if any(v.label is None for v in videos):
        raise ValueError("epoch_plan needs labelled videos")
    if balance not in BALANCE_MODES:
        raise ValueError(f"balance must be one of {BALANCE_MODES}, got {balance!r}")
    mix = parse_mix(synth_methods)
    rng = np.random.default_rng([int(seed), int(epoch)])
    y = np.asarray([v.label for v in videos], dtype=np.int64)  # (N,)
    idx = np.arange(len(y))
    reals, fakes = rng.permutation(idx[y == 0]), rng.permutation(idx[y == 1])
    expected = synth_fakes * len(reals)
    k = int(expected) + int(rng.random() < expected - int(expected))
    twinned, alone = reals[:k], reals[k:]  # reals is already a random permutation: a random subset gets twins
    if balance == "undersample" and len(reals) and (len(fakes) or k):
        if len(reals) > len(fakes) + k:
            alone = alone[: len(fakes)]  # too many reals: keep every pair, drop reals that have no twin
        else:
            fakes = fakes[: len(reals) - k]  # too many fakes: drop labelled fakes, never a twin
    has_twin = set(twinned.tolist())
    specs = []
    for i in np.concatenate([twinned, alone]).tolist():
        window = tuple(random_window(len(videos[i]), t, rng))
        specs.append(ClipSpec(video=i, window=window, synth=False, seed=int(rng.integers(0, 2**31 - 1))))
        if i in has_twin:
            method = draw_method(mix, rng)
            donor = donor_window(len(videos[i]), window, rng) if GENERATORS[method].needs_donors else ()
            specs.append(ClipSpec(video=i, window=window, synth=True, seed=int(rng.integers(0, 2**31 - 1)),
                                  method=method, donor=donor))
    for i in fakes.tolist():
        window = tuple(random_window(len(videos[i]), t, rng))
        specs.append(ClipSpec(video=i, window=window, synth=False, seed=int(rng.integers(0, 2**31 - 1))))
    specs = [specs[j] for j in rng.permutation(len(specs))]
    n_synth = sum(s.synth for s in specs)
    n_fake = sum(videos[s.video].label == 1 for s in specs) + n_synth
    counts = {"n_videos": len(specs), "n_real": len(specs) - n_fake, "n_fake": n_fake, "n_synth": n_synth}
    counts.update({f"n_synth_{m}": sum(s.synth and s.method == m for s in specs) for m in mix})
    return specs, counts


def rank_batches(n: int, batch_size: int, rank: int = 0, world: int = 1) -> list[tuple[list[int], float]]:
    """Rank ``rank``'s part of each GLOBAL batch of an epoch plan, and its loss weight (distributed training).

    The plan's clips ``0..n-1`` are cut into global batches of ``batch_size`` in plan order, as one process would
    batch them; each batch is cut into ``world`` contiguous parts (sizes differ by at most one). A rank's loss on its
    part, times ``weight = len(part) * world / len(batch)``, averaged by DDP over the ranks, is the mean loss of the
    whole global batch: the same gradient as one process. A rank whose part is empty (a last batch smaller than
    ``world``) gets the batch's first clip with weight 0, so every rank takes every step.

    Args:
        n: clips in the epoch plan.
        batch_size: the global batch (``train.batch_size``).
        rank: this process's rank.
        world: number of processes.

    Returns:
        One ``(clip positions, loss weight)`` per global batch.

    Example:
        >>> rank_batches(5, 4, rank=0, world=2), rank_batches(5, 4, rank=1, world=2)
        ([([0, 1], 1.0), ([4], 2.0)], [([2, 3], 1.0), ([4], 0.0)])
        >>> rank_batches(3, 2)
        [([0, 1], 1.0), ([2], 1.0)]
    """
    out = []
    for start in range(0, n, batch_size):
        batch = np.arange(start, min(start + batch_size, n))
        part = np.array_split(batch, world)[rank].tolist()
        out.append((part, len(part) * world / len(batch)) if part else ([int(batch[0])], 0.0))
    return out


def val_plan(videos: Sequence[VideoCrops], t: int, k: int) -> list[ClipSpec]:
    """The fixed validation clips: :func:`~dfdetect.clips.windows.clip_windows` of every video (no blending, no
    augmentation).

    Args:
        videos: the validation videos.
        t: timesteps per clip.
        k: windows per video (``train.val_clips``).

    Returns:
        The specs, video by video, windows in order (seed 0: nothing random).

    Example:
        >>> from pathlib import Path
        >>> one = VideoCrops("r.mp4", 0, list(range(6)), [Path("x.png")] * 6, np.zeros((6, 4)), np.zeros((6, 5, 2)))
        >>> [s.window for s in val_plan([one], t=4, k=2)]
        [(0, 1, 2, 3), (2, 3, 4, 5)]
    """
    return [ClipSpec(video=i, window=tuple(w)) for i, v in enumerate(videos) for w in clip_windows(len(v), t, k)]


def clip_geometry(
    video: VideoCrops, window: Sequence[int], margin: float, size: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Face boxes and landmarks of a clip in crop pixels (the inputs of the :mod:`dfdetect.synth` generators).

    The square each crop was cut from is the manifest's ``region`` where it has one (exact, also for an image used
    whole as a face crop); otherwise it is recomputed from the box and ``margin`` with the frame size of the optional
    ``width``/``height`` columns (without them the mapping assumes the crop region was not clamped at the right/bottom
    frame border).

    Args:
        video: the video's crops (boxes and landmarks in full-frame pixels).
        window: ``T`` crop indices.
        margin: the face margin the crops were cut with (``data.margin``).
        size: the crop side in pixels.

    Returns:
        boxes (T, 4) float32 and landmarks (T, 5, 2) float32, or ``None`` for landmarks when any is missing.

    Example:
        >>> from pathlib import Path
        >>> v = VideoCrops("a.mp4", 0, [0], [Path("x.png")], np.array([[100, 100, 200, 200]], np.float32),
        ...                np.full((1, 5, 2), np.nan, np.float32), width=640, height=360)
        >>> boxes, landmarks = clip_geometry(v, [0], margin=0.25, size=150)
        >>> boxes.round(1).tolist(), landmarks
        ([[25.0, 25.0, 125.0, 125.0]], None)
    """
    width = video.width or _UNKNOWN_SIDE
    height = video.height or _UNKNOWN_SIDE
    boxes, marks = [], []
    for i in window:
        box = video.boxes[i]  # (4,)
        region = video.regions[i] if video.regions is not None else None  # (4,) or None
        if region is None or not np.isfinite(region).all():
            region = np.asarray(expand_box(box, margin, width, height), np.float32)  # as crop_face cut it
        corners = points_to_region(box.reshape(2, 2), region, size)  # (2, 2) -> x1y1, x2y2
        boxes.append(corners.reshape(4))
        marks.append(points_to_region(video.landmarks[i], region, size))  # (5, 2)
    lms = np.stack(marks).astype(np.float32)  # (T, 5, 2)
    return np.stack(boxes).astype(np.float32), (None if np.isnan(lms).any() else lms)


class ClipDataset(Dataset):
    """Executes a list of :class:`ClipSpec`: loads the crops, blends (synth specs), augments, normalises.

    Each item is a dict: ``clip`` float32 (T, C, H, W), ``label`` float32 scalar (1 = fake), ``index`` (position in the
    spec list), ``video`` (index into ``videos``), ``synth`` (bool), ``method`` (the generator; "" for a clip as is).

    Args:
        videos: the videos the specs refer to.
        specs: the clips to build (:func:`epoch_plan` or :func:`val_plan`).
        size: crop side fed to the model (crops stored at another size are resized).
        mean: backbone normalisation mean.
        std: backbone normalisation std.
        augment: a clip augmentation (:func:`~dfdetect.data.augmentation.build_clip_augmentation`) or ``None``
            (validation).
        margin: the face margin the crops were cut with (maps boxes/landmarks into crops for blending).
        audio: for an ``audio``/``av`` model, each video's :class:`~dfdetect.clips.audio.SourceAudio` by name: items then
            also have ``mel`` (M, L) and ``has_audio`` (:func:`~dfdetect.clips.audio.clip_audio` of the clip's frames; a
            twin keeps its real's audio; with ``augment``, the leading-silence jitter). ``None``: pictures only.
        data: the audio window and log-mel settings (with ``audio``).
        aux_targets: items also carry the localisation targets of ``model.aux_heads``: ``mask`` float32
            (T, size/8, size/8), how much of each cell was replaced (the generator's blending mask, augmented with the
            clip, area-averaged; zeros for a real clip), ``frame_target`` float32 (T,) (1 where that frame was
            manipulated) and ``aux_known`` (a 0-d bool: False for a fake video from disk, whose manipulation is not
            known here; its targets are zeros and the loss leaves them out).
    """

    def __init__(
        self,
        videos: Sequence[VideoCrops],
        specs: Sequence[ClipSpec],
        size: int,
        mean: Sequence[float],
        std: Sequence[float],
        augment: Callable[..., dict] | None = None,
        margin: float = _DATA.margin,
        audio: dict[str, SourceAudio] | None = None,
        data: DataConfig = _DATA,
        aux_targets: bool = False,
    ) -> None:
        self.audio, self.data, self.aux_targets = audio, data, bool(aux_targets)
        self.videos = list(videos)
        self.specs = list(specs)
        self.size = int(size)
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.augment = augment
        self.margin = float(margin)

    def __len__(self) -> int:
        return len(self.specs)

    def load_clip(self, index: int) -> tuple[np.ndarray, int]:
        """The uint8 clip (T, H, W, 3) of spec ``index`` after blending and augmentation, and its label."""
        clip, label, _ = self.load_clip_and_masks(index)
        return clip, label

    def load_clip_and_masks(self, index: int) -> tuple[np.ndarray, int, np.ndarray | None]:
        """The uint8 clip (T, H, W, 3) of spec ``index`` after blending and augmentation, its label, and where it was
        changed: float32 (T, H, W) in [0, 1], augmented with the clip (zeros for a real clip; None for a fake from
        disk, whose manipulation is not known)."""
        spec = self.specs[index]
        video = self.videos[spec.video]
        clip = np.stack([load_crop(video.paths[i], self.size) for i in spec.window])  # (T, H, W, 3)
        label = int(video.label or 0)
        masks = np.zeros(clip.shape[:3], np.float32) if label == 0 else None  # (T, H, W)
        if spec.synth:
            boxes, landmarks = clip_geometry(video, spec.window, self.margin, self.size)  # (T, 4), (T, 5, 2) | None
            donors = None
            if spec.donor:
                d_boxes, d_landmarks = clip_geometry(video, spec.donor, self.margin, self.size)
                donors = Donors([load_crop(video.paths[i], self.size) for i in spec.donor],
                                clip_faces(d_boxes, d_landmarks))
            # A separate stream from the augmentation's: SeedSequence mixes the extra word into the state.
            rng = np.random.default_rng([spec.seed, 1])
            made = generate(spec.method, list(clip), clip_faces(boxes, landmarks), rng, donors)
            clip = np.stack(made.frames).astype(np.uint8, copy=False)  # (T, H, W, 3)
            masks = np.stack([np.zeros(clip.shape[1:3], np.float32) if m is None else m for m in made.masks])
            label = 1
        if self.augment is not None:
            # blending BEFORE augmentation, as for real fakes; the masks move with the pixels
            if self.aux_targets and masks is not None:
                clip, masks = augment_clip(self.augment, clip, spec.seed, masks)
            else:
                clip = augment_clip(self.augment, clip, spec.seed)
        return clip, label, masks

    def __getitem__(self, index: int) -> dict:
        clip, label, masks = self.load_clip_and_masks(index)
        spec = self.specs[index]
        item = {
            "clip": to_tensor_clip(clip, self.mean, self.std),  # (T, C, H, W)
            "label": torch.tensor(float(label)),
            "index": index,
            "video": spec.video,
            "synth": spec.synth,
            "method": spec.method if spec.synth else "",
        }
        if self.aux_targets:
            item.update(aux_targets(masks, clip.shape[0], self.size))
        if self.audio is not None:
            video = self.videos[spec.video]
            rng = np.random.default_rng([spec.seed, 2]) if self.augment is not None else None
            item["mel"], item["has_audio"] = clip_audio(self.audio.get(video.video), [video.frames[i] for i in
                                                                                      spec.window], self.data, rng)
        return item

    def scoring_mels(self, batch_size: int = 64) -> Iterator[torch.Tensor]:
        """Every clip's log-mel as scoring computes it (no leading-silence jitter), ``(B, M, L)`` batches; clips of a
        video without sound are left out; nothing without ``audio``."""
        if self.audio is None:
            return iter(())
        waves = (self.audio[self.videos[s.video].video].wave([self.videos[s.video].frames[i] for i in s.window],
                                                             self.data) for s in self.specs)
        return batched_mels((w for w in waves if w is not None), self.data, batch_size)


def aux_targets(masks: np.ndarray | None, frames: int, size: int) -> dict[str, torch.Tensor]:
    """The localisation targets of a clip (see :class:`ClipDataset`'s ``aux_targets``).

    Args:
        masks: float32 (T, H, W) in [0, 1], or None (not known).
        frames: T.
        size: the crop side H = W.

    Returns:
        ``mask`` (T, size/8, size/8) area-averaged, ``frame_target`` (T,) (1 where a frame's mask is above 0.01
        somewhere) and ``aux_known``.

    Example:
        >>> m = np.zeros((2, 16, 16), np.float32); m[1, :8, :8] = 1.0
        >>> t = aux_targets(m, 2, 16)
        >>> t["mask"].shape, t["mask"][1].tolist(), t["frame_target"].tolist(), bool(t["aux_known"])
        (torch.Size([2, 2, 2]), [[1.0, 0.0], [0.0, 0.0]], [0.0, 1.0], True)
    """
    side = max(1, size // 8)
    if masks is None:
        return {"mask": torch.zeros(frames, side, side), "frame_target": torch.zeros(frames),
                "aux_known": torch.tensor(False)}
    m = torch.from_numpy(np.ascontiguousarray(masks, np.float32)).unsqueeze(1)  # (T, 1, H, W)
    small = F.adaptive_avg_pool2d(m, side).squeeze(1)  # (T, side, side)
    return {"mask": small, "frame_target": (m.flatten(1).amax(dim=1) > 0.01).float(),
            "aux_known": torch.tensor(True)}


def video_scores(specs: Sequence[ClipSpec], clip_scores: Sequence[float], n_videos: int) -> np.ndarray:
    """Video-level score = mean of a video's clip scores (sigmoid of the logits); NaN for a video without clips.

    Args:
        specs: the clips, as scored.
        clip_scores: one score per spec, in [0, 1].
        n_videos: the number of videos the specs index.

    Returns:
        float64 ``(n_videos,)``.

    Example:
        >>> video_scores([ClipSpec(0, (0,)), ClipSpec(0, (1,)), ClipSpec(1, (0,))], [0.2, 0.4, 0.9], 3)
        array([0.3, 0.9, nan])
    """
    total = np.zeros(n_videos, np.float64)  # (n_videos,)
    count = np.zeros(n_videos, np.int64)  # (n_videos,)
    for spec, s in zip(specs, clip_scores):
        total[spec.video] += float(s)
        count[spec.video] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), math.nan)
