"""FaceForensics++ (Rössler et al., ICCV 2019) as its download script lays it out, split by PAIRS of source ids.

Layout (``download_faceforensics.py``; ``<c>`` is ``raw`` for c0, ``c23`` or ``c40``)::

    original_sequences/youtube/<c>/videos/000.mp4                    1000 real YouTube videos, ids 000-999
    original_sequences/actors/<c>/videos/01__exit_phone_room.mp4     real actor videos (DeepFakeDetection's originals)
    manipulated_sequences/<Method>/<c>/videos/000_003.mp4            target 000 (its video), source 003 (the face)
    manipulated_sequences/DeepFakeDetection/<c>/videos/01_02__exit_phone_room__YVGY8LOK.mp4

The official 720/140/140 split (``dataset/splits/{train,val,test}.json`` of the FaceForensics repository) lists PAIRS
of ids (``[["953", "974"], ...]``): the fakes ``953_974`` and ``974_953`` swap these two people, so both originals and
both fakes stay on one side. A fake whose two ids sit in different splits, an id in no split file and a file named
otherwise are set aside with the reason. DeepFakeDetection has no official split: its actors and fakes go to test (a
cross-data-set test set, as in DeepfakeBench).

Names in the outputs: ``youtube_000.mp4``, ``actors_01__exit_phone_room.mp4``, ``<Method>_000_003.mp4``.

Example:
    >>> parse_fake("000_003.mp4"), parse_fake("01_02__exit_phone_room__YVGY8LOK.mp4"), parse_fake("000.mp4")
    (('000', '003', ''), ('01', '02', 'exit_phone_room'), None)
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from dfdetect.core.io import InputError
from dfdetect.core.schemas import SPLITS
from dfdetect.datasets.base import TEST, Options, Scan, Video, walk_files

log = logging.getLogger(__name__)

METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures", "FaceShifter", "DeepFakeDetection")
"""Every manipulation method of FF++ (folders under ``manipulated_sequences/``)."""
DEFAULT_METHODS = METHODS[:4]
"""The four methods of the FF++ paper and of DeepfakeBench's FF++ c23 tables."""
DFD = "DeepFakeDetection"
COMPRESSIONS = {"c0": "raw", "raw": "raw", "c23": "c23", "c40": "c40"}
"""``--compression`` -> the folder name (c0 is stored as ``raw``)."""
SPLIT_FILES = {split: f"{split}.json" for split in SPLITS}
_ORIGINAL = re.compile(r"^(\d{3})\.mp4$")
_FAKE = re.compile(r"^(\d{3})_(\d{3})\.mp4$")
_ACTOR = re.compile(r"^(\d{2})__(.+)\.mp4$")
_DFD_FAKE = re.compile(r"^(\d{2})_(\d{2})__(.+)__[A-Za-z0-9]+\.mp4$")


def parse_fake(name: str) -> tuple[str, str, str] | None:
    """``(target id, source id, scene)`` of a fake's file name (scene only for DeepFakeDetection), else None."""
    m = _FAKE.match(name)
    if m:
        return m.group(1), m.group(2), ""
    m = _DFD_FAKE.match(name)
    return (m.group(1), m.group(2), m.group(3)) if m else None


def find_split_files(root: Path, splits: str = "") -> Path:
    """The folder holding ``train.json``, ``val.json`` and ``test.json``: ``splits``, else ``ROOT/splits`` or ``ROOT``.

    Raises:
        InputError: none of them holds the three files.
    """
    candidates = [Path(splits)] if splits else [root / "splits", root]
    for folder in candidates:
        if all((folder / f).is_file() for f in SPLIT_FILES.values()):
            return folder
    where = splits or f"{root / 'splits'} or {root}"
    raise InputError(f"FF++ needs its official split files train.json, val.json and test.json (in {where}): give "
                     "their folder with --splits (dataset/splits/ of github.com/ondyari/FaceForensics)")


def read_split_files(folder: Path) -> dict[str, tuple[str, str]]:
    """``{id: (split, pair)}`` from FF++'s split files, ``pair`` being ``"953+974"`` (the ids sorted).

    Raises:
        InputError: a file that is not a JSON list of pairs of ids, or an id listed twice.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> for s, pairs in {"train": [["953", "974"]], "val": [["001", "870"]], "test": [["000", "003"]]}.items():
        ...     _ = (d / f"{s}.json").write_text(json.dumps(pairs))
        >>> read_split_files(d)["974"], read_split_files(d)["000"]
        (('train', '953+974'), ('test', '000+003'))
    """
    ids: dict[str, tuple[str, str]] = {}
    for split, file in SPLIT_FILES.items():
        path = folder / file
        try:
            pairs = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"{path}: not a readable JSON file ({e})") from None
        if not isinstance(pairs, list):
            raise InputError(f"{path}: expected a list of pairs of ids like [[\"953\", \"974\"], ...]")
        for i, pair in enumerate(pairs):
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, (str, int)) for x in pair)):
                raise InputError(f"{path}: item {i} is {pair!r}, expected a pair of ids like [\"953\", \"974\"]")
            a, b = (f"{int(x):03d}" if isinstance(x, int) or str(x).isdigit() else str(x) for x in pair)
            key = "+".join(sorted((a, b)))
            for x in (a, b):
                if x in ids:
                    raise InputError(f"{path}: id {x} is already in pair {ids[x][1]} ({ids[x][0]})")
                ids[x] = (split, key)
    return ids


