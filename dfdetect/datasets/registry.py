"""THE list of data set adapters, by name, and :func:`build_dataset`: a data set folder as it comes -> labels, splits.

Adding a data set touches its own module and one entry of :data:`ADAPTERS` (``python -m dfdetect dataset NAME``,
the README's table and the tests parametrised over adapters pick it from there).

Example:
    >>> sorted(ADAPTERS)
    ['celebdf', 'dfdc', 'ffpp', 'folder', 'inclusion']
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dfdetect.core.io import InputError
from dfdetect.datasets.base import TEST, VAL, Options, Scan, assign_splits, check_out, select, write_dataset
from dfdetect.datasets.celebdf import scan_celebdf
from dfdetect.datasets.dfdc import scan_dfdc
from dfdetect.datasets.ffpp import scan_ffpp
from dfdetect.datasets.folder import scan_folder
from dfdetect.datasets.inclusion import scan_inclusion

log = logging.getLogger(__name__)

GENERIC_OPTIONS = frozenset({"reals_only", "test_only"})
"""Options every adapter takes."""
SPLIT_OPTIONS = frozenset({"seed", "val_fraction", "test_fraction"})
"""Options of the adapters that draw splits by identity group (where the data set has no official one)."""


@dataclass(frozen=True)
class Adapter:
    """A data set adapter.

    Attributes:
        name: its name in ``python -m dfdetect dataset NAME``.
        scan: ``scan(root, options) -> Scan`` (reads only).
        contents: what the data set holds, in one line.
        request: how to get it.
        options: the :class:`~dfdetect.datasets.base.Options` fields it uses besides :data:`GENERIC_OPTIONS`.
    """

    name: str
    scan: Callable[[Path, Options], Scan]
    contents: str
    request: str
    options: frozenset[str]


ADAPTERS: dict[str, Adapter] = {a.name: a for a in (
    Adapter("ffpp", scan_ffpp, "FaceForensics++: 1000 YouTube videos and their fakes by Deepfakes, Face2Face, "
            "FaceSwap, NeuralTextures (+ FaceShifter, DeepFakeDetection) at c0/c23/c40; official split by pairs",
            "request form at github.com/ondyari/FaceForensics, then its download script",
            frozenset({"compression", "methods", "test_methods", "splits"})),
    Adapter("celebdf", scan_celebdf, "Celeb-DF v1/v2: celebrity interviews and their face swaps; official testing "
            "list (518 videos in v2)", "request form at github.com/yuezunli/celeb-deepfakeforensics", SPLIT_OPTIONS),
    Adapter("dfdc", scan_dfdc, "DFDC: 119k ten-second clips of paid actors in 50 parts, metadata.json per part "
            "(label, original)", "Kaggle competition deepfake-detection-challenge, or ai.meta.com/datasets/dfdc",
            SPLIT_OPTIONS),
    Adapter("inclusion", scan_inclusion, "Inclusion challenge 2024: FFDV (video) and FFDI (image) tracks, label "
            "files video_name,target / img_name,target", "the challenge's Kaggle pages (multi-ffdv, multi-ffdi)",
            SPLIT_OPTIONS),
    Adapter("folder", scan_folder, "any real/ and fake/ sub-folders", "your own data", SPLIT_OPTIONS),
)}
"""Every adapter, by name."""


def check_options(adapter: Adapter, given: set[str]) -> None:
    """An option the adapter does not use is an error naming the ones it does (never silently ignored).

    Example:
        >>> check_options(ADAPTERS["celebdf"], {"methods"})
        Traceback (most recent call last):
        ...
        dfdetect.core.io.InputError: --methods does not apply to celebdf (its options: --reals-only, --seed, \
--test-fraction, --test-only, --val-fraction)
    """
    allowed = adapter.options | GENERIC_OPTIONS
    extra = sorted(given - allowed)
    if extra:
        flags = ", ".join(f"--{o.replace('_', '-')}" for o in sorted(allowed))
        raise InputError(f"--{extra[0].replace('_', '-')} does not apply to {adapter.name} (its options: {flags})")


def build_dataset(name: str, root: str | os.PathLike, out: str | os.PathLike, opts: Options = Options(),
                  given: set[str] | None = None) -> dict[str, Any]:
    """Read a data set folder as it comes and write its labels, split, per-split links and summary into ``out``.

    Steps: the adapter's scan (:data:`ADAPTERS`), :func:`~dfdetect.datasets.base.assign_splits` for videos without
    an official split (val and test drawn only where the data set has none), :func:`~dfdetect.datasets.base.select`
    (``reals_only``, ``test_only``), :func:`~dfdetect.datasets.base.write_dataset`.

    Args:
        name: an adapter name.
        root: the data set folder (read only).
        out: the output folder (outside ``root``).
        opts: the options.
        given: the option names set on the command line (checked against the adapter's; None: not checked).

    Returns:
        The summary written to ``out/summary.json``.

    Raises:
        InputError: unknown adapter, missing root, an option the adapter does not use, malformed data set files.
    """
    if name not in ADAPTERS:
        raise InputError(f"unknown data set {name!r} (known: {', '.join(ADAPTERS)})")
    adapter = ADAPTERS[name]
    check_options(adapter, given or set())
    root, out = Path(root), Path(out)
    if not root.is_dir():
        raise InputError(f"data set folder not found: {root}")
    check_out(root, out)
    if opts.reals_only and opts.test_methods:
        raise InputError("--test-methods with --reals-only: there would be no fake to hold out")
    scan = adapter.scan(root, opts)
    has_val = any(v.split == VAL for v in scan.videos)
    has_test = any(v.split == TEST for v in scan.videos)
    assign_splits(scan.videos, opts.seed, 0.0 if has_val else opts.val_fraction,
                  0.0 if has_test else opts.test_fraction)
    select(scan, reals_only=opts.reals_only, test_only=opts.test_only)
    used = adapter.options | GENERIC_OPTIONS
    header = {"dataset": name, "options": {k: v for k, v in asdict(opts).items() if k in used}}
    return write_dataset(scan, root, out, header)
