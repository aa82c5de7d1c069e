"""The Inclusion challenge's tracks (Global Multimedia Deepfake Detection, 2024): FFDV (video) and FFDI (image).

Layout (``phase1/`` in the challenge's archives)::

    trainset/ ...                     the media
    trainset_label.txt                CSV: video_name,target (FFDV) or img_name,target (FFDI); 1 = fake
    valset/ ...
    valset_label.txt

``train_label.txt`` / ``val_label.txt`` (media in ``train/``, ``val/``) and ``testset_label.txt`` are read alike.
Label files are looked for in the root and one level down; each names media in the folder of its prefix beside it
(``trainset/`` for ``trainset_label.txt``), else in its own folder. The train labels give train (val drawn from them
by name: the tracks give no identity); the val labels (the public validation set, whose labels were published) give
the test split, or val when a test label file is present too. A media file named in no label file is set aside with
the reason; a labelled name without its file is reported missing.

Names in the outputs: the file name; a name found in two sets gets its folder in front.

Example:
    >>> split_of("trainset_label.txt", has_test=False), split_of("valset_label.txt", has_test=False)
    ('', 'test')
"""

from __future__ import annotations

import csv
import io
import logging
import re
from pathlib import Path, PurePosixPath

from dfdetect.core.io import InputError
from dfdetect.datasets.base import TEST, VAL, Options, Scan, Video, dedupe_names, is_media, walk_files

log = logging.getLogger(__name__)

LABEL_FILE = re.compile(r"^(trainset|train|valset|val|testset|test)_label\.txt$", re.IGNORECASE)
NAME_COLUMNS = ("video_name", "img_name")
TARGET_COLUMN = "target"


def split_of(label_file: str, has_test: bool) -> str:
    """The split a label file gives: train labels ``""`` (split later into train and val), val labels test (val when
    a test label file exists), test labels test."""
    kind = LABEL_FILE.match(PurePosixPath(label_file).name).group(1).lower()
    if kind.startswith("train"):
        return ""
    if kind.startswith("val"):
        return VAL if has_test else TEST
    return TEST


def read_label_file(path: Path) -> dict[str, int]:
    """``{name: target}`` from an Inclusion label file (``video_name,target`` or ``img_name,target``).

    Raises:
        InputError: another header, a target outside {0, 1}, an empty or repeated name.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "trainset_label.txt"
        >>> _ = p.write_text("img_name,target\\n0001.jpg,1\\n0002.jpg,0\\n")
        >>> read_label_file(p)
        {'0001.jpg': 1, '0002.jpg': 0}
    """
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    header = [h.strip().lower() for h in (rows[0] if rows else [])]
    names = [c for c in NAME_COLUMNS if c in header]
    if not names or TARGET_COLUMN not in header:
        raise InputError(f"{path}: header must be video_name,target or img_name,target, got {','.join(header)!r}")
    i_name, i_target = header.index(names[0]), header.index(TARGET_COLUMN)
    labels: dict[str, int] = {}
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) <= max(i_name, i_target):
            raise InputError(f"{path}:{lineno}: expected {len(header)} columns, got {len(row)}")
        name, target = row[i_name].strip(), row[i_target].strip()
        if not name or target not in ("0", "1"):
            raise InputError(f"{path}:{lineno}: expected a name and a target 0 or 1 (1 = fake), got {row!r}")
        if name in labels:
            raise InputError(f"{path}:{lineno}: {name} is listed twice")
        labels[name] = int(target)
    return labels


def _media_folder(root: Path, label_rel: str) -> str:
    """Where a label file's media are: the folder named by its prefix beside it, else its own folder."""
    rel = PurePosixPath(label_rel)
    prefix = LABEL_FILE.match(rel.name).group(1)
    for d in (root / rel.parent).iterdir():
        if d.is_dir() and d.name.lower() == prefix.lower():
            return str(rel.parent / d.name)
    return str(rel.parent)


def scan_inclusion(root: Path, opts: Options) -> Scan:
    """Place the media named by the challenge's label files.

    Args:
        root: the folder holding the label files (or one level above them: ``phase1/``).
        opts: unused here (the val split takes ``seed`` and ``val_fraction`` later).

    Returns:
        The placed media, the files set aside and the labelled names without a file.

    Raises:
        InputError: no label file, or a malformed one.
    """
    files = walk_files(root)
    label_files = [f for f in files if LABEL_FILE.match(PurePosixPath(f).name) and f.count("/") <= 1]
    if not label_files:
        raise InputError(f"no Inclusion label file under {root} (trainset_label.txt, valset_label.txt, "
                         "train_label.txt or val_label.txt)")
    has_test = any(LABEL_FILE.match(PurePosixPath(f).name).group(1).lower().startswith("test") for f in label_files)
    scan = Scan(info={"label_files": {}})
    placed: set[str] = set()
    media_folders: dict[str, str] = {}
    for lf in label_files:
        folder = _media_folder(root, lf)
        media_folders[folder] = lf
        split = split_of(lf, has_test)
        labels = read_label_file(root / lf)
        scan.info["label_files"][lf] = {"media": folder, "split": split or "train/val", "entries": len(labels)}
        for name, target in labels.items():
            rel = str(PurePosixPath(folder) / name)
            if not (root / rel).is_file():
                scan.missing[rel] = lf
                continue
            placed.add(rel)
            scan.videos.append(Video(PurePosixPath(name).name, rel, target, group=rel, split=split))
    for rel in files:
        if rel in placed or rel in label_files:
            continue
        parent = str(PurePosixPath(rel).parent)
        if parent in media_folders:
            scan.unplaced[rel] = f"not in {media_folders[parent]}"
        elif is_media(rel):
            scan.unplaced[rel] = "in no folder a label file names"
        else:
            scan.unplaced[rel] = "not a media file named by a label file"
    dedupe_names(scan)
    return scan
