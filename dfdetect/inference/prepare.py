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
3. ``frames = read_frames(path, indices, scan=scan)`` [decode]: every sampled frame decoded once (overlapping
   windows of a short video share their frames), each run of frames from the keyframe before it: windows with a
   keyframe between them are read each from its own seek (:func:`frame_extraction.decode.seek_runs`), not decoded
   through the gap. With more than :data:`WINDOW_CHUNK` windows, steps 3 and 4 run on :data:`WINDOW_CHUNK` windows at
   a time, the frames dropped once cropped: only crops are kept, so memory stays flat however long the video.
4. ``crop_tracks(frames, face_detector, margin, size, groups=windows, min_face_size)`` [detect, crop]: THE
   frames-to-crops step of preprocessing (:func:`face_crop.pipeline.crop_tracks`), with the detector the training crops
   were found with (the checkpoint's ``cfg.data.detector``): each window split at its scene cuts
   (:mod:`face_crop.shots`: no face track, so no clip, ever holds frames of two shots), every face of each shot
   followed (each window tracked separately, as preprocessing tracks one sample), full MTCNN on the key frames only,
   O-Net following the faces between them; a face whose box side is under ``cfg.data.min_face_size`` pixels is too
   small to judge (no crop); the crop cut with the checkpoint's ``cfg.data.margin`` and ``cfg.data.size``. The main
   face's crops are those ``python -m face_crop`` writes. Where a cut leaves a shot of a window too few faces, the
   shot is sampled like a video of its own (:func:`_shot_windows`: its frames between the cuts at the stride that
   fits them) and cropped the same way.
5. Keep windows: a face track is used only if it has at least :func:`needed_faces` faces in its shot of its window
   (``cfg.data.min_faces``, 10 by default: the preprocessing rule for one video; a video or a shot shorter than one
   window is held to the same rule). The tracks are grouped into persons by the place of the face in the frame
   (:func:`face_crop.track.link_places`: one track per window each); every person with a track used is scored, the
   main one (the most windows, then faces) in the :class:`PreparedVideo` itself, the others in ``others``.
6. Only when no window qualifies (a face that appears late, say): ``PROBE_FRAMES`` frames spread over the whole video
   are decoded (one pass) and searched (one detector call), and windows are placed on the runs of frames with a face
   (:func:`face_windows`), then decoded, detected and cropped as above. A video with no such window is not scored:
   ``no_face``, or ``too_few_faces`` with the rule (or "face too small") in the reason, the faces counted per face
   track. The usual video (a face in the first window) never pays for this.

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

import dataclasses
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
from face_crop.detect import Face, FaceDetector, face_side
from face_crop.images import crop_image
from face_crop.pipeline import crop_tracks
from face_crop.track import link_places, relative_box
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
        person: which person of the video ``crops`` and ``windows`` follow (0: the main person, the one with the
            most windows, then faces; each window is one face track in one shot).
        box: that person's mean face box ``x1, y1, x2, y2`` in full-frame pixels (None when unknown: an image, crops
            from a manifest).
        others: the video's other persons, each prepared alike (its own crops, windows and times, ``person`` 1, 2...,
            ``others`` empty); :attr:`persons` lists them all.
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
    person: int = 0
    box: tuple[float, float, float, float] | None = None
    others: list[PreparedVideo] = field(default_factory=list)

    @property
    def persons(self) -> list[PreparedVideo]:
        """Every person scored: this one (the main person), then :attr:`others`.

        Example:
            >>> [p.person for p in PreparedVideo("a.mp4", others=[PreparedVideo("a.mp4", person=1)]).persons]
            [0, 1]
        """
        return [self, *self.others]

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
        self.window_times, self.others, self.box = [], [], None
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
class _Track:
    """One face track of one window's shot: its crops by frame index (one person in one shot)."""

    window: tuple[int, ...]  # the window it was found in (frame indices, as asked)
    piece: tuple[int, ...]  # the frames of that window in its shot (the window itself when no cut splits it)
    crops: dict[int, np.ndarray]  # {index: (size, size, 3) uint8}
    faces: dict[int, Face]  # {index: its face} for each crop
    too_small: dict[int, float]  # {index: side of a face too small to judge}
    rank: int  # 0: the main face of its shot

    def box(self, relative: bool) -> np.ndarray:
        """Its mean face box (float64 (4,)): relative to the frame (:func:`face_crop.track.relative_box`) or in
        full-frame pixels."""
        boxes = [relative_box(f) if relative else np.asarray(f.box, np.float64) for f in self.faces.values()]
        return np.mean(boxes, axis=0)


