"""``python -m dfdetect dataset NAME ROOT --out DIR``: a data set folder as it comes -> labels, split, links, summary.

    python -m dfdetect dataset ffpp /data/FF++ --out ds/ffpp --compression c23 --splits /data/ffpp-splits
    python -m dfdetect dataset ffpp /data/FF++ --out ds/ffpp-lomo-nt --test-methods NeuralTextures
    python -m dfdetect dataset ffpp /data/FF++ --out ds/ffpp-real --reals-only  # train with the project's generators
    python -m dfdetect dataset celebdf /data/Celeb-DF-v2 --out ds/celebdf

Writes ``DIR/labels.csv`` (``video_name,target,method,source,original,group``), ``DIR/split.csv``
(``video_name,split``), ``DIR/summary.json`` (counts per class, method and split; every file that could not be
placed, with the reason) and ``DIR/<split>/`` (a symlink per video, named by its unique ``video_name``, pointing at
the data set's file, and that split's ``labels.csv``): give ``DIR/train`` to ``python -m frame_extraction`` and
``DIR/test`` to ``eval.py``. Nothing in ROOT is written to. The adapters and their layouts:
:mod:`dfdetect.datasets.registry`.

Exit status: 0 done, 1 no video could be placed, 2 malformed input (one-line message).
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import fields

from dfdetect.core.cli import add_verbose, run_cli
from dfdetect.core.io import format_table
from dfdetect.core.schemas import DATASET_SUMMARY_FILE, SPLITS
from dfdetect.datasets.base import Options
from dfdetect.datasets.ffpp import COMPRESSIONS, METHODS
from dfdetect.datasets.registry import ADAPTERS, build_dataset

log = logging.getLogger(__name__)

_SHOW = 10  # files named in the log (all of them are in summary.json)


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def get_args_parser() -> argparse.ArgumentParser:
    """The ``dataset`` command line (defaults: :class:`~dfdetect.datasets.base.Options`)."""
    d = Options()
    p = argparse.ArgumentParser(
        prog="python -m dfdetect dataset",
        description="Read a deepfake data set folder as it comes and write OUT/labels.csv, OUT/split.csv, "
        "OUT/summary.json and OUT/{train,val,test}/ (symlinks to the videos, with that split's labels.csv).",
    )
    p.add_argument("name", choices=list(ADAPTERS), help="; ".join(f"{a.name}: {a.contents}" for a in ADAPTERS.values()))
    p.add_argument("root", help="the data set folder, as downloaded (never written to)")
    p.add_argument("--out", required=True, help="output folder (outside ROOT)")
    g = p.add_argument_group("FaceForensics++ (ffpp)")
    g.add_argument("--compression", choices=sorted(COMPRESSIONS), default=None,
                   help=f"quality (c0 is the raw folder; default {d.compression})")
    g.add_argument("--methods", type=_names, default=None,
                   help=f"comma-separated, any of {', '.join(METHODS)} (default: the four of the FF++ paper)")
    g.add_argument("--test-methods", type=_names, default=None,
                   help="leave-one-manipulation-out: methods whose fakes form the test split alone; train and val "
                   "get the other methods' fakes")
    g.add_argument("--splits", default=None,
                   help="folder of the official train.json, val.json, test.json (default: ROOT/splits or ROOT)")
    g = p.add_argument_group("every data set")
    g.add_argument("--reals-only", action="store_true", default=None,
                   help="only the real videos (train them with --synth-fakes 1: the SBI protocol)")
    g.add_argument("--test-only", action="store_true", default=None,
                   help="every video in the test split (a data set used only to test another's model)")
    g.add_argument("--seed", type=int, default=None, help=f"seed of the split by identity group (default {d.seed})")
    g.add_argument("--val-fraction", type=float, default=None,
                   help=f"share of identity groups for val, where the data set has no official val (default "
                   f"{d.val_fraction})")
    g.add_argument("--test-fraction", type=float, default=None,
                   help=f"share of identity groups for test, where the data set has no official test (default "
                   f"{d.test_fraction})")
    add_verbose(p)
    return p


def _log_summary(summary: dict) -> None:
    counts = summary["counts"]
    rows = [["split", "real", "fake"]] + [[s, str(counts["by_split"][s]["real"]), str(counts["by_split"][s]["fake"])]
                                          for s in SPLITS]
    log.info("%s: %d videos (%d real, %d fake, %d identity groups)\n%s", summary["dataset"], counts["videos"],
             counts["real"], counts["fake"], counts["groups"], format_table(rows))
    if counts["by_method"]:
        table = [["method", *SPLITS]] + [[m, *(str(c.get(s, 0)) for s in SPLITS)]
                                         for m, c in counts["by_method"].items()]
        log.info("fakes per method:\n%s", format_table(table))
    for key, what in (("unplaced", "file(s) could not be placed"), ("missing", "listed file(s) are missing")):
        items = summary[key]
        if items:
            shown = "; ".join(f"{i.get('path') or i.get('name')} ({i.get('reason') or i.get('listed_in')})"
                              for i in items[:_SHOW])
            log.warning("%d %s: %s%s", len(items), what, shown, "; ..." if len(items) > _SHOW else "")
    for reason, paths in summary["left_out"].items():
        log.info("left out %d: %s", len(paths), reason)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI: 0 done, 1 no video placed, 2 malformed input."""
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    """The body of :func:`main` (after the arguments and the logging setup)."""
    given = {f.name for f in fields(Options) if getattr(args, f.name) is not None}
    opts = Options(**{k: getattr(args, k) for k in given})
    summary = build_dataset(args.name, args.root, args.out, opts, given=given)
    _log_summary(summary)
    if not summary["counts"]["videos"]:
        log.error("no video placed (see %s/%s)", args.out, DATASET_SUMMARY_FILE)
        return 1
    log.info("wrote %s: labels.csv, split.csv, %s and %s", args.out, DATASET_SUMMARY_FILE,
             ", ".join(f"{s}/" for s in SPLITS if any(summary["counts"]["by_split"][s].values())))
    return 0
