"""Training data: the face-crop manifest, splits by video, clip windows, clip augmentation and the clip dataset.

A *clip* is ``T = cfg.data.frames`` consecutive face crops of one video, in frame order, as a float tensor
``(T, C, H, W)`` normalised with the backbone's mean/std; the DataLoader batches clips to ``(B, T, C, H, W)``.

Determinism: every random choice of an epoch (which videos, which window, which clips become self-blended fakes, the
augmentation parameters) is drawn in the main process from a generator seeded with ``(seed, epoch)`` and written into
a list of :class:`ClipSpec`; the dataset only executes a spec. So the number of loader workers never changes the
result, and a resumed run replays exactly the epochs an uninterrupted run would have.

Example:
    >>> videos = read_crops_manifest("crops/crops.csv")  # doctest: +SKIP
    >>> specs, counts = epoch_plan(list(videos.values()), epoch=0, seed=0, t=10)  # doctest: +SKIP
    >>> ds = ClipDataset(list(videos.values()), specs, 224, mean, std, build_clip_augmentation())  # doctest: +SKIP
    >>> ds[0]["clip"].shape  # doctest: +SKIP
    torch.Size([10, 3, 224, 224])
"""

from __future__ import annotations

import csv
import hashlib
import logging
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from dfdetect.core.io import InputError, load_image, read_csv
from frame_extraction.sampling import evenly_spaced

log = logging.getLogger(__name__)

CROPS_COLUMNS = ("video", "label", "frame", "path", "x1", "y1", "x2", "y2", "prob", "landmarks")
SPLIT_HEADER = ("video_name", "split")
SPLITS = ("train", "val", "test")
BALANCE_MODES = ("undersample", "none")
# Frame size used by points_to_crop when the manifest has no width/height columns: only the left/top shift of the
# crop region is reproduced then (a region clamped at the right/bottom border maps slightly off).
_UNKNOWN_SIDE = 1_000_000


@dataclass
class VideoCrops:
    """The face crops of one video, in frame order.

    Attributes:
        video: video file name (the manifest's ``video`` column).
        label: 0 real, 1 fake, ``None`` when unknown (such videos are not used for training or validation).
        frames: frame indices, increasing.
        paths: absolute crop image paths, one per frame.
        boxes: (N, 4) float32 face boxes ``x1, y1, x2, y2`` in full-frame pixels.
        landmarks: (N, 5, 2) float32 landmarks in full-frame pixels (NaN where the manifest had none).
        width: full-frame width when the manifest records it, else ``None``.
        height: full-frame height when the manifest records it, else ``None``.
    """

    video: str
    label: int | None
    frames: list[int]
    paths: list[Path]
    boxes: np.ndarray
    landmarks: np.ndarray
    width: int | None = None
    height: int | None = None

    def __len__(self) -> int:
        return len(self.frames)


@dataclass(frozen=True)
class ClipSpec:
    """One clip to build: which video, which crops (indices into the video's crops), fake-by-blending or not, and the
    seed of its augmentation and blending. Plain values so a plan is cheap to pickle to loader workers."""

    video: int
    window: tuple[int, ...]
    synth: bool = False
    seed: int = 0