@dataclass
class _Sampled:
    """The frames of one video decoded so far, and the face tracks cut from them."""

    frames: dict[int, np.ndarray] = field(default_factory=dict)  # {index: RGB (H, W, 3) uint8}
    tracks: list[_Track] = field(default_factory=list)
    released: set[int] = field(default_factory=set)  # decoded, cropped, and their frames dropped (only crops kept)

    def decoded(self, i: int) -> bool:
        """Frame ``i`` was decoded (and may have been released since)."""
        return i in self.frames or i in self.released

    def release(self) -> None:
        """Drop the decoded frames (their crops are kept): memory stays flat over a long video's windows."""
        self.released.update(self.frames)
        self.frames.clear()

    def enough(self, track: _Track, d: DataConfig) -> bool:
        """The track has the faces one training sample needs in its shot of its window (:func:`needed_faces`)."""
        got = sum(self.decoded(i) for i in track.piece)
        return len(track.crops) >= needed_faces(got, d.min_faces, d.sample_frames)


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
    """THE frames-to-crops step of preprocessing (:func:`face_crop.pipeline.crop_tracks`) on the windows' frames,
    each window tracked on its own (far-apart windows are tracked like separate preprocessing samples) and split at
    its scene cuts; every face track of every shot into ``seen``."""
    order = list(frames)
    position = {i: p for p, i in enumerate(order)}
    asked = [w for w in windows if any(i in position for i in w)]
    groups = [[position[i] for i in w if i in position] for w in asked]
    for t in crop_tracks([frames[i] for i in order], face_detector, d.margin, d.size, groups=groups,
                         min_face_size=d.min_face_size, timings=timings, box_smoothing=d.box_smoothing):
        w, got = asked[t.group], [order[p] for p in t.positions]
        first, last = order[groups[t.group][0]], order[groups[t.group][-1]]
        # the shot's part of the window as asked: to the window's ends unless a cut comes first
        lo, hi = (w[0] if got[0] == first else got[0]), (w[-1] if got[-1] == last else got[-1])
        track = _Track(tuple(w), tuple(i for i in w if lo <= i <= hi), {}, {}, {}, t.rank)
        for i, crop, face in zip(got, t.crops, t.faces):
            if crop is not None:
                track.crops[i], track.faces[i] = crop, face  # (size, size, 3) uint8
            elif face is not None:
                track.too_small[i] = face_side(face)
        if track.crops or track.too_small:
            seen.tracks.append(track)


def _shot_windows(seen: _Sampled, windows: list[list[int]], d: DataConfig) -> list[list[int]]:
    """Windows inside the shots of the windows a scene cut split, where no face track of the shot had enough faces:
    a shot of a window is shorter than the window, so it is sampled like a video of its own (its frames between the
    cuts, at :func:`frame_extraction.sampling.fitted_stride`: a 0.5 s shot gives 15 frames at stride 1, not 8)."""
    out: list[list[int]] = []
    for w in windows:
        tracks = [t for t in seen.tracks if t.window == tuple(w)]
        for piece in sorted({t.piece for t in tracks} - {tuple(w)}):
            if any(seen.enough(t, d) for t in tracks if t.piece == piece):
                continue
            got = [i for i in piece if seen.decoded(i)]
            a, b = got[0], got[-1]  # frames surely of this shot
            if b - a + 1 < max(1, d.min_faces):
                continue  # too short to judge however it is sampled
            shot = [a + k for k in eval_windows(b - a + 1, 1, d.sample_frames, d.stride)[0]]
            if shot != got and shot not in out and shot not in windows:
                out.append(shot)
    return out


