"""``python -m face_crop FRAMES CROPS``: see :mod:`face_crop.cli`."""

from __future__ import annotations

import sys

from face_crop.cli import main

if __name__ == "__main__":
    sys.exit(main())