def _header(path: Path) -> list[str]:
    """The column names of a CSV file (empty for an empty file)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        return next(csv.reader(f), [])


def _parse_float(value: str, where: str, name: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise InputError(f"{where}: {name} must be a number, got {value!r}") from None


def read_crops_manifest(path: str | Path, check_files: bool = True) -> dict[str, VideoCrops]:
    """Read a face-crop manifest (``crops.csv`` written by ``python -m face_crop``) grouped by video.

    Crop paths are relative to the manifest's folder. Rows whose crop file is missing are dropped with a warning
    (``check_files``); a video left with no crops is dropped too.

    Args:
        path: the ``crops.csv`` file.
        check_files: drop rows whose image file does not exist.

    Returns:
        ``{video: VideoCrops}`` sorted by video name, crops sorted by frame index.

    Raises:
        InputError: missing file or columns, a bad number or label, a frame listed twice for one video, no rows.

    Example:
        >>> videos = read_crops_manifest("crops/crops.csv")  # doctest: +SKIP
        >>> v = videos["single_face.mp4"]  # doctest: +SKIP
        >>> v.label, len(v), v.boxes.shape  # doctest: +SKIP
        (0, 15, (15, 4))
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"crops manifest not found: {path}")
    rows = read_csv(path)
    header = _header(path)
    missing = [c for c in CROPS_COLUMNS if c not in header]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)} (expected {','.join(CROPS_COLUMNS)})")
    has_size = "width" in header and "height" in header
    root = path.parent
    grouped: dict[str, list[tuple[int, Path, list[float], np.ndarray, str, tuple[int, int] | None]]] = {}
    labels: dict[str, int | None] = {}
    for lineno, row in enumerate(rows, start=2):
        where = f"{path}:{lineno}"
        video = (row["video"] or "").strip()
        if not video:
            raise InputError(f"{where}: empty video name")
        label_text = (row["label"] or "").strip()
        if label_text not in ("", "0", "1"):
            raise InputError(f"{where}: label must be 0, 1 or empty, got {label_text!r}")
        label = int(label_text) if label_text else None
        if labels.setdefault(video, label) != label:
            raise InputError(f"{where}: video {video!r} has two different labels")
        frame_text = (row["frame"] or "").strip()
        if not frame_text.isdigit():
            raise InputError(f"{where}: frame must be a non-negative integer, got {frame_text!r}")
        box = [_parse_float(row[k], where, k) for k in ("x1", "y1", "x2", "y2")]
        lm_text = (row["landmarks"] or "").split()
        if lm_text and len(lm_text) != 10:
            raise InputError(f"{where}: landmarks must be 10 numbers, got {len(lm_text)}")
        lm = (
            np.array([_parse_float(v, where, "landmarks") for v in lm_text], np.float32).reshape(5, 2)
            if lm_text
            else np.full((5, 2), np.nan, np.float32)
        )
        size = None
        if has_size and row["width"] and row["height"]:
            size = (int(_parse_float(row["width"], where, "width")), int(_parse_float(row["height"], where, "height")))
        grouped.setdefault(video, []).append((int(frame_text), root / row["path"], box, lm, where, size))
    if not grouped:
        raise InputError(f"{path}: no crops listed")

    videos: dict[str, VideoCrops] = {}
    for video in sorted(grouped):
        items = sorted(grouped[video], key=lambda r: r[0])
        frames = [r[0] for r in items]
        dup = next((items[i][4] for i in range(1, len(items)) if frames[i] == frames[i - 1]), None)
        if dup is not None:
            raise InputError(f"{dup}: frame listed twice for video {video!r}")
        if check_files:
            kept = [r for r in items if r[1].is_file()]
            if len(kept) < len(items):
                log.warning("%s: %d of %d crop files missing, skipped", video, len(items) - len(kept), len(items))
            items = kept
            if not items:
                log.warning("%s: no crop file found, video skipped", video)
                continue
        size = items[0][5]
        videos[video] = VideoCrops(
            video=video,
            label=labels[video],
            frames=[r[0] for r in items],
            paths=[r[1] for r in items],
            boxes=np.array([r[2] for r in items], np.float32).reshape(-1, 4),
            landmarks=np.stack([r[3] for r in items]).astype(np.float32),
            width=size[0] if size else None,
            height=size[1] if size else None,
        )
    return videos


