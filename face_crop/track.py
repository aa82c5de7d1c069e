"""Face tracking: each person's face followed through the frames of a video (:func:`face_tracks`), the main face
first (:func:`select_main_track`), and which tracks of far-apart windows are one person (:func:`link_places`).

Detections are linked frame to frame into tracks by IoU; the main face is the track with the largest summed
``sqrt(area) * prob`` (large, confident and persistent), the other tracks follow by that weight, and each track gets
its own face in each frame. A frame where a track has no detection takes a free candidate close to its previous box; a
frame with nothing there gets ``None`` rather than another face, so a second person or a false positive (e.g. on a
hand covering the face) never makes a track jump. Tracks never cross a scene cut: the frames are split into shots
first (:mod:`face_crop.shots`), each tracked on its own.

Boxes are compared in coordinates relative to their frame (``x / width``, ``y / height``) where a detection carries
its frame size (``frame_size``, as :class:`face_crop.detect.Face` does), so a video whose frame size changes
mid-stream (two encodes of different sizes concatenated) keeps one track; without it, in pixels.

Along a track, :func:`smooth_boxes` steadies the boxes over time: the detector's own noise (a few per cent of the
box per frame) would otherwise shake every crop, real or fake, as much as a face generated frame by frame shakes
against its head, and a temporal model could not tell the two apart.

Works on anything with a ``box`` (``x1, y1, x2, y2`` pixels), a ``prob`` and an ``area`` (:class:`Detection`), and
optionally a ``frame_size`` (``(width, height)`` of its frame), such as :class:`face_crop.detect.Face`; this module
imports nothing of the detector.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Hashable, Sequence
from typing import Protocol, TypeVar

import numpy as np

TRACK_IOU = 0.1
"""Minimum IoU linking a detection to a track (low: sampled frames can be far apart)."""
MAX_SHIFT = 0.75
"""Where the main track has no detection: a candidate this many box sides from the last chosen box may continue it."""
MAX_SIZE_RATIO = 1.5
"""... if its box side is within this ratio of the last chosen one."""
PERSON_SHIFT = 1.5
"""Two face tracks apart in time (two windows, two shots) are one person (:func:`link_places`) when their mean boxes
overlap, or their centres lie within this many box sides with sides within :data:`PERSON_SIZE_RATIO`."""
PERSON_SIZE_RATIO = 2.0


class Detection(Protocol):
    """What tracking needs of a detected face (:class:`face_crop.detect.Face` is one).

    An optional ``frame_size`` attribute, ``(width, height)`` of the detection's frame (or None), makes tracking
    compare boxes relative to the frame.
    """

    box: np.ndarray  # float (4,) x1, y1, x2, y2 in full-frame pixels
    prob: float  # detector confidence in [0, 1]

    @property
    def area(self) -> float: ...


D = TypeVar("D", bound=Detection)


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two ``x1, y1, x2, y2`` boxes.

    Example:
        >>> box_iou(np.array([0, 0, 10, 10]), np.array([5, 0, 15, 10]))
        0.3333333333333333
    """
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = float(iw * ih)
    union = float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])) - inter
    return inter / union if union > 0 else 0.0


def relative_box(face: Detection) -> np.ndarray:
    """``face.box`` divided by its frame's width and height (float64 (4,)); the box itself without ``frame_size``.

    Example:
        >>> from face_crop.detect import Face
        >>> relative_box(Face(np.array([64, 36, 128, 108], np.float32), 0.99, np.zeros((5, 2)), (640, 360)))
        array([0.1, 0.1, 0.2, 0.3])
    """
    box = np.asarray(face.box, dtype=np.float64)
    size = getattr(face, "frame_size", None)
    if not size or min(size) <= 0:
        return box
    w, h = size
    return box / np.array([w, h, w, h], dtype=np.float64)


def _weight(face: Detection) -> float:
    """A face's vote for its track: box side (``sqrt(area)``, relative to the frame's when known) times confidence."""
    size = getattr(face, "frame_size", None)
    frame_area = float(size[0] * size[1]) if size and min(size) > 0 else 1.0
    return float(np.sqrt(max(face.area, 0.0) / frame_area) * face.prob)


