"""What every data set adapter shares: a data set as a list of videos, splits by identity group, and the outputs.

An adapter (:mod:`~dfdetect.datasets.ffpp`, :mod:`~dfdetect.datasets.celebdf`, ...) reads a data set folder as it
comes and returns a :class:`Scan`: every video it placed (:class:`Video`: a unique name, its file relative to the
root, label, manipulation method, identity group, official split when the data set has one, the real video a fake was
made from) and every file it read but could not place, with the reason. Then, the same for every data set:

- :func:`assign_splits` gives the videos without an official split one, a whole identity group at a time (a group's
  place depends on the seed and its key only, so adding files to a data set moves no other group);
- :func:`select` applies ``--reals-only`` and ``--test-only`` (what it leaves out is recorded, never dropped silently);
- :func:`write_dataset` writes ``OUT/labels.csv`` (:data:`~dfdetect.core.schemas.DATASET_LABELS_COLUMNS`),
  ``OUT/split.csv``, ``OUT/summary.json`` and, per split, ``OUT/<split>/`` with a symlink per video (named by its
  unique ``video_name``, pointing at the file in the data set: nothing is copied, nothing in the data set folder is
  touched) and that split's ``labels.csv``. Every tool of the project names videos by file name, and real data sets
  repeat file names across folders (every FF++ method has a ``000_003.mp4``): the links give each video one name that
  ``frame_extraction``, ``face_crop``, ``train.py`` and ``eval.py`` all see.

Example:
    >>> videos = [Video("a.mp4", "real/a.mp4", 0, group="p1"), Video("b.mp4", "fake/b.mp4", 1, group="p1"),
    ...           Video("c.mp4", "real/c.mp4", 0, group="p2", split="test")]
    >>> assign_splits(videos, seed=0, val_fraction=0.0, test_fraction=0.0)
    >>> [(v.name, v.split) for v in videos]
    [('a.mp4', 'train'), ('b.mp4', 'train'), ('c.mp4', 'test')]
"""

from __future__ import annotations

import logging
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from dfdetect.core.io import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, InputError, write_csv, write_json
from dfdetect.core.schemas import DATASET_LABELS_COLUMNS, DATASET_SUMMARY_FILE, SPLIT_COLUMNS, SPLITS
from dfdetect.core.seeding import hash_unit

log = logging.getLogger(__name__)

TRAIN, VAL, TEST = SPLITS
VAL_FRACTION = 0.15
"""Share of the identity groups that go to validation, where the data set has no official validation split."""
TEST_FRACTION = 0.15
"""Share of the identity groups that go to test, where the data set has no official test split."""
MEDIA_EXTENSIONS = VIDEO_EXTENSIONS | IMAGE_EXTENSIONS
LABELS_FILE = "labels.csv"
SPLIT_FILE = "split.csv"


@dataclass
class Video:
    """One placed video (or image) of a data set.

    Attributes:
        name: its unique ``video_name`` in the outputs (the symlink's name).
        source: its file, relative to the data set root, POSIX separators.
        target: 1 = fake, 0 = real.
        method: the fake's manipulation method (empty for reals, or when the data set does not say).
        group: the identity group a split keeps together (an FF++ pair of source ids, a Celeb-DF person, a DFDC
            original and its fakes); the name itself when the data set gives no identity.
        original: for a fake, the ``name`` of the real video it was made from (empty when unknown).
        split: the official split (one of :data:`~dfdetect.core.schemas.SPLITS`), or empty until
            :func:`assign_splits`.
    """

    name: str
    source: str
    target: int
    method: str = ""
    group: str = ""
    original: str = ""
    split: str = ""


