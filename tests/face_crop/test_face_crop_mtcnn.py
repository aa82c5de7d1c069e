"""face_crop.mtcnn: MTCNN with its candidate crops cut in one vectorised step gives facenet-pytorch's results bit for
bit (the crops' area resampling on random regions; whole detections on real frames, with faces, without, and under
non-default settings), and the detector uses it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn.functional import interpolate

import face_crop.detect as detect_module
from face_crop.detect import FaceDetector
from face_crop.mtcnn import area_resample_boxes, mtcnn_detect
from frame_extraction.decode import read_frames


def _regions(rng: np.random.Generator, n: int, b: int, h: int, w: int) -> tuple[np.ndarray, ...]:
    """``n`` random non-empty regions (facenet's 1-based ``y, ey, x, ex``) of ``b`` frames of ``h`` x ``w``: from one
    pixel (resampling up) to the whole frame, touching the borders too."""
    inds = rng.integers(0, b, n)
    y0, x0 = rng.integers(0, h, n), rng.integers(0, w, n)
    ey, ex = np.minimum(h, y0 + rng.integers(1, h + 1, n)), np.minimum(w, x0 + rng.integers(1, w + 1, n))
    return inds, y0 + 1, ey, x0 + 1, ex


@pytest.mark.parametrize("size", [24, 48])
def test_area_resample_boxes_is_torchs_area_interpolation_bit_for_bit(size: int) -> None:
    rng = np.random.default_rng(size)
    frames = rng.integers(0, 256, (3, 97, 131, 3), dtype=np.uint8)
    frames[1] = 255  # the largest sums
    inds, y, ey, x, ex = _regions(rng, 400, 3, 97, 131)
    got = area_resample_boxes(frames, inds, y, ey, x, ex, size)
    imgs = torch.from_numpy(frames).permute(0, 3, 1, 2).float()  # (B, 3, H, W), channels-last strides, as facenet
    want = torch.cat([interpolate(imgs[i : i + 1, :, a - 1 : b, c - 1 : d], size=(size, size), mode="area")
                      for i, a, b, c, d in zip(inds, y, ey, x, ex)])
    assert got.shape == (400, 3, size, size) and got.dtype == torch.float32
    assert torch.equal(got, want)
    assert got.is_contiguous(memory_format=torch.channels_last)  # R-Net and O-Net see the layout facenet gives them


@pytest.mark.parametrize("scale", [0.6, 0.6 * 0.709, 0.6 * 0.709**5, 0.05])
def test_a_pyramid_level_is_torchs_area_interpolation_bit_for_bit(scale: float) -> None:
    """P-Net's pyramid: whole frames resampled to ``int(side * scale + 1)``, as facenet-pytorch sizes each level."""
    frames = np.random.default_rng(1).integers(0, 256, (4, 270, 480, 3), dtype=np.uint8)
    size = (int(270 * scale + 1), int(480 * scale + 1))
    one = np.ones(4, np.int64)
    got = area_resample_boxes(frames, np.arange(4), one, one * 270, one, one * 480, size)
    want = interpolate(torch.from_numpy(frames).permute(0, 3, 1, 2).float(), size=size, mode="area")
    assert torch.equal(got, want) and got.is_contiguous(memory_format=torch.channels_last)


def _same(ref: tuple, got: tuple) -> None:
    """Two ``MTCNN.detect(..., landmarks=True)`` results are equal bit for bit (no face: ``None`` / ``[None]``)."""
    for ref_part, got_part in zip(ref, got):
        assert len(ref_part) == len(got_part)
        for a, b in zip(ref_part, got_part):
            if a is None or (len(a) == 1 and a[0] is None):
                assert b is None or (len(b) == 1 and b[0] is None)
            else:
                assert np.array_equal(np.asarray(a, np.float64), np.asarray(b, np.float64))


@pytest.mark.parametrize("settings", [{}, {"min_face_size": 40, "thresholds": (0.5, 0.6, 0.8), "factor": 0.6}])
def test_mtcnn_detect_gives_facenets_faces_bit_for_bit(samples_dir: Path, settings: dict) -> None:
    detector = FaceDetector(**settings)
    found = 0
    for video, step in (("WolfgangLanger_Pexels.mp4", 9), ("carphone_distorted.mp4", 5), ("face_noface.mov", 7)):
        frames = list(read_frames(samples_dir / video, range(0, 60, step)).values())
        h, w = frames[0].shape[:2]
        s = min(1.0, detector.max_side / max(h, w))
        small = np.stack([detector._downscale(f, round(w * s), round(h * s)) for f in frames])
        ref = detector.mtcnn.detect(small, landmarks=True)
        _same(ref, mtcnn_detect(detector.mtcnn, small))
        found += sum(b is not None for b in ref[0])
    assert found >= 10  # faces were found (and the faceless frames of face_noface.mov gave none on both)


def test_the_detector_finds_what_facenets_detect_finds(samples_dir: Path, detector: FaceDetector,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    frames = list(read_frames(samples_dir / "single_face.mp4", range(0, 72, 8)).values())
    ours = detector.detect_all(frames)
    calls = []

    def facenets(mtcnn, small):  # facenet-pytorch's own MTCNN.detect, where the detector calls face_crop.mtcnn's
        calls.append(len(small))
        return mtcnn.detect(small, landmarks=True)

    monkeypatch.setattr(detect_module, "mtcnn_detect", facenets)
    ref = detector.detect_all(frames)
    assert sum(calls) == len(frames)  # every frame went through facenet-pytorch's path this time
    assert [len(f) for f in ours] == [len(f) for f in ref] and all(len(f) for f in ours)
    for a, b in zip(ours, ref):
        for fa, fb in zip(a, b):
            assert np.array_equal(fa.box, fb.box) and fa.prob == fb.prob and np.array_equal(fa.landmarks, fb.landmarks)