def _link_tracks(boxes: Sequence[Sequence[np.ndarray]], min_iou: float) -> list[dict[int, int]]:
    """Greedy IoU linking in time order; each track is {frame index: candidate index}, at most one per frame."""
    tracks: list[dict[int, int]] = []
    last: list[np.ndarray] = []  # last box of each track, (4,) each
    for i, cands in enumerate(boxes):
        pairs = sorted(
            ((box_iou(last[t], b), t, c) for t in range(len(tracks)) for c, b in enumerate(cands)), reverse=True
        )
        used_t: set[int] = set()
        used_c: set[int] = set()
        for iou, t, c in pairs:
            if iou < min_iou:
                break
            if t in used_t or c in used_c:
                continue
            tracks[t][i] = c
            last[t] = cands[c]
            used_t.add(t)
            used_c.add(c)
        for c, b in enumerate(cands):
            if c not in used_c:
                tracks.append({i: c})
                last.append(b)
    return tracks


def _same_place(ref: np.ndarray, box: np.ndarray, min_iou: float) -> float | None:
    """Distance score if ``box`` is plausibly the face that was at ``ref`` (overlap, or close and alike in size)."""
    side_r = np.sqrt(max(float((ref[2] - ref[0]) * (ref[3] - ref[1])), 1e-6))
    side_b = np.sqrt(max(float((box[2] - box[0]) * (box[3] - box[1])), 1e-6))
    dist = float(np.hypot((box[0] + box[2] - ref[0] - ref[2]) / 2, (box[1] + box[3] - ref[1] - ref[3]) / 2))
    alike = max(side_r, side_b) / min(side_r, side_b) <= MAX_SIZE_RATIO
    if box_iou(ref, box) >= min_iou or (alike and dist <= MAX_SHIFT * side_r):
        return dist
    return None


def face_tracks(faces: Sequence[Sequence[D]], min_iou: float = TRACK_IOU) -> list[list[D | None]]:
    """Every face of the frames followed consistently: one track per person, the main face first.

    Boxes are compared relative to their frame's size where the detections carry it (:func:`relative_box`), so a
    face is followed across a change of frame size. Detections are linked into tracks by IoU; tracks are ranked by
    their summed ``sqrt(area) * prob`` (box side rather than area, so a persistent face beats a one-frame giant false
    positive), the first being the main face. Each track in rank order then takes its own detections that no
    higher-ranked track took, and, where it has none, the free candidate nearest its previous box if it overlaps it or
    lies within :data:`MAX_SHIFT` box sides of it with a similar size (a face that moved between far-apart frames);
    otherwise the frame gets ``None`` rather than somebody else's face. A track left with no face (a piece of a
    higher-ranked one) is dropped. The main track is what it was before other tracks were kept
    (:func:`select_main_track`).

    Args:
        faces: per frame, all candidate faces (as from :meth:`face_crop.detect.FaceDetector.detect_all`).
        min_iou: IoU needed to link a face to a track.

    Returns:
        Per track (main first), one face or ``None`` per frame; empty when no frame has a face.

    Example:
        >>> from face_crop.detect import Face
        >>> big = Face(np.array([0, 0, 100, 100], np.float32), 0.99, np.zeros((5, 2), np.float32))
        >>> small = Face(np.array([200, 0, 240, 40], np.float32), 0.99, np.zeros((5, 2), np.float32))
        >>> [[f is big for f in t] for t in face_tracks([[small, big], [small]])]
        [[True, False], [False, False]]
        >>> [[f is small for f in t] for t in face_tracks([[small, big], [small]])][1]
        [True, True]
    """
    boxes = [[relative_box(f) for f in cands] for cands in faces]
    linked = _link_tracks(boxes, min_iou)
    # rank by weight; sorted() is stable, so equal weights keep first-appearance order (as max() picked the first)
    ranked = sorted(linked, key=lambda tr: -sum(_weight(faces[i][c]) for i, c in tr.items()))
    taken: list[set[int]] = [set() for _ in faces]  # per frame, candidates a higher-ranked track took
    out: list[list[D | None]] = []
    for track in ranked:
        own = {i: c for i, c in track.items() if c not in taken[i]}
        if not own:
            continue  # every detection of it went to a higher-ranked track: a piece of that one
        own_frames = sorted(own)
        chosen: list[D | None] = []
        prev: np.ndarray | None = None
        for i, cands in enumerate(faces):
            k = own.get(i)
            if k is None and cands:
                # This track missed this frame (or split): take a free candidate where the face was.
                if prev is not None:
                    ref = prev
                else:
                    j = min(own_frames, key=lambda j: abs(j - i))
                    ref = boxes[j][own[j]]
                near = [(d, c) for c, b in enumerate(boxes[i])
                        if c not in taken[i] and (d := _same_place(ref, b, min_iou)) is not None]
                k = min(near)[1] if near else None
            chosen.append(cands[k] if k is not None else None)
            if k is not None:
                prev = boxes[i][k]
        for i, f in enumerate(chosen):
            if f is not None:
                taken[i].add(next(c for c, cand in enumerate(faces[i]) if cand is f))
        out.append(chosen)
    return out