@dataclass
class Scan:
    """What an adapter found in a data set folder.

    Attributes:
        videos: the placed videos.
        unplaced: ``{file relative to the root: reason}`` for every file the adapter read but could not place.
        missing: ``{name: where it is listed}`` for videos the data set's own lists name but whose file is absent.
        left_out: ``{file relative to the root: reason}`` for videos placed but left out by an option.
        info: what the adapter read and decided, in words and numbers (folders, split files, version...).
    """

    videos: list[Video] = field(default_factory=list)
    unplaced: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Options:
    """Every option of ``python -m dfdetect dataset`` (each adapter uses the ones it declares).

    Attributes:
        compression: FF++ quality: ``c0`` (the ``raw`` folder), ``c23`` or ``c40``.
        methods: FF++ manipulation methods to take (empty: the four of the FF++ paper).
        test_methods: FF++ methods held out for leave-one-manipulation-out: the test split holds only their fakes
            (and the test reals); train and val hold only the other methods' fakes.
        splits: the folder of FF++'s official ``train.json``, ``val.json``, ``test.json`` (empty: ``ROOT`` or
            ``ROOT/splits``).
        reals_only: keep only the real videos (for training on reals with the project's fake generators).
        test_only: every video goes to the test split (a data set used only to test another's model).
        seed: decides which identity groups go to val and test where the data set has no official split.
        val_fraction: share of the groups for validation where the data set has no official validation split.
        test_fraction: share of the groups for test where the data set has no official test split.
    """

    compression: str = "c23"
    methods: tuple[str, ...] = ()
    test_methods: tuple[str, ...] = ()
    splits: str = ""
    reals_only: bool = False
    test_only: bool = False
    seed: int = 0
    val_fraction: float = VAL_FRACTION
    test_fraction: float = TEST_FRACTION


# --------------------------------------------------------------------------------------------------------- reading


def walk_files(root: Path, sub: str = "") -> list[str]:
    """Every file under ``root / sub``, as POSIX paths relative to ``root``, sorted; hidden files and folders skipped.

    Symlinked folders are followed (a data set is often a tree of links), each real folder once.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> for p in ("a/x.mp4", "a/.hidden", "b/y.txt"):
        ...     (root / p).parent.mkdir(exist_ok=True); _ = (root / p).write_bytes(b"")
        >>> walk_files(root), walk_files(root, "a")
        (['a/x.mp4', 'b/y.txt'], ['a/x.mp4'])
    """
    top = root / sub if sub else root
    if not top.is_dir():
        return []
    found: list[str] = []
    seen: set[str] = set()
    for folder, dirs, files in os.walk(top, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in files:
            if not f.startswith("."):
                found.append(Path(folder, f).relative_to(root).as_posix())
    return sorted(found)


def find_dir(root: Path, name: str) -> str | None:
    """The sub-folder of ``root`` whose name is ``name`` ignoring case (its name as on disk), or None.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp()); (root / "Youtube-real").mkdir()
        >>> find_dir(root, "YouTube-real"), find_dir(root, "Celeb-real")
        ('Youtube-real', None)
    """
    if not root.is_dir():
        return None
    matches = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name.lower() == name.lower())
    return matches[0] if matches else None


def is_media(path: str) -> bool:
    """A video or image file by its extension (a data set's listings name media; anything else is set aside)."""
    return PurePosixPath(path).suffix.lower() in MEDIA_EXTENSIONS


def dedupe_names(scan: Scan) -> None:
    """Give videos that share a ``name`` unique ones: their folders in front (``part_1_x.mp4``), else unplace them.

    Each ``original`` naming a renamed video follows it when it is unambiguous (the one in the same folder).

    Example:
        >>> scan = Scan([Video("x.mp4", "p1/x.mp4", 0), Video("x.mp4", "p2/x.mp4", 0), Video("y.mp4", "p1/y.mp4", 1,
        ...              original="x.mp4")])
        >>> dedupe_names(scan)
        >>> [(v.name, v.original) for v in scan.videos]
        [('p1_x.mp4', ''), ('p2_x.mp4', ''), ('y.mp4', 'p1_x.mp4')]
    """
    counts = Counter(v.name for v in scan.videos)
    renamed: dict[tuple[str, str], str] = {}  # (folder, old name) -> new name
    for v in scan.videos:
        if counts[v.name] > 1:
            folder = str(PurePosixPath(v.source).parent)
            new = f"{folder.replace('/', '_')}_{v.name}" if folder != "." else v.name
            renamed[(folder, v.name)] = new
            v.name = new
    for v in scan.videos:
        if v.original and (str(PurePosixPath(v.source).parent), v.original) in renamed:
            v.original = renamed[(str(PurePosixPath(v.source).parent), v.original)]
    seen: dict[str, str] = {}
    kept = []
    for v in scan.videos:
        if v.name in seen:
            scan.unplaced[v.source] = f"its name {v.name!r} is taken by {seen[v.name]}"
            continue
        seen[v.name] = v.source
        kept.append(v)
    scan.videos = kept


# --------------------------------------------------------------------------------------------------------- splits


