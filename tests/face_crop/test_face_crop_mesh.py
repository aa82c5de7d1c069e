"""The face mesh (:mod:`face_crop.mesh`) on a real video: its points do not depend on the interpreter's threads, and
the process's mesh runs on torch's thread count."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from face_crop import mesh
from face_crop.crop import crop_face
from face_crop.detect import FaceDetector
from frame_extraction.decode import read_frames


def test_the_points_are_the_same_on_one_and_two_threads(face_video: Path, detector: FaceDetector) -> None:
    frames = list(read_frames(face_video, range(0, 72, 12)).values())
    faces = detector.detect(frames)
    one, two = mesh.DenseLandmarker(threads=1), mesh.DenseLandmarker(threads=2)
    for img, face in zip(frames, faces):
        crop = crop_face(img, face.box, 0.3, 128)
        for f, x in ((face, img), (None, crop)):  # the frame with the detector's face, and the crop as its own region
            a = one(x, f) if f is not None else one.on_crop(x)
            b = two(x, f) if f is not None else two.on_crop(x)
            assert a is not None and a.shape == (mesh.N_DENSE, 2)
            np.testing.assert_array_equal(a, b)  # bit-equal: only the time changes


def test_the_process_mesh_follows_torchs_threads() -> None:
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single = mesh.load_landmarker()
        torch.set_num_threads(2)
        assert mesh.load_landmarker() is not single and mesh.load_landmarker() is mesh.load_landmarker()
        torch.set_num_threads(1)
        assert mesh.load_landmarker() is single  # built once per thread count
    finally:
        torch.set_num_threads(old)
