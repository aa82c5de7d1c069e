"""``python -m dfdetect merge OUT...``: join the ``--shard K/N`` outputs of a stage into what one run writes.

The stage is recognised by the shard files in OUT: ``frames.shard-K-of-N.csv`` (``python -m frame_extraction``),
``crops.shard-K-of-N.csv`` (``python -m face_crop``), ``meta.shard-K-of-N.csv`` (``python -m dfdetect synth``) or
``predictions.shard-K-of-N/`` folders (``eval.py``). A missing shard is an error that names it; nothing is merged
then.

Exit codes: 0 merged, 2 nothing to merge or a shard missing (one-line message).

Example:
    python -m dfdetect merge frames/ && python -m dfdetect merge crops/ && python -m dfdetect merge eval_out/
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from dfdetect.core.cli import add_verbose, run_cli
from dfdetect.core.io import InputError
from dfdetect.core.shards import find_shards
from dfdetect.inference.evaluate import merge_eval
from dfdetect.synth.cli import META_FILE, merge_synth
from face_crop.pipeline import CROPS_FILE, merge_crops
from frame_extraction.extract import FRAMES_FILE, merge_extraction

log = logging.getLogger(__name__)


def merge(out: str | Path) -> str:
    """Merge the shards found in ``out``; returns the stage merged (``frames``, ``crops``, ``synth`` or ``eval``).

    Raises:
        InputError: no shard outputs in ``out``, or a shard missing.
    """
    out = Path(out)
    if not out.exists():
        raise InputError(f"no such folder: {out}")
    if out.is_dir() and find_shards(out / FRAMES_FILE):
        merge_extraction(out)
        return "frames"
    if out.is_dir() and find_shards(out / CROPS_FILE):
        merge_crops(out)
        return "crops"
    if out.is_dir() and find_shards(out / META_FILE):
        merge_synth(out)
        return "synth"
    merge_eval(out)
    return "eval"


def get_args_parser() -> argparse.ArgumentParser:
    """The ``merge`` command line."""
    p = argparse.ArgumentParser(prog="python -m dfdetect merge", description="Join the --shard K/N outputs of "
                                "frame_extraction, face_crop, synth or eval.py into what one run writes.")
    p.add_argument("out", nargs="+", help="the output folder(s) the shards wrote into (eval.py: its --out)")
    add_verbose(p)
    return p


def main(argv: list[str] | None = None) -> int:
    """CLI: 0 merged, 2 nothing to merge or a shard missing."""
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    """The body of :func:`main` (after the arguments and the logging setup)."""
    for out in args.out:
        log.info("%s: merged the %s shards", out, merge(out))
    return 0
