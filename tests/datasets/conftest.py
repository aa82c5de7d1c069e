"""Miniatures of the real data sets, built in a temporary folder at test time: the same folder structure, names, split
JSON, testing list, metadata and label files as the real thing, a few files each, every media file a symlink to a
sample video (nothing is copied; no media is committed). Each also holds the awkward files real downloads have: a
stray copy, a text file, a file the data set's own lists do not name, a listed file that is absent."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

FFPP_PAIRS = {"train": [["000", "003"]], "val": [["001", "002"]], "test": [["004", "005"]]}
FFPP_DEFAULT = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")
FFPP_STRAYS = {
    "original_sequences/youtube/c23/videos/006.mp4": "id 006 is in none of the split files",
    "original_sequences/youtube/c23/videos/notes.txt": "name fits no FF++ original (NNN.mp4)",
    "manipulated_sequences/Deepfakes/c23/videos/000_004.mp4": "its ids are in different splits (000: train, 004: test)",
    "manipulated_sequences/Deepfakes/c23/videos/000_003 (1).mp4": "name fits no Deepfakes fake (NNN_NNN.mp4)",
}


def _media(path: Path, sample: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(sample, path)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root`` with what it is: the test that the data set folder is never written to."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath, name)
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns,
                                             os.readlink(p) if p.is_symlink() else None)
    return out


@pytest.fixture
def make_ffpp(face_video: Path) -> Callable[..., Path]:
    """``make_ffpp(root, methods)``: FF++ at c23 (and a c40 copy that must not be read) with its split JSONs."""

    def make(root: Path, methods: Sequence[str] = FFPP_DEFAULT) -> Path:
        ids = sorted(x for pairs in FFPP_PAIRS.values() for p in pairs for x in p)
        for c in ("c23", "c40"):
            for i in ids:
                _media(root / f"original_sequences/youtube/{c}/videos/{i}.mp4", face_video)
            for m in methods:
                for pairs in FFPP_PAIRS.values():
                    for a, b in pairs:
                        _media(root / f"manipulated_sequences/{m}/{c}/videos/{a}_{b}.mp4", face_video)
                        _media(root / f"manipulated_sequences/{m}/{c}/videos/{b}_{a}.mp4", face_video)
        for rel in FFPP_STRAYS:
            if rel.endswith(".txt"):
                (root / rel).write_text("downloaded with the v2 script\n")
            elif rel.split("/")[1] in methods or rel.startswith("original"):
                _media(root / rel, face_video)
        (root / "splits").mkdir()
        for split, pairs in FFPP_PAIRS.items():
            (root / "splits" / f"{split}.json").write_text(json.dumps(pairs))
        return root

    return make


CELEBDF_REAL = ("id0_0000.mp4", "id0_0001.mp4", "id1_0000.mp4", "id2_0000.mp4", "id3_0000.mp4", "id4_0000.mp4")
CELEBDF_FAKE = ("id0_id1_0000.mp4", "id1_id0_0000.mp4", "id2_id3_0000.mp4", "id3_id2_0000.mp4", "id0_id2_0001.mp4",
                "id4_id1_0000.mp4")
CELEBDF_YOUTUBE = ("00000.mp4", "00001.mp4", "00002.mp4")
CELEBDF_LIST = [
    "1 Celeb-real/id0_0000.mp4",              # 1 = REAL in Celeb-DF's list
    "0 Celeb-synthesis/id0_id1_0000.mp4",     # 0 = fake
    "1 YouTube-real/00000.mp4",
    "1 Celeb-synthesis/id2_id3_0000.mp4",     # says real, but it is a fake: set aside, never mislabelled
    "0 Celeb-synthesis/id9_id1_0000.mp4",     # listed, absent
]


@pytest.fixture
def celebdf_root(tmp_path: Path, face_video: Path) -> Path:
    """Celeb-DF v2 with its testing list, a stray copy and a README."""
    root = tmp_path / "Celeb-DF-v2"
    for folder, names in (("Celeb-real", CELEBDF_REAL), ("Celeb-synthesis", CELEBDF_FAKE),
                          ("YouTube-real", CELEBDF_YOUTUBE)):
        for n in names:
            _media(root / folder / n, face_video)
    _media(root / "Celeb-real" / "id0_0000 copy.mp4", face_video)
    (root / "README.txt").write_text("Celeb-DF v2\n")
    (root / "List_of_testing_videos.txt").write_text("\n".join(CELEBDF_LIST) + "\n")
    return root


DFDC_META = {
    "dfdc_train_part_0": {
        "aaa.mp4": {"label": "FAKE", "split": "train", "original": "bbb.mp4"},
        "bbb.mp4": {"label": "REAL", "split": "train", "original": None},
        "ccc.mp4": {"label": "FAKE", "split": "train", "original": "bbb.mp4"},
        "ddd.mp4": {"label": "REAL", "split": "train", "original": None},
        "eee.mp4": {"label": "FAKE", "split": "train", "original": "ddd.mp4"},
        "hhh.mp4": {"label": "REAL", "split": "train", "original": None},
        "iii.mp4": {"label": "FAKE", "split": "train", "original": "hhh.mp4"},
        "odd.mp4": {"label": "MAYBE", "split": "train", "original": None},
        "zzz.mp4": {"label": "FAKE", "split": "train", "original": "bbb.mp4"},  # no such file
    },
    "dfdc_train_part_1": {
        "fff.mp4": {"label": "REAL", "split": "train", "original": None},
        "ggg.mp4": {"label": "FAKE", "split": "train", "original": "fff.mp4"},
        "aaa.mp4": {"label": "REAL", "split": "train", "original": None},  # the same name as part 0's fake
    },
}


@pytest.fixture
def dfdc_root(tmp_path: Path, face_video: Path) -> Path:
    """Two DFDC parts, a file not in its metadata, a file outside every part."""
    root = tmp_path / "dfdc"
    for part, meta in DFDC_META.items():
        (root / part).mkdir(parents=True)
        (root / part / "metadata.json").write_text(json.dumps(meta))
        for name in meta:
            if name != "zzz.mp4":
                _media(root / part / name, face_video)
    _media(root / "dfdc_train_part_0" / "extra.mp4", face_video)
    _media(root / "stray.mp4", face_video)
    return root


@pytest.fixture
def inclusion_root(tmp_path: Path, face_video: Path) -> Path:
    """The FFDV video track: phase1/trainset/, phase1/valset/ and their label files."""
    root = tmp_path / "multiFFDV"
    phase = root / "phase1"
    train = {"t0.mp4": 0, "t1.mp4": 1, "t2.mp4": 0, "t3.mp4": 1, "t4.mp4": 1}
    val = {"v0.mp4": 0, "v1.mp4": 1}
    for folder, labels in (("trainset", train), ("valset", val)):
        for n in labels:
            _media(phase / folder / n, face_video)
        lines = ["video_name,target", *(f"{n},{t}" for n, t in labels.items())]
        if folder == "valset":
            lines.append("gone.mp4,1")
        (phase / f"{folder}_label.txt").write_text("\n".join(lines) + "\n")
    _media(phase / "trainset" / "unlabelled.mp4", face_video)
    return root