def split_groups(groups: Iterable[str], seed: int, val_fraction: float, test_fraction: float) -> dict[str, str]:
    """Train/val/test for identity groups: ``hash_unit(seed, group)`` below ``test_fraction`` is test, below
    ``test_fraction + val_fraction`` val, the rest train.

    A group's place depends on the seed and its key only. When a share asked for (> 0) comes out empty and train has
    two or more groups, the train group with the lowest draw moves there (small data sets still get every split).

    Example:
        >>> parts = split_groups([f"g{i}" for i in range(400)], seed=0, val_fraction=0.25, test_fraction=0.25)
        >>> sorted(Counter(parts.values()).items())
        [('test', 104), ('train', 202), ('val', 94)]
        >>> split_groups(["a", "b", "c"], seed=0, val_fraction=0.1, test_fraction=0.1)
        {'a': 'train', 'b': 'val', 'c': 'test'}
    """
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise InputError(f"val and test fractions must be in [0, 1) with a sum below 1, got {val_fraction} and "
                         f"{test_fraction}")
    draws = {g: hash_unit(seed, "split", g) for g in sorted(set(groups))}
    parts = {g: TEST if u < test_fraction else VAL if u < test_fraction + val_fraction else TRAIN
             for g, u in draws.items()}
    for split, share in ((TEST, test_fraction), (VAL, val_fraction)):
        train = sorted((g for g in parts if parts[g] == TRAIN), key=lambda g: (draws[g], g))
        if share > 0 and split not in parts.values() and len(train) >= 2:
            parts[train[0]] = split
    return parts


def assign_splits(videos: Sequence[Video], seed: int, val_fraction: float, test_fraction: float) -> None:
    """Give every video without a split its group's (:func:`split_groups`); a video without a group is its own."""
    for v in videos:
        v.group = v.group or v.name
    todo = [v for v in videos if not v.split]
    parts = split_groups((v.group for v in todo), seed, val_fraction, test_fraction)
    for v in todo:
        v.split = parts[v.group]


def select(scan: Scan, reals_only: bool = False, test_only: bool = False) -> None:
    """``--reals-only``: fakes move to ``left_out``; ``--test-only``: every video goes to the test split.

    Example:
        >>> scan = Scan([Video("r.mp4", "r.mp4", 0, split="train"), Video("f.mp4", "f.mp4", 1, split="val")])
        >>> select(scan, reals_only=True, test_only=True)
        >>> [(v.name, v.split) for v in scan.videos], scan.left_out
        ([('r.mp4', 'test')], {'f.mp4': 'fake (--reals-only)'})
    """
    if reals_only:
        for v in scan.videos:
            if v.target:
                scan.left_out[v.source] = "fake (--reals-only)"
        scan.videos = [v for v in scan.videos if not v.target]
    if test_only:
        for v in scan.videos:
            v.split = TEST


# --------------------------------------------------------------------------------------------------------- writing


def summarize(scan: Scan) -> dict[str, Any]:
    """Counts per class, per split and class, per method and split; the unplaced, missing and left-out files.

    Example:
        >>> s = summarize(Scan([Video("r.mp4", "r.mp4", 0, split="train"),
        ...                     Video("f.mp4", "f.mp4", 1, "Deepfakes", split="test")], unplaced={"x.txt": "?"}))
        >>> s["counts"]["by_split"]["test"], s["counts"]["by_method"], s["unplaced"]
        ({'real': 0, 'fake': 1}, {'Deepfakes': {'test': 1}}, [{'path': 'x.txt', 'reason': '?'}])
    """
    by_split = {s: {"real": 0, "fake": 0} for s in SPLITS}
    by_method: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for v in scan.videos:
        by_split[v.split]["fake" if v.target else "real"] += 1
        if v.target:
            by_method[v.method or "unknown"][v.split] += 1
    left_out: dict[str, list[str]] = defaultdict(list)
    for path, reason in sorted(scan.left_out.items()):
        left_out[reason].append(path)
    n_fake = sum(v.target for v in scan.videos)
    return {
        "counts": {
            "videos": len(scan.videos), "real": len(scan.videos) - n_fake, "fake": n_fake,
            "groups": len({v.group or v.name for v in scan.videos}),
            "by_split": by_split,
            "by_method": {m: {s: c[s] for s in SPLITS if c[s]} for m, c in sorted(by_method.items())},
            "unplaced": len(scan.unplaced), "missing": len(scan.missing), "left_out": len(scan.left_out),
        },
        "unplaced": [{"path": p, "reason": r} for p, r in sorted(scan.unplaced.items())],
        "missing": [{"name": n, "listed_in": w} for n, w in sorted(scan.missing.items())],
        "left_out": dict(sorted(left_out.items())),
    }


