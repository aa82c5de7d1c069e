"""THE video writer: H.264 (libx264), yuv420p, constant bitrate, one encoder thread.

Fakes and re-encoded reals alike go through :func:`encode_video`, so codec, bitrate, file size and container metadata
do not leak the label, and the same frames always give the same bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from dfdetect.core.io import atomic_write

log = logging.getLogger(__name__)

ENCODER = "libx264"
PIX_FMT = "yuv420p"
ENCODER_PRESET = "veryfast"
BITS_PER_PIXEL = 0.1
"""Constant bitrate = this x width x height x fps (640x360 at 24 fps: 553 kbit/s; 1080p30: 6.2 Mbit/s).

Why constant bitrate rather than constant quality (CRF): a self-blended face (sharpened, or flickering) costs more
bits than the real one, so under CRF 23 the fakes of the demo set came out 0-50% larger than their reals and file size
alone told them apart. Under CBR (x264 ``nal-hrd=cbr``, filler included) a fake and its real differ by about 1%.
"""
MIN_BITRATE = 200_000
"""Floor (bit/s) for small frames, where x264 needs more bits per pixel (176x144 at 30 fps: 0.26 bit/pixel)."""

def encoder_options(bitrate: int) -> dict[str, str]:
    """libx264 options for constant bitrate ``bitrate`` (bit/s): the one encoder setting of the project.

    Same frames, same bytes, so that the same seed gives the same data set (and the same trained model):

    * one encoder thread: multi-threaded x264 with rate control gives different bytes on every run (one thread costs
      ~30% on a short clip);
    * no macroblock-tree rate control (``mbtree=0``): with it, the same frames encoded in one process gave different
      bytes depending on what the process had done before (decoding another video in between: 3-6 different outputs
      in 6 tries, on x264 core 165 through PyAV 18.1; 1 with ``mbtree=0``), which made two builds of the demo data set
      differ. MB-tree only moves bits between frames; at a constant bit rate its loss is small.

    Example:
        >>> encoder_options(553_000)["bufsize"], encoder_options(553_000)["threads"]
        ('276500', '1')
    """
    return {"preset": ENCODER_PRESET, "maxrate": str(bitrate), "bufsize": str(bitrate // 2),
            "x264-params": "nal-hrd=cbr:mbtree=0", "threads": "1"}


def encode_video(path: str | Path, frames: Sequence[np.ndarray], fps: float) -> Path:
    """Write frames as H.264 MP4 (libx264, yuv420p, constant bitrate from :data:`BITS_PER_PIXEL`), atomically.

    THE video writer: reals and fakes go through this one function, so bitrate, file size (about 1% apart for a fake
    and its real) and container metadata do not tell them apart.
    yuv420p needs even sizes: an odd width/height loses its last column/row (logged).

    Args:
        path: output ``.mp4``.
        frames: RGB uint8 (H, W, 3), all the same size.
        fps: frame rate (a fraction close to it is used, e.g. 24000/1001 for 23.976).

    Returns:
        The path written.

    Raises:
        ValueError: no frames, frames of different sizes, or a frame smaller than 2x2.

    Example:
        >>> import tempfile
        >>> frames = [np.full((64, 96, 3), 16 * i, np.uint8) for i in range(5)]
        >>> path = encode_video(Path(tempfile.mkdtemp()) / "v0000.mp4", frames, fps=25.0)
        >>> path.name, path.stat().st_size > 0
        ('v0000.mp4', True)
    """
    if not frames:
        raise ValueError("no frames to encode")
    h, w = frames[0].shape[:2]
    if any(f.shape != frames[0].shape for f in frames):
        raise ValueError("frames differ in size")
    ew, eh = w - w % 2, h - h % 2
    if ew < 2 or eh < 2:
        raise ValueError(f"frame too small to encode: {w}x{h}")
    if (ew, eh) != (w, h):
        log.warning("%s: odd frame size %dx%d cropped to %dx%d for yuv420p", path, w, h, ew, eh)
    rate = Fraction(fps if fps and fps > 0 else 25.0).limit_denominator(1001)
    with atomic_write(path, "wb") as f:
        container = av.open(f, mode="w", format="mp4")
        try:
            stream = container.add_stream(ENCODER, rate=rate)
            stream.width, stream.height, stream.pix_fmt = ew, eh, PIX_FMT
            bitrate = max(MIN_BITRATE, int(BITS_PER_PIXEL * ew * eh * float(rate)))
            stream.bit_rate = bitrate
            stream.options = encoder_options(bitrate)
            for frame in frames:
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:eh, :ew]), format="rgb24")
                container.mux(stream.encode(vf))
            container.mux(stream.encode(None))  # flush the encoder's delayed frames
        finally:
            container.close()
    return Path(path)

