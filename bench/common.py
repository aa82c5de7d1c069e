"""Helpers shared by the benchmarks: test videos made from a sample (any length and size; a long one by repeating a
short one without re-encoding), a child process's peak memory, and tables."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import time
from collections.abc import Callable
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


def repeat_video(src: str | os.PathLike, dst: str | os.PathLike, times: int) -> Path:
    """Write ``src``'s video stream ``times`` times over into ``dst``, without re-encoding (packets copied, their
    timestamps shifted by the source's length each time): an hour of 1080p from a minute of it in seconds.

    Cached as :func:`make_hd_video` is (nothing done when ``dst`` exists; a temporary name until complete). Every
    repeat starts on the source's first packet, a keyframe, so the result decodes from any keyframe as the source does.

    Raises:
        ValueError: ``times`` < 1, or ``src`` has no video packets.
    """
    dst = Path(dst)
    if dst.exists():
        return dst
    if times < 1:
        raise ValueError(f"times must be >= 1, got {times}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.stem}.tmp{dst.suffix}")
    with av.open(str(src)) as first:
        stream = first.streams.video[0]
        packets = [p for p in first.demux(stream) if p.pts is not None]
        if not packets:
            raise ValueError(f"{src}: no video packets")
        span = max(p.pts + (p.duration or 0) for p in packets) - min(p.pts for p in packets)
    log.info("writing %s: %s %d times over (stream copy)", dst, src, times)
    with av.open(str(tmp), mode="w") as out:
        with av.open(str(src)) as inp:
            out_stream = out.add_stream_from_template(inp.streams.video[0])
        for k in range(times):
            with av.open(str(src)) as inp:  # a fresh demux per repeat: packets are muxed (and consumed) once
                for p in inp.demux(inp.streams.video[0]):
                    if p.pts is None:
                        continue  # the demuxer's empty flush packet
                    p.pts += k * span
                    if p.dts is not None:
                        p.dts += k * span
                    p.stream = out_stream
                    out.mux(p)
    os.replace(tmp, dst)
    return dst


def peak_rss_gb(cmd: list[str], poll_s: float = 0.02, **kwargs: Any) -> tuple[int, float]:
    """Run ``cmd`` as a child process and return its exit status and its peak resident memory in GB (10^9 bytes).

    The peak is the child's ``VmHWM`` (``/proc/PID/status``), read until it exits: the high-water mark of its own
    address space, set anew by ``exec``. ``getrusage``'s ``ru_maxrss`` would not do: Linux carries the parent's
    resident size over the fork and exec into it (0.8 GB for ``python -c pass`` started from a process that holds
    torch). Linux only; stdout and stderr are discarded.
    """
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    status, peak_kib = Path(f"/proc/{proc.pid}/status"), 0
    while proc.poll() is None:
        try:
            hwm = [line for line in status.read_text().splitlines() if line.startswith("VmHWM:")]
        except OSError:
            hwm = []
        if hwm:
            peak_kib = max(peak_kib, int(hwm[0].split()[1]))
        time.sleep(poll_s)
    return proc.returncode, peak_kib * 1024 / 1e9


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


def run_step(fn: Callable[[list[str]], int], argv: list[str], what: str) -> None:
    """Run one of the project's CLI entry points in-process (``main(argv) -> exit status``), as a user runs it.

    Raises:
        RuntimeError: a non-zero exit status (the message names the step and its arguments).
    """
    code = fn(argv)
    if code != 0:
        raise RuntimeError(f"{what} failed with exit status {code}: {shlex.join(argv)}")
