"""frame_extraction.extract and .cli: the batch CLI, its manifests, resume, labels, balance and bad input."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

import frame_extraction.extract as extract_mod
from dfdetect.core.io import load_image, read_csv
from dfdetect.core.schemas import FRAMES_COLUMNS, SETTINGS_FILE, VIDEOS_COLUMNS
from frame_extraction.cli import get_args_parser, main
from frame_extraction.extract import ExtractOptions, VideoJob, balance_jobs, plan_videos
from frame_extraction.sampling import sample_indices, video_rng


# ----------------------------------------------------------------------------------------------------------------- CLI
def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _labels(path: Path, rows: dict[str, int], header: str = "video_name,target") -> Path:
    path.write_text(header + "\n" + "".join(f"{k},{v}\n" for k, v in rows.items()))
    return path


def _by_video(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {r["video"]: r for r in rows}


@pytest.fixture
def two_videos(samples_dir: Path, tmp_path: Path) -> Path:
    d = tmp_path / "videos"
    d.mkdir()
    for name in ("single_face.mp4", "carphone_distorted.mp4"):
        shutil.copy(samples_dir / name, d / name)
    return d


def test_cli_end_to_end(two_videos: Path, tmp_path: Path, all_frames: dict) -> None:
    out = tmp_path / "out"
    labels = _labels(tmp_path / "labels.csv", {"single_face.mp4": 0, "carphone_distorted.mp4": 1})
    assert main([str(two_videos), str(out), "--labels", str(labels), "--seed", "3", "--no-progress"]) == 0
    frames = read_csv(out / "frames.csv")
    videos = _by_video(read_csv(out / "videos.csv"))
    assert list(frames[0]) == list(FRAMES_COLUMNS)
    assert list(next(iter(videos.values()))) == list(VIDEOS_COLUMNS)
    assert videos["single_face.mp4"] == {
        "video": "single_face.mp4", "label": "0", "status": "ok", "reason": "", "num_frames": "72", "fps": "30.0",
        "width": "640", "height": "360", "sampled": "15"}
    assert videos["carphone_distorted.mp4"]["label"] == "1" and videos["carphone_distorted.mp4"]["status"] == "ok"
    for name, num_frames in (("single_face.mp4", 72), ("carphone_distorted.mp4", 120)):
        rows = [r for r in frames if r["video"] == name]
        expected = sample_indices(num_frames, 15, 2, "random", rng=video_rng(3, name)).tolist()
        assert [int(r["frame"]) for r in rows] == expected
        assert [r["path"] for r in rows] == [f"{name}/{i:06d}.png" for i in expected]
        assert (out / name / "_done.json").is_file()
    ref = all_frames["single_face.mp4"]
    for r in frames:
        if r["video"] == "single_face.mp4":  # PNG is lossless: the files hold exactly the decoded frames
            assert np.array_equal(load_image(out / r["path"]), ref[int(r["frame"])])
            assert (r["width"], r["height"], r["label"]) == ("640", "360", "0")


def test_cli_linspace_jpg_without_labels(face_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main([str(face_video), str(out), "--mode", "linspace", "--frames", "8", "--format", "jpg",
                 "--no-progress"]) == 0
    rows = read_csv(out / "frames.csv")
    assert [int(r["frame"]) for r in rows] == sample_indices(72, 8, mode="linspace").tolist()
    assert all(r["label"] == "" and r["path"].endswith(".jpg") for r in rows)
    assert load_image(out / rows[0]["path"]).shape == (360, 640, 3)


def test_same_seed_same_frames_whatever_the_batch(two_videos: Path, face_video: Path, tmp_path: Path) -> None:
    assert main([str(two_videos), str(tmp_path / "a"), "--seed", "5", "--no-progress"]) == 0
    assert main([str(face_video), str(tmp_path / "b"), "--seed", "5", "--no-progress"]) == 0
    a = [r["frame"] for r in read_csv(tmp_path / "a" / "frames.csv") if r["video"] == "single_face.mp4"]
    b = [r["frame"] for r in read_csv(tmp_path / "b" / "frames.csv")]
    assert a == b


def test_workers_give_the_same_result(two_videos: Path, tmp_path: Path) -> None:
    assert main([str(two_videos), str(tmp_path / "w1"), "--no-progress"]) == 0
    assert main([str(two_videos), str(tmp_path / "w2"), "--workers", "2", "--no-progress"]) == 0
    assert read_csv(tmp_path / "w1" / "frames.csv") == read_csv(tmp_path / "w2" / "frames.csv")
    for r in read_csv(tmp_path / "w1" / "frames.csv"):
        assert _sha(tmp_path / "w1" / r["path"]) == _sha(tmp_path / "w2" / r["path"])


def test_resume_does_not_decode_finished_videos(two_videos: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    args = [str(two_videos), str(out), "--no-progress"]
    assert main(args) == 0
    frames_csv, videos_csv = read_csv(out / "frames.csv"), read_csv(out / "videos.csv")
    mtimes = {r["path"]: (out / r["path"]).stat().st_mtime_ns for r in frames_csv}
    # interrupted run: one video lost its marker (frames may be partial), so only that one is decoded again
    (out / "carphone_distorted.mp4" / "_done.json").unlink()
    decoded: list[str] = []
    real = extract_mod.sample_video
    monkeypatch.setattr(extract_mod, "sample_video",
                        lambda path, **kw: decoded.append(Path(path).name) or real(path, **kw))
    assert main(args) == 0
    assert decoded == ["carphone_distorted.mp4"]
    assert read_csv(out / "frames.csv") == frames_csv and read_csv(out / "videos.csv") == videos_csv
    for damaged in ("not json", '{"params": 1}', '{"frames": [{"x": 1}]}'):  # a damaged marker: redone, no crash
        (out / "carphone_distorted.mp4" / "_done.json").write_text(damaged)
        assert main(args) == 0 and read_csv(out / "frames.csv") == frames_csv
    assert decoded == ["carphone_distorted.mp4"] * 4

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("a finished video was decoded again")

    monkeypatch.setattr(extract_mod, "sample_video", no_decoding)
    assert main(args + ["--workers", "2"]) == 0  # finished videos are read back in the parent, never sent to workers
    assert read_csv(out / "frames.csv") == frames_csv
    assert all((out / p).stat().st_mtime_ns == m for p, m in mtimes.items() if p.startswith("single_face"))


def test_new_options_redo_the_video_and_drop_stale_frames(face_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main([str(face_video), str(out), "--seed", "1", "--no-progress"]) == 0
    assert main([str(face_video), str(out), "--seed", "2", "--no-progress"]) == 0
    expected = sample_indices(72, 15, 2, rng=video_rng(2, "single_face.mp4")).tolist()
    assert [int(r["frame"]) for r in read_csv(out / "frames.csv")] == expected
    assert sorted(p.name for p in (out / "single_face.mp4").glob("*.png")) == [f"{i:06d}.png" for i in expected]
    assert json.loads((out / "single_face.mp4" / "_done.json").read_text())["settings"]["seed"] == 2


# ----------------------------------------------------------------------------------------------------- bad input, CLI
def test_bad_videos_are_skipped_and_the_batch_goes_on(bad_dir: Path, two_videos: Path, tmp_path: Path) -> None:
    inputs = sorted(bad_dir.iterdir()) + sorted(two_videos.iterdir())
    before = {p: _sha(p) for p in inputs}
    out = tmp_path / "out"
    assert main([str(bad_dir), str(two_videos), str(out), "--mode", "linspace", "--no-progress"]) == 0
    videos = _by_video(read_csv(out / "videos.csv"))
    assert {k: v["status"] for k, v in videos.items()} == {
        "truncated.mp4": "skipped", "text.mp4": "skipped", "header_only.mp4": "skipped", "no_stream.mp4": "skipped",
        "half.mp4": "short", "single_face.mp4": "ok", "carphone_distorted.mp4": "ok"}
    assert "not a readable video" in videos["truncated.mp4"]["reason"]
    assert "not a readable video" in videos["text.mp4"]["reason"]
    assert "no decodable frame" in videos["header_only.mp4"]["reason"]
    assert videos["no_stream.mp4"]["reason"] == "no video stream"
    assert all("\n" not in v["reason"] and str(bad_dir) not in v["reason"] for v in videos.values())
    frames = read_csv(out / "frames.csv")
    assert {r["video"] for r in frames} == {"half.mp4", "single_face.mp4", "carphone_distorted.mp4"}
    assert not (out / "text.mp4").exists()
    assert {p: _sha(p) for p in inputs} == before  # no source file touched


def test_nothing_processed_exits_1(bad_dir: Path, tmp_path: Path) -> None:
    assert main([str(bad_dir / "text.mp4"), str(bad_dir / "truncated.mp4"), str(tmp_path / "out"),
                 "--no-progress"]) == 1
    assert len(read_csv(tmp_path / "out" / "videos.csv")) == 2


def test_labels_mismatches_are_recorded(two_videos: Path, samples_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(samples_dir / "carphone_pristine.mp4", other / "single_face.mp4")  # same name, another folder
    shutil.copy(samples_dir / "carphone_pristine.mp4", other / "unlabelled.mp4")
    labels = _labels(tmp_path / "labels.csv", {"single_face.mp4": 0, "carphone_distorted.mp4": 1, "gone.mp4": 1})
    out = tmp_path / "out"
    assert main([str(two_videos), str(other), str(out), "--labels", str(labels), "--no-progress"]) == 0
    rows = read_csv(out / "videos.csv")
    statuses = [(r["video"], r["label"], r["status"], r["reason"]) for r in rows]
    assert ("gone.mp4", "1", "skipped", "missing") in statuses
    assert ("unlabelled.mp4", "", "skipped", "no label") in statuses
    assert ("single_face.mp4", "0", "skipped", "duplicate name") in statuses
    assert ("single_face.mp4", "0", "ok", "") in statuses  # the first one found (two_videos) is used
    used = [r for r in read_csv(out / "frames.csv") if r["video"] == "single_face.mp4"]
    assert used[0]["width"] == "640"  # from the real single_face.mp4, not the 176x144 copy
    assert not (out / "unlabelled.mp4").exists()


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [("name,label", {"single_face.mp4": 0}, "header"), ("video_name,target", {"single_face.mp4": 2}, "target")],
)
def test_malformed_labels_exit_2(face_video: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, header: str,
                                 rows: dict[str, int], message: str) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(f"{header}\n" + "".join(f"{k},{v}\n" for k, v in rows.items()))
    with caplog.at_level(logging.ERROR):
        assert main([str(face_video), str(tmp_path / "out"), "--labels", str(labels), "--no-progress"]) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and message in errors[0] and "\n" not in errors[0]
    assert not (tmp_path / "out").exists()


def test_other_malformed_input_exits_2(face_video: Path, tmp_path: Path) -> None:
    assert main([str(tmp_path / "nope.mp4"), str(tmp_path / "out"), "--no-progress"]) == 2
    assert main([str(face_video), str(tmp_path / "out"), "--balance", "--no-progress"]) == 2  # needs --labels
    with pytest.raises(SystemExit) as e:  # argparse: bad option values
        main([str(face_video), str(tmp_path / "out"), "--frames", "0"])
    assert e.value.code == 2


# ------------------------------------------------------------------------------------------------------------- balance
def test_balance_jobs_is_deterministic_and_order_free() -> None:
    jobs = [VideoJob(f"f{i}.mp4", Path(f"f{i}.mp4"), 1) for i in range(10)]
    jobs += [VideoJob(f"r{i}.mp4", Path(f"r{i}.mp4"), 0) for i in range(3)]
    kept, excluded = balance_jobs(jobs, seed=0)
    assert sum(j.label == 0 for j in kept) == sum(j.label == 1 for j in kept) == 3
    assert len(excluded) == 7 and all(j.label == 1 for j in excluded)
    assert [j.name for j in balance_jobs(jobs, seed=0)[1]] == [j.name for j in excluded]
    assert sorted(j.name for j in balance_jobs(jobs[::-1], seed=0)[1]) == sorted(j.name for j in excluded)
    picks = {tuple(sorted(j.name for j in balance_jobs(jobs, seed=s)[1])) for s in range(10)}
    assert len(picks) > 1  # the seed decides which ones
    assert balance_jobs(jobs[:10], seed=0) == (jobs[:10], [])  # one class only: nothing to balance against


def test_cli_balance(samples_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    d = tmp_path / "videos"
    d.mkdir()
    labels = {"real.mp4": 0}
    shutil.copy(samples_dir / "carphone_pristine.mp4", d / "real.mp4")
    for i in range(3):
        shutil.copy(samples_dir / "carphone_distorted.mp4", d / f"fake{i}.mp4")
        labels[f"fake{i}.mp4"] = 1
    shutil.copy(samples_dir / "carphone_distorted.mp4", d / "fake_broken.mp4")
    (d / "fake_broken.mp4").write_bytes(b"broken")  # unreadable: must not count towards the balance
    labels["fake_broken.mp4"] = 1
    lab = _labels(tmp_path / "labels.csv", labels)
    with caplog.at_level(logging.INFO):
        assert main([str(d), str(tmp_path / "out"), "--labels", str(lab), "--balance", "--no-progress"]) == 0
    rows = _by_video(read_csv(tmp_path / "out" / "videos.csv"))
    assert rows["real.mp4"]["status"] == "ok" and rows["fake_broken.mp4"]["status"] == "skipped"
    fakes = [rows[f"fake{i}.mp4"] for i in range(3)]
    assert sorted(r["status"] for r in fakes) == ["excluded", "excluded", "ok"]
    assert all(r["reason"] == "balance" for r in fakes if r["status"] == "excluded")
    excluded = sorted(k for k, r in rows.items() if r["status"] == "excluded")
    assert any("balance" in m and all(n in m for n in excluded) for m in caplog.messages)
    kept = balance_jobs([VideoJob(n, d / n, v) for n, v in labels.items() if n != "fake_broken.mp4"], seed=0)[0]
    assert {j.name for j in kept} == {k for k, r in rows.items() if r["status"] == "ok"}


def test_plan_videos_without_labels() -> None:
    jobs, skipped = plan_videos([Path("a/x.mp4"), Path("b/y.mp4"), Path("c/x.mp4")])
    assert [(j.name, j.label) for j in jobs] == [("x.mp4", None), ("y.mp4", None)]
    assert [(r["video"], r["reason"]) for r in skipped] == [("x.mp4", "duplicate name")]


def test_cli_defaults_are_the_extract_options() -> None:
    args = get_args_parser().parse_args(["v.mp4", "out"])
    d = ExtractOptions()
    assert (args.frames, args.stride, args.mode, args.seed, args.format) == (d.n, d.stride, d.mode, d.seed,
                                                                             d.image_format)


def test_settings_file_records_the_options(face_video: Path, tmp_path: Path) -> None:
    assert main([str(face_video), str(tmp_path / "out"), "--frames", "4", "--seed", "7", "--no-progress"]) == 0
    assert json.loads((tmp_path / "out" / SETTINGS_FILE).read_text()) == {
        "n": 4, "stride": ExtractOptions().stride, "mode": "random", "seed": 7, "image_format": "png"}


def test_a_changed_source_file_is_extracted_again(face_video: Path, samples_dir: Path, tmp_path: Path) -> None:
    # the marker's settings hold the source size: another file under the same name is not trusted
    videos, out = tmp_path / "videos", tmp_path / "out"
    videos.mkdir()
    shutil.copy(face_video, videos / "v.mp4")
    assert main([str(videos), str(out), "--no-progress"]) == 0
    assert read_csv(out / "videos.csv")[0]["width"] == "640"
    shutil.copy(samples_dir / "carphone_pristine.mp4", videos / "v.mp4")
    assert main([str(videos), str(out), "--no-progress"]) == 0
    assert read_csv(out / "videos.csv")[0]["width"] == "192"  # 176x144 at 12:11 pixels: 192x144 (issue 23 item 9)


def test_a_missing_frame_file_redoes_the_video(face_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main([str(face_video), str(out), "--no-progress"]) == 0
    first = read_csv(out / "frames.csv")
    (out / first[3]["path"]).unlink()  # the marker vouches for a file that is gone
    job = VideoJob(face_video.name, face_video)
    assert extract_mod.load_done(out, job, ExtractOptions()) is None
    assert main([str(face_video), str(out), "--no-progress"]) == 0
    assert read_csv(out / "frames.csv") == first and (out / first[3]["path"]).is_file()


def test_a_damaged_packet_is_skipped_and_said_in_videos_csv(face_video: Path, tmp_path: Path) -> None:
    # issue 23 item 3, preprocessing: decoding goes on past the damaged packet, and videos.csv says what was lost
    from tests.media import damage_packets

    videos, out = tmp_path / "videos", tmp_path / "out"
    videos.mkdir()
    damage_packets(face_video, videos / "v.mp4", {6})
    assert main([str(videos), str(out), "--mode", "linspace", "--frames", "72", "--no-progress"]) == 0
    (row,) = read_csv(out / "videos.csv")
    assert row["status"] == "short"
    assert row["reason"] == "71 of 72 frames (1 sampled frame(s) could not be decoded: damaged data skipped)"
    assert len(read_csv(out / "frames.csv")) == 71
