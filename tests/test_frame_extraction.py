"""Frame extraction: sampling, exact one-pass decoding on the real samples, the batch CLI, resume, and bad input."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import av
import numpy as np
import pytest

import frame_extraction.extract as extract_mod
from dfdetect.core.io import load_image, read_csv
from frame_extraction.decode import (
    MIN_SEEK_GAIN,
    VideoError,
    VideoInfo,
    _probe,
    probe_video,
    read_all_frames,
    read_frames,
    sample_video,
)
from frame_extraction.extract import FRAMES_COLUMNS, VIDEOS_COLUMNS, VideoJob, balance_jobs, main, plan_videos
from frame_extraction.sampling import sample_indices, video_rng


# ------------------------------------------------------------------------------------------------------------ sampling
@pytest.mark.parametrize("num_frames", [30, 72, 300, 1000])
def test_random_clip_has_n_frames_at_stride(num_frames: int) -> None:
    for seed in range(50):
        idx = sample_indices(num_frames, n=15, stride=2, mode="random", rng=seed)
        assert idx.dtype == np.int64
        assert len(idx) == 15
        assert (np.diff(idx) == 2).all()
        assert idx[0] >= 0 and idx[-1] < num_frames


@pytest.mark.parametrize(("num_frames", "max_start"), [(300, 150), (72, 36), (40, 11)])
def test_random_start_covers_zero_to_middle(num_frames: int, max_start: int) -> None:
    # max_start = min(num_frames // 2, num_frames - 1 - 14 * 2): the middle, or less so that the whole clip fits
    starts = {int(sample_indices(num_frames, 15, 2, "random", rng=s)[0]) for s in range(3000)}
    assert starts == set(range(max_start + 1))  # every start from 0 to the bound is drawn, nothing beyond


def test_random_start_is_uniform() -> None:
    starts = np.array([sample_indices(300, 15, 2, "random", rng=s)[0] for s in range(4000)])
    counts = np.bincount(starts // 30, minlength=6)[:5]  # five bins of 30 starts over [0, 150)
    assert counts.min() > 0.8 * counts.mean()  # not piled up at the start (the DeepfakeBench bug)


def test_sampling_is_deterministic() -> None:
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    assert (sample_indices(500, rng=rng_a) == sample_indices(500, rng=rng_b)).all()
    a = sample_indices(500, rng=video_rng(3, "a.mp4"))
    assert (a == sample_indices(500, rng=video_rng(3, "a.mp4"))).all()
    # a different video name or seed gives a different draw (most of the time; check over several names)
    others = [sample_indices(500, rng=video_rng(3, f"v{i}.mp4"))[0] for i in range(20)]
    assert len(set(others)) > 5
    assert len({sample_indices(500, rng=video_rng(s, "a.mp4"))[0] for s in range(20)}) > 5


def test_short_video_starts_at_zero_and_yields_fewer() -> None:
    idx = sample_indices(20, n=15, stride=2, mode="random", rng=0)
    assert idx.tolist() == list(range(0, 20, 2))
    assert sample_indices(1, rng=0).tolist() == [0]
    assert sample_indices(0, rng=0).tolist() == []
    # exactly long enough: the only start is 0
    assert sample_indices(29, 15, 2, rng=5).tolist() == list(range(0, 29, 2))


def test_linspace_spreads_over_whole_video() -> None:
    for num_frames in (15, 16, 72, 95, 472, 1000):
        idx = sample_indices(num_frames, n=15, mode="linspace")
        assert len(idx) == 15 and len(set(idx.tolist())) == 15
        assert idx[0] == 0 and idx[-1] == num_frames - 1
        gaps = np.diff(idx)
        assert gaps.max() - gaps.min() <= 1  # evenly spread
    assert sample_indices(5, n=15, mode="linspace").tolist() == [0, 1, 2, 3, 4]  # fewer frames than asked: all


def test_sampling_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="mode"):
        sample_indices(100, mode="middle")
    with pytest.raises(ValueError, match="stride"):
        sample_indices(100, stride=0)
    with pytest.raises(ValueError, match="n must"):
        sample_indices(100, n=0)


# ------------------------------------------------------------------------------------------------------------ decoding
@pytest.fixture(scope="module")
def all_frames(samples_dir: Path) -> dict[str, list[np.ndarray]]:
    """Full sequential decodes, the reference for exactness (module scope: decoded once)."""
    return {name: read_all_frames(samples_dir / name) for name in ("single_face.mp4", "face_noface.mov")}


def _index_sets(num_frames: int) -> list[list[int]]:
    sets = [sample_indices(num_frames, 15, 2, "random", rng=s).tolist() for s in range(4)]
    sets.append(sample_indices(num_frames, 32, mode="linspace").tolist())
    sets.append([num_frames - 1])
    sets.append([num_frames - 2, 3, 3, num_frames - 2])  # unsorted, duplicated
    return sets


@pytest.mark.parametrize("name", ["single_face.mp4", "face_noface.mov"])
def test_read_frames_matches_full_decode_bit_for_bit(samples_dir: Path, all_frames: dict, name: str) -> None:
    path = samples_dir / name
    ref = all_frames[name]
    info = probe_video(path)
    assert info.num_frames == len(ref)
    assert ref[0].shape == (info.height, info.width, 3) and ref[0].dtype == np.uint8
    for wanted in _index_sets(info.num_frames):
        for fast in (True, False):
            got = read_frames(path, wanted, fast=fast)
            assert list(got) == sorted(set(wanted))
            for i, frame in got.items():
                assert np.array_equal(frame, ref[i]), (name, i, fast)


def test_hevc_seeks_to_keyframes(samples_dir: Path, all_frames: dict) -> None:
    # face_noface.mov (HEVC) has a keyframe every 30 frames: frames after the first ones are read through a seek
    path = samples_dir / "face_noface.mov"
    keyframes = _probe(path)[1].keyframes
    assert [k for k in keyframes if k >= MIN_SEEK_GAIN]
    wanted = [k + d for k in keyframes if k >= MIN_SEEK_GAIN for d in (0, 1, 7)]
    got = read_frames(path, wanted, threads=1)
    assert list(got) == wanted
    assert all(np.array_equal(got[i], all_frames["face_noface.mov"][i]) for i in wanted)


def test_fast_path_matches_plain_decode_after_h264_keyframes(samples_dir: Path) -> None:
    # WolfgangLanger_Pexels.mp4: H.264 with B-frames and a keyframe every 72 frames. The fast path (keyframe seek,
    # unwanted non-reference frames not decoded, any thread count) must equal decoding every frame from the first.
    path = samples_dir / "WolfgangLanger_Pexels.mp4"
    assert _probe(path)[1].keyframes[:3] == (0, 72, 144)
    for wanted in ([72, 74, 76, 100], [143, 144, 145, 173], sample_indices(472, 15, 2, rng=1).tolist()):
        plain = read_frames(path, wanted, fast=False)
        assert list(plain) == wanted
        for threads in (None, 1, 2):
            fast = read_frames(path, wanted, threads=threads)
            assert list(fast) == wanted and all(np.array_equal(fast[i], plain[i]) for i in wanted), (wanted, threads)


def test_probe_counts_real_frames_not_the_header(samples_dir: Path) -> None:
    # no_face.mp4's header says 98 frames; an edit list cuts 3, so a full decode gives 95
    path = samples_dir / "no_face.mp4"
    with av.open(str(path)) as c:
        assert c.streams.video[0].frames == 98
    ref = read_all_frames(path)
    info = probe_video(path)
    assert info.num_frames == len(ref) == 95
    got = read_frames(path, [0, 50, 94, 95, 97, 500])
    assert list(got) == [0, 50, 94]  # past the end: absent
    assert all(np.array_equal(got[i], ref[i]) for i in got)


def test_probe_single_face(face_video: Path) -> None:
    assert probe_video(face_video) == VideoInfo(num_frames=72, fps=30.0, width=640, height=360)


def test_sample_video(face_video: Path, all_frames: dict) -> None:
    sv = sample_video(face_video, n=15, stride=2, mode="random", rng=video_rng(0, "single_face.mp4"))
    assert not sv.short and len(sv.frames) == len(sv.indices) == 15
    assert sv.indices == sample_indices(72, 15, 2, "random", rng=video_rng(0, "single_face.mp4")).tolist()
    assert all(np.array_equal(f, all_frames["single_face.mp4"][i]) for i, f in zip(sv.indices, sv.frames))
    short = sample_video(face_video, n=50, stride=2, rng=0)  # 50 frames at stride 2 do not fit in 72
    assert short.short and short.indices == list(range(0, 72, 2))
    lin = sample_video(face_video, n=8, mode="linspace")
    assert lin.indices[0] == 0 and lin.indices[-1] == 71 and not lin.short


# ------------------------------------------------------------------------------------------------------- bad files
@pytest.fixture(scope="module")
def bad_dir(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real broken files made from the samples."""
    d = tmp_path_factory.mktemp("bad")
    face = (samples_dir / "single_face.mp4").read_bytes()
    pexels = (samples_dir / "WolfgangLanger_Pexels.mp4").read_bytes()  # its header (moov) comes first
    (d / "truncated.mp4").write_bytes(face[:20_000])  # header at the end: cut off
    (d / "half.mp4").write_bytes(pexels[:800_000])  # header kept, half the frames
    (d / "header_only.mp4").write_bytes(pexels[:11_400])  # says 472 frames, holds none
    (d / "text.mp4").write_text("this is not a video\n")
    with av.open(str(d / "no_stream.mp4"), mode="w") as out:  # the encoder got no frame: no video track at all
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        out.start_encoding()
    return d


