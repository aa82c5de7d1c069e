"""Pictures: ``python -m dfdetect grid`` (augmented training clips) and the demo's real/fake example frames.

``python -m dfdetect grid --data CROPS_MANIFEST --out grid.png [--clips N] [--config cfg.yaml]`` draws a PNG grid of
augmented training clips, exactly the tensors the model receives (de-normalised): one row per clip, one column per
timestep, the video and its label (real / fake, "+ synth" for an on-the-fly self-blended fake) in the row title. The
clips are those of the training plan from ``--epoch`` on (same balancing, windows, blending and augmentation seeds as
``train.py`` with the same config and seed; the next epochs' plans when one has fewer clips). The drawing itself is
:func:`dfdetect.data.grid.render_clips`.

Example::

    python -m dfdetect grid --data crops/crops.csv --out grid.png --clips 6 --clip-len 8 --synth-fakes 0.5

:func:`write_examples` draws real/fake pairs of the demo data set side by side (full frames, the face crops the model
sees, their difference). :func:`write_synth_examples` draws each fake generator on a sample video's face
(``docs/synth_<name>.png``)::

    python -c "from dfdetect.demo.grids import write_synth_examples as w; w('data/samples/single_face.mp4', 'docs')"

:func:`write_time_examples` draws a fake over time, for the generators whose fakes exist only in time (real frames,
fake frames and their difference, one column per frame; ``docs/synth_<name>.png``)::

    python -m dfdetect synth-pictures data/samples/single_face.mp4 docs
"""

from __future__ import annotations

import argparse
import io
import logging
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dfdetect.core.cli import run_cli
from dfdetect.core.config import add_override, load_config, overrides_from_args, validate_config
from dfdetect.core.io import InputError, read_csv, setup_logging, write_bytes_atomic
from dfdetect.data import ClipDataset, build_clip_augmentation, read_crops_manifest
from dfdetect.data.grid import render_clips, training_clips
from dfdetect.synth import GENERATORS, TIME_ONLY, generate
from face_crop.crop import crop_face
from face_crop.detect import FaceDetector
from face_crop.pipeline import crop_faces
from frame_extraction.decode import read_frames
from models import backbone_normalization

log = logging.getLogger(__name__)

EXAMPLE_DPI = 80


class ExampleError(RuntimeError):
    """No real/fake pair of the test split could be drawn."""


def write_examples(data_dir: str | Path, out_png: str | Path, margin: float, size: int, pairs: int = 3) -> Path:
    """Save real/fake example frames side by side for the first test pairs (full frame, face crops, difference).

    Each row is one pair's middle frame: the real frame, the fake frame, the two face crops (cut with the real frame's
    face box, so both crops cover the same pixels) and ``|fake - real|`` summed over the channels.

    Args:
        data_dir: the demo data set (``meta.csv``, ``split.csv`` and the videos; :mod:`dfdetect.demo.data`).
        out_png: output PNG, written atomically.
        margin: face crop margin (the trained model's ``cfg.data.margin``).
        size: face crop side, px (the trained model's ``cfg.data.size``).
        pairs: how many real/fake pairs to show (the first ones of the test split, in ``meta.csv`` order).

    Returns:
        ``out_png`` as a Path.

    Raises:
        ExampleError: the test split holds no real/fake pair.
    """
    meta = read_csv(Path(data_dir) / "meta.csv")
    split = {r["video_name"]: r["split"] for r in read_csv(Path(data_dir) / "split.csv")}
    by_pair: dict[str, dict[int, dict[str, str]]] = {}
    for r in meta:
        if split.get(r["video_name"]) == "test":
            by_pair.setdefault(r["pair"], {})[int(r["target"])] = r
    chosen = [p for p in by_pair.values() if set(p) == {0, 1}][:pairs]
    if not chosen:
        raise ExampleError("no real/fake pair in the test split to show")
    detector = FaceDetector()
    # The pyplot-free API: no global figure state, no GUI backend.
    fig = Figure(figsize=(13, 3.2 * len(chosen)), dpi=EXAMPLE_DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(chosen), 4, squeeze=False)
    for row, pair in zip(axes, chosen):
        real_name, fake_name = pair[0]["video_name"], pair[1]["video_name"]
        mid = int(pair[0]["frames"]) // 2
        real = read_frames(Path(data_dir) / real_name, [mid])[mid]  # (H, W, 3) uint8
        fake = read_frames(Path(data_dir) / fake_name, [mid])[mid]
        # The same crop as training and inference; the real frame's face box places both crops identically.
        (real_crop, face), = crop_faces([real], detector, margin=margin, size=size)
        if face is None:
            continue
        fake_crop = crop_face(fake, face.box, margin=margin, size=size)  # (size, size, 3)
        diff = np.abs(fake_crop.astype(np.int16) - real_crop.astype(np.int16)).sum(-1)  # (size, size)
        panels = [(real, f"real {real_name}"), (fake, f"fake {fake_name}"),
                  (np.hstack([real_crop, fake_crop]), "face crops: real | fake"), (diff, "|fake - real| (crop)")]
        for ax, (img, title) in zip(row, panels):
            ax.imshow(img, cmap="magma" if img.ndim == 2 else None)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=EXAMPLE_DPI)
    write_bytes_atomic(out_png, buf.getvalue())
    return Path(out_png)


