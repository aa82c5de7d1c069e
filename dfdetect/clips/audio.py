"""A file's sound as the model hears it: its audio track and frame clock (:class:`SourceAudio`), and a clip's log-mel
(:func:`clip_audio`), shared by training (:mod:`dfdetect.data.av`) and scoring (:mod:`dfdetect.inference`).
:func:`lead_jitter` puts up to ``data.lead_jitter`` s of silence at the start of a training clip's audio, real or
fake alike, so leading silence carries no label (AVH-Align, CVPR 2025).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dfdetect.core.config import DataConfig
from dfdetect.core.io import InputError
from frame_extraction.audio import Audio, AudioError, decode_audio, times_window, track_windows
from frame_extraction.decode import VideoError, scan_video
from frame_extraction.melspec import data_log_mel

log = logging.getLogger(__name__)


@dataclass
class SourceAudio:
    """A file's audio track and the clock of its frames: what gives any clip of it its audio window.

    For an audio-only file (no picture), the "frames" are the :func:`frame_extraction.audio.track_windows` starts,
    each shown for ``data.audio_seconds`` (``fps = 1 / audio_seconds``), so frame ``k``'s window is the k-th window.

    Attributes:
        audio: the decoded track, or None (no audio track: ``reason`` says why).
        times: (F,) float64 time (s, container clock) of frame ``i`` (every frame of the video, by frame number).
        fps: frames per second (one frame's duration closes a clip's time span).
        reason: why ``audio`` is None ("" when it is not).
        audio_only: the file has no picture (its frames are the track's windows).
    """

    audio: Audio | None
    times: np.ndarray
    fps: float
    reason: str = ""
    audio_only: bool = False

    def wave(self, frames: Sequence[int], d: DataConfig) -> np.ndarray | None:
        """The (N,) float32 audio window of the clip of frame numbers ``frames`` (:func:`~frame_extraction.audio
        .times_window`; zeros where the track has none), or None without a track."""
        if self.audio is None:
            return None
        start, end = times_window(self.times[np.asarray(list(frames), np.int64)], self.fps, d.audio_seconds)
        wave = self.audio.segment(start, end)
        n = int(round(d.audio_seconds * d.audio_rate))
        return wave[:n] if len(wave) >= n else np.pad(wave, (0, n - len(wave)))


def load_source_audio(path: str | Path, d: DataConfig, windows: int = 1) -> SourceAudio:
    """A file's :class:`SourceAudio`: its track (:func:`~frame_extraction.audio.decode_audio` at ``d.audio_rate``)
    and its frames' times (``pts * time_base`` from :func:`~frame_extraction.decode.scan_video`); a file without a
    picture gets ``windows`` pseudo-frames spread over the track. Never raises for a bad file: ``reason`` says it.

    Example:
        >>> a = load_source_audio("data/samples/single_face.mp4", DataConfig())
        >>> a.reason, len(a.times), a.fps, round(a.audio.duration, 2)
        ('', 72, 30.0, 2.42)
        >>> load_source_audio("data/samples/franck.mp4", DataConfig()).reason
        'no audio track'
    """
    try:
        audio: Audio | None = decode_audio(path, d.audio_rate)
        reason = ""
    except AudioError as e:
        audio, reason = None, str(e).removeprefix(f"{path}: ")
    try:
        scan = scan_video(path)
        fps = scan.info.fps or 25.0
        if scan.pts is not None and scan.time_base > 0:
            times = np.asarray(scan.pts, np.float64) * scan.time_base  # (F,)
        else:
            times = np.arange(scan.info.num_frames) / fps  # (F,)
    except VideoError:  # no picture: an audio-only file
        if audio is None:
            return SourceAudio(None, np.zeros(0), 1.0, reason)
        return SourceAudio(audio, track_windows(audio, windows, d.audio_seconds), 1.0 / d.audio_seconds,
                           audio_only=True)
    return SourceAudio(audio, times, fps, reason)


def source_audios(names: Sequence[str], videos: str | Path, d: DataConfig) -> dict[str, SourceAudio]:
    """:func:`load_source_audio` of ``videos/<name>`` for each name (a missing file: no audio, with that reason).

    Raises:
        InputError: ``videos`` is not a folder.
    """
    root = Path(videos)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder of videos (the source videos the crops were cut from)")
    out = {}
    for name in dict.fromkeys(names):
        path = root / name
        out[name] = (load_source_audio(path, d) if path.is_file()
                     else SourceAudio(None, np.zeros(0), 1.0, f"source video not found in {root}"))
    n = sum(a.audio is not None for a in out.values())
    log.info("sound: %d of %d videos have an audio track (%s)", n, len(out), root)
    return out


def clip_audio(source: SourceAudio | None, frames: Sequence[int], d: DataConfig,
               rng: np.random.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's audio inputs of a clip: its (M, L) log-mel dB (:func:`frame_extraction.melspec.data_log_mel`) and
    ``has_audio`` (a 0-d bool tensor); a silent window's log-mel and False without a track. With ``rng`` (training),
    :func:`lead_jitter` first."""
    wave = None if source is None else source.wave(frames, d)
    if wave is None:
        wave = np.zeros(int(round(d.audio_seconds * d.audio_rate)), np.float32)  # (N,)
        has = False
    else:
        has = True
        if rng is not None:
            wave = lead_jitter(wave, d.audio_rate, d.lead_jitter, rng)
    mel = data_log_mel(torch.from_numpy(np.ascontiguousarray(wave, np.float32)), d)  # (M, L)
    return mel, torch.tensor(has)


def lead_jitter(wave: np.ndarray, rate: int, max_seconds: float, rng: np.random.Generator) -> np.ndarray:
    """With probability 1/2, the first U(0, ``max_seconds``) s of ``wave`` become silence (the rest moves later, the
    length is kept); otherwise ``wave`` as is.

    Example:
        >>> out = lead_jitter(np.ones(100, np.float32), 100, 0.5, np.random.default_rng(1))
        >>> len(out), int((out == 0).sum())
        (100, 47)
    """
    if max_seconds <= 0 or rng.random() < 0.5:
        return wave
    k = int(rng.uniform(0, max_seconds) * rate)
    if k <= 0:
        return wave
    out = np.zeros_like(wave)  # (N,)
    out[k:] = wave[:len(wave) - k]
    return out