def _crop_pass(path: str | Path, scan: VideoScan, windows: list[list[int]], seen: _Sampled, d: DataConfig,
               face_detector: FaceDetector, timings: dict[str, float] | None) -> list[list[int]]:
    """Decode the windows (one pass) and crop their faces; where a scene cut left a shot too short for its faces,
    also the windows placed inside the shots (:func:`_shot_windows`, one more pass). Returns every window tried."""
    frames = _read(path, scan, [i for w in windows for i in w], seen, timings)
    if not frames:
        return list(windows)
    _crop_windows(frames, windows, d, face_detector, seen, timings)
    shots = _shot_windows(seen, windows, d)
    if shots:
        try:
            more = _read(path, scan, [i for w in shots for i in w], seen, timings)
        except VideoError as e:
            log.debug("%s: decoding the frames of its shots failed: %s", path, e)
            return list(windows)
        _crop_windows(more, shots, d, face_detector, seen, timings)
    return [*windows, *shots]


def _persons(seen: _Sampled, tracks: list[_Track], d: DataConfig) -> list[list[_Track]]:
    """The face tracks grouped into persons by place (:func:`face_crop.track.link_places`: a person has one track per
    window), those with at least one track of enough faces, the person with the most such tracks (then faces) first."""
    tracks = sorted(tracks, key=lambda t: (min(t.piece), t.rank))
    relative = all(f.frame_size for t in tracks for f in t.faces.values())
    ids = link_places([t.box(relative) if t.faces else np.zeros(4) for t in tracks], [t.window for t in tracks])
    persons: dict[int, list[_Track]] = {}
    for person, t in zip(ids, tracks):
        persons.setdefault(person, []).append(t)
    scored = [ts for ts in persons.values() if any(seen.enough(t, d) for t in ts)]
    scored.sort(key=lambda ts: (-sum(seen.enough(t, d) for t in ts), -len({i for t in ts for i in t.crops})))
    return scored


def _person_prep(prep: PreparedVideo, seen: _Sampled, tracks: list[_Track], d: DataConfig,
                 person: int) -> PreparedVideo:
    """One person's crops and windows: every crop of its tracks, one window per track with enough faces (its shot
    of its window), in time order."""
    crops: dict[int, np.ndarray] = {}
    for t in tracks:
        for i, crop in t.crops.items():
            crops.setdefault(i, crop)  # (size, size, 3) uint8
    kept = sorted((t for t in tracks if seen.enough(t, d)), key=lambda t: t.piece[0])
    boxes = [np.asarray(f.box, np.float64) for t in tracks for f in t.faces.values()]
    box = tuple(float(v) for v in np.mean(boxes, axis=0)) if boxes else None
    return dataclasses.replace(
        prep, person=person, box=box, others=[], crops=crops,
        windows=[[i for i in t.piece if seen.decoded(i) and i in crops] for t in kept],
        # a window's span: from its first sampled frame's start to its last's end, as asked (frame index / fps)
        window_times=[(t.piece[0] / prep.fps, (t.piece[-1] + 1) / prep.fps) for t in kept] if prep.fps > 0 else [])


def _keep_windows(prep: PreparedVideo, seen: _Sampled, windows: list[list[int]], d: DataConfig) -> PreparedVideo:
    """Every person whose face track has enough faces in a window's shot, the preprocessing rule for one training
    sample, each with its windows (or say why none is kept)."""
    decoded = [[i for i in w if seen.decoded(i)] for w in windows]
    asked_windows = {tuple(w) for w in windows}
    tracks = [t for t in seen.tracks if t.window in asked_windows]
    with_face = {i for t in tracks for i in t.crops}
    # faces found against the frames of the windows actually decoded (not the whole-video probes)
    prep.faces, prep.sampled = len(with_face), len({i for w in decoded for i in w})
    asked = sorted({i for w in windows for i in w})
    lost = [i for i in asked if not seen.decoded(i)]  # sampled frames the decoder could not give (damaged data)
    damage = (f"{len(lost)} of {len(asked)} sampled frames could not be decoded (damaged data skipped)"
              if lost else "")
    persons = _persons(seen, tracks, d)
    if persons:
        people = [_person_prep(prep, seen, ts, d, k) for k, ts in enumerate(persons)]
        for p in people:
            p.status, p.reason = ScoreStatus.OK, damage
            p.faces = len(p.crops)
        main = people[0]
        prep.crops, prep.windows, prep.window_times = main.crops, main.windows, main.window_times
        prep.person, prep.box, prep.others = 0, main.box, people[1:]
        prep.status, prep.reason = ScoreStatus.OK, damage
        return prep
    small = [s for t in tracks for s in t.too_small.values()]
    if prep.faces == 0 and not small and not lost:
        return prep.failed(ScoreStatus.NO_FACE, f"no face in {len(seen.frames) + len(seen.released)} sampled frames")
    # each window's shots (a window no cut split is one), the faces counted per face track
    pieces = {t.piece for t in tracks} | {tuple(w) for w in windows if not any(t.window == tuple(w) for t in tracks)}
    longest = max(([i for i in piece if seen.decoded(i)] for piece in pieces), key=len, default=[])
    need = needed_faces(len(longest), d.min_faces, d.sample_frames)
    best = max((len(t.crops) for t in tracks), default=0)
    reason = (f"a face in {prep.faces} of {prep.sampled} sampled frames (at most {best} in one window), no window "
              f"of {len(longest)} frames with {need} faces (min_faces {d.min_faces})")
    if small:
        reason = f"face too small ({max(small):.0f} px < {d.min_face_size} px): {reason}"
    # The frames lost to decoding would have made a window: a decode problem, not too few faces.
    if lost and any(sum(i in with_face or i in lost for i in w) >= needed_faces(len(w), d.min_faces, d.sample_frames)
                    for w in windows if w):
        return prep.failed(ScoreStatus.UNREADABLE, f"{damage}; {reason}")
    return prep.failed(ScoreStatus.TOO_FEW_FACES, f"{damage}; {reason}" if damage else reason)