def link_places(boxes: Sequence[np.ndarray], groups: Sequence[Hashable]) -> list[int]:
    """Which face tracks are the same person, told by the place of the face in the frame (no face recognition).

    Tracks are taken in the order given (time order); each joins the person whose latest box is nearest, among those
    at the same place (the boxes overlap, IoU at least :data:`TRACK_IOU`, or their centres lie within
    :data:`PERSON_SHIFT` box sides with sides within :data:`PERSON_SIZE_RATIO`) that have no track of its group yet
    (two tracks of one window are two people); otherwise it is a new person. Two people filmed in turn at the same
    place are one person to this rule (their tracks stay apart, only their scores are pooled).

    Args:
        boxes: per track, its mean ``x1, y1, x2, y2`` box, relative to the frame (:func:`relative_box`) or in pixels.
        groups: per track, what it was found in (e.g. its window): a person takes one track of each.

    Returns:
        Per track, its person number (0, 1, ... in order of first appearance).

    Example:
        >>> left, right = np.array([0.1, 0.2, 0.3, 0.6]), np.array([0.6, 0.2, 0.8, 0.6])
        >>> link_places([left, right, left + 0.02, right], groups=["w0", "w0", "w1", "w1"])
        [0, 1, 0, 1]
        >>> link_places([left, left], groups=["w0", "w0"])  # two faces of one window: two people
        [0, 1]
    """
    last: list[np.ndarray] = []  # latest box of each person
    seen: list[set[Hashable]] = []  # groups each person has a track in
    out: list[int] = []
    for box, group in zip(boxes, groups):
        box = np.asarray(box, dtype=np.float64)
        side_b = np.sqrt(max(float((box[2] - box[0]) * (box[3] - box[1])), 1e-12))
        best: tuple[float, int] | None = None
        for k, ref in enumerate(last):
            if group in seen[k]:
                continue
            side_r = np.sqrt(max(float((ref[2] - ref[0]) * (ref[3] - ref[1])), 1e-12))
            dist = float(np.hypot((box[0] + box[2] - ref[0] - ref[2]) / 2, (box[1] + box[3] - ref[1] - ref[3]) / 2))
            alike = max(side_r, side_b) / min(side_r, side_b) <= PERSON_SIZE_RATIO
            if (box_iou(ref, box) >= TRACK_IOU or (alike and dist <= PERSON_SHIFT * max(side_r, side_b))) and (
                    best is None or dist < best[0]):
                best = (dist, k)
        if best is None:
            last.append(box)
            seen.append({group})
            out.append(len(last) - 1)
        else:
            last[best[1]] = box
            seen[best[1]].add(group)
            out.append(best[1])
    return out


def select_main_track(faces: Sequence[Sequence[D]], min_iou: float = TRACK_IOU) -> list[D | None]:
    """Pick one face per frame: the video's main face, followed consistently (the first of :func:`face_tracks`).

    The main track has the largest summed ``sqrt(area) * prob`` over its frames. Where it has no detection, the
    candidate nearest the previous chosen box is taken if it overlaps it or lies within :data:`MAX_SHIFT` box sides of
    it with a similar size; otherwise the frame gets ``None`` rather than somebody else's face.

    Args:
        faces: per frame, all candidate faces (as from :meth:`face_crop.detect.FaceDetector.detect_all`).
        min_iou: IoU needed to link a face to a track.

    Returns:
        One face or ``None`` per frame.

    Example:
        >>> from face_crop.detect import Face
        >>> big = Face(np.array([0, 0, 100, 100], np.float32), 0.99, np.zeros((5, 2), np.float32))
        >>> small = Face(np.array([200, 0, 240, 40], np.float32), 0.99, np.zeros((5, 2), np.float32))
        >>> [f is big for f in select_main_track([[small, big], [small]])]
        [True, False]
    """
    tracks = face_tracks(faces, min_iou)
    return tracks[0] if tracks else [None] * len(faces)


