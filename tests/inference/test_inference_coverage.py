"""Coverage by default (issue 26, points 1 and 2): windows over the whole video, their number growing with its
duration (``--clips N`` still forces N), and every output saying how much was looked at and where it looks fake:
:class:`VideoScore`'s window fields, ``predictions_status.csv``'s columns, ``predictions_windows.csv``,
``score --windows``; and memory that stays flat over a long video (point 5)."""

from __future__ import annotations

import gc
import math
import weakref
from pathlib import Path

import numpy as np
import pytest

from dfdetect.core.config import DataConfig
from dfdetect.core.io import read_csv
from dfdetect.core.schemas import STATUS_COLUMNS, WINDOW_COLUMNS, ScoreStatus, parse_spans
from dfdetect.inference import Detector, prepare
from dfdetect.inference.evaluate import main as eval_main
from dfdetect.inference.prepare import WINDOW_CHUNK, Coverage, prepare_video
from dfdetect.inference.score_cli import main as score_main
from face_crop.detect import Face, RetryStats
from frame_extraction.decode import read_frames, scan_video

LONG = "WolfgangLanger_Pexels.mp4"  # 472 frames at 23.976 fps: 19.7 s, one face throughout


@pytest.fixture(scope="module")
def coverage_det(untrained_checkpoints: dict[str, Path]) -> Detector:
    return Detector.load(untrained_checkpoints["video"], device="cpu")  # clips not given: coverage


def test_windows_cover_the_whole_video_by_default(coverage_det: Detector, samples_dir: Path) -> None:
    video = samples_dir / LONG
    info = scan_video(video).info
    duration = info.num_frames / info.fps
    (r,) = coverage_det.predict([video])
    assert r.status == ScoreStatus.OK, r.reason
    # one window every 4 s (score.window_every): 5 over 19.7 s, where the checkpoint's val_clips alone gave 1
    assert coverage_det.cfg.train.val_clips < r.windows == math.ceil(duration / 4.0) == 5
    assert r.duration_s == pytest.approx(duration)
    assert r.window_times[0][0] == 0.0 and r.window_times[-1][1] == pytest.approx(duration, abs=1 / info.fps)
    starts = [a for a, _ in r.window_times]
    assert starts == sorted(starts) and all(b - a < 5.0 for a, b in zip(starts, starts[1:]))  # spread, in order
    d = coverage_det.cfg.data
    span = ((d.sample_frames - 1) * d.stride + 1) / info.fps  # one window's seconds
    assert all((b - a) == pytest.approx(span) for a, b in r.window_times)
    assert r.covered_s == pytest.approx(5 * span)
    # a video model scores one clip per window: the window scores are its clip scores, the video score the mean of the
    # top 3 of them (score.aggregate "topk", score.top_k 3)
    assert r.window_scores == r.clip_scores and r.score == pytest.approx(sum(sorted(r.clip_scores)[-3:]) / 3)
    above = [(a, b) for (a, b), s in zip(r.window_times, r.window_scores) if s >= 0.5]  # threshold 0.5
    assert all(any(s0 <= a and b <= s1 for s0, s1, _ in r.fake_segments) for a, b in above)
    assert bool(r.fake_segments) == bool(above) and all(p >= 0.5 for *_, p in r.fake_segments)

    # --clips N still forces N; max_windows caps the coverage; window_every sets it.
    forced = Detector(coverage_det.model, coverage_det.cfg, clips=2, face_detector=coverage_det.face_detector)
    capped = Detector(coverage_det.model, coverage_det.cfg, max_windows=3, face_detector=coverage_det.face_detector)
    denser = Detector(coverage_det.model, coverage_det.cfg, window_every=2.0,
                      face_detector=coverage_det.face_detector)
    assert [next(iter(x.predict([video]))).windows for x in (forced, capped, denser)] == [2, 3, 10]


def test_a_short_video_keeps_its_one_window(coverage_det: Detector, face_video: Path) -> None:
    (r,) = coverage_det.predict([face_video])  # 2.4 s: at least val_clips windows, as before coverage
    assert r.windows == coverage_det.clips == 1 and r.duration_s == pytest.approx(2.4)
    assert r.score == coverage_det.score(face_video)


