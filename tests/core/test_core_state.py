"""dfdetect.core.seeding, resume and schemas: the one seed rule, the one marker scheme, statuses as their text."""

from __future__ import annotations

import csv
import json
import zlib
from pathlib import Path

import numpy as np

from dfdetect.core import resume
from dfdetect.core.io import write_csv, write_json
from dfdetect.core.resume import read_marker, write_marker
from dfdetect.core.schemas import ScoreStatus, VideoStatus
from dfdetect.core.seeding import hash_unit, item_rng, stable_seed


def test_stable_seed_is_crc32_of_names_and_the_ints_as_given() -> None:
    assert stable_seed(7, "a.mp4", 3) == [7, zlib.crc32(b"a.mp4"), 3]
    # the stream frame sampling always used: default_rng([seed, crc32(name)])
    expected = np.random.default_rng([0, zlib.crc32(b"clip.mp4")]).integers(0, 1000, 5)
    assert item_rng(0, "clip.mp4").integers(0, 1000, 5).tolist() == expected.tolist()


def test_hash_unit_spreads_names_and_depends_on_the_seed() -> None:
    values = [hash_unit(0, f"v{i:04d}.mp4") for i in range(400)]
    assert all(0.0 <= v < 1.0 for v in values)
    assert abs(np.mean(values) - 0.5) < 0.05 and len(set(values)) == 400
    assert hash_unit(0, "a.mp4") != hash_unit(1, "a.mp4")


def test_marker_trusted_only_with_the_same_settings_and_version(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / ".state" / "a.mp4.json"
    write_marker(path, {"margin": 0.3, "frames": (1, 2)}, {"faces": 2})
    assert read_marker(path, {"margin": 0.3, "frames": [1, 2]}) == {"faces": 2}  # tuples compare as JSON lists
    assert read_marker(path, {"margin": 0.4, "frames": [1, 2]}) is None
    monkeypatch.setattr(resume, "MARKER_VERSION", resume.MARKER_VERSION + 1)
    assert read_marker(path, {"margin": 0.3, "frames": [1, 2]}) is None  # an older scheme is never trusted
    path.write_text('{"version": ')  # half-written by hand
    assert read_marker(path, {}) is None
    assert read_marker(tmp_path / "missing.json", {}) is None


def test_statuses_are_written_as_their_text(tmp_path: Path) -> None:
    write_csv(tmp_path / "s.csv", [{"status": ScoreStatus.NO_FACE}], ["status"])
    with open(tmp_path / "s.csv", newline="") as f:
        assert list(csv.DictReader(f)) == [{"status": "no_face"}]
    write_json(tmp_path / "s.json", {"status": VideoStatus.SHORT})
    assert json.loads((tmp_path / "s.json").read_text()) == {"status": "short"}
    assert f"{ScoreStatus.OK}" == str(ScoreStatus.OK) == "ok" and ScoreStatus("ok") is ScoreStatus.OK
