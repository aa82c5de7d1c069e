"""From a raw input to the face crops the model scores: :func:`prepare_input` (never raises) -> :class:`PreparedVideo`.

A video, top to bottom (:func:`prepare_video`; the ``timings`` key of each step in brackets):

1. ``scan = scan_video(path)`` [probe]: one packet pass, no decoding: the real frame count and the packet index.
2. ``windows = eval_windows(num_frames, K, n=sample_frames, stride=stride)``: ``K`` windows spread evenly over the
   whole video, each of ``cfg.data.sample_frames`` frames ``cfg.data.stride`` apart, exactly like one training
   sample. The frames inside a clip are therefore as far apart in time as in training (the ConvLSTM learned motion at
   that stride; frames spread over the whole video would be ~20 frames apart in a 10 s video and look like jump cuts
   to it). ``K`` grows with the video's duration (:func:`frame_extraction.sampling.coverage_clips`: one window every
   ``score.window_every`` seconds, at least ``cfg.train.val_clips``, at most ``score.max_windows``); ``--clips K``
   forces it. A 3 s video costs 15 decoded frames, a 60 s one 15 windows of 15.
3. ``frames = read_frames(path, indices, scan=scan)`` [decode]: every sampled frame decoded once, in one pass
   (overlapping windows of a short video share their frames). With more than :data:`WINDOW_CHUNK` windows, steps 3
   and 4 run on :data:`WINDOW_CHUNK` windows at a time, each pass starting at the keyframe before its first window
   (the decoder seeks there) and its frames dropped once cropped: only crops are kept, so memory stays flat however
   long the video.
4. ``crop_faces(frames, face_detector, margin, size, tracks=windows, min_face_size)`` [detect, crop]: THE
   frames-to-crops step of preprocessing (:func:`face_crop.pipeline.crop_faces`), with the detector the training crops
   were found with (the checkpoint's ``cfg.data.detector``): the main face of each window (each tracked separately,
   as preprocessing tracks one sample), full MTCNN on the key frames only, O-Net following the face between them; a
   face whose box side is under ``cfg.data.min_face_size`` pixels is too small to judge (no crop); the crop cut with
   the checkpoint's ``cfg.data.margin`` and ``cfg.data.size``. The crops are those ``python -m face_crop`` writes.
5. Keep windows: a window is used only if it has at least :func:`needed_faces` faces (``cfg.data.min_faces``, 10 by
   default: the preprocessing rule for one video; a video shorter than one window is held to the same rule).
6. Only when no window qualifies (a face that appears late, say): ``PROBE_FRAMES`` frames spread over the whole video
   are decoded (one pass) and searched (one detector call), and windows are placed on the runs of frames with a face
   (:func:`face_windows`), then decoded, detected and cropped as above. A video with no such window is not scored:
   ``no_face``, or ``too_few_faces`` with the rule (or "face too small") in the reason. The usual video (a face in
   the first window) never pays for this.

Images (``.jpg``, ``.png``...; :func:`prepare_image`): one crop (a one-frame clip), made by
:func:`face_crop.images.crop_image` exactly as training made crops from images: the face is detected (again inside a
border when it fills the image) and cut out with the same crop function, or, when the crop region would cover at least
80 % of the image, the image is a face crop already and is used whole. An image without a face found is not scored.

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

from dfdetect.clips.audio import SourceAudio, load_source_audio
from dfdetect.core.config import DataConfig, ScoreConfig
from dfdetect.core.io import IMAGE_EXTENSIONS, read_image
from dfdetect.core.runtime import timed
from dfdetect.core.schemas import ScoreStatus
from face_crop.detect import FaceDetector, face_side
from face_crop.images import crop_image
from face_crop.pipeline import crop_faces
from frame_extraction.decode import VideoError, VideoScan, read_frames, scan_video
from frame_extraction.sampling import coverage_clips, eval_windows, evenly_spaced

log = logging.getLogger(__name__)

_DATA = DataConfig()  # THE defaults
_SCORE = ScoreConfig()

WINDOW_CHUNK = 4
"""Windows decoded and cropped per pass when a video has more (each pass seeks to the keyframe before its first
window; its frames are dropped once cropped). Up to this many windows, one pass, exactly as before coverage."""

PROBE_FRAMES = 16
"""Frames spread over a video to find where its faces are, when no evaluation window has enough (one decoding pass and
one detector call; ~20 frames apart in a 10 s video at 30 fps)."""


@dataclass(frozen=True)
class Coverage:
    """How many windows a video gets when ``--clips`` is not given: one every ``every_s`` seconds of it, at least
    ``minimum`` (the checkpoint's ``train.val_clips``), at most ``maximum``
    (:func:`frame_extraction.sampling.coverage_clips`; the settings are ``score.window_every`` and
    ``score.max_windows`` of :class:`~dfdetect.core.config.ScoreConfig`).

    Example:
        >>> Coverage(every_s=4.0, minimum=1, maximum=64).clips(num_frames=1440, fps=24.0)  # 60 s
        15
    """

    every_s: float = _SCORE.window_every
    minimum: int = 1
    maximum: int = _SCORE.max_windows

    def clips(self, num_frames: int, fps: float) -> int:
        """K windows for a video of ``num_frames`` frames at ``fps``."""
        return coverage_clips(num_frames, fps, self.every_s, self.minimum, self.maximum)


@dataclass
class PreparedVideo:
    """Face crops of one input, ready for the model (or the reason it cannot be scored).

    Attributes:
        name: file name.
        crops: ``{frame index: (size, size, 3) uint8 crop}`` for every sampled frame with a face.
        windows: per sampling window, the frame indices (with a face) whose crops form its clips.
        clips_per_window: clip windows taken in each sampling window (:func:`dfdetect.clips.windows.clip_windows`'s k).
        clip_len: timesteps per clip (T; 1 for images and per-frame scores).
        faces: sampled frames with a face.
        sampled: frames decoded.
        status: :attr:`ScoreStatus.OK` or why not.
        reason: human-readable reason ("" when ok; for an ``av`` model, also a note when ok: no sound).
        path: the source file ("" for crops read from a manifest).
        audio: its sound and frame clock (:func:`prepare_audio`, or loaded by an ``av`` detector), None until then.
        fps: the video's frame rate (0 when unknown: crops from a manifest, an image).
        duration_s: the video's duration in seconds (frames / fps; 0 when unknown).
        window_times: per window of ``windows``, ``(start_s, end_s)``: from its first sampled frame's start to its
            last's end (frame index / fps); empty when the times are unknown.
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
    path: str = ""
    audio: SourceAudio | None = None
    fps: float = 0.0
    duration_s: float = 0.0
    window_times: list[tuple[float, float]] = field(default_factory=list)

    @property
    def covered_s(self) -> float:
        """Seconds of the video its windows span (overlaps counted once; 0 when the times are unknown).

        Example:
            >>> PreparedVideo("a.mp4", window_times=[(0.0, 1.25), (1.0, 2.0), (10.0, 11.0)]).covered_s
            3.0
        """
        total, end = 0.0, float("-inf")
        for a, b in sorted(self.window_times):
            total += max(0.0, b - max(a, end))
            end = max(end, b)
        return total

    def failed(self, status: ScoreStatus, reason: str) -> PreparedVideo:
        """Mark as unscorable (keeps the counts, drops the crops).

        Example:
            >>> PreparedVideo("a.mp4", sampled=15).failed(ScoreStatus.NO_FACE, "no face").status
            <ScoreStatus.NO_FACE: 'no_face'>
        """
        self.status, self.reason, self.crops, self.windows = ScoreStatus(status), reason, {}, []
        self.window_times = []
        return self


def needed_faces(sampled: int, min_faces: int, sample_frames: int) -> int:
    """Faces a sampling window of ``sampled`` frames needs to be used: the preprocessing rule, ``min_faces`` faces,
    whatever the window's length (a video shorter than one window is held to the same rule: one face in a 1-frame
    video is too little to judge); a window longer than ``sample_frames`` needs proportionally more.

    Args:
        sampled: frames decoded in the window.
        min_faces: ``cfg.data.min_faces``.
        sample_frames: ``cfg.data.sample_frames``.

    Returns:
        The number of frames with a face the window needs (at least 1).

    Example:
        >>> needed_faces(15, 10, 15), needed_faces(45, 10, 15), needed_faces(3, 10, 15), needed_faces(1, 10, 15)
        (10, 30, 10, 10)
    """
    scaled = math.ceil(max(sampled, 0) * min_faces / max(1, sample_frames) - 1e-9)
    return int(max(1, min_faces, scaled))


def face_windows(has_face: dict[int, bool], num_frames: int, clips: int, n: int, stride: int) -> list[list[int]]:
    """Up to ``clips`` windows (``n`` frames ``stride`` apart, as :func:`eval_windows`) placed where the faces are.

    ``has_face`` is the cheap pass: a few frames spread over the video and whether each shows a face. Consecutive
    probed frames with a face form a run; the windows go to the runs with the most such frames (a long run gets more
    windows, spread evenly over it), each window inside its run when the run is long enough, else centred on it.

    Args:
        has_face: ``{frame index: a face was found}`` for the probed frames.
        num_frames: frames in the video.
        clips: windows wanted (K).
        n, stride: ``cfg.data.sample_frames`` and ``cfg.data.stride``.

    Returns:
        Windows (lists of increasing frame indices in ``[0, num_frames)``) in time order; empty with no face.

    Example:
        >>> probes = {0: False, 40: False, 80: True, 120: True, 160: True}
        >>> [(w[0], w[-1]) for w in face_windows(probes, 169, clips=1, n=15, stride=2)]
        [(106, 134)]
        >>> [(w[0], w[-1]) for w in face_windows(probes, 169, clips=2, n=15, stride=2)]
        [(93, 121), (119, 147)]
    """
    runs: list[list[int]] = []
    previous = False
    for i in sorted(has_face):
        if has_face[i]:
            if previous:
                runs[-1].append(i)
            else:
                runs.append([i])
        previous = has_face[i]
    if not runs or num_frames <= 0:
        return []
    span = (n - 1) * stride
    last_start = max(0, num_frames - 1 - span)
    counts = [0] * len(runs)
    for _ in range(clips):  # D'Hondt: each window to the run with the most probed faces per window so far
        best = max(range(len(runs)), key=lambda r: (len(runs[r]) / (counts[r] + 1), runs[r][-1] - runs[r][0]))
        counts[best] += 1
    starts: set[int] = set()
    for run, count in zip(runs, counts):
        if not count:
            continue
        a, b = run[0], run[-1]
        lo, hi = (a, b - span) if b - a >= span else ((a + b - span) // 2,) * 2
        lo, hi = min(max(lo, 0), last_start), min(max(hi, 0), last_start)
        # ``count`` starts at the centres of ``count`` equal parts of [lo, hi] (one window: the run's middle)
        starts.update(np.floor(lo + (hi - lo) * (np.arange(count) + 0.5) / count + 0.5).astype(np.int64).tolist())
    windows = []
    for s in sorted(starts):
        idx = s + stride * np.arange(n, dtype=np.int64)  # (n,)
        windows.append(idx[idx < num_frames].tolist())
    return windows


def is_image(path: str | Path) -> bool:
    """True for an image file name (by extension).

    Example:
        >>> is_image("face.JPG"), is_image("clip.mp4")
        (True, False)
    """
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


@dataclass
class _Sampled:
    """The frames of one video decoded so far, and the crops cut from them (by frame index)."""

    frames: dict[int, np.ndarray] = field(default_factory=dict)  # {index: RGB (H, W, 3) uint8}
    crops: dict[int, np.ndarray] = field(default_factory=dict)  # {index: (size, size, 3) uint8}
    too_small: dict[int, float] = field(default_factory=dict)  # {index: side of a main face too small to judge}
    released: set[int] = field(default_factory=set)  # decoded, cropped, and their frames dropped (only crops kept)

    def decoded(self, i: int) -> bool:
        """Frame ``i`` was decoded (and may have been released since)."""
        return i in self.frames or i in self.released

    def release(self) -> None:
        """Drop the decoded frames (their crops are kept): memory stays flat over a long video's windows."""
        self.released.update(self.frames)
        self.frames.clear()


def _read(path: str | Path, scan: VideoScan, indices: list[int], seen: _Sampled,
          timings: dict[str, float] | None) -> dict[int, np.ndarray]:
    """Decode (one pass) the frames of ``indices`` not decoded yet; all of ``indices`` that could be decoded."""
    todo = sorted({i for i in indices if not seen.decoded(i)})
    if todo:
        with timed(timings, "decode"):
            seen.frames.update(read_frames(path, todo, scan=scan))  # {index: RGB (H, W, 3) uint8}
    return {i: seen.frames[i] for i in sorted(set(indices)) if i in seen.frames}


def _crop_windows(frames: dict[int, np.ndarray], windows: list[list[int]], d: DataConfig,
                  face_detector: FaceDetector, seen: _Sampled, timings: dict[str, float] | None) -> None:
    """THE frames-to-crops step of preprocessing (:func:`face_crop.pipeline.crop_faces`) on the windows' frames, one
    track per window (far-apart windows are tracked like separate preprocessing samples); crops into ``seen``."""
    order = list(frames)
    position = {i: p for p, i in enumerate(order)}
    tracks = [g for g in ([position[i] for i in w if i in position] for w in windows) if g]
    pairs = crop_faces([frames[i] for i in order], face_detector, d.margin, d.size, tracks=tracks,
                       min_face_size=d.min_face_size, timings=timings)
    for i, (crop, face) in zip(order, pairs):
        if crop is not None:
            seen.crops.setdefault(i, crop)  # (size, size, 3) uint8
        elif face is not None:
            seen.too_small[i] = face_side(face)


def _keep_windows(prep: PreparedVideo, seen: _Sampled, windows: list[list[int]], d: DataConfig) -> PreparedVideo:
    """Keep the windows with enough faces, the preprocessing rule for one training sample (or say why none is kept)."""
    decoded = [[i for i in w if seen.decoded(i)] for w in windows]
    prep.crops = {i: seen.crops[i] for w in decoded for i in w if i in seen.crops}
    # faces kept against the frames of the windows actually decoded (not the whole-video probes)
    prep.faces, prep.sampled = len(prep.crops), len({i for w in decoded for i in w})
    asked = sorted({i for w in windows for i in w})
    lost = [i for i in asked if not seen.decoded(i)]  # sampled frames the decoder could not give (damaged data)
    damage = (f"{len(lost)} of {len(asked)} sampled frames could not be decoded (damaged data skipped)"
              if lost else "")
    # A window is used only with enough faces, the preprocessing rule for one training sample; others are dropped.
    kept = [(w, asked_w) for w, asked_w in zip(decoded, windows)
            if w and sum(i in prep.crops for i in w) >= needed_faces(len(w), d.min_faces, d.sample_frames)]
    kept.sort(key=lambda pair: pair[1][0])  # time order (windows placed on the faces come after the spread ones)
    prep.windows = [[i for i in w if i in prep.crops] for w, _ in kept]
    # a window's span: from its first sampled frame's start to its last's end, as asked (frame index / fps)
    prep.window_times = ([(asked_w[0] / prep.fps, (asked_w[-1] + 1) / prep.fps) for _, asked_w in kept]
                         if prep.fps > 0 else [])
    if prep.windows:
        prep.status, prep.reason = ScoreStatus.OK, damage
        return prep
    small = [seen.too_small[i] for w in decoded for i in w if i in seen.too_small]
    if prep.faces == 0 and not small and not lost:
        return prep.failed(ScoreStatus.NO_FACE, f"no face in {len(seen.frames) + len(seen.released)} sampled frames")
    longest = max((w for w in decoded if w), key=len, default=[])
    need = needed_faces(len(longest), d.min_faces, d.sample_frames)
    best = max((sum(i in prep.crops for i in w) for w in decoded), default=0)
    reason = (f"a face in {prep.faces} of {prep.sampled} sampled frames (at most {best} in one window), no window "
              f"of {len(longest)} frames with {need} faces (min_faces {d.min_faces})")
    if small:
        reason = f"face too small ({max(small):.0f} px < {d.min_face_size} px): {reason}"
    # The frames lost to decoding would have made a window: a decode problem, not too few faces.
    if lost and any(sum(i in prep.crops or i in lost for i in w) >= needed_faces(len(w), d.min_faces, d.sample_frames)
                    for w in windows if w):
        return prep.failed(ScoreStatus.UNREADABLE, f"{damage}; {reason}")
    return prep.failed(ScoreStatus.TOO_FEW_FACES, f"{damage}; {reason}" if damage else reason)


def _placed_windows(probes: dict[int, np.ndarray], seen: _Sampled, num_frames: int, clips: int, d: DataConfig,
                    face_detector: FaceDetector, timings: dict[str, float] | None) -> list[list[int]]:
    """Windows placed where the faces are (:func:`face_windows`): the frames cropped so far, and every face of the
    new probed frames (one full MTCNN call: frames far apart), a frame counting when a face is big enough to judge."""
    with timed(timings, "detect"):
        found = face_detector.detect_all(list(probes.values())) if probes else []  # per frame, every candidate face
    has_face = {i: i in seen.crops for i in (*seen.frames, *seen.released)}
    has_face.update({i: any(face_side(f) >= d.min_face_size for f in faces) for i, faces in zip(probes, found)})
    return face_windows(has_face, num_frames, clips, d.sample_frames, d.stride)


def prepare_video(
    path: str | Path,
    cfg_data: DataConfig,
    clips: int | None,
    face_detector: FaceDetector,
    timings: dict[str, float] | None = None,
    coverage: Coverage | None = None,
) -> PreparedVideo:
    """Decode the sampled frames (one pass, or one per :data:`WINDOW_CHUNK` windows), detect faces and crop them (see
    the module docstring); when no window has enough faces, look for the faces over the whole video and score windows
    placed there.

    Args:
        path: video file.
        cfg_data: the checkpoint's data config (sampling, the crop contract: margin, size, min_faces, min_face_size).
        clips: K sampling windows spread over the video, forced; None: by the video's duration (``coverage``).
        face_detector: the MTCNN detector (built once per process from the checkpoint's ``data.detector``).
        timings: optional dict; seconds are added under ``probe``, ``decode``, ``detect`` and ``crop``.
        coverage: how many windows when ``clips`` is None (default :class:`Coverage`'s).

    Returns:
        The crops and windows, or a status (``unreadable``, ``no_face``, ``too_few_faces``) and its reason.

    Raises:
        Nothing for a bad video file (its status says why); an unexpected failure propagates (see
        :func:`prepare_input`).
    """
    d = cfg_data
    prep = PreparedVideo(name=Path(path).name, clips_per_window=1, clip_len=d.frames, path=str(path))
    seen = _Sampled()
    try:
        with timed(timings, "probe"):
            scan = scan_video(path)  # one packet pass: frame count, timestamps, keyframes
        num_frames = scan.info.num_frames
        prep.fps = float(scan.info.fps) if scan.info.fps and scan.info.fps > 0 else 0.0
        prep.duration_s = num_frames / prep.fps if prep.fps else 0.0
        if clips is None:
            clips = (coverage or Coverage()).clips(num_frames, prep.fps)
        windows = eval_windows(num_frames, clips, n=d.sample_frames, stride=d.stride)
        # One pass for a few windows (as before coverage); a long video's windows a chunk at a time, each pass
        # seeking to the keyframe before its first window, the frames dropped once cropped (only crops kept).
        chunks = [windows] if len(windows) <= WINDOW_CHUNK else [windows[k : k + WINDOW_CHUNK]
                                                                for k in range(0, len(windows), WINDOW_CHUNK)]
        for chunk in chunks:
            frames = _read(path, scan, [i for w in chunk for i in w], seen, timings)
            if frames:
                _crop_windows(frames, chunk, d, face_detector, seen, timings)
            if len(chunks) > 1:
                seen.release()
    except VideoError as e:
        return prep.failed(ScoreStatus.UNREADABLE, str(e))
    if not seen.frames and not seen.released:
        return prep.failed(ScoreStatus.UNREADABLE, f"no frame could be decoded ({num_frames} frames in the header)")
    if _keep_windows(prep, seen, windows, d).status == ScoreStatus.OK:
        return prep  # the usual case: today's windows, one decoding pass, one detector call
    # No window has enough faces: find where the faces are (PROBE_FRAMES frames spread over the video, one decoding
    # pass, one detector call) and try windows placed on them.
    try:
        probes = [i for i in evenly_spaced(num_frames - 1, PROBE_FRAMES).tolist() if not seen.decoded(i)]
        placed = _placed_windows(_read(path, scan, probes, seen, timings), seen, num_frames, clips, d, face_detector,
                                 timings)
        placed = [w for w in placed if w not in windows]
        placed_frames = _read(path, scan, [i for w in placed for i in w], seen, timings)
        if placed_frames:
            _crop_windows(placed_frames, placed, d, face_detector, seen, timings)
    except VideoError as e:
        log.debug("%s: looking for faces over the whole video failed: %s", prep.name, e)
        placed = []
    # Every window tried; only those with enough faces are used (or the reason none is).
    return _keep_windows(prep, seen, windows + placed, d)


def prepare_crops(name: str, crops: dict[int, np.ndarray], cfg_data: DataConfig, clips: int) -> PreparedVideo:
    """An input whose face crops already exist (a crop manifest): one window of all crops, ``clips`` clips from it
    (:func:`dfdetect.clips.windows.clip_windows`, the validation clips of training).

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
    """A face image as one crop (a one-frame clip): :func:`face_crop.images.crop_image`, the crop training made from
    images: the face cut out, or the whole image when it already is a face crop (detected, never assumed).

    Args:
        path_or_image: image file (read with :func:`dfdetect.core.io.read_image`: EXIF orientation, grayscale,
            alpha, 16-bit, CMYK), or an RGB uint8 (H, W, 3) array (named ``<image>``).
        cfg_data: the checkpoint's data config (crop margin and size, ``min_face_size``).
        face_detector: the MTCNN detector.

    Returns:
        One crop under frame index 0; or status ``unreadable`` (the file cannot be read as an image) or ``no_face``
        (no face found, or only one too small to judge), with the reason.
    """
    if isinstance(path_or_image, np.ndarray):
        name, image = "<image>", path_or_image
    else:
        name, image = Path(path_or_image).name, None
    prep = PreparedVideo(name=name, clip_len=1, sampled=1)
    if image is None:
        try:
            image = read_image(path_or_image)  # (H, W, 3) uint8, upright
        except OSError as e:
            return prep.failed(ScoreStatus.UNREADABLE, str(e))
    d = cfg_data
    made = crop_image(image, face_detector, margin=d.margin, size=d.size, min_face_size=d.min_face_size)
    if made.crop is None:
        return prep.failed(ScoreStatus.NO_FACE, made.reason)
    prep.crops, prep.windows, prep.faces = {0: made.crop}, [[0]], 1  # crop (size, size, 3)
    return prep


def prepare_audio(path: str | Path, cfg_data: DataConfig, clips: int) -> PreparedVideo:
    """An input of an ``audio`` model: its sound, no face (:func:`dfdetect.clips.audio.load_source_audio`). A video's
    clips are its ``clips`` sampling windows' T-frame clips (the frames' times give their audio windows, as in
    training), an audio-only file's ``clips`` windows spread over its track.

    Returns:
        ``windows``: one list of frame numbers per window (``clip_len``: T for a video, 1 for an audio-only file),
        ``audio`` set; status ``no_audio`` (the reason says why) for a file without a readable audio track.

    Example:
        >>> prep = prepare_audio("data/samples/single_face.mp4", DataConfig(), clips=2)
        >>> prep.status, len(prep.windows), prep.clip_len, round(prep.audio.audio.duration, 2)
        (<ScoreStatus.OK: 'ok'>, 2, 10, 2.42)
        >>> prepare_audio("data/samples/franck.mp4", DataConfig(), clips=2).reason
        'no audio track'
    """
    d = cfg_data
    source = load_source_audio(path, d, windows=clips)
    prep = PreparedVideo(name=Path(path).name, path=str(path), audio=source, sampled=len(source.times),
                         clip_len=d.frames)
    if source.audio is None:
        return prep.failed(ScoreStatus.NO_AUDIO, source.reason)
    if source.audio_only:  # one pseudo-frame per window
        prep.windows, prep.clip_len = [[k] for k in range(len(source.times))], 1
    else:
        starts = eval_windows(len(source.times), clips, n=d.sample_frames, stride=d.stride)
        prep.windows = [list(w) for w in starts]
    return prep


def prepare_input(
    item: str | Path,
    cfg_data: DataConfig,
    clips: int | None,
    face_detector: FaceDetector,
    timings: dict[str, float] | None = None,
    coverage: Coverage | None = None,
) -> PreparedVideo:
    """A video (:func:`prepare_video`) or image (:func:`prepare_image`, by extension) ready for the model.

    Never raises for a bad input: an unexpected failure gets status ``error`` with the exception as reason (and its
    traceback logged at debug level), so one bad input never stops a batch.

    Args:
        item: video or image path.
        cfg_data: the checkpoint's data config.
        clips: K sampling windows per video, forced; None: by the video's duration (``coverage``).
        face_detector: the MTCNN detector.
        timings: optional dict of seconds per stage (videos only; see :func:`prepare_video`).
        coverage: how many windows when ``clips`` is None (see :func:`prepare_video`).

    Returns:
        The prepared input, or its status and reason.
    """
    try:
        if is_image(item):
            return prepare_image(item, cfg_data, face_detector)
        return prepare_video(item, cfg_data, clips, face_detector, timings, coverage)
    except Exception as e:  # noqa: BLE001 - one bad input must not stop the batch
        log.debug("preparing %s failed", item, exc_info=True)
        return PreparedVideo(name=Path(item).name).failed(ScoreStatus.ERROR, f"{type(e).__name__}: {e}")