def check_out(root: Path, out: Path) -> None:
    """OUT and the data set folder must lie apart: the data set is never written to (nor its links replaced)."""
    r, o = root.resolve(), out.resolve()
    if o == r or r in o.parents:
        raise InputError(f"--out {out} is inside the data set folder {root}, which is never written to: choose "
                         "another folder")
    if o in r.parents:
        raise InputError(f"the data set folder {root} is inside --out {out}, where this command replaces links: "
                         "choose an --out apart from the data set")
    if out.exists() and not out.is_dir():
        raise InputError(f"--out is not a folder: {out}")


def _link(path: Path, target: str) -> None:
    """Make ``path`` a symlink to ``target`` atomically (a temporary link renamed into place)."""
    if path.is_symlink() and os.readlink(path) == target:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # hidden: no tool takes it for an input
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, path)


def _sync_split_folder(folder: Path, wanted: dict[str, str]) -> int:
    """Make ``folder`` hold exactly the symlinks ``{name: target}``; returns the stale links removed.

    Only symlinks are ever removed (those of an earlier run that this one no longer lists), and a file that is not a
    link is never replaced: it raises :class:`InputError`.
    """
    for name in wanted:
        p = folder / name
        if (p.exists() or p.is_symlink()) and not p.is_symlink():
            raise InputError(f"{p} exists and is not a link written by this command: choose another --out")
    removed = 0
    if folder.is_dir():
        for p in folder.iterdir():
            if p.is_symlink() and p.name not in wanted:
                p.unlink()
                removed += 1
            elif not p.is_symlink() and p.name != LABELS_FILE:
                log.warning("%s was not written by this command; it is left as is (tools reading %s will see it)",
                            p, folder)
    if wanted:
        folder.mkdir(parents=True, exist_ok=True)
    for name, target in wanted.items():
        _link(folder / name, target)
    return removed


def _row(v: Video) -> dict[str, Any]:
    return {"video_name": v.name, "target": v.target, "method": v.method, "source": v.source,
            "original": v.original, "group": v.group}


def write_dataset(scan: Scan, root: str | os.PathLike, out: str | os.PathLike,
                  header: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the labels, the split, the per-split folders of symlinks and the summary; returns the summary.

    Args:
        scan: the placed videos (every one with a split) and what could not be placed.
        root: the data set folder (the links point at ``root / video.source``, absolute).
        out: the output folder (not inside ``root``).
        header: first keys of ``summary.json`` (data set, options...).

    Returns:
        The summary written to ``OUT/summary.json`` (:func:`summarize` plus ``header``, ``root``, ``out``, ``info``).

    Raises:
        InputError: ``out`` inside ``root`` or around it, a file in ``OUT/<split>/`` that is not one of our links.
        ValueError: two videos with one name or a video without a split (an adapter's bug).
    """
    root, out = Path(root), Path(out)
    check_out(root, out)
    names = Counter(v.name for v in scan.videos)
    dup = [n for n, c in names.items() if c > 1]
    if dup or any(v.split not in SPLITS for v in scan.videos):
        raise ValueError(f"duplicate names {dup[:3]} or videos without a split")
    videos = sorted(scan.videos, key=lambda v: v.name)
    out.mkdir(parents=True, exist_ok=True)
    removed = 0
    for split in SPLITS:
        part = [v for v in videos if v.split == split]
        folder = out / split
        removed += _sync_split_folder(folder, {v.name: os.path.abspath(root / v.source) for v in part})
        if part:
            write_csv(folder / LABELS_FILE, [_row(v) for v in part], DATASET_LABELS_COLUMNS)
        elif (folder / LABELS_FILE).is_file():
            (folder / LABELS_FILE).unlink()  # ours, from an earlier run: the split is empty now
    if removed:
        log.info("removed %d link(s) of an earlier run that this one does not list", removed)
    write_csv(out / LABELS_FILE, [_row(v) for v in videos], DATASET_LABELS_COLUMNS)
    write_csv(out / SPLIT_FILE, [{"video_name": v.name, "split": v.split} for v in videos], SPLIT_COLUMNS)
    summary = {**(header or {}), "root": os.path.abspath(root), "out": os.path.abspath(out), "info": scan.info,
               **summarize(scan)}
    write_json(out / DATASET_SUMMARY_FILE, summary)
    return summary
