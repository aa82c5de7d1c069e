"""Celeb-DF v1 and v2 (Li et al., CVPR 2020) as they come, with the official testing list read the right way round.

Layout (the same for v1 and v2)::

    Celeb-real/id0_0000.mp4             a celebrity's real video: person 0, clip 0000
    Celeb-synthesis/id0_id1_0000.mp4    person 1's face swapped into person 0's clip 0000 (made from
                                        Celeb-real/id0_0000.mp4)
    YouTube-real/00000.mp4              other real videos (no person id)
    List_of_testing_videos.txt          "1 Celeb-real/id0_0000.mp4": 1 = REAL, 0 = fake (the project's opposite)

The testing list is the test split (518 videos in v2); the rest is split into train and val by person (the person
whose clip it is: a fake stays with its original), each YouTube-real video its own group. Without the list, test is
drawn by person like val. A listed video whose label disagrees with its folder, a file named otherwise and a file
outside the three folders are set aside with the reason; a listed file that is absent is reported missing.

Names in the outputs: the folder and the file, ``Celeb-real_id0_0000.mp4``, ``Celeb-synthesis_id0_id1_0000.mp4``.

Example:
    >>> parse_test_line("1 Celeb-real/id0_0000.mp4"), parse_test_line("0 Celeb-synthesis/id0_id1_0000.mp4")
    ((0, 'Celeb-real/id0_0000.mp4'), (1, 'Celeb-synthesis/id0_id1_0000.mp4'))
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from dfdetect.core.io import InputError
from dfdetect.datasets.base import TEST, Options, Scan, Video, find_dir, walk_files

log = logging.getLogger(__name__)

REAL_FOLDER, FAKE_FOLDER, YOUTUBE_FOLDER = "Celeb-real", "Celeb-synthesis", "YouTube-real"
FOLDERS = (REAL_FOLDER, FAKE_FOLDER, YOUTUBE_FOLDER)
TEST_LIST = "List_of_testing_videos.txt"
METHOD = FAKE_FOLDER
"""The ``method`` of Celeb-DF's fakes in the labels."""
LIST_REAL = 1
"""In the testing list, 1 means REAL (and 0 fake): the opposite of the project's ``target`` (1 = fake)."""
_PATTERNS = {
    REAL_FOLDER: re.compile(r"^id(\d+)_(\d+)\.mp4$"),
    FAKE_FOLDER: re.compile(r"^id(\d+)_id(\d+)_(\d+)\.mp4$"),
    YOUTUBE_FOLDER: re.compile(r"^(\d+)\.mp4$"),
}
_LINE = re.compile(r"^\s*([01])\s+(\S+)\s*$")


def parse_test_line(line: str) -> tuple[int, str] | None:
    """``(target, path)`` of a testing-list line, the label inverted (the list's 1 = REAL is target 0); else None."""
    m = _LINE.match(line)
    if not m:
        return None
    return (0 if int(m.group(1)) == LIST_REAL else 1), m.group(2).replace("\\", "/")


def read_test_list(path: Path) -> dict[str, int]:
    """``{path relative to the root: target}`` from ``List_of_testing_videos.txt`` (blank lines skipped).

    Raises:
        InputError: a line that is not ``<0|1> <path>``, or a path listed twice.
    """
    listed: dict[str, int] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        parsed = parse_test_line(line)
        if parsed is None:
            raise InputError(f"{path}:{lineno}: expected '<1 real | 0 fake> <folder>/<file>.mp4', got {line!r}")
        target, rel = parsed
        if rel in listed:
            raise InputError(f"{path}:{lineno}: {rel} is listed twice")
        listed[rel] = target
    return listed


def scan_celebdf(root: Path, opts: Options) -> Scan:
    """Place Celeb-DF's videos: the testing list is test, the rest waits for a split by person.

    Args:
        root: the Celeb-DF folder (``Celeb-real/``, ``Celeb-synthesis/``, ``YouTube-real/``, the testing list).
        opts: unused here (the split by person takes ``seed`` and ``val_fraction`` later).

    Returns:
        The placed videos (test ones with their split), the files set aside and the listed files missing.

    Raises:
        InputError: none of the three folders, or a malformed testing list.
    """
    on_disk = {f: find_dir(root, f) for f in FOLDERS}  # v1/v2 copies differ in case: Youtube-real
    if not any(on_disk.values()):
        raise InputError(f"no Celeb-DF folder under {root} (expected {', '.join(f + '/' for f in FOLDERS)})")
    canonical = {d.lower(): f for f, d in on_disk.items() if d}
    list_path = root / TEST_LIST
    listed = read_test_list(list_path) if list_path.is_file() else {}
    if not listed:
        log.warning("Celeb-DF: no %s in %s: the test split is drawn by person like val", TEST_LIST, root)
    scan = Scan(info={"folders": {f: d for f, d in on_disk.items() if d}, "missing_folders": [
        f for f, d in on_disk.items() if not d], "test_list": str(list_path.resolve()) if listed else None,
        "test_listed": len(listed)})

    def canonical_rel(rel: str) -> str:  # the list's folder spelling may differ from the disk's
        top, _, rest = rel.partition("/")
        return f"{on_disk.get(canonical.get(top.lower(), ''), top)}/{rest}" if rest else rel

    listed = {canonical_rel(r): t for r, t in listed.items()}
    found = set()
    for rel in walk_files(root):
        if rel == TEST_LIST:
            continue
        top, _, name = rel.partition("/")
        folder = canonical.get(top.lower())
        if folder is None or "/" in name:
            scan.unplaced[rel] = f"not directly in {', '.join(f + '/' for f in FOLDERS)}"
            continue
        m = _PATTERNS[folder].match(name)
        if not m:
            scan.unplaced[rel] = f"name fits no {folder} video ({_PATTERNS[folder].pattern})"
            continue
        target = int(folder == FAKE_FOLDER)
        if rel in listed and listed[rel] != target:
            said = "fake (0)" if listed[rel] else "real (1)"
            scan.unplaced[rel] = f"{TEST_LIST} says {said} but it is in {top}/"
            found.add(rel)
            continue
        group = f"{YOUTUBE_FOLDER} {m.group(1)}" if folder == YOUTUBE_FOLDER else f"id{int(m.group(1))}"
        original = f"{on_disk[REAL_FOLDER]}_id{m.group(1)}_{m.group(3)}.mp4" if target and on_disk[REAL_FOLDER] else ""
        scan.videos.append(Video(f"{top}_{name}", rel, target, METHOD if target else "", group=group,
                                 original=original, split=TEST if rel in listed else ""))
        found.add(rel)
    placed = {v.name for v in scan.videos}
    for v in scan.videos:
        if v.original not in placed:
            v.original = ""
    for rel in sorted(set(listed) - found):
        scan.missing[rel] = TEST_LIST
    return scan
