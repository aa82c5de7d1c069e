"""dfdetect.data.manifests: the crops manifest (real crops and malformed files) and split files."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from dfdetect.core.io import InputError, read_csv
from dfdetect.core.schemas import CROPS_REQUIRED
from dfdetect.data import read_crops_manifest, read_split

HEADER = ",".join(CROPS_REQUIRED)
ROW = "a.mp4,{label},{frame},a/{frame}.png,1,2,30,40,0.99,{lm}"
LM = " ".join(["5"] * 10)


def test_read_crops_manifest_on_sample_crops(sample_crops: Path) -> None:
    videos = read_crops_manifest(sample_crops)
    rows = read_csv(sample_crops)
    assert set(videos) == {r["video"] for r in rows}
    for name, v in videos.items():
        mine = [r for r in rows if r["video"] == name]
        assert len(v) == len(mine) == len(v.paths) == len(v.boxes) == len(v.landmarks)
        assert v.frames == sorted(int(r["frame"]) for r in mine)  # frame order, whatever the row order
        assert all(p.is_absolute() and p.is_file() for p in v.paths)
        assert v.boxes.shape == (len(v), 4) and v.boxes.dtype == np.float32
        assert v.landmarks.shape == (len(v), 5, 2) and not np.isnan(v.landmarks).any()
        assert (v.boxes[:, 2] > v.boxes[:, 0]).all() and (v.boxes[:, 3] > v.boxes[:, 1]).all()
        assert v.label == int(mine[0]["label"])


def _manifest(tmp_path: Path, lines: list[str], header: str = HEADER) -> Path:
    p = tmp_path / "crops.csv"
    p.write_text("\n".join([header, *lines]) + "\n")
    return p


@pytest.mark.parametrize(
    ("lines", "header", "message"),
    [
        ([ROW.format(label=0, frame=0, lm=LM)], "video,label,frame,path", "missing column"),
        ([ROW.format(label=2, frame=0, lm=LM)], HEADER, "label must be"),
        ([ROW.format(label=0, frame="x", lm=LM)], HEADER, "frame must be"),
        ([ROW.format(label=0, frame=0, lm="1 2 3")], HEADER, "landmarks must be 10"),
        ([ROW.format(label=0, frame=0, lm=LM), ROW.format(label=1, frame=1, lm=LM)], HEADER, "two different labels"),
        ([ROW.format(label=0, frame=3, lm=LM), ROW.format(label=0, frame=3, lm=LM)], HEADER, "frame listed twice"),
        ([], HEADER, "no crops"),
    ],
)
def test_read_crops_manifest_rejects_malformed(tmp_path: Path, lines: list[str], header: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as exc:
        read_crops_manifest(_manifest(tmp_path, lines, header), check_files=False)
    assert "\n" not in str(exc.value)


def test_read_crops_manifest_skips_missing_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "1.png").write_bytes(b"x")
    lines = [ROW.format(label=0, frame=f, lm=LM) for f in (0, 1)] + ["b.mp4,1,0,b/0.png,1,2,30,40,0.9,"]
    with caplog.at_level(logging.WARNING):
        videos = read_crops_manifest(_manifest(tmp_path, lines))
    assert list(videos) == ["a.mp4"] and videos["a.mp4"].frames == [1]  # missing files dropped, never invented
    assert "1 of 2 crop files missing" in caplog.text and "b.mp4: no crop file" in caplog.text
    unlabelled = read_crops_manifest(_manifest(tmp_path, ["a.mp4,,1,a/1.png,1,2,30,40,0.9,"]))
    assert unlabelled["a.mp4"].label is None and np.isnan(unlabelled["a.mp4"].landmarks).all()
    assert unlabelled["a.mp4"].width is None
    row = "a.mp4,0,1,a/1.png,1,2,30,40,0.9,,640,360"
    sized = read_crops_manifest(_manifest(tmp_path, [row], HEADER + ",width,height"))
    assert (sized["a.mp4"].width, sized["a.mp4"].height) == (640, 360)  # optional frame size columns


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,split\na.mp4,train\n", "header"),
        ("video_name,split\na.mp4,dev\n", "split must be"),
        ("video_name,split\na.mp4,train\na.mp4,val\n", "duplicate"),
    ],
)
def test_read_split_rejects_malformed(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_split(_write(tmp_path / "split.csv", text))
    assert read_split(_write(tmp_path / "ok.csv", "video_name,split\na.mp4,val\n\n")) == {"a.mp4": "val"}
