"""The DFDC (Dolhansky et al., 2020) as it comes: one ``metadata.json`` per part folder.

Layout::

    dfdc_train_part_0/metadata.json     {"aaa.mp4": {"label": "FAKE", "split": "train", "original": "bbb.mp4"},
                                         "bbb.mp4": {"label": "REAL", "split": "train", "original": null}, ...}
    dfdc_train_part_0/aaa.mp4 ...

Any folder up to two levels below the root with a ``metadata.json`` is a part (``train_sample_videos/`` too). The
``original`` of each fake is kept (the ``original`` column, under its output name), so face boxes detected once on an
original can be reused for its fakes, as the DFDC winner did. The split is by original: a real video and its fakes
form one group, so a fake never lands on the other side of its own original (the same actor can still appear in
several originals: DFDC's training parts are not split by person). Entries whose ``split`` says ``test`` or ``val``
keep it. A file not in its part's metadata, a file outside every part and an entry with another label than REAL or
FAKE are set aside with the reason; an entry whose file is absent is reported missing.

Names in the outputs: the file name (DFDC's names are unique); a name found in two parts gets its folder in front.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path, PurePosixPath

from dfdetect.core.io import InputError
from dfdetect.datasets.base import TEST, VAL, Options, Scan, Video, dedupe_names, walk_files

log = logging.getLogger(__name__)

METADATA = "metadata.json"
LABELS = {"REAL": 0, "FAKE": 1}
SPLIT_VALUES = {"test": TEST, "val": VAL, "validation": VAL}
"""A metadata ``split`` kept as it is; ``train`` (every entry of the training parts) is split by original."""


def find_parts(root: Path) -> list[str]:
    """Folders (relative to ``root``, ``"."`` for the root itself) holding a ``metadata.json``, up to two levels down.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> for d in ("dfdc_train_part_0", "dfdc_train_part_1", "other"):
        ...     (root / d).mkdir()
        >>> for d in ("dfdc_train_part_0", "dfdc_train_part_1"):
        ...     _ = (root / d / METADATA).write_text("{}")
        >>> find_parts(root)
        ['dfdc_train_part_0', 'dfdc_train_part_1']
    """
    found = [p.parent for p in [root / METADATA, *root.glob(f"*/{METADATA}"), *root.glob(f"*/*/{METADATA}")]
             if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)]
    return sorted(p.relative_to(root).as_posix() for p in found)


def read_metadata(path: Path) -> dict[str, dict]:
    """A part's ``metadata.json``: ``{file name: {"label", "split", "original"}}``.

    Raises:
        InputError: not a JSON object of objects.
    """
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not a readable JSON file ({e})") from None
    if not isinstance(meta, dict) or not all(isinstance(v, dict) for v in meta.values()):
        raise InputError(f"{path}: expected {{\"name.mp4\": {{\"label\": \"REAL\"|\"FAKE\", ...}}, ...}}")
    return meta


def scan_dfdc(root: Path, opts: Options) -> Scan:
    """Place the videos of every DFDC part by its ``metadata.json``, a fake grouped with its original.

    Args:
        root: the folder holding the part folders (or one part).
        opts: unused here (the split by original takes ``seed``, ``val_fraction``, ``test_fraction`` later).

    Returns:
        The placed videos, the files set aside and the metadata entries without a file.

    Raises:
        InputError: no ``metadata.json`` found, or a malformed one.
    """
    parts = find_parts(root)
    if not parts:
        raise InputError(f"no DFDC part under {root}: expected folders like dfdc_train_part_0/ with a {METADATA}")
    scan = Scan(info={"parts": parts})
    files = walk_files(root)
    on_disk = set(files)
    entries: dict[str, tuple[str, dict]] = {}  # source -> (part, metadata entry)
    for part in parts:
        for name, entry in read_metadata(root / part / METADATA).items():
            rel = str(PurePosixPath(part) / name)
            if rel not in on_disk:
                scan.missing[rel] = f"{part}/{METADATA}"
            else:
                entries[rel] = (part, entry)
    part_set = set(parts)
    for rel in files:
        parent = str(PurePosixPath(rel).parent)
        if rel in entries or PurePosixPath(rel).name == METADATA and parent in part_set:
            continue
        scan.unplaced[rel] = (f"not in {parent}/{METADATA}" if parent in part_set
                              else f"in no folder with a {METADATA}")
    for rel, (part, entry) in entries.items():
        label = str(entry.get("label", "")).upper()
        if label not in LABELS:
            scan.unplaced[rel] = f"label {entry.get('label')!r} in {part}/{METADATA} is neither REAL nor FAKE"
            continue
        original = entry.get("original") or ""
        source_of_original = str(PurePosixPath(part) / original) if original else ""
        if LABELS[label] and original and source_of_original not in entries:
            original = ""  # listed without its file (reported missing) or not listed at all
        group = source_of_original if original else rel
        split = SPLIT_VALUES.get(str(entry.get("split", "")).lower(), "")
        scan.videos.append(Video(PurePosixPath(rel).name, rel, LABELS[label], group=group,
                                 original=original if LABELS[label] else "", split=split))
    dedupe_names(scan)
    placed = {v.name for v in scan.videos}
    for v in scan.videos:
        if v.original not in placed:
            v.original = ""  # its original was set aside (a bad label): the group still keeps them together
    return scan
