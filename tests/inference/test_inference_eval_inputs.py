"""eval.py / score CLI on the inputs people send: any container in a folder, symlinks, labels files as written by hand.

Every media file here is built at test time from a sample video with PyAV (a few dozen frames, 320 px wide).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import av
import pytest

from dfdetect.core.io import read_csv
from dfdetect.core.schemas import ScoreStatus
from dfdetect.inference import NEUTRAL_SCORE
from dfdetect.inference.evaluate import main, unmatched_labels_message
from dfdetect.inference.score_cli import main as score_main


def transcode(src: Path, dst: Path, fmt: str, codec: str = "libx264", frames: int = 36, width: int = 320) -> Path:
    """The first ``frames`` frames of ``src``, scaled to ``width``, encoded into container ``fmt`` at ``dst``."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", format=fmt) as out:
        s_in = inp.streams.video[0]
        height = round(s_in.height * width / s_in.width / 2) * 2
        s = out.add_stream(codec, rate=10 if codec == "gif" else 25)
        s.pix_fmt = "rgb8" if codec == "gif" else "yuv420p"
        s.width, s.height = width, height
        for i, fr in enumerate(inp.decode(s_in)):
            if i >= frames:
                break
            img = fr.reformat(width=width, height=height, format=s.pix_fmt)
            out.mux(s.encode(av.VideoFrame.from_ndarray(img.to_ndarray(), format=s.pix_fmt)))
        out.mux(s.encode())
    return dst


@pytest.fixture(scope="module")
def media_dir(face_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder as a user sends it: a .ts and a .3gp of a face video, a text file and a labels file."""
    d = tmp_path_factory.mktemp("media")
    transcode(face_video, d / "clip.ts", "mpegts")
    transcode(face_video, d / "phone.3gp", "3gp")
    (d / "readme.txt").write_text("these are the videos\n")
    (d / "labels.csv").write_text("video_name,target,split,notes\nclip.ts,0,test,broadcast\nphone.3gp,1,test,\n")
    return d


def _status(out: Path) -> dict[str, dict[str, str]]:
    return {r["video_name"]: r for r in read_csv(out / "predictions_status.csv")}


@pytest.mark.slow
def test_eval_gives_every_file_of_a_folder_a_row_whatever_its_extension(weights: Path, media_dir: Path) -> None:
    argv = [str(weights), str(media_dir), "--labels", str(media_dir / "labels.csv"), "--out", str(media_dir),
            "--device", "cpu"]
    assert main(argv) == 0
    names = [r["video_name"] for r in read_csv(media_dir / "predictions.csv")]
    assert names == ["clip.ts", "phone.3gp", "readme.txt"]  # labels.csv is a side file, not an input
    status = _status(media_dir)
    assert status["clip.ts"]["status"] == status["phone.3gp"]["status"] == ScoreStatus.OK
    assert status["readme.txt"]["status"] == ScoreStatus.UNREADABLE and status["readme.txt"]["reason"]
    assert float(status["readme.txt"]["score"]) == NEUTRAL_SCORE
    assert (media_dir / "metrics.json").is_file()  # the extra columns of the labels file were ignored
    # --out was the input folder: this run's roc.png / scores_hist.png / CSVs must not become inputs of the next one
    assert (media_dir / "scores_hist.png").is_file()
    before = (media_dir / "predictions.csv").read_text()
    assert main(argv) == 0
    assert (media_dir / "predictions.csv").read_text() == before


@pytest.mark.slow
def test_score_cli_lists_every_file_of_a_folder(weights: Path, face_video: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    transcode(face_video, tmp_path / "a.mts", "mpegts", frames=24)
    transcode(face_video, tmp_path / "b.gif", "gif", codec="gif", frames=8, width=160)
    (tmp_path / "c.txt").write_text("not a video")
    assert score_main([str(weights), str(tmp_path), "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split()[3] for line in lines[1:]}
    assert set(rows) == {"a.mts", "b.gif", "c.txt"}
    assert rows["a.mts"] == "ok" and rows["c.txt"] == "unreadable"


@pytest.mark.slow
def test_eval_scores_a_symlink_and_its_target_under_their_own_names(weights: Path, face_video: Path,
                                                                    tmp_path: Path) -> None:
    d = tmp_path / "videos"
    d.mkdir()
    transcode(face_video, d / "x.mp4", "mp4")
    os.symlink("x.mp4", d / "symlink_to_x.mp4")
    assert main([str(weights), str(d), "--out", str(tmp_path / "o"), "--device", "cpu"]) == 0
    names = [r["video_name"] for r in read_csv(tmp_path / "o" / "predictions.csv")]
    assert names == ["symlink_to_x.mp4", "x.mp4"]
    status = read_csv(tmp_path / "o" / "predictions_status.csv")
    assert [r["video_name"] for r in status] == names
    assert len({r["source"] for r in status}) == 2
    assert status[0]["score"] == status[1]["score"] and status[0]["status"] == ScoreStatus.OK


def test_unmatched_labels_message_names_them_with_the_likely_fix() -> None:
    names = ["clip01.mp4", "clip02.mp4"]
    assert unmatched_labels_message(["clip01.mp4", "clip02.mp4"], names) is None
    msg = unmatched_labels_message(["clip01", "clip02.mp4"], names)
    assert "'clip01'" in msg and "use file names with their extension" in msg and "'clip01.mp4'" in msg
    msg = unmatched_labels_message(["videos/clip01.mp4", "clip02.mp4"], names)
    assert "'videos/clip01.mp4'" in msg and "without their folder" in msg
    msg = unmatched_labels_message(["clip01.avi", "Clip02.mp4", "zz.mp4", "yy.mp4"], names)
    assert msg.startswith("4 of 4") and "'clip01.avi'" in msg and "..." in msg and "input's file name" in msg
    assert "case-sensitive" in unmatched_labels_message(["CLIP02.MP4"], names)


def test_eval_warns_about_labels_that_match_no_input(weights: Path, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "clip01.mp4").write_text("not a video")  # unreadable: no model run needed for this check
    labels = tmp_path / "labels.csv"
    labels.write_text("video_name,target\nclip01,1\n")
    with caplog.at_level(logging.INFO):
        main([str(weights), str(tmp_path / "clip01.mp4"), "--labels", str(labels), "--out", str(tmp_path / "o"),
              "--device", "cpu"])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("'clip01'" in w and "'clip01.mp4'" in w and "with their extension" in w for w in warnings), warnings


def test_eval_header_only_labels_is_a_one_line_error(weights: Path, face_video: Path, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("video_name,target\n")
    assert main([str(weights), str(face_video), "--labels", str(labels), "--out", str(tmp_path / "o")]) == 2
    assert "no rows" in caplog.text
    assert not (tmp_path / "o" / "predictions.csv").exists()
