"""Self-blended fake clips, SBI extended to video: full frames (:func:`synth_video`), face crops (:func:`blend_clip`).

    * ``consistent`` (default): the parameters are drawn once per clip and the mask follows the tracked face. The
      detections are interpolated over short gaps and smoothed over time (:func:`dfdetect.synth.track.track_faces`),
      so the mask does not jitter with the detector's noise.
    * ``flicker``: the parameters are redrawn for every frame (mask shape, colour, blur, blend ratio), the temporal
      inconsistency many real face-swap videos show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dfdetect.synth.base import Donors, clip_faces
from dfdetect.synth.landmarks import dense_faces
from dfdetect.synth.registry import generate
from dfdetect.synth.sbi import BlendParams, sample_blend_params, self_blend
from dfdetect.synth.track import MAX_GAP, TRACK_SIGMA, FaceLike, FaceTrack, track_faces


@dataclass
class SynthResult:
    """A blended clip: the frames (unchanged where there is no face), the parameters used per frame, the track."""

    frames: list[np.ndarray]
    params: list[BlendParams | None]
    track: FaceTrack


def blend_track(frames: Sequence[np.ndarray], track: FaceTrack, rng: np.random.Generator,
                consistent: bool = True, params: BlendParams | None = None) -> SynthResult:
    """Self-blend every frame that has a face in ``track`` (:func:`synth_video` once the track is made).

    Args:
        frames: RGB uint8 frames (H, W, 3) of one clip, as many as the track.
        track: the clip's face track.
        rng: draws the parameters (once, or per frame when not ``consistent``).
        consistent: one parameter set for the clip (True) or one per frame (flicker).
        params: consistent mode only: the clip's parameters, instead of drawing them from ``rng``.

    Returns:
        :class:`SynthResult`; frames without a face are the input arrays themselves.

    Raises:
        ValueError: the frames and the track differ in length.
    """
    if len(frames) != len(track):
        raise ValueError(f"{len(frames)} frames but a track of {len(track)}")
    fixed = (params or sample_blend_params(rng)) if consistent else None
    out: list[np.ndarray] = []
    used: list[BlendParams | None] = []
    # Dense landmarks (SBI's hull masks) from the tracked boxes, smoothed like the track; five points without the model.
    faces = dense_faces(frames, [track.face(i) for i in range(len(track))], sigma=TRACK_SIGMA)
    for frame, face in zip(frames, faces):
        if face is None:
            out.append(frame)
            used.append(None)
            continue
        p = fixed if fixed is not None else sample_blend_params(rng)
        out.append(self_blend(frame, face, p))
        used.append(p)
    return SynthResult(out, used, track)


def synth_video(frames: Sequence[np.ndarray], faces: Sequence[FaceLike | tuple | None], rng: np.random.Generator,
                consistent: bool = True, max_gap: int = MAX_GAP, sigma: float = TRACK_SIGMA) -> SynthResult:
    """Make a self-blended fake of a clip of full frames.

    Args:
        frames: RGB uint8 frames (H, W, 3) of one clip, consecutive.
        faces: the detector's face per frame (None where none was found), e.g. ``FaceDetector().detect(frames)``.
        rng: draws the parameters; the same seed gives the same pixels.
        consistent: one parameter set for the whole clip (True) or a new one for every frame (flicker).
        max_gap: longest run of missed detections that is interpolated (longer: frames left unchanged).
        sigma: temporal smoothing of boxes and landmarks, frames.

    Returns:
        :class:`SynthResult` (frames without a face are the input arrays, unchanged).

    Example:
        >>> frames = [np.full((120, 160, 3), 128, np.uint8) for _ in range(4)]
        >>> face = (np.array([50.0, 30, 110, 100]), None)  # (box, landmarks), e.g. a face_crop.detect.Face
        >>> res = synth_video(frames, [face, face, face, None], np.random.default_rng(0))
        >>> len(set(res.params[:3])), res.params[3] is None, res.frames[3] is frames[3]
        (1, True, True)
    """
    return blend_track(frames, track_faces(faces, max_gap, sigma), rng, consistent)


def blend_clip(crops: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray | None, rng: np.random.Generator,
               consistent: bool = True, method: str = "sbi", donors: Donors | None = None) -> np.ndarray:
    """On-the-fly fake of a clip of face crops (training with ``train.synth_fakes > 0``).

    Args:
        crops: uint8 (T, H, W, 3) face crops of one video, in time order.
        boxes: (T, 4) face boxes in crop pixels (NaN rows: no face, crop left unchanged).
        landmarks: (T, 5, 2) landmarks in crop pixels, or None (elliptic masks from the boxes).
        rng: draws the parameters (same seed, same output).
        consistent: ``sbi`` only: one parameter set for the clip, or one per crop (flicker).
        method: the generator (:data:`dfdetect.synth.registry.GENERATORS`); ``sbi`` goes through the face track.
        donors: other crops of the same video, one per crop (``selfswap``; default: the clip itself, shifted).

    Returns:
        uint8 (T, H, W, 3); only the face region differs from ``crops``.

    Example:
        >>> crops = np.full((4, 224, 224, 3), 120, np.uint8)
        >>> boxes = np.tile([[52.0, 40, 172, 190]], (4, 1))
        >>> blend_clip(crops, boxes, None, np.random.default_rng(0)).shape
        (4, 224, 224, 3)
    """
    crops = np.asarray(crops)
    if crops.ndim != 4 or crops.shape[-1] != 3 or crops.dtype != np.uint8:
        raise ValueError(f"expected uint8 crops (T, H, W, 3), got {crops.dtype} {crops.shape}")
    boxes = np.asarray(boxes, np.float64).reshape(len(crops), 4)
    lms = None if landmarks is None else np.asarray(landmarks, np.float64).reshape(len(crops), 5, 2)
    faces = [(boxes[t], None if lms is None else lms[t]) if np.isfinite(boxes[t]).all() else None
             for t in range(len(crops))]
    if method != "sbi":
        return np.stack(generate(method, list(crops), clip_faces(boxes, lms), rng, donors).frames)
    # Crops are sampled frames (stride 2): lighter smoothing than on consecutive frames.
    res = synth_video(list(crops), faces, rng, consistent=consistent, sigma=1.0)
    return np.stack(res.frames)  # (T, H, W, 3) uint8

