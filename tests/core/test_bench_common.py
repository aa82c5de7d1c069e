"""bench/common.py's helpers on real data: a long video repeated from a sample without re-encoding, and a child
process's peak memory (what bench/score.py prints for issue 26's one-hour video)."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

from frame_extraction.decode import read_frames, scan_video

common = importlib.import_module("bench.common")


def test_repeat_video_is_the_sample_n_times_over_frame_for_frame(samples_dir, tmp_path) -> None:
    src = samples_dir / "single_face.mp4"
    dst = common.repeat_video(src, tmp_path / "x3.mp4", 3)
    a, b = scan_video(src), scan_video(dst)
    n = a.info.num_frames  # 72
    assert b.info.num_frames == 3 * n and b.info.fps == a.info.fps
    assert len(b.keyframes) == 3 * len(a.keyframes)  # every repeat starts on a keyframe
    first = read_frames(src, [0, 5, n - 1], scan=a)
    third = read_frames(dst, [2 * n, 2 * n + 5, 3 * n - 1], scan=b)  # decoded after a seek into the last repeat
    for i, frame in first.items():
        assert np.array_equal(frame, third[2 * n + i])  # the same packets: the same pixels
    assert not list(tmp_path.glob(".*"))  # no temporary file left
    assert common.repeat_video(src, dst, 5) == dst and scan_video(dst).info.num_frames == 3 * n  # cached
    with pytest.raises(ValueError, match="times"):
        common.repeat_video(src, tmp_path / "none.mp4", 0)


def test_peak_rss_is_the_childs_own() -> None:
    """A child that holds 400 MB peaks near 0.4 GB and one that holds 100 MB near 0.1 GB, whatever this process holds
    (getrusage would give this test process's own size, torch included, to both)."""
    hold = "import numpy as np, time; a = np.ones({n}); time.sleep(0.3); print(a.sum())"
    code, big = common.peak_rss_gb([sys.executable, "-c", hold.format(n=50_000_000)])
    _, small = common.peak_rss_gb([sys.executable, "-c", hold.format(n=12_500_000)])
    assert code == 0
    assert 0.4 <= big < 0.6 and 0.1 <= small < 0.3, (big, small)
    assert big - small == pytest.approx(0.3, abs=0.05)
