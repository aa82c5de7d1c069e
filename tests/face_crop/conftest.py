"""Fixtures of the face_crop tests: one detector per session and frames sampled from the real sample videos."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from face_crop.detect import FaceDetector
from frame_extraction.decode import sample_video


@pytest.fixture(scope="session")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture(scope="session")
def sample() -> Callable[..., tuple[list[int], list[np.ndarray]]]:
    """``sample(video, n=15, mode="linspace") -> (indices, RGB frames)``: frames as frame_extraction samples them."""

    def sample_frames(video: Path, n: int = 15, mode: str = "linspace") -> tuple[list[int], list[np.ndarray]]:
        s = sample_video(video, n=n, stride=2, mode=mode, rng=0)
        return list(s.indices), list(s.frames)

    return sample_frames
