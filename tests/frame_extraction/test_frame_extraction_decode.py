"""frame_extraction.decode: the packet scan, exact one-pass decoding on the real samples, and broken files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import av
import numpy as np
import pytest

import frame_extraction.decode as decode_mod
from bench.common import make_hd_video
from frame_extraction.decode import (
    MIN_SEEK_GAIN,
    VideoError,
    VideoInfo,
    VideoScan,
    probe_video,
    read_all_frames,
    read_frames,
    sample_video,
    scan_video,
    seek_runs,
)
from frame_extraction.sampling import sample_indices, video_rng


# ------------------------------------------------------------------------------------------------------------ decoding
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
    keyframes = scan_video(path).keyframes
    assert [k for k in keyframes if k >= MIN_SEEK_GAIN]
    wanted = [k + d for k in keyframes if k >= MIN_SEEK_GAIN for d in (0, 1, 7)]
    got = read_frames(path, wanted, threads=1)
    assert list(got) == wanted
    assert all(np.array_equal(got[i], all_frames["face_noface.mov"][i]) for i in wanted)


def test_fast_path_matches_plain_decode_after_h264_keyframes(samples_dir: Path) -> None:
    # WolfgangLanger_Pexels.mp4: H.264 with B-frames and a keyframe every 72 frames. The fast path (keyframe seek,
    # unwanted non-reference frames not decoded, any thread count) must equal decoding every frame from the first.
    path = samples_dir / "WolfgangLanger_Pexels.mp4"
    assert scan_video(path).keyframes[:3] == (0, 72, 144)
    for wanted in ([72, 74, 76, 100], [143, 144, 145, 173], sample_indices(472, 15, 2, rng=1).tolist()):
        plain = read_frames(path, wanted, fast=False)
        assert list(plain) == wanted
        for threads in (None, 1, 2):
            fast = read_frames(path, wanted, threads=threads)
            assert list(fast) == wanted and all(np.array_equal(fast[i], plain[i]) for i in wanted), (wanted, threads)


def test_frames_far_apart_are_read_each_from_the_keyframe_before_it(samples_dir: Path) -> None:
    """Windows spread over a video (scoring's coverage): a run per keyframe interval, each from its own seek, the same
    pixels as decoding every frame from the first."""
    path = samples_dir / "WolfgangLanger_Pexels.mp4"  # keyframes every 72 frames
    scan = scan_video(path)
    wanted = [3, 5, 80, 82, 150, 300, 302, 310]
    assert seek_runs(wanted, scan.keyframes) == [[3, 5], [80, 82], [150], [300, 302, 310]]
    assert seek_runs([3, 70, 80], scan.keyframes) == [[3, 70, 80]]  # keyframe 72 only 2 frames past 70: no seek
    plain = read_frames(path, wanted, fast=False)
    fast = read_frames(path, wanted, scan=scan)
    assert list(fast) == list(plain) == wanted
    assert all(np.array_equal(fast[i], plain[i]) for i in wanted)


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
    # 50 frames at stride 2 do not fit in 72: at stride 1 they do (issue 23 item 4); 100 frames: all 72, short
    fitted = sample_video(face_video, n=50, stride=2, rng=0)
    assert not fitted.short and fitted.indices == list(range(fitted.indices[0], fitted.indices[0] + 50))
    short = sample_video(face_video, n=100, stride=2, rng=0)
    assert short.short and short.indices == list(range(72))
    lin = sample_video(face_video, n=8, mode="linspace")
    assert lin.indices[0] == 0 and lin.indices[-1] == 71 and not lin.short


# ------------------------------------------------------------------------------------------------------- bad files
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


# -------------------------------------------------------------------------------------------------------------- scan
def test_scan_then_read_scans_the_file_once(face_video: Path, all_frames: dict,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    scan = scan_video(face_video)
    assert isinstance(scan, VideoScan) and scan.info == probe_video(face_video)
    assert len(scan.pts) == scan.info.num_frames == 72 and list(scan.pts) == sorted(scan.pts)
    with pytest.raises(dataclasses.FrozenInstanceError):
        scan.keyframes = ()  # type: ignore[misc]
    scans: list[Path] = []
    real = decode_mod.scan_video
    monkeypatch.setattr(decode_mod, "scan_video", lambda path: scans.append(path) or real(path))
    got = read_frames(face_video, [40, 5, 71, 72], scan=scan)  # the caller's scan is reused: no second pass
    assert scans == [] and list(got) == [5, 40, 71]
    assert all(np.array_equal(got[i], all_frames["single_face.mp4"][i]) for i in got)
    sv = sample_video(face_video, n=4, stride=3, rng=1)  # one scan, then one decoding pass with it
    assert scans == [face_video] and sv.info == scan.info
    assert read_frames(face_video, [], scan=scan) == {} and read_frames(face_video, [-1]) == {}
    assert scans == [face_video]  # nothing wanted: nothing scanned


def test_a_scan_without_timestamps_counts_frames(face_video: Path, all_frames: dict) -> None:
    # pts None (a container without timestamps): frames are counted from the first, same pixels
    scan = dataclasses.replace(scan_video(face_video), pts=None)
    got = read_frames(face_video, [3, 30, 60], scan=scan)
    assert list(got) == [3, 30, 60] and all(np.array_equal(got[i], all_frames["single_face.mp4"][i]) for i in got)


def test_make_hd_video_is_cached(face_video: Path, tmp_path: Path) -> None:
    dst = make_hd_video(face_video, tmp_path / "hd.mp4", seconds=1, fps=10, size=(320, 180))
    assert probe_video(dst) == VideoInfo(num_frames=10, fps=10.0, width=320, height=180)
    mtime = dst.stat().st_mtime_ns
    assert make_hd_video(face_video, dst, seconds=2) == dst and dst.stat().st_mtime_ns == mtime  # not rewritten
    assert [p.name for p in tmp_path.iterdir()] == ["hd.mp4"]  # no temporary file left


def test_colon_in_a_relative_name_is_a_file_not_a_url(samples_dir: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # issue 23 item 5: "Interview: part 1.mp4" given relative to the current folder reached FFmpeg as the URL
    # "Interview:..." ("Protocol not found")
    from frame_extraction.audio import has_audio

    (tmp_path / "Interview: part 1.mp4").write_bytes((samples_dir / "single_face.mp4").read_bytes())
    (tmp_path / "http:clip.mp4").write_bytes((samples_dir / "single_face.mp4").read_bytes())
    monkeypatch.chdir(tmp_path)
    for name in ("Interview: part 1.mp4", "http:clip.mp4"):
        scan = scan_video(name)
        assert scan.info.num_frames == 72
        assert list(read_frames(name, [0, 40], scan=scan)) == [0, 40]
        assert has_audio(name)


def test_decoding_goes_on_past_a_damaged_packet(samples_dir: Path, tmp_path: Path, all_frames: dict,
                                                caplog: pytest.LogCaptureFixture) -> None:
    # issue 23 item 3: a bad NAL size in the 7th packet of 72 (frame 6); ffmpeg decodes the 71 others
    from tests.media import damage_packets

    bad = damage_packets(samples_dir / "single_face.mp4", tmp_path / "bad.mp4", {6})
    assert scan_video(bad).info.num_frames == 72
    with caplog.at_level("WARNING"):
        got = read_frames(bad, range(72))
    assert len(got) == 71 and 6 not in got
    assert "1 damaged packet(s) skipped" in caplog.text and "decoding stopped" not in caplog.text
    # the frames before it are exact (frame 5, a B-frame, refers to frame 6); later ones are decoded, the decoder
    # concealing what referred to the lost frame
    assert all(np.array_equal(got[i], all_frames["single_face.mp4"][i]) for i in range(5))
    assert len(read_all_frames(bad)) == 71


def test_non_square_pixels_are_resampled_to_the_shape_players_show(samples_dir: Path, tmp_path: Path,
                                                                   all_frames: dict) -> None:
    # issue 23 item 9: stored 480x360 with sample aspect ratio 4:3, shown 640x360: frames were used squeezed
    from tests.media import squeeze_pixels

    video = squeeze_pixels(samples_dir / "single_face.mp4", tmp_path / "sar.mp4")
    info = scan_video(video).info
    assert (info.width, info.height, info.sample_aspect) == (640, 360, 4 / 3)
    got = read_frames(video, [0, 19])
    assert got[19].shape == (360, 640, 3) and read_all_frames(video)[0].shape == (360, 640, 3)
    assert sample_video(video, n=4, stride=2, rng=0).frames[0].shape == (360, 640, 3)  # preprocessing alike
    original = all_frames["single_face.mp4"][19].astype(np.float32)
    assert np.abs(got[19] - original).mean() < 4  # the same picture (the round trip through 480 px costs a little)