SYNTH_AMPLIFY = 4
"""The difference panel of :func:`write_synth_examples` shows ``|fake - real|`` times this."""


def write_synth_examples(video: str | Path, out_dir: str | Path, frames: int = 12, seed: int = 0,
                         methods: list[str] | None = None) -> list[Path]:
    """One picture per fake generator: real face, fake face and their amplified difference, at three moments.

    The first ``frames`` frames of ``video`` go through the generator as one clip (``selfswap`` takes its donors from
    the clip itself); each row is one frame (first, middle, last): the real crop, the fake crop (the same region) and
    ``|fake - real| * SYNTH_AMPLIFY`` summed over the channels. Written to ``out_dir/synth_<name>.png``.

    Args:
        video: a real video with one face (e.g. ``data/samples/single_face.mp4``).
        out_dir: the folder for the PNGs (``docs``).
        frames: frames in the clip.
        seed: the generators' seed.
        methods: generator names (default: all of :data:`dfdetect.synth.GENERATORS`).

    Returns:
        The PNG paths.

    Raises:
        ExampleError: no face in the clip's frames.
    """
    images = list(read_frames(video, range(frames)).values())
    faces = FaceDetector().detect(images)
    if any(f is None for f in faces):
        raise ExampleError(f"{video}: a frame of the first {frames} has no face")
    paths = []
    rows = sorted({0, len(images) // 2, len(images) - 1})
    for name in methods or list(GENERATORS):
        fakes = generate(name, images, [(f.box, f.landmarks) for f in faces], np.random.default_rng(seed)).frames
        fig = Figure(figsize=(7.5, 2.6 * len(rows)), dpi=EXAMPLE_DPI)
        FigureCanvasAgg(fig)
        axes = fig.subplots(len(rows), 3, squeeze=False)
        for ax_row, i in zip(axes, rows):
            real_crop = crop_face(images[i], faces[i].box, margin=0.3, size=192)  # (192, 192, 3)
            fake_crop = crop_face(fakes[i], faces[i].box, margin=0.3, size=192)
            diff = np.abs(fake_crop.astype(np.int16) - real_crop.astype(np.int16)).sum(-1) * SYNTH_AMPLIFY
            for ax, img, title in zip(ax_row, (real_crop, fake_crop, np.clip(diff, 0, 255)),
                                      (f"real, frame {i}", f"{name}, frame {i}", f"|fake - real| x{SYNTH_AMPLIFY}")):
                ax.imshow(img, cmap="magma" if img.ndim == 2 else None, vmin=0, vmax=255)
                ax.set_title(title, fontsize=9)
                ax.axis("off")
        fig.suptitle(f"{name}: {GENERATORS[name].summary}", fontsize=8)
        paths.append(_save_png(fig, Path(out_dir) / f"synth_{name}.png"))
    return paths


def _save_png(fig: Figure, path: Path) -> Path:
    """Lay out ``fig`` and write it to ``path`` as a PNG at :data:`EXAMPLE_DPI`, atomically; returns ``path``."""
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=EXAMPLE_DPI)
    write_bytes_atomic(path, buf.getvalue())
    return path


TIME_AMPLIFY = 4
"""The difference row of :func:`write_time_examples` shows ``|fake - real|`` times this."""
TIME_METHODS = TIME_ONLY
"""The generators :func:`write_time_examples` draws by default: those whose fakes exist only in time."""


def write_time_examples(video: str | Path, out_dir: str | Path, frames: int = 24, columns: int = 8, seed: int = 0,
                        methods: tuple[str, ...] | list[str] = TIME_METHODS) -> list[Path]:
    """One picture per generator of a fake over time: real frames, fake frames and ``|fake - real|`` (one row each),
    one column per frame.

    The first ``frames`` frames of ``video`` go through the generator as one clip; ``columns`` of them, evenly spaced,
    are drawn, each cropped with ONE box (the union of the clip's face boxes, grown by 30 %), so the head's own motion
    stays visible against the fake's. The difference row is ``|fake - real| * TIME_AMPLIFY`` summed over the channels;
    a column title says whether the generator changed that frame (its mask). Written to ``out_dir/synth_<name>.png``.

    Args:
        video: a real video with one face (e.g. ``data/samples/single_face.mp4``).
        out_dir: the folder for the PNGs (``docs``).
        frames: consecutive frames in the clip.
        columns: frames drawn.
        seed: the generators' seed.
        methods: generator names of :data:`dfdetect.synth.GENERATORS`.

    Returns:
        The PNG paths.

    Raises:
        ExampleError: a frame of the clip has no face.
        ValueError: an unknown generator.
    """
    images = list(read_frames(video, range(frames)).values())
    faces = FaceDetector().detect(images)
    if any(f is None for f in faces):
        raise ExampleError(f"{video}: a frame of the first {frames} has no face")
    boxes = np.stack([f.box for f in faces])  # (T, 4)
    box = np.concatenate([boxes[:, :2].min(0), boxes[:, 2:].max(0)])
    shown = np.unique(np.linspace(0, len(images) - 1, columns).round().astype(int))
    paths = []
    for name in methods:
        if name not in GENERATORS:
            raise ValueError(f"unknown fake generator {name!r}")
        out = generate(name, images, [(f.box, f.landmarks) for f in faces], np.random.default_rng(seed))
        fig = Figure(figsize=(1.6 * len(shown), 5.4), dpi=EXAMPLE_DPI)
        FigureCanvasAgg(fig)
        axes = fig.subplots(3, len(shown), squeeze=False)
        for col, t in enumerate(shown):
            real = crop_face(images[t], box, margin=0.3, size=128)  # (128, 128, 3)
            fake = crop_face(out.frames[t], box, margin=0.3, size=128)
            diff = np.abs(fake.astype(np.int16) - real.astype(np.int16)).sum(-1) * TIME_AMPLIFY
            for row, img in enumerate((real, fake, np.clip(diff, 0, 255))):
                ax = axes[row, col]
                ax.imshow(img, cmap="magma" if img.ndim == 2 else None, vmin=0, vmax=255)
                ax.set_xticks([])
                ax.set_yticks([])
                if col == 0:
                    ax.set_ylabel(("real", name, f"|diff| x{TIME_AMPLIFY}")[row], fontsize=9)
            axes[0, col].set_title(f"frame {t}" + (" *" if out.manipulated[t] else ""), fontsize=8)
        fig.suptitle(f"{name}: {GENERATORS[name].summary} (* changed; seed {seed})", fontsize=7)
        paths.append(_save_png(fig, Path(out_dir) / f"synth_{name}.png"))
    return paths


def time_examples_main(argv: list[str] | None = None) -> int:
    """``python -m dfdetect synth-pictures VIDEO OUT_DIR [--frames N] [--columns K] [--seed S] [--methods A,B]``:
    :func:`write_time_examples`. Exit 0, or 1 when the clip has a frame without a face."""
    p = argparse.ArgumentParser(prog="python -m dfdetect synth-pictures",
                                description="Pictures of fakes over time: real, fake and difference per frame.")
    p.add_argument("video", help="a real video with one face")
    p.add_argument("out_dir", help="folder for synth_<name>.png")
    p.add_argument("--frames", type=int, default=24, help="consecutive frames in the clip (default 24)")
    p.add_argument("--columns", type=int, default=8, help="frames drawn (default 8)")
    p.add_argument("--seed", type=int, default=0, help="the generators' seed (default 0)")
    p.add_argument("--methods", default=",".join(TIME_METHODS), help="comma-separated generator names")
    args = p.parse_args(argv)
    setup_logging(False)
    try:
        paths = write_time_examples(args.video, args.out_dir, args.frames, args.columns, args.seed,
                                    [m.strip() for m in args.methods.split(",") if m.strip()])
    except ExampleError as e:
        log.error("%s", e)
        return 1
    for path in paths:
        log.info("wrote %s", path)
    return 0


def get_args_parser() -> argparse.ArgumentParser:
    """The ``grid`` command line; the config flags are declared with their config key (``add_override``)."""
    p = argparse.ArgumentParser(
        prog="python -m dfdetect grid",
        description="Write a PNG grid of augmented training clips (rows: clips, columns: timesteps).",
    )
    p.add_argument("--data", required=True, help="crops manifest (crops.csv)")
    p.add_argument("--out", required=True, help="output PNG")
    p.add_argument("--clips", type=int, default=8, help="rows (clips) to draw (default 8)")
    p.add_argument("--config", help="YAML config (frames, size, augmentation, balance, synth_fakes, seed)")
    p.add_argument("--epoch", type=int, default=0, help="which epoch's training plan to draw (0 = the first)")
    add_override(p, "--clip-len", "data.frames", "timesteps T per clip (columns)", type=int, metavar="T")
    p.add_argument("--frames", dest="data.frames", type=int, help=argparse.SUPPRESS)  # the old name of --clip-len
    add_override(p, "--size", "data.size", "crop side, px", type=int)
    add_override(p, "--synth-fakes", "train.synth_fakes", "share of real clips with a self-blended twin", type=float)
    add_override(p, "--seed", "train.seed", "seed of the training plan and the augmentation", type=int)
    add_override(p, "--no-augment", "data.augment", "draw the clips without augmentation", action="store_const",
                 const=False)
    return p


def main(argv: list[str] | None = None) -> int:
    """CLI: 0 written, 1 no labelled clip to draw (or the PNG could not be written), 2 malformed input."""
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    """The body of :func:`main` (after the arguments and the logging setup)."""
    if args.clips < 1:
        raise InputError(f"--clips must be >= 1, got {args.clips}")
    cfg = load_config(args.config, overrides_from_args(args))
    validate_config(cfg)
    videos = [v for v in read_crops_manifest(args.data).values() if v.label is not None]
    if not videos:
        log.error("no labelled video in %s", args.data)
        return 1
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


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
