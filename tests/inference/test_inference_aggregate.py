"""inference.aggregate: TTA views and the video score from clip scores (known answers)."""

from __future__ import annotations

import pytest

from dfdetect.inference.aggregate import aggregate_scores, confident_strategy, fake_segments, top_k_mean, tta_views


def test_confident_strategy_fake_branch_averages_the_confident_scores() -> None:
    s = [0.95] * 6 + [0.3] * 4  # 6 of 10 above 0.8: more than 11/32 * 10 and more than 10 // 2.5
    assert confident_strategy(s) == pytest.approx(0.95)
    assert aggregate_scores(s, "mean") == pytest.approx(0.69)
    assert aggregate_scores(s, "confident") == pytest.approx(0.95)


def test_confident_strategy_real_branch_needs_more_than_90_percent_low() -> None:
    assert confident_strategy([0.05] * 19 + [0.6]) == pytest.approx(0.05)  # 95% below 0.2
    assert confident_strategy([0.05] * 9 + [0.6]) == pytest.approx(0.105)  # exactly 90%: plain mean


def test_confident_strategy_falls_back_to_the_mean() -> None:
    s = [0.9, 0.5, 0.5, 0.5, 0.1]  # 1 confident fake of 5: not more than 5 // 2.5 = 2
    assert confident_strategy(s) == pytest.approx(2.5 / 5)


def test_confident_strategy_matches_the_winner_at_32_frames() -> None:
    # The published rule at n = 32: fakes > 11 and fakes > 32 // 2.5 = 12, so 12 confident frames are not enough.
    twelve = [0.9] * 12 + [0.5] * 20
    thirteen = [0.9] * 13 + [0.5] * 19
    assert confident_strategy(twelve) == pytest.approx((12 * 0.9 + 20 * 0.5) / 32)
    assert confident_strategy(thirteen) == pytest.approx(0.9)


def test_aggregate_scores_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="aggregate"):
        aggregate_scores([0.5], "median")
    with pytest.raises(ValueError, match="no scores"):
        aggregate_scores([], "mean")


def test_tta_views_flip_then_shift_inside_the_window() -> None:
    views = tta_views([2, 3], 5, 6)
    assert views == [([2, 3], False), ([2, 3], True), ([3, 4], False), ([3, 4], True), ([1, 2], False),
                     ([1, 2], True)]
    assert tta_views([0, 1, 2], 3, 5) == [([0, 1, 2], False), ([0, 1, 2], True)]  # no room: duplicates dropped
    with pytest.raises(ValueError, match="n_views"):
        tta_views([0], 1, 0)


def test_topk_is_not_drowned_by_a_long_real_video() -> None:
    # 15 windows, 2 of them fake (a 4 s stretch of a 60 s video): the mean stays real, the top-3 mean does not.
    s = [0.1] * 13 + [0.9, 0.8]
    assert aggregate_scores(s, "mean") == pytest.approx(0.2)
    assert aggregate_scores(s, "topk") == pytest.approx((0.9 + 0.8 + 0.1) / 3)
    assert aggregate_scores(s, "topk", top_k=2) == pytest.approx(0.85)
    assert aggregate_scores([0.9] * 15, "topk") == pytest.approx(aggregate_scores([0.9] * 15, "mean"))  # a whole fake
    with pytest.raises(ValueError, match="top_k"):
        top_k_mean(s, k=0)


def test_fake_segments_merge_consecutive_windows_above_the_threshold() -> None:
    times = [(0.0, 1.2), (4.0, 5.2), (8.0, 9.2), (12.0, 13.2), (16.0, 17.2)]
    assert fake_segments(times, [0.1, 0.6, 0.8, 0.2, 0.5], 0.5) == [(4.0, 9.2, 0.8), (16.0, 17.2, 0.5)]
    assert fake_segments(times, [0.1] * 5, 0.5) == []
    assert fake_segments(times, [0.9] * 5, 0.5) == [(0.0, 17.2, 0.9)]