def main_faces(detections: Sequence[Sequence[D]], tracks: Sequence[Sequence[int]] | None = None) -> list[D | None]:
    """The main face of each frame, each group of positions tracked on its own (:func:`select_main_track`).

    Args:
        detections: per frame, all candidate faces (one batched :meth:`~face_crop.detect.FaceDetector.detect_all`).
        tracks: groups of positions in ``detections`` to track separately (e.g. evaluation windows far apart in a
            video, each tracked like one preprocessing sample); default one track over all frames. A position in no
            group gets ``None``.

    Returns:
        One face or ``None`` per frame.

    Example:
        >>> from face_crop.detect import Face
        >>> def face(x): return Face(np.array([x, 0, x + 50, 50], np.float32), 0.99, np.zeros((5, 2), np.float32))
        >>> a, b = face(0), face(300)  # two people, far apart
        >>> [f is a for f in main_faces([[a], [a], [b]])]  # one track: person a is the main face
        [True, True, False]
        >>> [f is b for f in main_faces([[a], [a], [b]], tracks=[[0, 1], [2]])]  # frame 2 on its own: person b
        [False, False, True]
    """
    faces: list[D | None] = [None] * len(detections)
    for group in tracks if tracks is not None else [range(len(detections))]:
        for pos, face in zip(group, select_main_track([detections[p] for p in group])):
            faces[pos] = face
    return faces


def true_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` of each run of True values.

    Example:
        >>> true_runs(np.array([0, 1, 1, 0, 1], bool))
        [(1, 3), (4, 5)]
    """
    padded = np.concatenate([[False], flags.astype(bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def smooth_along_time(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along axis 0 (time) with edge replication.

    Args:
        x: (n, ...) values per frame.
        sigma: frames (0: returned as is).

    Returns:
        The smoothed array, same shape and dtype.

    Example:
        >>> smooth_along_time(np.array([0.0, 0, 3, 0, 0]), 1.0).round(2).tolist()
        [0.16, 0.73, 1.2, 0.73, 0.16]
    """
    n = len(x)
    if sigma <= 0 or n < 2:
        return x
    r = max(1, math.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    padded = np.pad(x, [(r, r)] + [(0, 0)] * (x.ndim - 1), mode="edge")
    return sum(k[j] * padded[j : j + n] for j in range(2 * r + 1)).astype(x.dtype)


def smooth_boxes(faces: Sequence[D | None], sigma: float) -> list[D | None]:
    """One face track with its boxes smoothed over time: each run of consecutive faces (of one frame size), each box
    coordinate Gaussian-smoothed along the run (:func:`smooth_along_time`); landmarks and scores are kept.

    Source: the project (issue 22). MTCNN's box moves by a few per cent of its size from frame to frame on a still
    face; crops cut from those boxes shake the whole face as much as a frame-by-frame swap shakes it against the head.
    Face-forgery video detectors crop a clip steadily for the same reason (FTCN, Zheng et al., ICCV 2021, one box
    per clip; LipForensics, Haliassos et al., CVPR 2021, landmarks smoothed over time).

    Args:
        faces: one track: a face (a dataclass with ``box``, such as :class:`face_crop.detect.Face`) or None per
            position, positions in time order (the sampled frames).
        sigma: Gaussian sigma in positions (0: the faces as given).

    Returns:
        The track, each face a copy with its smoothed float32 box (the same objects where ``sigma`` is 0 or a run
        is one face long).

    Example:
        >>> from face_crop.detect import Face
        >>> track = [Face(np.array([10.0, 10, 50, 50], np.float32), 0.9, np.zeros((5, 2), np.float32)),
        ...          Face(np.array([14.0, 10, 54, 50], np.float32), 0.9, np.zeros((5, 2), np.float32)), None]
        >>> [None if f is None else f.box.astype(float).round(1).tolist() for f in smooth_boxes(track, 1.0)]
        [[11.2, 10.0, 51.2, 50.0], [12.8, 10.0, 52.8, 50.0], None]
    """
    out = list(faces)
    if sigma <= 0:
        return out
    sizes = [getattr(f, "frame_size", None) for f in faces]
    # a run ends at a missing face and where the frame size changes (boxes are in that frame's pixels)
    present = np.array([f is not None for f in faces])
    breaks = [0] + [i for i in range(1, len(faces)) if sizes[i] != sizes[i - 1]] + [len(faces)]
    for lo, hi in zip(breaks[:-1], breaks[1:]):
        for a, b in true_runs(present[lo:hi]):
            if b - a < 2:
                continue
            boxes = np.stack([np.asarray(out[lo + i].box, np.float64) for i in range(a, b)])  # (n, 4)
            smoothed = smooth_along_time(boxes, sigma)
            for i in range(a, b):
                out[lo + i] = dataclasses.replace(out[lo + i], box=smoothed[i - a].astype(np.float32))
    return out
