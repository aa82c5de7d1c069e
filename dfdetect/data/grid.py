"""``python -m dfdetect grid --data CROPS_MANIFEST --out grid.png [--clips N] [--config cfg.yaml]``.

A PNG grid of augmented training clips, exactly the tensors the model receives (de-normalised): one row per clip,
one column per timestep, the video and its label (real / fake, "+ synth" for an on-the-fly self-blended fake) in the
row title. The clips are those of the training plan from ``--epoch`` on (same balancing, windows, blending and
augmentation seeds as ``train.py`` with the same config and seed; the next epochs' plans when one has fewer clips).

Example:
    python -m dfdetect grid --data crops/crops.csv --out grid.png --clips 6 --synth-fakes 0.5
"""

from __future__ import annotations

import argparse
import io
import logging
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from dfdetect.core.config import Config, load_config
from dfdetect.data.dataset import (
    ClipDataset,
    ClipSpec,
    VideoCrops,
    build_clip_augmentation,
    epoch_plan,
    from_tensor_clip,
    read_crops_manifest,
)
from dfdetect.core.io import InputError, setup_logging, write_bytes_atomic

log = logging.getLogger(__name__)

CELL_INCHES = 1.3  # one image
TITLE_INCHES = 0.25  # room above each row for the column titles
DPI = 100


def save_clip_grid(clips: Sequence[np.ndarray], titles: Sequence[str], path: str | Path) -> None:
    """Write clips as a PNG grid (one row per clip, one column per timestep), atomically.

    Args:
        clips: N uint8 arrays (T, H, W, 3), the same T for all.
        titles: N row titles.
        path: output PNG, ``N * (CELL_INCHES + TITLE_INCHES) * DPI`` by ``T * CELL_INCHES * DPI`` pixels.

    Example:
        >>> save_clip_grid([np.zeros((4, 64, 64, 3), np.uint8)], ["video.mp4: real"], "grid.png")  # doctest: +SKIP
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not clips:
        raise ValueError("no clips to draw")
    if len(titles) != len(clips):
        raise ValueError(f"{len(clips)} clips but {len(titles)} titles")
    n, t = len(clips), len(clips[0])
    # The pyplot-free API: no global figure state, no GUI backend, safe in loader workers and tests.
    fig = Figure(figsize=(t * CELL_INCHES, n * (CELL_INCHES + TITLE_INCHES)), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(n, t, squeeze=False)
    for r, (clip, title) in enumerate(zip(clips, titles)):
        if len(clip) != t:
            raise ValueError(f"clip {r} has {len(clip)} timesteps, expected {t}")
        for c in range(t):
            ax = axes[r, c]
            ax.imshow(clip[c])
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"t={c}", fontsize=8)
        axes[r, 0].set_ylabel(title, fontsize=7, rotation=0, ha="right", va="center", labelpad=4)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    write_bytes_atomic(path, buf.getvalue())


def clip_title(ds: ClipDataset, index: int) -> str:
    """``"<video>\\n<real|fake>[ + synth]"`` for a dataset item."""
    spec = ds.specs[index]
    video = ds.videos[spec.video]
    label = "fake + synth" if spec.synth else ("fake" if video.label == 1 else "real")
    return f"{video.video}\n{label}"


def render_clips(ds: ClipDataset, indices: Iterable[int], path: str | Path) -> int:
    """Draw dataset items exactly as the model receives them (``ds[i]["clip"]`` de-normalised); returns the rows.

    Example:
        >>> render_clips(ds, range(4), "run/augmentations.png")  # doctest: +SKIP
        4
    """
    clips, titles = [], []
    for i in indices:
        item = ds[i]
        clips.append(from_tensor_clip(item["clip"], ds.mean, ds.std))  # (T, C, H, W) float -> (T, H, W, 3) uint8
        titles.append(clip_title(ds, i))
    save_clip_grid(clips, titles, path)
    return len(clips)


def training_clips(videos: Sequence[VideoCrops], cfg: Config, n: int, first_epoch: int = 0) -> list[ClipSpec]:
    """The first ``n`` training clips from epoch ``first_epoch`` on (later epochs' plans when one epoch has fewer).

    Example:
        >>> specs = training_clips(videos, cfg, 8)  # doctest: +SKIP
    """
    specs: list[ClipSpec] = []
    epoch = first_epoch
    while len(specs) < n and videos:
        plan, _ = epoch_plan(
            videos, epoch, cfg.train.seed, cfg.data.frames, cfg.data.balance, cfg.train.synth_fakes
        )
        specs.extend(plan)
        epoch += 1
    return specs[:n]


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dfdetect grid",
        description="Write a PNG grid of augmented training clips (rows: clips, columns: timesteps).",
    )
    p.add_argument("--data", required=True, help="crops manifest (crops.csv)")
    p.add_argument("--out", required=True, help="output PNG")
    p.add_argument("--clips", type=int, default=8, help="rows (clips) to draw")
    p.add_argument("--config", help="YAML config (frames, size, augmentation, balance, synth_fakes, seed)")
    p.add_argument("--epoch", type=int, default=0, help="which epoch's training plan to draw (0 = the first)")
    p.add_argument("--frames", type=int, help="override data.frames")
    p.add_argument("--size", type=int, help="override data.size")
    p.add_argument("--synth-fakes", type=float, help="override train.synth_fakes")
    p.add_argument("--seed", type=int, help="override train.seed")
    p.add_argument("--no-augment", action="store_true", help="draw the clips without augmentation")
    return p


def main(argv: list[str] | None = None) -> int:
    """CLI: 0 written, 1 no labelled clip to draw, 2 malformed input."""
    args = get_args_parser().parse_args(sys.argv[1:] if argv is None else argv)
    setup_logging()
    try:
        if args.clips < 1:
            raise InputError(f"--clips must be >= 1, got {args.clips}")
        cfg = load_config(
            args.config,
            {
                "data.frames": args.frames,
                "data.size": args.size,
                "train.synth_fakes": args.synth_fakes,
                "train.seed": args.seed,
                "data.augment": False if args.no_augment else None,
            },
        )
        from dfdetect.training.loop import validate_config

        validate_config(cfg)
        videos = [v for v in read_crops_manifest(args.data).values() if v.label is not None]
    except InputError as e:
        log.error("%s", e)
        return 2
    if not videos:
        log.error("no labelled video in %s", args.data)
        return 1
    from models import backbone_normalization

    mean, std = backbone_normalization(cfg.model.backbone)
    specs = training_clips(videos, cfg, args.clips, first_epoch=args.epoch)
    augment = build_clip_augmentation(cfg.data.size) if cfg.data.augment else None
    ds = ClipDataset(videos, specs, cfg.data.size, mean, std, augment=augment, margin=cfg.data.margin)
    try:
        rows = render_clips(ds, range(len(ds)), args.out)
    except OSError as e:
        log.error("%s", e)
        return 1
    log.info("wrote %s: %d clips x %d timesteps (training plan from epoch %d)", args.out, rows, cfg.data.frames,
             args.epoch)
    return 0
