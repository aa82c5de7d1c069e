"""Helpers shared by the benchmarks: a 10 s 1080p test video made from a sample, and a small timer."""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from dfdetect.core.io import format_table as text_table
from frame_extraction.decode import read_all_frames

log = logging.getLogger(__name__)


HD_NAME = "hd_10s_1080p.mp4"
"""The one 10 s 1080p benchmark video in bench_out/, shared by bench/prep.py and bench/score.py."""


def make_hd_video(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    seconds: float = 10,
    fps: int = 30,
    size: tuple[int, int] = (1920, 1080),
    crf: int = 23,
) -> Path:
    """Write a ``seconds``-long H.264 video of ``size`` (width, height) from the frames of ``src``.

    The source frames are upscaled (bilinear) and looped if the source is shorter. x264 runs with its defaults
    (keyframe interval 250, scene-cut keyframes), like most real footage, so a sampler cannot count on close keyframes.
    Cached: nothing is done when ``dst`` exists. Written to a temporary name first, so an interrupted run leaves no
    half-written ``dst``.
    """
    dst = Path(dst)
    if dst.exists():
        return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    frames = read_all_frames(src)
    if not frames:
        raise ValueError(f"{src}: no frames to build a video from")
    total = int(round(seconds * fps))
    width, height = size
    tmp = dst.with_name(f".{dst.stem}.tmp{dst.suffix}")
    log.info("writing %s (%d frames, %dx%d) from %s", dst, total, width, height, src)
    with av.open(str(tmp), mode="w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for i in range(total):
            rgb = cv2.resize(frames[i % len(frames)], (width, height), interpolation=cv2.INTER_LINEAR)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    os.replace(tmp, dst)
    return dst


def format_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Benchmark rows as a plain-text table (floats with 3 decimals), through the project's one table printer.

    Example:
        >>> print(format_table([{"a": 1.0, "b": "x"}], ["a", "b"]))
        a      b
        1.000  x
    """
    def fmt(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, float | np.floating) else str(v)

    return text_table([list(columns)] + [[fmt(r.get(c, "")) for c in columns] for r in rows])
