"""From a raw input to the face crops the model scores: :func:`prepare_input` (never raises) -> :class:`PreparedVideo`.

A video, top to bottom (:func:`prepare_video`; the ``timings`` key of each step in brackets):

1. ``scan = scan_video(path)`` [probe]: one packet pass, no decoding: the real frame count and the packet index.
2. ``windows = eval_windows(num_frames, clips, n=sample_frames, stride=stride)``: ``K`` windows (``--clips K``)
   spread evenly over the video, each of ``cfg.data.sample_frames`` frames ``cfg.data.stride`` apart, exactly like
   one training sample. The frames inside a clip are therefore as far apart in time as in training (the ConvLSTM
   learned motion at that stride; frames spread over the whole video would be ~20 frames apart in a 10 s video and
   look like jump cuts to it). With the default ``K = cfg.train.val_clips`` (1) a video costs 15 decoded frames.
3. ``frames = read_frames(path, indices, scan=scan)`` [decode]: every sampled frame decoded once, in one pass
   (overlapping windows of a short video share their frames).
4. ``face_detector.detect_all(frames)`` [detect]: ONE batched MTCNN call per video (the detector's module defaults,
   as in preprocessing).
5. ``main_faces(detections, tracks)`` then ``crop_face`` [crop]: the main face tracked in each window separately (as
   preprocessing tracks one sample), cut with the checkpoint's ``cfg.data.margin`` and ``cfg.data.size``.
6. A window is used only if a face was found in at least :func:`needed_faces` of its frames (10 of 15 by default:
   the preprocessing rule for one training sample, scaled for a window cut short by the end of the video); a video
   with no such window is not scored.

Images (``.jpg``, ``.png``...; :func:`prepare_image`): a one-frame clip (T = 1). The face is detected and cropped as
in videos; if no face is detected the image is taken to be a face crop already and the whole image is used
(letterboxed to a square by the same crop function), with a warning.

Crops that already exist (a crop manifest; :func:`prepare_crops`) form one window.

Example:
    >>> from dfdetect.core.config import DataConfig
    >>> crop = np.zeros((64, 64, 3), np.uint8)
    >>> prep = prepare_crops("a.mp4", {4: crop, 0: crop}, DataConfig(size=64), clips=2)
    >>> prep.status, prep.windows, prep.clips_per_window, prep.clip_len
    (<ScoreStatus.OK: 'ok'>, [[0, 4]], 2, 10)
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dfdetect.core.config import DataConfig
from dfdetect.core.io import IMAGE_EXTENSIONS, load_image
from dfdetect.core.runtime import timed
from dfdetect.core.schemas import ScoreStatus
from face_crop.crop import crop_face
from face_crop.detect import FaceDetector
from face_crop.track import main_faces
from frame_extraction.decode import VideoError, read_frames, scan_video
from frame_extraction.sampling import eval_windows

log = logging.getLogger(__name__)

_DATA = DataConfig()  # THE defaults


@dataclass
class PreparedVideo:
    """Face crops of one input, ready for the model (or the reason it cannot be scored).

    Attributes:
        name: file name.
        crops: ``{frame index: (size, size, 3) uint8 crop}`` for every sampled frame with a face.
        windows: per sampling window, the frame indices (with a face) whose crops form its clips.
        clips_per_window: clip windows taken in each sampling window (:func:`dfdetect.data.clip_windows`'s k).
        clip_len: timesteps per clip (T; 1 for images and per-frame scores).
        faces: sampled frames with a face.
        sampled: frames decoded.
        status: :attr:`ScoreStatus.OK` or why not.
        reason: human-readable reason ("" when ok).
    """

    name: str
    crops: dict[int, np.ndarray] = field(default_factory=dict)
    windows: list[list[int]] = field(default_factory=list)
    clips_per_window: int = 1
    clip_len: int = _DATA.frames
    faces: int = 0
    sampled: int = 0
    status: ScoreStatus = ScoreStatus.OK
    reason: str = ""

    def failed(self, status: ScoreStatus, reason: str) -> PreparedVideo:
        """Mark as unscorable (keeps the counts, drops the crops).

        Example:
            >>> PreparedVideo("a.mp4", sampled=15).failed(ScoreStatus.NO_FACE, "no face").status
            <ScoreStatus.NO_FACE: 'no_face'>
        """
        self.status, self.reason, self.crops, self.windows = ScoreStatus(status), reason, {}, []
        return self


def needed_faces(sampled: int, min_faces: int, sample_frames: int) -> int:
    """Faces a sampling window of ``sampled`` frames needs to be used: the preprocessing rule ``min_faces`` of
    ``sample_frames``, scaled to the frames actually sampled (at least 1, at most ``sampled``).

    Args:
        sampled: frames decoded in the window.
        min_faces: ``cfg.data.min_faces``.
        sample_frames: ``cfg.data.sample_frames``.

    Returns:
        The number of frames with a face the window needs.

    Example:
        >>> needed_faces(15, 10, 15), needed_faces(45, 10, 15), needed_faces(3, 10, 15)
        (10, 30, 2)
    """
    if sampled <= 0:
        return 1
    return int(min(sampled, max(1, math.ceil(sampled * min_faces / max(1, sample_frames) - 1e-9))))


def is_image(path: str | Path) -> bool:
    """True for an image file name (by extension).

    Example:
        >>> is_image("face.JPG"), is_image("clip.mp4")
        (True, False)
    """
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def prepare_video(
    path: str | Path,
    cfg_data: DataConfig,
    clips: int,
    face_detector: FaceDetector,
    timings: dict[str, float] | None = None,
) -> PreparedVideo:
    """Decode the sampled frames (one pass), detect faces (one call) and crop them (see the module docstring).

    Args:
        path: video file.
        cfg_data: the checkpoint's data config (sampling, crop margin and size, T, min_faces).
        clips: K sampling windows spread over the video.
        face_detector: the MTCNN detector (built once per process).
        timings: optional dict; seconds are added under ``probe``, ``decode``, ``detect`` and ``crop``.

    Returns:
        The crops and windows, or a status (``unreadable``, ``no_face``, ``too_few_faces``) and its reason.

    Raises:
        Nothing for a bad video file (its status says why); an unexpected failure propagates (see
        :func:`prepare_input`).
    """
    d = cfg_data
    prep = PreparedVideo(name=Path(path).name, clips_per_window=1, clip_len=d.frames)
    try:
        with timed(timings, "probe"):
            scan = scan_video(path)  # one packet pass: frame count, timestamps, keyframes
        windows = eval_windows(scan.info.num_frames, clips, n=d.sample_frames, stride=d.stride)
        with timed(timings, "decode"):
            frames = read_frames(path, [i for w in windows for i in w], scan=scan)  # {index: RGB (H, W, 3) uint8}
    except VideoError as e:
        return prep.failed(ScoreStatus.UNREADABLE, str(e))
    prep.sampled = len(frames)
    if not frames:
        return prep.failed(ScoreStatus.UNREADABLE,
                           f"no frame could be decoded ({scan.info.num_frames} frames in the header)")
    indices = list(frames)  # increasing frame indices
    with timed(timings, "detect"):
        detections = face_detector.detect_all([frames[i] for i in indices])  # per frame, every candidate face
    with timed(timings, "crop"):
        # One track per window (far-apart windows are tracked like separate preprocessing samples).
        position = {i: p for p, i in enumerate(indices)}
        tracks = [[position[i] for i in w if i in position] for w in windows]
        faces = main_faces(detections, [t for t in tracks if t])  # one Face | None per decoded frame
        prep.crops = {
            i: crop_face(frames[i], face.box, d.margin, d.size)  # (size, size, 3) uint8
            for i, face in zip(indices, faces)
            if face is not None
        }
    prep.faces = len(prep.crops)
    if prep.faces == 0:
        return prep.failed(ScoreStatus.NO_FACE, f"no face in {prep.sampled} sampled frames")
    # A window is used only with enough faces, the preprocessing rule for one training sample; others are dropped.
    decoded = [[i for i in w if i in frames] for w in windows]
    prep.windows = [
        [i for i in w if i in prep.crops]
        for w in decoded
        if w and sum(i in prep.crops for i in w) >= needed_faces(len(w), d.min_faces, d.sample_frames)
    ]
    if not prep.windows:
        need = needed_faces(len(decoded[0]) if decoded else 0, d.min_faces, d.sample_frames)
        return prep.failed(
            ScoreStatus.TOO_FEW_FACES,
            f"a face in {prep.faces} of {prep.sampled} sampled frames, no window of {len(windows[0])} frames "
            f"with {need} faces",
        )
    return prep


def prepare_crops(name: str, crops: dict[int, np.ndarray], cfg_data: DataConfig, clips: int) -> PreparedVideo:
    """An input whose face crops already exist (a crop manifest): one window of all crops, ``clips`` clips from it
    (:func:`dfdetect.data.clip_windows`, the validation clips of training).

    Args:
        name: the video's file name.
        crops: ``{frame index: (size, size, 3) uint8 crop}`` (resized to ``cfg_data.size`` by the caller).
        cfg_data: the checkpoint's data config (T).
        clips: clip windows taken from the crops.

    Returns:
        The prepared input; status ``no_face`` when ``crops`` is empty.
    """
    prep = PreparedVideo(name=name, crops=dict(sorted(crops.items())), clips_per_window=clips,
                         clip_len=cfg_data.frames, faces=len(crops), sampled=len(crops))
    if not crops:
        return prep.failed(ScoreStatus.NO_FACE, "no face crop listed")
    prep.windows = [list(prep.crops)]
    return prep


def prepare_image(path_or_image: str | Path | np.ndarray, cfg_data: DataConfig,
                  face_detector: FaceDetector) -> PreparedVideo:
    """A face image as a one-frame clip: the detected face cropped as in videos, or the whole image if no face is
    found (it is then assumed to be a face crop already; a warning is logged).

    Args:
        path_or_image: image file, or an RGB uint8 (H, W, 3) array (named ``<image>``).
        cfg_data: the checkpoint's data config (crop margin and size).
        face_detector: the MTCNN detector.

    Returns:
        One crop under frame index 0, or status ``unreadable`` when the file cannot be read as an image.
    """
    if isinstance(path_or_image, np.ndarray):
        name, image = "<image>", path_or_image
    else:
        name, image = Path(path_or_image).name, None
    prep = PreparedVideo(name=name, clip_len=1, sampled=1)
    if image is None:
        try:
            image = load_image(path_or_image)  # (H, W, 3) uint8
        except OSError as e:
            return prep.failed(ScoreStatus.UNREADABLE, str(e))
    d = cfg_data
    face = main_faces(face_detector.detect_all([image]))[0]
    if face is not None:
        crop = crop_face(image, face.box, margin=d.margin, size=d.size)  # (size, size, 3)
    else:
        h, w = image.shape[:2]
        log.warning("%s: no face detected; scoring the whole image as a face crop", name)
        crop = crop_face(image, (0, 0, w, h), margin=0.0, size=d.size)  # letterboxed, aspect kept
    prep.crops, prep.windows, prep.faces = {0: crop}, [[0]], 1
    return prep


def prepare_input(
    item: str | Path,
    cfg_data: DataConfig,
    clips: int,
    face_detector: FaceDetector,
    timings: dict[str, float] | None = None,
) -> PreparedVideo:
    """A video (:func:`prepare_video`) or image (:func:`prepare_image`, by extension) ready for the model.

    Never raises for a bad input: an unexpected failure gets status ``error`` with the exception as reason (and its
    traceback logged at debug level), so one bad input never stops a batch.

    Args:
        item: video or image path.
        cfg_data: the checkpoint's data config.
        clips: K sampling windows per video.
        face_detector: the MTCNN detector.
        timings: optional dict of seconds per stage (videos only; see :func:`prepare_video`).

    Returns:
        The prepared input, or its status and reason.
    """
    try:
        if is_image(item):
            return prepare_image(item, cfg_data, face_detector)
        return prepare_video(item, cfg_data, clips, face_detector, timings)
    except Exception as e:  # noqa: BLE001 - one bad input must not stop the batch
        log.debug("preparing %s failed", item, exc_info=True)
        return PreparedVideo(name=Path(item).name).failed(ScoreStatus.ERROR, f"{type(e).__name__}: {e}")
