"""``python -m dfdetect synth-pictures VIDEO OUT_DIR``: pictures of fakes over time
(:func:`dfdetect.demo.grids.write_time_examples`): real frames, fake frames and their difference, one column per frame.
"""

from __future__ import annotations

from dfdetect.demo.grids import time_examples_main as main

__all__ = ["main"]