def read_split(path: str | Path) -> dict[str, str]:
    """Read a split file ``video_name,split`` (split in train | val | test).

    Raises:
        InputError: missing file, wrong header, unknown split, duplicated name.

    Example:
        >>> read_split("data/demo/split.csv")["real_000.mp4"]  # doctest: +SKIP
        'train'
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"split file not found: {path}")
    header = tuple(h.strip() for h in _header(path))
    if header != SPLIT_HEADER:
        raise InputError(f"{path}: header must be 'video_name,split', got {','.join(header)!r}")
    split: dict[str, str] = {}
    for lineno, row in enumerate(read_csv(path), start=2):
        name, part = (row.get("video_name") or "").strip(), (row.get("split") or "").strip()
        if not name and not part:
            continue
        if not name:
            raise InputError(f"{path}:{lineno}: empty video_name")
        if part not in SPLITS:
            raise InputError(f"{path}:{lineno}: split must be one of {'|'.join(SPLITS)}, got {part!r}")
        if name in split:
            raise InputError(f"{path}:{lineno}: duplicate video_name {name!r}")
        split[name] = part
    return split


def _hash_unit(name: str, seed: int) -> float:
    """A deterministic number in [0, 1) from (seed, name): stable across processes, unlike ``hash()``."""
    digest = hashlib.sha1(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def split_videos(
    videos: dict[str, VideoCrops], seed: int = 0, val_fraction: float = 0.2
) -> tuple[list[str], list[str]]:
    """Deterministic train/val split BY VIDEO (never by frame), stratified by label.

    Within each label, videos are ordered by a hash of ``(seed, name)`` and the first ``round(val_fraction * n)``
    go to validation (at least one when the label has two or more videos). Two videos of the same person may still
    land on both sides: a person-level split needs a split file (``--split``).

    Example:
        >>> train, val = split_videos(videos, seed=0)  # doctest: +SKIP
        >>> set(train) & set(val)  # doctest: +SKIP
        set()
    """
    train: list[str] = []
    val: list[str] = []
    for label in sorted({v.label for v in videos.values()}, key=lambda x: -1 if x is None else x):
        names = sorted((n for n, v in videos.items() if v.label == label), key=lambda n: (_hash_unit(n, seed), n))
        k = int(round(val_fraction * len(names)))
        if len(names) >= 2:
            k = min(max(k, 1), len(names) - 1)
        val.extend(names[:k])
        train.extend(names[k:])
    return sorted(train), sorted(val)


def clip_windows(n_available: int, t: int, k: int) -> list[list[int]]:
    """Fixed, evenly spread windows of ``t`` consecutive crops (the validation/evaluation clips of one video).

    The ``k`` window starts are spread evenly from the first to the last possible start; windows that would repeat
    (fewer than ``k`` distinct starts) are dropped. With fewer crops than ``t`` there is one window, padded by
    repeating the last crop.

    Args:
        n_available: number of crops of the video (>= 1).
        t: timesteps per clip (>= 1).
        k: number of windows wanted (>= 1).

    Returns:
        A list of windows, each a list of ``t`` crop indices in ``[0, n_available)``.

    Example:
        >>> clip_windows(15, 10, 2)
        [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]]
        >>> clip_windows(3, 5, 4)
        [[0, 1, 2, 2, 2]]
    """
    if n_available < 1 or t < 1 or k < 1:
        raise ValueError(f"need n_available, t and k >= 1, got {n_available}, {t}, {k}")
    if n_available < t:
        return [list(range(n_available)) + [n_available - 1] * (t - n_available)]
    starts = evenly_spaced(n_available - t, k)
    return [list(range(int(s), int(s) + t)) for s in starts]


def random_window(n_available: int, t: int, rng: np.random.Generator) -> list[int]:
    """A training window: ``t`` consecutive crops from a uniform random start (padded like :func:`clip_windows`).

    Example:
        >>> random_window(15, 10, np.random.default_rng(0))[:3]
        [5, 6, 7]
    """
    if n_available < t:
        return clip_windows(n_available, t, 1)[0]
    start = int(rng.integers(0, n_available - t + 1))
    return list(range(start, start + t))


def epoch_plan(
    videos: Sequence[VideoCrops],
    epoch: int,
    seed: int,
    t: int,
    balance: str = "undersample",
    synth_fakes: float = 0.0,
) -> tuple[list[ClipSpec], dict[str, int]]:
    """All random choices of one training epoch, from a generator seeded with ``(seed, epoch)`` only.

    Self-blended fakes come as TWINS, as in the SBI recipe (real and blended images in equal numbers): each real video
    gets, with probability ``synth_fakes`` (exactly ``round(P * n_real)`` of them, stochastically rounded, so the ratio
    does not drift), an extra clip on the same window that is blended on the fly and labelled fake. The real clip stays.
    ``"undersample"`` then balances the labels as the model sees them (labelled fakes + twins against reals) without
    splitting a pair: it drops labelled fakes first when fakes are the majority, and reals without a twin when reals
    are. So ``P = 1`` trains on pure real/blend pairs (a user with only real videos), and ``P = 0.5`` with as many
    labelled fakes as reals gives half pairs, half labelled fakes. Every clip gets its own random window (a twin shares
    its real's) and augmentation seed. Videos with an unknown label must be filtered out.

    Returns:
        The clip specs in training order and the counts ``{"n_real", "n_fake", "n_synth", "n_videos"}`` (labels as
        the model sees them: twins count as fakes; ``n_videos`` is the number of clips).

    Example:
        >>> specs, counts = epoch_plan(train_videos, epoch=3, seed=0, t=10, synth_fakes=0.5)  # doctest: +SKIP
    """
    if any(v.label is None for v in videos):
        raise ValueError("epoch_plan needs labelled videos")
    if balance not in BALANCE_MODES:
        raise ValueError(f"balance must be one of {BALANCE_MODES}, got {balance!r}")
    rng = np.random.default_rng([int(seed), int(epoch)])
    y = np.asarray([v.label for v in videos], dtype=np.int64)
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
            specs.append(ClipSpec(video=i, window=window, synth=True, seed=int(rng.integers(0, 2**31 - 1))))
    for i in fakes.tolist():
        window = tuple(random_window(len(videos[i]), t, rng))
        specs.append(ClipSpec(video=i, window=window, synth=False, seed=int(rng.integers(0, 2**31 - 1))))
    specs = [specs[j] for j in rng.permutation(len(specs))]
    n_synth = sum(s.synth for s in specs)
    n_fake = sum(videos[s.video].label == 1 for s in specs) + n_synth
    counts = {"n_videos": len(specs), "n_real": len(specs) - n_fake, "n_fake": n_fake, "n_synth": n_synth}
    return specs, counts


def val_plan(videos: Sequence[VideoCrops], t: int, k: int) -> list[ClipSpec]:
    """The fixed validation clips: :func:`clip_windows` of every video (no blending, no augmentation).

    Example:
        >>> specs = val_plan(list(videos.values()), t=10, k=2)  # doctest: +SKIP
    """
    return [ClipSpec(video=i, window=tuple(w)) for i, v in enumerate(videos) for w in clip_windows(len(v), t, k)]


def load_crop(path: str | Path, size: int) -> np.ndarray:
    """Read a stored face crop as RGB uint8 ``(size, size, 3)``, resized if it was stored at another size.

    Shrinking uses ``INTER_AREA`` (no aliasing), enlarging ``INTER_CUBIC``, as :func:`face_crop.crop.crop_face` does.

    Example:
        >>> load_crop("crops/single_face.mp4/000000.png", 112).shape  # doctest: +SKIP
        (112, 112, 3)
    """
    img = load_image(path)
    if img.shape[:2] != (size, size):
        interp = cv2.INTER_AREA if max(img.shape[:2]) > size else cv2.INTER_CUBIC
        img = cv2.resize(img, (size, size), interpolation=interp)
    return img


def to_tensor_clip(
    crops: Sequence[np.ndarray] | np.ndarray, mean: Sequence[float], std: Sequence[float]
) -> torch.Tensor:
    """THE eval-time transform: uint8 RGB crops ``(T, H, W, 3)`` -> normalised float32 ``(T, C, H, W)``.

    Used by validation, ``eval.py`` and the Detector alike (training adds augmentation before it, never after).

    Args:
        crops: T crops of equal size, RGB uint8.
        mean: per-channel mean in [0, 1] (the backbone's).
        std: per-channel std in [0, 1].

    Example:
        >>> x = to_tensor_clip(np.zeros((10, 224, 224, 3), np.uint8), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
        >>> tuple(x.shape), x.dtype
        ((10, 3, 224, 224), torch.float32)
    """
    arr = np.asarray(crops) if not isinstance(crops, np.ndarray) else crops
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
        raise ValueError(f"expected uint8 crops (T, H, W, 3), got {arr.dtype} {arr.shape}")
    x = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float().div_(255.0)  # (T, C, H, W)
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    return ((x - m) / s).contiguous()


def from_tensor_clip(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """Inverse of :func:`to_tensor_clip` (for pictures of what the model sees): ``(T, C, H, W)`` -> uint8
    ``(T, H, W, 3)``.

    Example:
        >>> clip = np.full((2, 8, 8, 3), 77, np.uint8)
        >>> bool((from_tensor_clip(to_tensor_clip(clip, (0.5,) * 3, (0.5,) * 3), (0.5,) * 3, (0.5,) * 3) == clip).all())
        True
    """
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    img = (x.detach().float().cpu() * s + m).clamp_(0, 1).mul_(255).round_()
    return img.to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def build_clip_augmentation(size: int = 224) -> Callable[..., dict]:
    """The training augmentation (albumentations), applied to a whole clip with ONE draw of random parameters.

    Called as ``aug(images=clip)`` with ``clip`` (T, H, W, 3) uint8: albumentations 2 applies every transform with
    the same parameters to all images of the ``images`` target, so a flipped clip is flipped in every frame, has the
    same colour shift, JPEG quality and blur. A temporal model must not see per-frame jitter real videos do not have.
    Seed it per clip with :func:`augment_clip`.

    Geometry first, then colour, then blur and compression last, the order a camera and an encoder apply them.
    """
    import albumentations as A

    blur = max(3, (size // 32) | 1)  # 7 px at 224, 3 px at 64: scale the kernel with the crop
    return A.Compose(
        [
            A.HorizontalFlip(p=0.5),
            A.Affine(
                translate_percent=(-0.05, 0.05),
                scale=(0.92, 1.08),
                keep_ratio=True,  # one scale for both axes: faces are not stretched
                rotate=(-8, 8),
                border_mode=cv2.BORDER_CONSTANT,
                fill=0,
                p=0.5,
            ),
            A.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.03, p=0.5),
            A.ToGray(p=0.2),
            A.GaussianBlur(blur_limit=(3, blur), sigma_limit=(0.2, 1.5), p=0.1),
            A.ImageCompression(quality_range=(60, 100), p=0.5),
        ]
    )


def seed_augmentation(aug: Callable[..., dict], seed: int) -> None:
    """Seed an albumentations pipeline so that its transforms draw from ONE generator.

    Not ``aug.set_random_seed(seed)``: albumentations 2.0 then gives every transform its own generator seeded with the
    same seed, so all their "apply with probability p" draws come out equal (every transform or none).

    Example:
        >>> aug = build_clip_augmentation(64)
        >>> seed_augmentation(aug, 3)
    """
    aug.set_random_state(np.random.default_rng(int(seed)), random.Random(int(seed)))


def augment_clip(aug: Callable[..., dict], clip: np.ndarray, seed: int) -> np.ndarray:
    """Apply a clip augmentation seeded with ``seed``: (T, H, W, 3) uint8 -> the same shape, same params per frame.

    Example:
        >>> out = augment_clip(build_clip_augmentation(64), np.zeros((4, 64, 64, 3), np.uint8), seed=1)
        >>> out.shape
        (4, 64, 64, 3)
    """
    seed_augmentation(aug, seed)
    out = aug(images=np.ascontiguousarray(clip))["images"]
    return np.ascontiguousarray(np.asarray(out, dtype=np.uint8))


def clip_geometry(
    video: VideoCrops, window: Sequence[int], margin: float, size: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Face boxes and landmarks of a clip in crop pixels (the inputs :func:`dfdetect.synth.blend_clip` needs).

    The frame size comes from the manifest's optional ``width``/``height`` columns; without them the mapping assumes
    the crop region was not clamped at the right/bottom frame border.

    Returns:
        boxes (T, 4) float32 and landmarks (T, 5, 2) float32, or ``None`` for landmarks when any is missing.

    Example:
        >>> boxes, landmarks = clip_geometry(video, range(4), margin=0.3, size=224)  # doctest: +SKIP
    """
    from face_crop.crop import points_to_crop

    width = video.width or _UNKNOWN_SIDE
    height = video.height or _UNKNOWN_SIDE
    boxes, marks = [], []
    for i in window:
        box = video.boxes[i]
        corners = points_to_crop(box.reshape(2, 2), box, margin, width, height, size)  # (2, 2) -> x1y1, x2y2
        boxes.append(corners.reshape(4))
        marks.append(points_to_crop(video.landmarks[i], box, margin, width, height, size))  # (5, 2)
    lms = np.stack(marks).astype(np.float32)
    return np.stack(boxes).astype(np.float32), (None if np.isnan(lms).any() else lms)


class ClipDataset(Dataset):
    """Executes a list of :class:`ClipSpec`: loads the crops, blends (synth specs), augments, normalises.

    Each item is a dict: ``clip`` float32 (T, C, H, W), ``label`` float32 scalar (1 = fake), ``index`` (position in the
    spec list), ``video`` (index into ``videos``), ``synth`` (bool).

    Args:
        videos: the videos the specs refer to.
        specs: the clips to build (:func:`epoch_plan` or :func:`val_plan`).
        size: crop side fed to the model (crops stored at another size are resized).
        mean: backbone normalisation mean.
        std: backbone normalisation std.
        augment: a clip augmentation (:func:`build_clip_augmentation`) or ``None`` (validation).
        margin: the face margin the crops were cut with (maps boxes/landmarks into crops for blending).
    """

    def __init__(
        self,
        videos: Sequence[VideoCrops],
        specs: Sequence[ClipSpec],
        size: int,
        mean: Sequence[float],
        std: Sequence[float],
        augment: Callable[..., dict] | None = None,
        margin: float = 0.3,
    ) -> None:
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
        spec = self.specs[index]
        video = self.videos[spec.video]
        clip = np.stack([load_crop(video.paths[i], self.size) for i in spec.window])  # (T, H, W, 3)
        label = int(video.label or 0)
        if spec.synth:
            from dfdetect.synth.sbi import blend_clip

            boxes, landmarks = clip_geometry(video, spec.window, self.margin, self.size)
            # A separate stream from the augmentation's: SeedSequence mixes the extra word into the state.
            rng = np.random.default_rng([spec.seed, 1])
            clip = np.asarray(blend_clip(clip, boxes, landmarks, rng, consistent=True), dtype=np.uint8)
            label = 1
        if self.augment is not None:
            clip = augment_clip(self.augment, clip, spec.seed)  # blending BEFORE augmentation, as for real fakes
        return clip, label

    def __getitem__(self, index: int) -> dict:
        clip, label = self.load_clip(index)
        spec = self.specs[index]
        return {
            "clip": to_tensor_clip(clip, self.mean, self.std),  # (T, C, H, W)
            "label": torch.tensor(float(label)),
            "index": index,
            "video": spec.video,
            "synth": spec.synth,
        }


def video_scores(specs: Sequence[ClipSpec], clip_scores: Sequence[float], n_videos: int) -> np.ndarray:
    """Video-level score = mean over a video's clips of sigmoid(logit); NaN for a video without clips.

    Example:
        >>> video_scores([ClipSpec(0, (0,)), ClipSpec(0, (1,)), ClipSpec(1, (0,))], [0.2, 0.4, 0.9], 2)
        array([0.3, 0.9])
    """
    total = np.zeros(n_videos, np.float64)
    count = np.zeros(n_videos, np.int64)
    for spec, s in zip(specs, clip_scores):
        total[spec.video] += float(s)
        count[spec.video] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), math.nan)
