"""Helpers shared by the benchmarks: a 10 s 1080p test video made from a sample, and a small timer."""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

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

    Example:
        >>> make_hd_video("data/samples/WolfgangLanger_Pexels.mp4", "bench_out/hd_10s.mp4")  # doctest: +SKIP
        PosixPath('bench_out/hd_10s.mp4')
    """
    import av
    import cv2

    from frame_extraction.decode import read_all_frames

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
    """Plain-text table (floats with 3 decimals) for benchmark output.

    Example:
        >>> print(format_table([{"a": 1.0, "b": "x"}], ["a", "b"]))
        a      b
        1.000  x
    """
    def fmt(v: Any) -> str:
        if isinstance(v, float | np.floating):
            return f"{v:.3f}"
        return str(v)

    cells = [[c for c in columns]] + [[fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells)
