"""``python -m dfdetect score``: the table, per-frame scores, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from dfdetect.__main__ import main as dfdetect_main
from dfdetect.inference.score_cli import TABLE_COLUMNS, main


def test_score_cli(weights: Path, det, face_video: Path, no_face_video: Path, tmp_path: Path,
                   capsys: pytest.CaptureFixture) -> None:
    assert main([str(weights), str(face_video), "--frames", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == list(TABLE_COLUMNS)
    name, score, verdict, status, faces, windows, seconds, unit = lines[1].split()  # + the coverage (issue 26)
    assert (name, status) == ("single_face.mp4", "ok")
    assert float(score) == pytest.approx(det.score(face_video), abs=5e-5)  # the API's score, to 4 decimals
    assert verdict == ("fake" if float(score) >= 0.5 else "real")  # by the default threshold
    n_faces = int(faces.split("/")[0])
    assert lines[3] == f"single_face.mp4: per-frame P(fake) ({n_faces} frames with a face)"
    assert lines[4].split()[:2] == ["frame", "0"] and len(lines) == 4 + n_faces
    assert dfdetect_main(["score", str(weights), str(no_face_video), "--device", "cpu"]) == 1
    assert capsys.readouterr().out.splitlines()[1].split()[:4] == ["no_face.mp4", "0.5000", "-", "no_face"]
    # the verdict follows --threshold: the same video is "fake" from a threshold at or below its score
    score = det.score(face_video)
    for threshold, expected in ((score - 0.01, "fake"), (score + 0.01, "real")):
        assert main([str(weights), str(face_video), "--device", "cpu", "--threshold", str(threshold)]) == 0
        assert capsys.readouterr().out.splitlines()[1].split()[2] == expected
    assert main([str(weights), str(tmp_path / "missing.mp4")]) == 2