def _placed_windows(probes: dict[int, np.ndarray], seen: _Sampled, num_frames: int, clips: int, d: DataConfig,
                    face_detector: FaceDetector, timings: dict[str, float] | None) -> list[list[int]]:
    """Windows placed where the faces are (:func:`face_windows`): the frames cropped so far, and every face of the
    new probed frames (one full MTCNN call: frames far apart), a frame counting when a face is big enough to judge."""
    with timed(timings, "detect"):
        found = face_detector.detect_all(list(probes.values())) if probes else []  # per frame, every candidate face
    with_face = {i for t in seen.tracks for i in t.crops}
    has_face = {i: i in with_face for i in (*seen.frames, *seen.released)}
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
    """Decode the sampled frames (one pass, or one per :data:`WINDOW_CHUNK` windows), split them at scene cuts, follow
    every face and crop it (see the module docstring); when no window has enough faces, look for the faces over the
    whole video and score windows placed there.

    Args:
        path: video file.
        cfg_data: the checkpoint's data config (sampling, the crop contract: margin, size, min_faces, min_face_size).
        clips: K sampling windows spread over the video, forced; None: by the video's duration (``coverage``).
        face_detector: the MTCNN detector (built once per process from the checkpoint's ``data.detector``).
        timings: optional dict; seconds are added under ``probe``, ``decode``, ``detect`` and ``crop``.
        coverage: how many windows when ``clips`` is None (default :class:`Coverage`'s).

    Returns:
        The crops and windows of the main person, the other persons in ``others``; or a status (``unreadable``,
        ``no_face``, ``too_few_faces``) and its reason.

    Raises:
        Nothing for a bad video file (its status says why); an unexpected failure propagates (see
        :func:`prepare_input`).
    """
    d = cfg_data
    prep = PreparedVideo(name=Path(path).name, clips_per_window=1, clip_len=d.frames, path=str(path))
    seen = _Sampled()
    tried: list[list[int]] = []  # every window decoded and cropped (with those placed inside shots)
    try:
        with timed(timings, "probe"):
            scan = scan_video(path)  # one packet pass: frame count, timestamps, keyframes
        num_frames = scan.info.num_frames
        prep.fps = float(scan.info.fps) if scan.info.fps and scan.info.fps > 0 else 0.0
        prep.duration_s = num_frames / prep.fps if prep.fps else 0.0
        if clips is None:
            clips = (coverage or Coverage()).clips(num_frames, prep.fps)
        windows = eval_windows(num_frames, clips, n=d.sample_frames, stride=d.stride)
        # A few windows at once (as before coverage); a long video's windows a chunk at a time, the frames dropped
        # once cropped (only crops kept).
        chunks = [windows] if len(windows) <= WINDOW_CHUNK else [windows[k : k + WINDOW_CHUNK]
                                                                for k in range(0, len(windows), WINDOW_CHUNK)]
        for chunk in chunks:
            tried += _crop_pass(path, scan, chunk, seen, d, face_detector, timings)
            if len(chunks) > 1:
                seen.release()
    except VideoError as e:
        return prep.failed(ScoreStatus.UNREADABLE, str(e))
    if not seen.frames and not seen.released:
        return prep.failed(ScoreStatus.UNREADABLE, f"no frame could be decoded ({num_frames} frames in the header)")
    if _keep_windows(prep, seen, tried, d).status == ScoreStatus.OK:
        return prep  # the usual case: today's windows, one decoding pass, one detector call
    # No window has enough faces: find where the faces are (PROBE_FRAMES frames spread over the video, one decoding
    # pass, one detector call) and try windows placed on them.
    try:
        probes = [i for i in evenly_spaced(num_frames - 1, PROBE_FRAMES).tolist() if not seen.decoded(i)]
        placed = _placed_windows(_read(path, scan, probes, seen, timings), seen, num_frames, clips, d, face_detector,
                                 timings)
        placed = [w for w in placed if w not in tried]
        tried += _crop_pass(path, scan, placed, seen, d, face_detector, timings) if placed else []
    except VideoError as e:
        log.debug("%s: looking for faces over the whole video failed: %s", prep.name, e)
    # Every window tried; only those with enough faces are used (or the reason none is).
    return _keep_windows(prep, seen, tried, d)


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


