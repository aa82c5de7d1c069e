"""dfdetect.core.io: folder expansion for any container (probed later, not filtered by name), labels with extra
columns or no rows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dfdetect.core.io import InputError, collect_files, read_labels


def test_collect_files_takes_every_file_of_a_folder_but_side_files(tmp_path: Path) -> None:
    for name in ("a.ts", "b.3gp", "c.gif", "d.mts", "e.m2ts", "f.MP4", "noext", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    for name in ("labels.csv", "settings.json", ".hidden.mp4"):
        (tmp_path / name).write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner.mp4").write_bytes(b"x")
    os.symlink("a.ts", tmp_path / "link_to_a.ts")
    found = collect_files([tmp_path, tmp_path / "labels.csv"])
    assert [p.name for p in found] == ["a.ts", "b.3gp", "c.gif", "d.mts", "e.m2ts", "f.MP4", "link_to_a.ts",
                                       "noext", "notes.txt", "labels.csv"]  # a named file is kept as given
    assert found[6] == tmp_path / "link_to_a.ts"  # the link keeps its own name (not resolved)
    with pytest.raises(InputError, match="no such file"):
        collect_files([tmp_path / "missing.mp4"])


def test_read_labels_ignores_extra_columns(tmp_path: Path) -> None:
    p = tmp_path / "labels.csv"
    p.write_text('split,video_name,notes,target\ntest,a.mp4,"blurry, dark",1\ntrain,b.mp4,,0\nval,c.mp4,x,0\n')
    assert read_labels(p) == {"a.mp4": 1, "b.mp4": 0, "c.mp4": 0}
    p.write_text("video_name,target,split,notes\na.mp4,1,test\n")  # a short row: the needed columns are there
    assert read_labels(p) == {"a.mp4": 1}
    p.write_text("video_name,target,notes\na.mp4,1,x,y\n")
    with pytest.raises(InputError, match="expected 3 columns"):
        read_labels(p)
    p.write_text("video_name,notes\na.mp4,1\n")
    with pytest.raises(InputError, match="header"):
        read_labels(p)


def test_read_labels_header_only_is_a_one_line_error(tmp_path: Path) -> None:
    p = tmp_path / "labels.csv"
    p.write_text("video_name,target\n\n")
    with pytest.raises(InputError, match="no rows") as exc:
        read_labels(p)
    assert "\n" not in str(exc.value)
