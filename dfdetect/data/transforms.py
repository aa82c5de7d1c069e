"""A stored face crop, resized to the model's size (from a file or a tar shard); the tensor transform that follows
is :mod:`dfdetect.clips.transforms` (THE eval-time transform, shared with scoring)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from dfdetect.core.io import load_image
from dfdetect.data.shards import TarMember, load_member


def load_crop(path: str | Path | TarMember, size: int) -> np.ndarray:
    """Read a stored face crop as RGB uint8 ``(size, size, 3)``, resized if it was stored at another size.

    Shrinking uses ``INTER_AREA`` (no aliasing), enlarging ``INTER_CUBIC``, as :func:`face_crop.crop.crop_face` does.

    Args:
        path: an image file (PNG or JPEG), or a crop inside a tar shard (:mod:`dfdetect.data.shards`).
        size: the side in pixels the model takes.

    Returns:
        uint8 ``(size, size, 3)`` RGB.

    Raises:
        OSError: an unreadable image (the message names the file).

    Example:
        >>> import tempfile
        >>> from dfdetect.core.io import save_image
        >>> path = Path(tempfile.mkdtemp()) / "000000.png"
        >>> save_image(path, np.zeros((64, 64, 3), np.uint8))
        >>> load_crop(path, 112).shape
        (112, 112, 3)
    """
    img = load_member(path) if isinstance(path, TarMember) else load_image(path)  # (H, W, 3) uint8 RGB
    if img.shape[:2] != (size, size):
        interp = cv2.INTER_AREA if max(img.shape[:2]) > size else cv2.INTER_CUBIC
        img = cv2.resize(img, (size, size), interpolation=interp)
    return img
