"""``python -m dfdetect fetch-samples OUT``: fetch the sample videos (used by ``make data``)."""

from __future__ import annotations

import argparse
import logging

from dfdetect.io import setup_logging
from dfdetect.samples import FetchError, fetch_samples

log = logging.getLogger(__name__)


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m dfdetect fetch-samples", description=__doc__)
    p.add_argument("out", nargs="?", default="data/samples", help="destination folder")
    return p


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    setup_logging()
    try:
        paths = fetch_samples(args.out)
    except FetchError as e:
        log.error("%s", e)
        return 1
    log.info("%d sample videos ready in %s", len(paths), args.out)
    return 0
