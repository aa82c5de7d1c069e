"""``python -m frame_extraction VIDEOS... OUT``: see :mod:`frame_extraction.cli`."""

from __future__ import annotations

import sys

from frame_extraction.cli import main

if __name__ == "__main__":
    sys.exit(main())
