"""Real-world damage and oddities rebuilt from the sample videos at test time (PyAV only: no ffmpeg binary needed).

Plain functions, imported by the tests that need them (``from tests.media import damage_packets``).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2


def damage_packets(src: Path, dst: Path, packets: set[int]) -> Path:
    """Copy the video stream of ``src`` into ``dst`` (no re-encoding), with a bad NAL size in each packet of
    ``packets`` (decode order, from 0): its first 4 bytes, the length of the first NAL unit, set far past the packet.

    The ffmpeg tool and players skip such a packet (its frame is absent, ``ffmpeg -i dst -f null -`` decodes the
    other frames) and go on.
    """
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = inp.streams.video[0]
        copy = out.add_stream_from_template(stream)
        n = 0
        for packet in inp.demux(stream):
            if packet.size == 0:
                continue
            if n in packets:
                data = bytearray(bytes(packet))
                data[0:4] = (0x7FFFFF00).to_bytes(4, "big")  # the AVCC length prefix of the first NAL unit
                bad = av.Packet(bytes(data))
                bad.pts, bad.dts, bad.time_base, bad.is_keyframe = packet.pts, packet.dts, packet.time_base, \
                    packet.is_keyframe
                packet = bad
            packet.stream = copy
            out.mux(packet)
            n += 1
    return dst


def squeeze_pixels(src: Path, dst: Path, frames: int = 20, width: int = 480,
                   sample_aspect: Fraction = Fraction(4, 3)) -> Path:
    """The first ``frames`` frames of ``src`` stored ``width`` pixels wide (squeezed) with non-square pixels of
    ``sample_aspect``, so every player shows them at the original shape (480x360 at 4:3 shows 640x360)."""
    with av.open(str(src)) as inp:
        pictures = [f.to_ndarray(format="rgb24") for _, f in zip(range(frames), inp.decode(video=0))]
    height = pictures[0].shape[0]
    with av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.sample_aspect_ratio = sample_aspect
        for rgb in pictures:
            squeezed = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)  # (H, width, 3)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(squeezed, format="rgb24")))
        out.mux(stream.encode())
    return dst


def write_video(dst: Path, frames: list, fps: int = 30) -> Path:
    """A small H.264 video of RGB uint8 frames (H, W, 3), all of one size (PyAV)."""
    with av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for rgb in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode())
    return dst


def first_frames(src: Path, n: int) -> list:
    """The first ``n`` frames of ``src`` as RGB uint8 arrays (H, W, 3)."""
    with av.open(str(src)) as inp:
        return [f.to_ndarray(format="rgb24") for _, f in zip(range(n), inp.decode(video=0))]


def shifted(frame, dx: int):
    """``frame`` moved ``dx`` pixels right (left when negative), the uncovered side black (what ffmpeg's
    ``pad``/``crop`` pair does)."""
    import numpy as np

    out = np.zeros_like(frame)
    if dx >= 0:
        out[:, dx:] = frame[:, : frame.shape[1] - dx]
    else:
        out[:, :dx] = frame[:, -dx:]
    return out


def side_by_side(a: Path, b: Path, dst: Path, frames: int = 30) -> Path:
    """Two people in one frame: the first ``frames`` frames of ``a`` and ``b`` (of one height) side by side (what
    ``ffmpeg -i a -i b -filter_complex hstack`` makes)."""
    import numpy as np

    pairs = zip(first_frames(a, frames), first_frames(b, frames))
    return write_video(dst, [np.hstack([fa, fb]) for fa, fb in pairs])


def alternating_shots(a: list, b: list, dst: Path, shot: int = 15, shots: int = 6) -> Path:
    """``shots`` shots of ``shot`` frames alternating the frames of ``a`` and ``b`` (of one size), each person's
    frames going on where its last shot stopped (the concat of pieces of two videos): at 30 fps, 0.5 s shots."""
    frames = []
    for k in range(shots):
        source, start = (a, b)[k % 2], (k // 2) * shot
        frames += source[start : start + shot]
    return write_video(dst, frames)
