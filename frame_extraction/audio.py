"""Decode a file's audio track (PyAV / FFmpeg) to mono at a fixed rate, placed on the container's clock, and cut the
audio window of a clip of sampled frames.

Audio and video timestamps share the container's clock: frame ``i`` is shown at ``scan.pts[i] * scan.time_base`` s
(:func:`frame_times`), and an audio sample at the time of the audio frame it came from plus its offset in that frame.
So a clip's audio is found from its frames' timestamps, never by counting samples from 0: a track may start later
than the picture (``face_noface.mov``'s audio starts at 2.43 s), and codecs add priming samples that the container's
timestamps account for. Where the track does not cover the window (before its start, after its end) the window is
silent (zeros).

A caller reads the file top to bottom::

    scan = scan_video(path)                                   # frame timestamps
    audio = decode_audio(path, rate=16000)                    # the whole track, mono float32, once per file
    start, end = clip_window(scan, indices, seconds=0.8)       # the window of the clip's frames
    wave = audio.segment(start, end)                          # (round(0.8 * 16000),) float32

Decoding a 2 s AAC track takes a few ms and a 20 s one about 0.1 s (2 cores), so a file's whole track is decoded once
and windows are cut from it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import av
import numpy as np

from dfdetect.core.config import DataConfig
from frame_extraction.decode import VideoScan, ffmpeg_url

log = logging.getLogger(__name__)

_DATA = DataConfig()  # THE defaults: audio rate and window length


class AudioError(Exception):
    """The file cannot be read, or has no audio track (:func:`has_audio` tells the second case apart cheaply)."""


@dataclass(frozen=True)
class Audio:
    """A decoded mono track on the container's clock.

    Attributes:
        samples: float32 (N,) mono samples in [-1, 1] (FFmpeg's downmix of the channels).
        rate: samples per second.
        start: container time (s) of ``samples[0]``.
    """

    samples: np.ndarray
    rate: int
    start: float

    @property
    def end(self) -> float:
        """Container time (s) just after the last sample."""
        return self.start + len(self.samples) / self.rate

    @property
    def duration(self) -> float:
        """Length of the decoded track in seconds."""
        return len(self.samples) / self.rate

    def segment(self, start: float, end: float) -> np.ndarray:
        """The samples of ``[start, end)`` (container seconds), zeros where the track has none.

        Args:
            start: window start (s); may lie before the track's start.
            end: window end (s), > ``start``.

        Returns:
            float32 ``(round((end - start) * rate),)``.

        Example:
            >>> a = Audio(np.arange(1, 5, dtype=np.float32), rate=2, start=1.0)  # samples at 1.0, 1.5, 2.0, 2.5 s
            >>> a.segment(0.5, 2.0).tolist(), a.segment(2.5, 3.5).tolist()
            ([0.0, 1.0, 2.0], [4.0, 0.0])
        """
        n = max(int(round((end - start) * self.rate)), 0)
        out = np.zeros(n, np.float32)  # (n,)
        first = int(round((start - self.start) * self.rate))  # index of the window's first sample in the track
        lo, hi = max(first, 0), min(first + n, len(self.samples))
        if hi > lo:
            out[lo - first:hi - first] = self.samples[lo:hi]
        return out


def _reason(e: BaseException) -> str:
    return getattr(e, "strerror", None) or str(e) or type(e).__name__


def has_audio(path: str | os.PathLike) -> bool:
    """Whether the file has an audio stream (header only, no decoding).

    Raises:
        AudioError: the file cannot be opened.

    Example:
        >>> has_audio("data/samples/single_face.mp4"), has_audio("data/samples/franck.mp4")
        (True, False)
    """
    try:
        with av.open(ffmpeg_url(path), mode="r") as container:
            return bool(container.streams.audio)
    except FileNotFoundError:
        raise AudioError(f"{path}: file not found") from None
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as e:
        raise AudioError(f"{path}: not a readable media file ({_reason(e)})") from None


def decode_audio(path: str | os.PathLike, rate: int = _DATA.audio_rate) -> Audio:
    """Decode the first audio track, resampled to mono float32 at ``rate`` Hz, placed on the container's clock.

    Each resampled chunk is placed at its own timestamp, so a gap in the track stays a gap (zeros) and the
    samples keep their times.

    Args:
        path: any file FFmpeg reads with an audio stream (video with sound, wav, mp3, flac, m4a...).
        rate: output sample rate (Hz).

    Returns:
        The :class:`Audio` (mono: FFmpeg's downmix, ``(L + R) / sqrt(2)`` for stereo).

    Raises:
        AudioError: unreadable file, no audio stream, or not one decodable audio frame.

    Example:
        >>> a = decode_audio("data/samples/single_face.mp4", rate=16000)
        >>> a.rate, round(a.start, 3), round(a.duration, 2), a.samples.dtype
        (16000, 0.0, 2.42, dtype('float32'))
    """
    try:
        container = av.open(ffmpeg_url(path), mode="r")
    except FileNotFoundError:
        raise AudioError(f"{path}: file not found") from None
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as e:
        raise AudioError(f"{path}: not a readable media file ({_reason(e)})") from None
    chunks: list[tuple[float | None, np.ndarray]] = []  # (time in s or None, (n,) float32)
    with container:
        if not container.streams.audio:
            raise AudioError(f"{path}: no audio track")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=int(rate))
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append((out.time, out.to_ndarray().reshape(-1)))  # (1, n) -> (n,)
        except (av.error.FFmpegError, OSError) as e:
            log.warning("%s: audio decoding stopped (%s); later audio is absent", path, _reason(e))
        for out in resampler.resample(None):  # what the resampler still holds
            chunks.append((out.time, out.to_ndarray().reshape(-1)))
    chunks = [(t, c) for t, c in chunks if len(c)]
    if not chunks:
        raise AudioError(f"{path}: no decodable audio")
    start = chunks[0][0] if chunks[0][0] is not None else 0.0
    # place each chunk at its timestamp (one without a timestamp follows the previous one)
    offsets, pos = [], 0
    for t, c in chunks:
        at = pos if t is None else max(int(round((t - start) * rate)), 0)
        offsets.append(at)
        pos = at + len(c)
    samples = np.zeros(pos, np.float32)  # (N,)
    for at, (_, c) in zip(offsets, chunks):
        samples[at:at + len(c)] = c
    return Audio(samples=np.clip(samples, -1.0, 1.0), rate=int(rate), start=float(start))


def frame_times(scan: VideoScan, indices: Sequence[int]) -> np.ndarray:
    """Presentation time (s, container clock) of frames ``indices``: ``pts * time_base``, or ``index / fps`` when the
    video's timestamps are unusable.

    Example:
        >>> from frame_extraction.decode import scan_video
        >>> frame_times(scan_video("data/samples/single_face.mp4"), [0, 30]).round(3).tolist()
        [0.0, 1.0]
    """
    idx = np.asarray(list(indices), np.int64)  # (K,)
    if scan.pts is not None and scan.time_base > 0 and (idx < len(scan.pts)).all():
        return np.asarray([scan.pts[i] for i in idx], np.float64) * scan.time_base  # (K,)
    fps = scan.info.fps or 25.0
    return idx / fps  # (K,)


def clip_window(scan: VideoScan, indices: Sequence[int], seconds: float = _DATA.audio_seconds) -> tuple[float, float]:
    """The audio window of a clip: ``seconds`` long, centred on the span its frames are shown.

    The span runs from the first frame's time to the last frame's time plus one frame duration.

    Args:
        scan: the video's :func:`~frame_extraction.decode.scan_video`.
        indices: the clip's frame indices, increasing.
        seconds: window length (``data.audio_seconds``).

    Returns:
        ``(start, end)`` in container seconds.

    Example:
        >>> from frame_extraction.decode import scan_video
        >>> scan = scan_video("data/samples/single_face.mp4")  # 30 fps
        >>> [round(t, 3) + 0.0 for t in clip_window(scan, range(24), seconds=0.8)]  # 24 frames shown from 0 to 0.8 s
        [0.0, 0.8]
    """
    return times_window(frame_times(scan, indices), scan.info.fps or 25.0, seconds)


def times_window(times: Sequence[float], fps: float, seconds: float = _DATA.audio_seconds) -> tuple[float, float]:
    """The audio window of frames shown at ``times`` (s, increasing): ``seconds`` long, centred on the span from the
    first time to the last plus one frame duration (``1 / fps``).

    Example:
        >>> times_window([0.0, 0.5], fps=2.0, seconds=0.5)
        (0.25, 0.75)
    """
    centre = (float(times[0]) + float(times[-1]) + 1.0 / fps) / 2
    return centre - seconds / 2, centre + seconds / 2


def track_windows(audio: Audio, k: int, seconds: float = _DATA.audio_seconds) -> np.ndarray:
    """Start times (s, container clock) of ``k`` windows of ``seconds`` spread evenly over a track, first and last
    at its ends (one window at the start of a track shorter than ``seconds``): an audio-only file's clips.

    Example:
        >>> track_windows(Audio(np.zeros(16000, np.float32), 8000, 1.0), 3, 0.5).tolist()
        [1.0, 1.75, 2.5]
    """
    span = max(audio.duration - seconds, 0.0)
    n = 1 if span == 0 else max(int(k), 1)
    return audio.start + np.linspace(0.0, span, n)  # (n,)
