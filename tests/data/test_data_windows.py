"""dfdetect.data.windows: the fixed validation windows and the random training window."""

from __future__ import annotations

import numpy as np
import pytest

from dfdetect.data import clip_windows, random_window


def test_clip_windows() -> None:
    assert clip_windows(15, 10, 1) == [list(range(10))]
    assert clip_windows(15, 10, 2) == [list(range(10)), list(range(5, 15))]  # spread to the last crop
    w = clip_windows(100, 10, 4)
    assert [x[0] for x in w] == [0, 30, 60, 90] and all(x == list(range(x[0], x[0] + 10)) for x in w)
    assert clip_windows(11, 10, 5) == [list(range(10)), list(range(1, 11))]  # no duplicated windows
    assert clip_windows(3, 5, 4) == [[0, 1, 2, 2, 2]]  # too few crops: one window, last crop repeated
    assert clip_windows(10, 10, 3) == [list(range(10))]
    with pytest.raises(ValueError):
        clip_windows(0, 10, 1)


def test_random_window_is_consecutive_seeded_and_padded() -> None:
    starts = {random_window(8, 3, np.random.default_rng(s))[0] for s in range(60)}
    assert starts == set(range(6))  # every start from 0 to 8 - 3 is reachable, no other
    assert random_window(8, 3, np.random.default_rng(4)) == random_window(8, 3, np.random.default_rng(4))
    window = random_window(8, 3, np.random.default_rng(1))
    assert window == list(range(window[0], window[0] + 3))
    assert random_window(2, 4, np.random.default_rng(0)) == [0, 1, 1, 1]  # too few crops: as clip_windows