@pytest.mark.parametrize(
    ("name", "message"),
    [("truncated.mp4", "not a readable video"), ("text.mp4", "not a readable video"),
     ("header_only.mp4", "no decodable frame"), ("no_stream.mp4", "no video stream")],
)
def test_unreadable_videos_raise_video_error(bad_dir: Path, name: str, message: str) -> None:
    with pytest.raises(VideoError, match=message):
        sample_video(bad_dir / name, rng=0)


def test_truncated_video_yields_what_it_has(bad_dir: Path, samples_dir: Path) -> None:
    path = bad_dir / "half.mp4"
    info = probe_video(path)
    assert 100 < info.num_frames < 472  # counted from the packets that are there, not the header's 472
    sv = sample_video(path, n=15, mode="linspace")
    assert sv.short and 0 < len(sv.frames) < 15  # the last packet is cut: the last sampled frame is absent
    ref = read_frames(samples_dir / "WolfgangLanger_Pexels.mp4", sv.indices)
    assert all(np.array_equal(f, ref[i]) for i, f in zip(sv.indices, sv.frames))


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
    assert json.loads((out / "single_face.mp4" / "_done.json").read_text())["params"]["seed"] == 2


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


def test_make_hd_video_is_cached(face_video: Path, tmp_path: Path) -> None:
    from bench.common import make_hd_video

    dst = make_hd_video(face_video, tmp_path / "hd.mp4", seconds=1, fps=10, size=(320, 180))
    assert probe_video(dst) == VideoInfo(num_frames=10, fps=10.0, width=320, height=180)
    mtime = dst.stat().st_mtime_ns
    assert make_hd_video(face_video, dst, seconds=2) == dst and dst.stat().st_mtime_ns == mtime  # not rewritten
    assert [p.name for p in tmp_path.iterdir()] == ["hd.mp4"]  # no temporary file left


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
