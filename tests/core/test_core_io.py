"""dfdetect.core.io: labels CSV validation, atomic writes, JSON, tables, file discovery."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from dfdetect.core.io import InputError, atomic_write, collect_files, format_table, read_labels, write_csv, write_json


# --- labels -------------------------------------------------------------------------------------------------------
def _labels(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "labels.csv"
    p.write_text(text)
    return p


def test_read_labels_ok(tmp_path: Path) -> None:
    p = _labels(tmp_path, "video_name,target\na.mp4,0\nb.mp4,1\n\n")
    assert read_labels(p) == {"a.mp4": 0, "b.mp4": 1}


def test_read_labels_accepts_float_targets(tmp_path: Path) -> None:
    # pandas writes an int column with a missing value, or a float column, as 0.0 / 1.0
    p = _labels(tmp_path, "video_name,target\na.mp4,0.0\nb.mp4,1.0\nc.mp4,1\n")
    assert read_labels(p) == {"a.mp4": 0, "b.mp4": 1, "c.mp4": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,label\na.mp4,0\n", "header"),
        ("video_name,target\na.mp4,2\n", "target must be 0 or 1"),
        ("video_name,target\na.mp4,fake\n", "target must be 0 or 1"),
        ("video_name,target\na.mp4,1.0\nb.mp4,0.5\n", "labels.csv:3: target must be 0 or 1"),
        ("video_name,target\na.mp4,nan\n", "target must be 0 or 1"),
        ("video_name,target\na.mp4,0\na.mp4,1\n", "duplicate"),
        ("video_name,target\na.mp4\n", "2 columns"),
        ("", "header"),
    ],
)
def test_read_labels_rejects_malformed(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as exc:
        read_labels(_labels(tmp_path, text))
    assert "\n" not in str(exc.value)  # one line


def test_read_labels_binary_file_is_a_one_line_error(tmp_path: Path) -> None:
    p = tmp_path / "labels.csv"
    p.write_bytes(b"video_name,target\n\xff\xfe\x00a.mp4,1\n")
    with pytest.raises(InputError, match="not a readable CSV"):
        read_labels(p)


def test_read_labels_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_labels(tmp_path / "nope.csv")


# --- atomic writes ------------------------------------------------------------------------------------------------
def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    write_csv(target, [{"video_name": "a.mp4", "score": 0.25}], ["video_name", "score"])
    before = target.read_text()
    with pytest.raises(RuntimeError), atomic_write(target) as f:
        f.write("partial")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == before == "video_name,score\na.mp4,0.25\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no temp file left behind


def test_collect_files(tmp_path: Path) -> None:
    (tmp_path / "b.mp4").write_bytes(b"x")
    (tmp_path / "a.MOV").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "labels.csv").write_text("video_name,target\n")
    (tmp_path / ".hidden.mp4").write_bytes(b"x")
    found = collect_files([tmp_path, tmp_path / "labels.csv"])
    # every file of a folder (the content decides later) but side files and hidden ones; a named file is kept
    assert [p.name for p in found] == ["a.MOV", "b.mp4", "notes.txt", "labels.csv"]
    with pytest.raises(InputError, match="no such file"):
        collect_files([tmp_path / "missing.mp4"])


def test_write_json_is_strict_json_with_nan_as_null(tmp_path: Path) -> None:
    write_json(tmp_path / "m.json", {"auc": math.nan, "eer": math.inf, "nested": [1.5, {"x": -math.inf}], "n": 3})
    text = (tmp_path / "m.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"auc": None, "eer": None, "nested": [1.5, {"x": None}], "n": 3}


def test_format_table_aligns_columns() -> None:
    assert format_table([["name", "score"], ["long_name.mp4", 0.5], ["a", ""]]).splitlines() == [
        "name           score",
        "long_name.mp4  0.5",
        "a",
    ]