def test_eval_writes_the_coverage_and_the_windows(untrained_checkpoints: dict[str, Path], face_video: Path,
                                                  no_face_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert eval_main([str(untrained_checkpoints["video"]), str(face_video), str(no_face_video), "--out", str(out),
                      "--device", "cpu", "--window-every", "1.0"]) == 0
    status = {r["video_name"]: r for r in read_csv(out / "predictions_status.csv")}
    assert list(next(iter(status.values()))) == list(STATUS_COLUMNS)
    face = status[face_video.name]
    assert int(face["windows"]) == 3 and float(face["duration_s"]) == pytest.approx(2.4)  # 2.4 s, one every 1 s
    assert 0 < float(face["covered_s"]) <= 2.4
    cartoon = status[no_face_video.name]
    assert (cartoon["status"], cartoon["windows"], cartoon["window_scores"]) == ("no_face", "0", "")
    assert float(cartoon["duration_s"]) == pytest.approx(95 / 23.6716, abs=0.01)

    windows = read_csv(out / "predictions_windows.csv")
    assert windows and list(windows[0]) == list(WINDOW_COLUMNS)
    assert [w["window"] for w in windows] == ["0", "1", "2"] and {w["video_name"] for w in windows} == {face_video.name}
    spans = parse_spans(face["window_scores"])
    assert [(float(w["start_s"]), float(w["end_s"]), float(w["score"])) for w in windows] == spans
    assert float(windows[0]["start_s"]) == 0.0 and float(windows[-1]["end_s"]) == pytest.approx(2.4, abs=0.04)
    # fake_segments: the windows at or above the threshold, merged (the threshold given: every window above 0)
    assert eval_main([str(untrained_checkpoints["video"]), str(face_video), "--out", str(tmp_path / "t"),
                      "--device", "cpu", "--window-every", "1.0", "--threshold", "0"]) == 0
    (row,) = read_csv(tmp_path / "t" / "predictions_status.csv")
    (segment,) = parse_spans(row["fake_segments"])
    assert segment[:2] == (spans[0][0], spans[-1][1]) and segment[2] == pytest.approx(max(s for *_, s in spans))


def test_score_windows_prints_each_window(untrained_checkpoints: dict[str, Path], face_video: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert score_main([str(face_video), "--weights", str(untrained_checkpoints["video"]), "--windows",
                       "--window-every", "1.0", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    windows, seconds = lines[1].split()[5:7]
    assert windows == "3" and seconds.endswith("/2.4")
    assert lines[3].startswith(f"{face_video.name}: 3 windows over ")
    rows = [ln.split() for ln in lines if ln.strip().startswith("window ")]
    assert [r[1] for r in rows] == ["0", "1", "2"] and rows[0][2] == "0.00"
    assert lines[-1].strip().startswith("fake segments: ")


class _CentreFace:
    """A stand-in face detector (no MTCNN: this test is about memory): the one face is the frame's centre square;
    every frame a key frame (the real search, :func:`face_crop.detect.detect_tracks`, runs on its ``detect_all``)."""

    key_step, last_retry = 1, RetryStats()

    def detect_all(self, frames):  # noqa: ANN001, ANN201 - FaceDetector.detect_all's signature
        out = []
        for f in frames:
            h, w = f.shape[:2]
            side = min(h, w) / 2
            box = np.array([w / 2 - side / 2, h / 2 - side / 2, w / 2 + side / 2, h / 2 + side / 2], np.float32)
            out.append([Face(box=box, prob=1.0, landmarks=np.zeros((5, 2), np.float32), frame_size=(w, h))])
        return out


def test_memory_stays_flat_over_a_long_video(samples_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # franck.mp4: 200 s at 24 fps -> 50 windows of 15 frames (750 frames of 360x288, 233 MB decoded). Only the crops
    # are kept: the frames of each chunk of WINDOW_CHUNK windows are dropped once cropped. Counted: the decoded frames
    # still alive each time the decoder is called again.
    alive: list[weakref.ref] = []
    most = [0]

    def counting_read_frames(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        gc.collect()
        most[0] = max(most[0], sum(r() is not None for r in alive))
        frames = read_frames(*args, **kwargs)
        alive.extend(weakref.ref(f) for f in frames.values())
        return frames

    monkeypatch.setattr(prepare, "read_frames", counting_read_frames)
    d = DataConfig(size=32)
    prep = prepare_video(samples_dir / "franck.mp4", d, None, _CentreFace(), coverage=Coverage(4.0, 1, 64))
    assert prep.status == ScoreStatus.OK and len(prep.windows) == 50 and prep.faces == 750
    assert prep.window_times[-1][1] == pytest.approx(200.0) and prep.covered_s == pytest.approx(50 * 29 / 24)
    # one chunk's frames at most (none at all since a chunk's frames are dropped before the next is decoded)
    assert len(alive) == 750 and 0 <= most[0] <= WINDOW_CHUNK * d.sample_frames