def _methods(names: tuple[str, ...], flag: str) -> tuple[str, ...]:
    """Canonical method names (case-insensitive), or an InputError naming the valid ones."""
    by_lower = {m.lower(): m for m in METHODS}
    out = []
    for n in names:
        if n.lower() not in by_lower:
            raise InputError(f"{flag}: unknown FF++ method {n!r} (known: {', '.join(METHODS)})")
        out.append(by_lower[n.lower()])
    return tuple(dict.fromkeys(out))


def scan_ffpp(root: Path, opts: Options) -> Scan:
    """Place FF++'s originals and the fakes of ``opts.methods`` at ``opts.compression``, split by pairs.

    ``opts.test_methods`` (leave-one-manipulation-out): test keeps only those methods' fakes, train and val only the
    others'; the fakes that leaves out are recorded in ``left_out``.

    Args:
        root: the FF++ folder (holding ``original_sequences/`` and ``manipulated_sequences/``).
        opts: ``compression``, ``methods``, ``test_methods``, ``splits``.

    Returns:
        The placed videos, each with its official split, and the files set aside.

    Raises:
        InputError: an unknown method or compression, test methods not among the methods or all of them, missing or
            malformed split files, no video found.
    """
    if opts.compression not in COMPRESSIONS:
        raise InputError(f"--compression must be one of c0, c23, c40, got {opts.compression!r}")
    c = COMPRESSIONS[opts.compression]
    methods = _methods(opts.methods, "--methods") if opts.methods else DEFAULT_METHODS
    held_out = _methods(opts.test_methods, "--test-methods")
    if set(held_out) - set(methods):
        raise InputError(f"--test-methods {', '.join(sorted(set(held_out) - set(methods)))} not among --methods "
                         f"({', '.join(methods)})")
    if held_out and set(held_out) == set(methods):
        raise InputError("--test-methods holds every method: nothing would be left to train on")
    split_dir = find_split_files(root, opts.splits)
    ids = read_split_files(split_dir)
    counts = {s: len({p for sp, p in ids.values() if sp == s}) for s in SPLITS}
    scan = Scan(info={"compression": opts.compression, "folder": c, "methods": list(methods),
                      "test_methods": list(held_out), "split_files": str(split_dir.resolve()),
                      "pairs_per_split": counts, "missing_folders": []})

    def folder(*parts: str) -> str:
        rel = "/".join(parts)
        if not (root / rel).is_dir():
            scan.info["missing_folders"].append(rel)
            log.warning("FF++: no folder %s", root / rel)
        return rel

    youtube = folder("original_sequences", "youtube", c, "videos")
    for rel in walk_files(root, youtube):
        name = rel.rsplit("/", 1)[-1]
        m = _ORIGINAL.match(name)
        if not m:
            scan.unplaced[rel] = "name fits no FF++ original (NNN.mp4)"
        elif m.group(1) not in ids:
            scan.unplaced[rel] = f"id {m.group(1)} is in none of the split files"
        else:
            split, pair = ids[m.group(1)]
            scan.videos.append(Video(f"youtube_{name}", rel, 0, group=pair, split=split))
    if DFD in methods:
        for rel in walk_files(root, folder("original_sequences", "actors", c, "videos")):
            name = rel.rsplit("/", 1)[-1]
            m = _ACTOR.match(name)
            if m:
                scan.videos.append(Video(f"actors_{name}", rel, 0, group=f"actor {m.group(1)}", split=TEST))
            else:
                scan.unplaced[rel] = "name fits no FF++ actor video (NN__scene.mp4)"
    originals = {v.name for v in scan.videos}
    for method in methods:
        for rel in walk_files(root, folder("manipulated_sequences", method, c, "videos")):
            name = rel.rsplit("/", 1)[-1]
            parsed = parse_fake(name)
            if parsed is None or bool(parsed[2]) != (method == DFD):
                pattern = "NN_NN__scene__CODE.mp4" if method == DFD else "NNN_NNN.mp4"
                scan.unplaced[rel] = f"name fits no {method} fake ({pattern})"
                continue
            target, source, scene = parsed
            if method == DFD:
                original = f"actors_{target}__{scene}.mp4"
                scan.videos.append(Video(f"{method}_{name}", rel, 1, method, group=f"actor {target}",
                                         original=original if original in originals else "", split=TEST))
                continue
            unknown = [x for x in (target, source) if x not in ids]
            if unknown:
                scan.unplaced[rel] = f"id {unknown[0]} is in none of the split files"
                continue
            (split, pair), (split_b, _) = ids[target], ids[source]
            if split != split_b:
                scan.unplaced[rel] = f"its ids are in different splits ({target}: {split}, {source}: {split_b})"
                continue
            original = f"youtube_{target}.mp4"
            scan.videos.append(Video(f"{method}_{name}", rel, 1, method, group=pair,
                                     original=original if original in originals else "", split=split))
    if not scan.videos:
        raise InputError(f"no FF++ video found under {root} (expected {youtube}/000.mp4 ...; --compression "
                         f"{opts.compression})")
    if held_out:
        kept = []
        for v in scan.videos:
            if v.target and (v.method in held_out) != (v.split == TEST):
                scan.left_out[v.source] = ("held-out method (--test-methods), not in the test split" if v.split != TEST
                                           else "trained method: the test split holds only --test-methods")
            else:
                kept.append(v)
        scan.videos = kept
    return scan
