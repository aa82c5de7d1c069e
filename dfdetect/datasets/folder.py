"""Any data set laid out as ``real/`` and ``fake/`` sub-folders (the layout of many Kaggle sets and in-house data).

Layout::

    real/a.mp4 ...                 real videos (or images), sub-folders allowed
    fake/b.mp4 ...                 fakes; a fake in a sub-folder (fake/Deepfakes/b.mp4) takes its name as method

The folder names are matched ignoring case. There is no identity: train, val and test are drawn by video (for a split
by person, write your own ``split.csv``). A file that is not a video or an image, and a file outside ``real/`` and
``fake/``, are set aside with the reason.

Names in the outputs: the file name; a name found twice gets its folders in front (``fake_Deepfakes_b.mp4``).
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath

from dfdetect.core.io import InputError
from dfdetect.datasets.base import Options, Scan, Video, dedupe_names, find_dir, is_media, walk_files

log = logging.getLogger(__name__)

CLASS_FOLDERS = {"real": 0, "fake": 1}


def scan_folder(root: Path, opts: Options) -> Scan:
    """Place the media of ``real/`` and ``fake/``.

    Args:
        root: the folder holding ``real/`` and ``fake/``.
        opts: unused here (the split takes ``seed``, ``val_fraction``, ``test_fraction`` later).

    Returns:
        The placed media and the files set aside.

    Raises:
        InputError: neither ``real/`` nor ``fake/`` under ``root``.
    """
    on_disk = {c: find_dir(root, c) for c in CLASS_FOLDERS}
    if not any(on_disk.values()):
        raise InputError(f"no real/ or fake/ folder under {root}")
    scan = Scan(info={"folders": {c: d for c, d in on_disk.items() if d},
                      "missing_folders": [c for c, d in on_disk.items() if not d]})
    tops = {d: CLASS_FOLDERS[c] for c, d in on_disk.items() if d}
    for rel in walk_files(root):
        parts = PurePosixPath(rel).parts
        if parts[0] not in tops or len(parts) < 2:
            scan.unplaced[rel] = "not in real/ or fake/"
        elif not is_media(rel):
            scan.unplaced[rel] = f"not a video or an image (extension {PurePosixPath(rel).suffix or 'none'!r})"
        else:
            target = tops[parts[0]]
            method = parts[1] if target and len(parts) > 2 else ""
            scan.videos.append(Video(parts[-1], rel, target, method))
    dedupe_names(scan)
    return scan
