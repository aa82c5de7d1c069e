"""Face crop geometry: THE one crop function, used by preprocessing, training-time synthesis and inference alike.

Coordinates are continuous pixel coordinates: pixel ``(row i, col j)`` covers ``[j, j + 1) x [i, i + 1)``, so a box
``(x1, y1, x2, y2)`` has width ``x2 - x1`` and the centre of integer pixel ``p`` is ``p + 0.5``. MTCNN boxes and
landmarks are in this convention (full-frame pixels), and :func:`points_to_crop` maps them into the crop the same way
:func:`crop_face` resamples pixels, so masks and landmarks land where the face is.

Geometry (:func:`expand_box`): each side of the box grows by ``margin`` times the box width (left/right) or height
(top/bottom); the result is made square around its centre (side = the longer side), shifted inside the image where it
fits, and clamped to the image where it does not (square side longer than the image). :func:`crop_face` then resizes
the region to ``size`` keeping its aspect ratio and, if clamping made it non-square, pads it to a square with black,
centred. Keeping the aspect ratio means a face is never stretched, so train and test crops look alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

BoxLike = Sequence[float] | np.ndarray


def expand_box(box: BoxLike, margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    """Grow a face box by a margin, make it square, move it inside the image and clamp it.

    Args:
        box: ``(x1, y1, x2, y2)`` in full-frame pixels (may extend past the image).
        margin: fraction of the box width (height) added on the left and on the right (top and bottom).
        width: image width in pixels.
        height: image height in pixels.

    Returns:
        Integer ``(x1, y1, x2, y2)`` with ``0 <= x1 < x2 <= width`` and ``0 <= y1 < y2 <= height`` (x2/y2 exclusive,
        so ``image[y1:y2, x1:x2]`` is the region). Square unless the square is larger than the image.

    Example:
        >>> expand_box((100, 100, 200, 220), margin=0.25, width=640, height=360)
        (60, 70, 240, 250)
    """
    if width < 1 or height < 1:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    x1, y1, x2, y2 = (float(v) for v in np.asarray(box, dtype=np.float64).reshape(-1)[:4])
    if not all(np.isfinite([x1, y1, x2, y2])):
        raise ValueError(f"box has non-finite coordinates: {box}")
    bw, bh = max(x2 - x1, 0.0), max(y2 - y1, 0.0)
    # Grow each side by margin * the box's own width/height, then square around the grown box's centre.
    gx1, gx2 = x1 - margin * bw, x2 + margin * bw
    gy1, gy2 = y1 - margin * bh, y2 + margin * bh
    side = max(1, int(round(max(gx2 - gx1, gy2 - gy1))))
    cx, cy = (gx1 + gx2) / 2.0, (gy1 + gy2) / 2.0
    px1, px2 = _place(cx, side, width)
    py1, py2 = _place(cy, side, height)
    return px1, py1, px2, py2


def _place(centre: float, side: int, limit: int) -> tuple[int, int]:
    """1-D placement: an interval of ``side`` around ``centre``, shifted into ``[0, limit]``, clamped if longer."""
    lo = int(round(centre - side / 2.0))
    hi = lo + side
    if lo < 0:  # shift right
        lo, hi = 0, side
    if hi > limit:  # shift left
        lo, hi = limit - side, limit
    return max(lo, 0), min(hi, limit)


def _region_layout(x1: int, y1: int, x2: int, y2: int, size: int) -> tuple[int, int, int, int]:
    """Resized width/height of the region and the left/top padding inside the ``size`` square (shared geometry)."""
    w, h = x2 - x1, y2 - y1
    scale = size / max(w, h)
    new_w = min(size, max(1, int(round(w * scale))))
    new_h = min(size, max(1, int(round(h * scale))))
    return new_w, new_h, (size - new_w) // 2, (size - new_h) // 2


def crop_face(image: np.ndarray, box: BoxLike, margin: float, size: int) -> np.ndarray:
    """Cut the face region out of a full-resolution frame and resize it to a ``size`` x ``size`` square.

    Shrinking uses ``cv2.INTER_AREA`` (no aliasing); enlarging uses ``cv2.INTER_CUBIC``. When the square region had to
    be clamped to the image, the aspect ratio is kept and the crop is padded with black, centred.

    Args:
        image: RGB uint8 frame (H, W, 3) (any channel count works).
        box: face box ``(x1, y1, x2, y2)`` in the frame's pixels.
        margin: fraction of the box width/height added on each side (``cfg.data.margin``).
        size: output side in pixels (``cfg.data.size``).

    Returns:
        uint8 array (size, size, C).

    Raises:
        ValueError: an empty image, an image size below 1, or a box with non-finite coordinates.

    Example:
        >>> frame = np.zeros((360, 640, 3), np.uint8)
        >>> crop_face(frame, (300, 100, 380, 200), margin=0.3, size=224).shape
        (224, 224, 3)
    """
    if image.ndim < 2 or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"expected an image (H, W, C), got shape {image.shape}")
    height, width = image.shape[:2]
    x1, y1, x2, y2 = expand_box(box, margin, width, height)
    region = image[y1:y2, x1:x2]
    new_w, new_h, pad_x, pad_y = _region_layout(x1, y1, x2, y2, size)
    interp = cv2.INTER_AREA if new_w < (x2 - x1) else cv2.INTER_CUBIC
    resized = cv2.resize(np.ascontiguousarray(region), (new_w, new_h), interpolation=interp)
    if resized.ndim == 2 and image.ndim == 3:  # cv2 drops a single channel axis
        resized = resized[:, :, None]
    if (new_w, new_h) == (size, size):
        return resized
    out = np.zeros((size, size, *image.shape[2:]), dtype=image.dtype)  # black padding
    out[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
    return out


def points_to_crop(
    points: np.ndarray, box: BoxLike, margin: float, width: int, height: int, size: int
) -> np.ndarray:
    """Map full-frame points (landmarks, box corners) into the pixel coordinates of :func:`crop_face`'s output.

    Uses exactly the geometry of :func:`crop_face` (same expanded region, resize scale and padding), in continuous
    pixel coordinates (the centre of integer pixel ``p`` is ``p + 0.5``).

    Args:
        points: (N, 2) float ``x, y`` in full-frame pixels.
        box: the face box given to :func:`crop_face`.
        margin: the margin given to :func:`crop_face`.
        width: full-frame width.
        height: full-frame height.
        size: the crop size given to :func:`crop_face`.

    Returns:
        float32 (N, 2) ``x, y`` in crop pixels (may fall outside ``[0, size]`` for points outside the region).

    Example:
        >>> box = (300, 100, 380, 200)
        >>> points_to_crop(np.array([[340.0, 150.0]]), box, 0.3, 640, 360, 224)  # the box centre -> crop centre
        array([[112., 112.]], dtype=float32)
    """
    return points_to_region(points, expand_box(box, margin, width, height), size)


def points_to_region(points: np.ndarray, region: BoxLike, size: int) -> np.ndarray:
    """Map full-frame points into the crop of a known region (``expand_box``'s output, as a manifest records it).

    Args:
        points: (N, 2) float ``x, y`` in full-frame pixels.
        region: integer ``(x1, y1, x2, y2)`` the crop was cut from (x2/y2 exclusive).
        size: the crop side in pixels.

    Returns:
        float32 (N, 2) ``x, y`` in crop pixels.

    Example:
        >>> points_to_region(np.array([[50.0, 40.0]]), (0, 0, 100, 80), 100)  # a 100x80 image, letterboxed
        array([[50., 50.]], dtype=float32)
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    x1, y1, x2, y2 = (int(v) for v in np.asarray(region).reshape(-1)[:4])
    new_w, new_h, pad_x, pad_y = _region_layout(x1, y1, x2, y2, size)
    # cv2.resize maps continuous coordinate u to u * (dst / src) on each axis; then the padding offset.
    sx, sy = new_w / (x2 - x1), new_h / (y2 - y1)
    out = np.empty_like(pts)
    out[:, 0] = (pts[:, 0] - x1) * sx + pad_x
    out[:, 1] = (pts[:, 1] - y1) * sy + pad_y
    return out.astype(np.float32)