def with_sound(prep: PreparedVideo, cfg_data: DataConfig) -> PreparedVideo:
    """For an ``av`` model: the input's sound (:func:`dfdetect.clips.audio.load_source_audio`) into ``prep.audio``;
    without one, the reason says the video head scores it (the status stays ``ok``). An input not ``ok``, or whose
    sound is loaded already, is returned as it is.

    Example:
        >>> prep = with_sound(PreparedVideo("a.mp4", path="data/samples/franck.mp4"), DataConfig())
        >>> prep.status, prep.reason
        (<ScoreStatus.OK: 'ok'>, 'no audio track: scored by the video head alone')
    """
    if prep.status != ScoreStatus.OK or prep.audio is not None:
        return prep
    if prep.path:
        prep.audio = load_source_audio(prep.path, cfg_data)
        why = prep.audio.reason
    else:
        why = "crops without their source video"
    if prep.audio is None or prep.audio.audio is None:
        prep.reason = f"{why}: scored by the video head alone"
    return prep


def prepare_input(
    item: str | Path,
    cfg_data: DataConfig,
    clips: int | None,
    face_detector: FaceDetector | None,
    timings: dict[str, float] | None = None,
    coverage: Coverage | None = None,
    modalities: str = "video",
) -> PreparedVideo:
    """What a model of ``modalities`` scores: for ``video``, a video (:func:`prepare_video`) or an image
    (:func:`prepare_image`, by extension); for ``av``, the same and its sound (:func:`with_sound`); for ``audio``,
    the sound alone (:func:`prepare_audio`, no face looked for).

    Never raises for a bad input: an unexpected failure gets status ``error`` with the exception as reason (and its
    traceback logged at debug level), so one bad input never stops a batch.

    Args:
        item: video, image or sound path.
        cfg_data: the checkpoint's data config.
        clips: K sampling windows per video, forced; None: by the video's duration (``coverage``; an ``audio`` model
            takes ``coverage.minimum`` windows).
        face_detector: the MTCNN detector (None only for ``audio``).
        timings: optional dict of seconds per stage (videos only; see :func:`prepare_video`).
        coverage: how many windows when ``clips`` is None (see :func:`prepare_video`).
        modalities: the model's ``model.modalities``: ``video``, ``av`` or ``audio``.

    Returns:
        The prepared input, or its status and reason.
    """
    try:
        if modalities == "audio":  # the sound only: no face to find
            return prepare_audio(item, cfg_data, clips if clips is not None else (coverage or Coverage()).minimum)
        if face_detector is None:
            raise ValueError(f"a {modalities} model needs a face detector")
        if is_image(item):
            prep = prepare_image(item, cfg_data, face_detector)
        else:
            prep = prepare_video(item, cfg_data, clips, face_detector, timings, coverage)
        return with_sound(prep, cfg_data) if modalities == "av" else prep
    except Exception as e:  # noqa: BLE001 - one bad input must not stop the batch
        log.debug("preparing %s failed", item, exc_info=True)
        return PreparedVideo(name=Path(item).name).failed(ScoreStatus.ERROR, f"{type(e).__name__}: {e}")
