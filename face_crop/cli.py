"""``python -m face_crop FRAMES CROPS``: MTCNN face crops for a frame_extraction output folder, or for a folder of
images (the image track: ``python -m face_crop IMAGES CROPS --labels labels.csv``, see :mod:`face_crop.images`).

A folder holding ``frames.csv`` is frame_extraction's output; any other folder (or image files) is a folder of images.

Exit codes: 0 done, 1 no video (image) gave enough face crops, 2 malformed input (one-line message).

Example:
    python -m face_crop out/frames out/crops --min-faces 10 --margin 0.3 --size 224 --workers 2
    python -m face_crop images/ crops/ --labels labels.csv --size 224
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

from dfdetect.core.cli import add_verbose, run_cli
from dfdetect.core.config import DataConfig, DetectorConfig
from dfdetect.core.io import InputError, read_labels
from dfdetect.core.runtime import resolve_device
from dfdetect.core.shards import parse_shard
from face_crop.detect import FaceDetector
from face_crop.images import run_image_crops
from face_crop.pipeline import REJECTS_FILE, run_crops

log = logging.getLogger(__name__)


def get_args_parser() -> argparse.ArgumentParser:
    """Command-line options: crop and detector defaults from :class:`DataConfig` (the crop contract,
    :class:`~dfdetect.core.config.CropConfig`); whatever is chosen is written to ``settings.json`` and travels with the
    crops into training and the checkpoint, so scoring detects and crops the same way."""
    d, det = DataConfig(), DetectorConfig()
    p = argparse.ArgumentParser(
        prog="python -m face_crop",
        description="Detect, track and crop the main face of each video in a frame_extraction output folder. "
        "Writes CROPS/<video>/<frame:06d>.png, CROPS/crops.csv and CROPS/rejects.csv; resumes finished videos.",
    )
    p.add_argument("frames", nargs="+", help="frame_extraction output folder (with frames.csv), or a folder of "
                   "images (or image files)")
    p.add_argument("crops", help="output folder")
    p.add_argument("--labels", help="images only: labels CSV img_name,target (1 = fake)")
    p.add_argument("--min-faces", type=int, default=d.min_faces,
                   help=f"drop videos with fewer face crops (default {d.min_faces})")
    p.add_argument("--min-face-size", type=int, default=d.min_face_size,
                   help=f"a face smaller than this (full-frame pixels) is too small to judge: no crop (default "
                   f"{d.min_face_size})")
    p.add_argument("--box-smoothing", type=float, default=d.box_smoothing,
                   help=f"Gaussian sigma (sampled frames) of the crop box along each face track; 0: each frame's "
                   f"own box (default {d.box_smoothing})")
    p.add_argument("--margin", type=float, default=d.margin,
                   help=f"box margin per side, fraction of box size (default {d.margin})")
    p.add_argument("--size", type=int, default=d.size, help=f"crop side in pixels (default {d.size})")
    p.add_argument("--batch", type=int, default=det.batch_size,
                   help=f"frames per MTCNN call (default {det.batch_size})")
    p.add_argument("--max-side", type=int, default=det.max_side,
                   help=f"detect on copies this long at most (default {det.max_side})")
    p.add_argument("--detect-min-size", type=int, default=det.min_face_size,
                   help=f"smallest face MTCNN searches for, pixels of that copy (default {det.min_face_size})")
    p.add_argument("--thresholds", type=float, nargs=3, default=det.thresholds,
                   help=f"MTCNN's three stage thresholds (default {' '.join(map(str, det.thresholds))})")
    p.add_argument("--factor", type=float, default=det.factor,
                   help=f"MTCNN's pyramid scale step (default {det.factor})")
    p.add_argument("--retry-max-side", type=int, default=det.retry_max_side,
                   help=f"faceless frames searched again on copies this long (0: no retry; default "
                   f"{det.retry_max_side})")
    p.add_argument("--key-step", type=int, default=det.key_step,
                   help=f"full MTCNN on every N-th frame, O-Net between (1: every frame; default {det.key_step})")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="MTCNN device (default cpu)")
    p.add_argument("--workers", type=int, default=1, help="threads reading frames and writing crops (default 1)")
    p.add_argument("--shard", metavar="K/N", help="videos only: crop only shard K of N (videos split by a hash of "
                   "their name); join the shards with python -m dfdetect merge CROPS")
    add_verbose(p)
    return p


def detector_config(args: argparse.Namespace) -> DetectorConfig:
    """The :class:`~dfdetect.core.config.DetectorConfig` of the command line (the defaults where no flag was given).

    Example:
        >>> detector_config(get_args_parser().parse_args(["f", "c", "--max-side", "640"])).max_side
        640
    """
    return dataclasses.replace(DetectorConfig(), max_side=args.max_side, batch_size=args.batch,
                               min_face_size=args.detect_min_size, thresholds=list(args.thresholds),
                               factor=args.factor, retry_max_side=args.retry_max_side, key_step=args.key_step)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI.

    Args:
        argv: the arguments (None: ``sys.argv[1:]``).

    Returns:
        0 on success, 1 when no video gave crops, 2 on malformed input.

    Example:
        >>> import tempfile
        >>> main([tempfile.mkdtemp(), tempfile.mkdtemp()])  # no frames.csv there: malformed input
        2
    """
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    """The body of :func:`main` (after the arguments and the logging setup)."""
    if min(args.batch, args.max_side, args.detect_min_size, args.key_step) < 1 or args.workers < 0:
        raise InputError("--batch, --max-side, --detect-min-size and --key-step must be >= 1, --workers >= 0")
    device = resolve_device(args.device)  # InputError when CUDA is asked for and absent
    videos = len(args.frames) == 1 and (Path(args.frames[0]) / "frames.csv").is_file()
    first = Path(args.frames[0])
    if not videos and len(args.frames) == 1 and first.is_dir() and not any(first.iterdir()):
        raise InputError(f"{first}: neither a frame_extraction folder (frames.csv) nor a folder of images")
    if videos and args.labels:
        raise InputError("--labels is for a folder of images; frame_extraction's frames.csv holds the labels")
    shard = parse_shard(args.shard) if args.shard else None
    if shard is not None and not videos:
        raise InputError("--shard is for a frame_extraction folder (frames.csv), not a folder of images")
    detector = FaceDetector.from_config(detector_config(args), device=str(device))
    if not videos:
        labels = read_labels(args.labels) if args.labels else None
        images = run_image_crops(args.frames, args.crops, detector, labels=labels, margin=args.margin,
                                 size=args.size, min_face_size=args.min_face_size)
        if images.ok == 0:
            log.error("no image gave a face crop (see %s)", Path(args.crops) / REJECTS_FILE)
            return 1
        return 0
    summary = run_crops(args.frames[0], args.crops, detector, margin=args.margin, size=args.size,
                        min_faces=args.min_faces, workers=args.workers, shard=shard,
                        min_face_size=args.min_face_size, box_smoothing=args.box_smoothing)
    per_frame = 1000 * summary.seconds / summary.frames_processed if summary.frames_processed else 0.0
    log.info("%d videos cropped (%d resumed), %d rejected, %d crops; %.1f ms per processed frame",
             summary.ok, summary.resumed, summary.rejected, summary.crops, per_frame)
    if summary.ok == 0 and (shard is None or summary.rejected):  # an empty shard is no failure
        log.error("no video gave at least %d face crops (see %s)", args.min_faces, Path(args.crops) / REJECTS_FILE)
        return 1
    return 0
