"""frame_extraction.decode: which video stream is read when a file holds more than one (cover pictures, stills).

The files are built from the sample video at test time with PyAV: an MP4 whose cover picture (an ``attached_pic``
MJPEG stream) comes before the H.264 stream, as tag editors write it, and a Matroska file whose first track is a
one-frame MJPEG picture.
"""

from __future__ import annotations

import struct
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from frame_extraction.decode import read_frames, scan_video

SIZE = (160, 90)  # the video's frame size; the cover is a 128x128 picture
FRAMES = 20


def _write(path: Path, frames: list[np.ndarray], cover_disposition: bool) -> None:
    """A still MJPEG picture as stream 0, then the H.264 video as stream 1."""
    with av.open(str(path), mode="w") as out:
        cover = out.add_stream("mjpeg", rate=1)
        cover.width, cover.height, cover.pix_fmt = 128, 128, "yuvj420p"
        if cover_disposition:
            cover.disposition = av.stream.Disposition.attached_pic
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = *SIZE, "yuv420p"
        picture = av.VideoFrame.from_ndarray(np.full((128, 128, 3), 200, np.uint8), format="rgb24")
        for packet in [*cover.encode(picture), *cover.encode(None)]:
            out.mux(packet)
        for f in frames:
            small = cv2.resize(f, SIZE, interpolation=cv2.INTER_AREA)
            out.mux(video.encode(av.VideoFrame.from_ndarray(small, format="rgb24")))
        out.mux(video.encode(None))


def _boxes(data: bytes | bytearray, start: int, end: int) -> list[tuple[int, int, bytes]]:
    out = []
    while start < end:
        size, kind = struct.unpack(">I4s", data[start : start + 8])
        out.append((start, size, kind))
        start += size
    return out


def _cover_first(path: Path) -> None:
    """Move the MP4's ``udta`` (where the cover lives) before its tracks, as tag editors do: the cover becomes
    stream 0. The boxes only move inside ``moov``, which follows the media data, so no offset changes."""
    data = bytearray(path.read_bytes())
    for start, size, kind in _boxes(data, 0, len(data)):
        if kind == b"moov":
            kids = sorted(_boxes(data, start + 8, start + size), key=lambda k: k[2] != b"udta")
            data[start + 8 : start + size] = b"".join(bytes(data[s : s + n]) for s, n, _ in kids)
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def frames(face_video: Path) -> list[np.ndarray]:
    return list(read_frames(face_video, range(FRAMES)).values())


def _check_reads_the_video(path: Path, frames: list[np.ndarray]) -> None:
    scan = scan_video(path)
    assert (scan.info.num_frames, scan.info.width, scan.info.height) == (FRAMES, *SIZE)
    for got in (read_frames(path, [0, 5, FRAMES - 1], scan=scan), read_frames(path, [0, 5, FRAMES - 1], fast=False)):
        assert list(got) == [0, 5, FRAMES - 1]
        assert all(f.shape == (SIZE[1], SIZE[0], 3) for f in got.values())
        ref = cv2.resize(frames[5], SIZE, interpolation=cv2.INTER_AREA).astype(int)
        assert np.abs(got[5].astype(int) - ref).mean() < 12  # the sample's picture, not the grey cover


def test_a_cover_picture_before_the_video_is_skipped(tmp_path: Path, frames: list[np.ndarray]) -> None:
    path = tmp_path / "with_cover.mp4"
    _write(path, frames, cover_disposition=True)
    _cover_first(path)
    with av.open(str(path)) as c:  # the fault's precondition: the cover really is the first video stream
        first = c.streams.video[0]
        assert first.codec_context.name == "mjpeg" and first.disposition & av.stream.Disposition.attached_pic
    _check_reads_the_video(path, frames)


def test_a_one_frame_picture_track_loses_to_the_moving_video(tmp_path: Path, frames: list[np.ndarray]) -> None:
    path = tmp_path / "still_first.mkv"
    _write(path, frames, cover_disposition=False)
    with av.open(str(path)) as c:
        assert [s.codec_context.name for s in c.streams.video] == ["mjpeg", "h264"]
    _check_reads_the_video(path, frames)
