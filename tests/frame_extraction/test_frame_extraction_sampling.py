"""frame_extraction.sampling: training clips, linspace, evaluation windows and the per-video random stream."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from dfdetect.core.config import DataConfig
from dfdetect.core.seeding import item_rng
from frame_extraction.sampling import eval_windows, evenly_spaced, sample_indices, video_rng


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


def test_short_video_fits_the_stride_or_yields_every_frame() -> None:
    # issue 23 item 4: 20 frames cannot hold 15 at stride 2; at stride 1 they do (before: 10 frames at stride 2)
    idx = sample_indices(20, n=15, stride=2, mode="random", rng=0)
    assert len(idx) == 15 and np.diff(idx).tolist() == [1] * 14 and 0 <= idx[0] <= 5
    # a 15-frame slideshow (1 fps): every frame, not 8
    assert sample_indices(15, n=15, stride=2, rng=0).tolist() == list(range(15))
    assert sample_indices(8, n=15, stride=2, rng=0).tolist() == list(range(8))
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


def test_defaults_are_the_config_defaults() -> None:
    d = DataConfig()
    assert len(sample_indices(1000, rng=0)) == d.sample_frames
    assert (np.diff(sample_indices(1000, rng=0)) == d.stride).all()


def test_video_rng_is_the_core_item_stream_and_the_old_rule() -> None:
    # THE name-to-seed rule: the same stream as core.seeding.item_rng, i.e. default_rng([seed, crc32(name)])
    a = video_rng(3, "a.mp4").integers(0, 1 << 30, 5)
    assert (a == item_rng(3, "a.mp4").integers(0, 1 << 30, 5)).all()
    assert (a == np.random.default_rng([3, zlib.crc32(b"a.mp4")]).integers(0, 1 << 30, 5)).all()


def test_evenly_spaced_rounds_half_up() -> None:
    assert evenly_spaced(3, 3).tolist() == [0, 2, 3]  # 0, 1.5, 3: 1.5 rounds up (np.round would give 2 too)
    assert evenly_spaced(5, 3).tolist() == [0, 3, 5]  # 2.5 -> 3 (np.round: 2)
    assert evenly_spaced(2, 10).tolist() == [0, 1, 2]  # more points than integers: duplicates removed
    assert evenly_spaced(-4, 3).tolist() == [0]


def test_eval_windows_spread_over_the_video_at_the_training_stride() -> None:
    # 300 frames, 3 windows of 15 at stride 2: the last start where a window fits is 299 - 28 = 271
    windows = eval_windows(300, clips=3, n=15, stride=2)
    assert [w[0] for w in windows] == [0, 136, 271]  # 135.5 rounds half up
    assert all(w == list(range(w[0], w[0] + 29, 2)) for w in windows)
    # too short for stride 2 (issue 23 item 4): stride 1, whole windows; 15 frames: one window of all of them
    assert eval_windows(20, clips=4, n=15, stride=2) == [list(range(s, s + 15)) for s in (0, 2, 3, 5)]
    assert eval_windows(15, clips=2, n=15, stride=2) == [list(range(15))]
    assert eval_windows(8, clips=2, n=15, stride=2) == [list(range(8))]
    assert eval_windows(29, clips=2, n=15, stride=2) == [list(range(0, 29, 2))]  # exactly one fits: merged
    assert eval_windows(0, clips=2, n=15, stride=2) == []
    with pytest.raises(ValueError, match="stride"):
        eval_windows(100, clips=1, n=15, stride=0)
