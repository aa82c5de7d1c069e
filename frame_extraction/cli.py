"""``python -m frame_extraction VIDEOS... OUT``: the command line of :mod:`frame_extraction.extract`.

Exit codes: 0 done, 1 no video could be processed, 2 malformed input (one-line message).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from dfdetect.core.cli import add_verbose, run_cli
from dfdetect.core.io import read_labels
from dfdetect.core.shards import parse_shard
from frame_extraction.extract import IMAGE_FORMATS, ExtractOptions, extract_videos
from frame_extraction.sampling import MODES

log = logging.getLogger(__name__)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _seed(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def get_args_parser() -> argparse.ArgumentParser:
    """Command-line options of ``python -m frame_extraction`` (defaults: :class:`ExtractOptions`)."""
    d = ExtractOptions()
    p = argparse.ArgumentParser(
        prog="python -m frame_extraction",
        description="Sample frames from videos (one decoding pass each) into OUT/<video>/<frame>.png, "
        "with OUT/frames.csv and OUT/videos.csv. Resumable: finished videos are not decoded again.",
    )
    p.add_argument("inputs", nargs="+", metavar="VIDEOS", help="video files and/or folders of videos")
    p.add_argument("out", metavar="OUT", help="output folder")
    p.add_argument("--labels", help="labels CSV with header video_name,target (1 = fake)")
    p.add_argument("--frames", type=_positive_int, default=d.n, help=f"frames per video (default {d.n})")
    p.add_argument("--stride", type=_positive_int, default=d.stride,
                   help=f"gap between frames in random mode (default {d.stride})")
    p.add_argument("--mode", choices=MODES, default=d.mode,
                   help="random: a clip starting in the first half (training); linspace: spread over the whole "
                   f"video (default {d.mode})")
    p.add_argument("--seed", type=_seed, default=d.seed,
                   help=f"sampling seed; each video's draw depends on it and its name (default {d.seed})")
    p.add_argument("--balance", action="store_true", help="downsample the majority class to 1:1 (needs --labels)")
    p.add_argument("--workers", type=_positive_int, default=1, help="videos processed in parallel (default 1)")
    p.add_argument("--format", choices=IMAGE_FORMATS, default=d.image_format,
                   help=f"image format (png is lossless; default {d.image_format})")
    p.add_argument("--shard", metavar="K/N", help="extract only shard K of N (inputs split by a hash of their name); "
                   "join the shards with python -m dfdetect merge OUT")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_verbose(p)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI.

    Args:
        argv: the arguments (None: ``sys.argv[1:]``).

    Returns:
        0 on success, 1 when no video could be processed, 2 on malformed input.

    Example:
        >>> import tempfile
        >>> main(["data/samples/single_face.mp4", tempfile.mkdtemp(), "--frames", "3", "--no-progress"])
        0
    """
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    """The body of :func:`main` (after the arguments and the logging setup)."""
    opts = ExtractOptions(n=args.frames, stride=args.stride, mode=args.mode, seed=args.seed,
                          image_format=args.format)
    labels = read_labels(args.labels) if args.labels else None
    shard = parse_shard(args.shard) if args.shard else None
    result = extract_videos(args.inputs, args.out, labels=labels, opts=opts, balance=args.balance,
                            workers=args.workers, progress=not args.no_progress, shard=shard)
    if result.processed == 0 and not (shard is not None and not result.videos):  # an empty shard is no failure
        log.error("no video could be processed (see %s)", Path(args.out) / "videos.csv")
        return 1
    return 0
