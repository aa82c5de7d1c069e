"""face_crop.crop: box geometry and THE crop function (no detector)."""

from __future__ import annotations

import numpy as np
import pytest

from face_crop.crop import crop_face, expand_box, points_to_crop


def test_expand_box_margin_and_square_in_the_middle() -> None:
    # 100 x 100 box, 30 % per side -> 160 x 160 around the same centre.
    assert expand_box((200, 100, 300, 200), 0.3, 640, 360) == (170, 70, 330, 230)
    # 80 wide x 120 tall: grown to 128 x 192, squared to the longer side around the centre (240, 160).
    x1, y1, x2, y2 = expand_box((200, 100, 280, 220), 0.3, 640, 360)
    assert (x2 - x1, y2 - y1) == (192, 192)
    assert ((x1 + x2) / 2, (y1 + y2) / 2) == (240, 160)
    # No margin: the square of the longer side.
    assert expand_box((10, 20, 30, 60), 0.0, 100, 100) == (0, 20, 40, 60)


@pytest.mark.parametrize(
    "box, expect",
    [
        ((0, 150, 60, 210), (0, 144, 72, 216)),  # left border: shifted right, still square
        ((590, 150, 640, 210), (568, 144, 640, 216)),  # right border: shifted left
        ((300, 0, 360, 40), (294, 0, 366, 72)),  # top border
        ((300, 330, 360, 360), (294, 288, 366, 360)),  # bottom border
        ((-20, -30, 40, 30), (0, 0, 72, 72)),  # box partly outside the top-left corner
        ((600, 320, 700, 400), (520, 240, 640, 360)),  # box partly outside the bottom-right corner
    ],
)
def test_expand_box_shifts_inside_at_every_border(box: tuple, expect: tuple) -> None:
    got = expand_box(box, 0.1, 640, 360)
    assert got == expect
    x1, y1, x2, y2 = got
    assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 360 and x2 - x1 == y2 - y1


def test_expand_box_clamps_when_the_square_does_not_fit() -> None:
    # A face filling a 176x144 frame: the 1.6x square (~200 px) is wider and taller than the frame -> the whole frame.
    assert expand_box((40, 10, 150, 130), 0.3, 176, 144) == (0, 0, 176, 144)
    # Taller than the frame only: clamped vertically, square-sized horizontally.
    x1, y1, x2, y2 = expand_box((200, 20, 300, 140), 0.3, 640, 160)
    assert (y1, y2) == (0, 160) and x2 - x1 == 192


def test_expand_box_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        expand_box((0, 0, np.nan, 10), 0.3, 100, 100)
    with pytest.raises(ValueError):
        expand_box((0, 0, 10, 10), 0.3, 0, 100)


@pytest.mark.parametrize("size", [64, 224, 300])
def test_crop_face_output_size_and_content(size: int) -> None:
    img = np.zeros((360, 640, 3), np.uint8)
    img[100:200, 200:300] = (200, 50, 10)  # the "face" box
    crop = crop_face(img, (200, 100, 300, 200), margin=0.3, size=size)
    assert crop.shape == (size, size, 3) and crop.dtype == np.uint8
    # The box is the middle 100/160 of the crop: there the colour, outside black.
    c, q = size // 2, size // 16
    assert tuple(crop[c, c]) == (200, 50, 10)
    assert crop[:q, :q].max() == 0 and crop[-q:, -q:].max() == 0
    lo, hi = round(size * 30 / 160), round(size * 130 / 160)
    colour = np.array([200, 50, 10])
    assert np.abs(crop[c, lo + 3] - colour).max() <= 12 and crop[c, lo - 3].max() < 30  # cubic rings a little
    assert np.abs(crop[c, hi - 4] - colour).max() <= 12 and crop[c, hi + 2].max() < 30


def test_crop_face_pads_to_square_keeping_aspect_when_clamped() -> None:
    # 640x160 frame, tall box: region is 192 wide x 160 tall -> resized to 224 x 187, padded top/bottom with black.
    img = np.full((160, 640, 3), 90, np.uint8)
    crop = crop_face(img, (200, 20, 300, 140), margin=0.3, size=224)
    assert crop.shape == (224, 224, 3)
    new_h = round(160 * 224 / 192)
    pad = (224 - new_h) // 2
    assert pad > 10
    assert crop[: pad - 1].max() == 0 and crop[pad + new_h + 1 :].max() == 0  # black bands, top and bottom
    assert (crop[pad + 1 : pad + new_h - 1] == 90).all()  # the frame content, not stretched over the bands
    assert (crop[:, 0] == 90).any() and (crop[:, -1] == 90).any()  # full width used


def test_crop_face_never_modifies_the_frame_and_handles_tiny_frames() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (144, 176, 3), dtype=np.uint8)
    before = img.copy()
    crop = crop_face(img, (60, 40, 110, 100), margin=0.3, size=224)  # enlarging (78 px region -> 224)
    assert crop.shape == (224, 224, 3)
    assert np.array_equal(img, before)
    assert crop_face(img, (5, 5, 6, 6), margin=0.0, size=32).shape == (32, 32, 3)  # a 1-pixel box


@pytest.mark.parametrize(
    "shape, box, margin, size",
    [
        ((360, 640), (250, 100, 330, 200), 0.3, 224),  # enlarge, square, central
        ((1080, 1920), (800, 300, 1200, 760), 0.3, 224),  # shrink (INTER_AREA)
        ((360, 640), (0, 120, 70, 200), 0.2, 160),  # left border: shifted
        ((360, 640), (560, 280, 640, 360), 0.2, 160),  # bottom-right corner: shifted
        ((160, 640), (200, 20, 300, 140), 0.3, 224),  # clamped vertically -> padded
        ((144, 176), (30, 10, 150, 130), 0.3, 224),  # clamped both ways
    ],
)
def test_points_to_crop_agrees_with_crop_face(shape: tuple, box: tuple, margin: float, size: int) -> None:
    h, w = shape
    x1, y1, x2, y2 = expand_box(box, margin, w, h)
    rng = np.random.default_rng(1)
    for _ in range(3):
        img = np.zeros((h, w, 3), np.uint8)
        # A marked pixel (a 3x3 blob for shrinking cases) somewhere in the crop region, away from its edges.
        r = int(rng.integers(y1 + 4, y2 - 4))
        c = int(rng.integers(x1 + 4, x2 - 4))
        img[r - 1 : r + 2, c - 1 : c + 2] = 255
        crop = crop_face(img, box, margin, size).astype(np.float32).sum(axis=2)
        u, v = points_to_crop(np.array([[c + 0.5, r + 0.5]]), box, margin, w, h, size)[0]  # pixel centre
        # Intensity-weighted centre of the marked blob in the crop (pixel centres at index + 0.5).
        ys, xs = np.nonzero(crop > crop.max() * 0.2)
        wts = crop[ys, xs]
        cu, cv_ = (xs + 0.5) @ wts / wts.sum(), (ys + 0.5) @ wts / wts.sum()
        assert abs(cu - u) < 1.0 and abs(cv_ - v) < 1.0, (u, v, cu, cv_)
    # The corners of the expanded region map to the corners of the resized content.
    corners = points_to_crop(np.array([[x1, y1], [x2, y2]], float), box, margin, w, h, size)
    assert corners.min() >= -1e-4 and corners.max() <= size + 1e-4
    assert np.isclose(corners[1] - corners[0], size, atol=1.0).any()  # the longer side spans the crop
