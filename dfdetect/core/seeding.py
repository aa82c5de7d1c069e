"""THE name-to-seed rule: every per-item random stream derives from ``(seed, names...)`` only.

A video gets the same frames, windows, blends and split whatever the order of the batch or the other items in it,
and across processes and machines (CRC32 of the UTF-8 name, never Python's salted ``hash()``).

Example:
    >>> stable_seed(0, "a.mp4", 1)
    [0, 1813619933, 1]
    >>> float(item_rng(0, "a.mp4").random()) == float(item_rng(0, "a.mp4").random())
    True
"""

from __future__ import annotations

import zlib

import numpy as np


def stable_seed(*parts: int | str) -> list[int]:
    """Entropy for ``np.random.default_rng`` from ints and strings (strings by CRC32)."""
    return [int(p) if isinstance(p, int) else zlib.crc32(p.encode("utf-8")) for p in parts]


def item_rng(*parts: int | str) -> np.random.Generator:
    """A generator seeded with :func:`stable_seed` of ``parts`` (e.g. ``item_rng(seed, video_name)``)."""
    return np.random.default_rng(stable_seed(*parts))


def hash_unit(*parts: int | str) -> float:
    """A deterministic number in [0, 1) from ``parts`` (the first draw of :func:`item_rng`).

    Example:
        >>> 0.0 <= hash_unit(0, "a.mp4") < 1.0, hash_unit(0, "a.mp4") == hash_unit(0, "a.mp4")
        (True, True)
    """
    return float(item_rng(*parts).random())
