"""bench/aggregate.py (issue 26, point 3): the comparison on clip scores whose answer is known by hand (its doctest,
tests/core/test_bench_doctests.py) and the videos it scores, made from a sample: a partial fake is its real outside
the stretch and its whole fake inside it."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

from frame_extraction.decode import read_all_frames

aggregate = importlib.import_module("bench.aggregate")


@pytest.mark.slow
def test_a_partial_fake_is_the_real_outside_its_stretch_and_the_fake_inside(samples_dir: Path,
                                                                           tmp_path: Path) -> None:
    rows = aggregate.make_videos(samples_dir / "single_face.mp4", tmp_path, segments=2, seconds=1.0, stretch=0.4,
                                 seed=0)
    assert [(r["segment"], r["kind"]) for r in rows] == [(k, kind) for k in (0, 1) for kind in aggregate.KINDS]
    assert [r["method"] for r in rows[::3]] == ["sbi", "temporal"]  # the generators in turn
    assert aggregate.make_videos(samples_dir / "single_face.mp4", tmp_path, 2, 1.0, 0.4, 0) == [
        {k: str(v) for k, v in r.items()} for r in rows]  # made once: read back
    for k in (0, 1):
        real, whole, partial = (read_all_frames(tmp_path / "videos" / f"segment{k}_{kind}.mp4")
                                for kind in aggregate.KINDS)
        assert len(real) == len(whole) == len(partial) == 30  # 1 s at 30 fps
        a, b = (round(float(x) * 30) for x in rows[3 * k + 2]["stretch_s"].split("-"))
        assert b - a == 12  # 0.4 s
        changed = [t for t in range(30) if np.abs(real[t].astype(np.int16) - whole[t]).mean() > 1.0]
        assert set(changed) & set(range(a, b))  # the stretch holds frames the generator changed
        for t in changed:  # (where the fake equals the real, the two encodings differ only by the codec's noise)
            to_real = np.abs(partial[t].astype(np.int16) - real[t]).mean()
            to_fake = np.abs(partial[t].astype(np.int16) - whole[t]).mean()
            assert (to_fake < to_real) == (a <= t < b), (k, t, to_real, to_fake)
