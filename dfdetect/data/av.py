"""Audio-visual clips: a clip's face crops and its audio window, as tensors for the three modalities.

An :class:`AVClip` holds what one clip is (frames or None, the audio window or None, label, who, which fake);
:class:`AVClipDataset` turns it into ``clip`` (T, C, H, W), ``mel`` (M, L) log-mel dB (:func:`frame_extraction.melspec
.data_log_mel`), ``has_audio`` and ``label``, the batch :func:`dfdetect.training.step.model_inputs` reads. In training,
:func:`lead_jitter` puts up to ``data.lead_jitter`` s of silence at the start of any clip's audio, real or fake alike,
so leading silence carries no label (AVH-Align, CVPR 2025: it alone separates FakeAVCeleb's reals from fakes).

Example:
    >>> clip = AVClip(np.zeros((2, 32, 32, 3), np.uint8), np.zeros(12800, np.float32), label=1, group="a")
    >>> item = AVClipDataset([clip], DataConfig(), (0.5,) * 3, (0.5,) * 3)[0]
    >>> tuple(item["clip"].shape), tuple(item["mel"].shape), bool(item["has_audio"])
    ((2, 3, 32, 32), (64, 81), True)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from dfdetect.core.config import DataConfig
from dfdetect.core.io import InputError
from dfdetect.data.transforms import to_tensor_clip
from frame_extraction.audio import Audio, AudioError, decode_audio, times_window, track_windows
from frame_extraction.decode import VideoError, scan_video
from frame_extraction.melspec import data_log_mel

log = logging.getLogger(__name__)
_DATA = DataConfig()


@dataclass
class AVClip:
    """One audio-visual clip.

    Attributes:
        frames: (T, H, W, 3) uint8 face crops, or None (an audio-only file).
        wave: (N,) float32 audio window (``data.audio_seconds`` at ``data.audio_rate``), or None (no audio track).
        label: 0 real, 1 fake.
        group: who (speaker / person): splits keep a person on one side.
        method: the fake's generator ("" for a real).
        video: the source file's name.
        start: container time (s) of the clip's audio window start (a split by time uses it).
    """

    frames: np.ndarray | None
    wave: np.ndarray | None
    label: int
    group: str
    method: str = ""
    video: str = ""
    start: float = 0.0


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


def batched_mels(waves: Iterable[np.ndarray], d: DataConfig, batch_size: int = 64) -> Iterator[torch.Tensor]:
    """The log-mels of ``waves`` as scoring computes them (no jitter), ``(B, M, L)`` dB batches of ``batch_size``;
    what :func:`dfdetect.training.step.refresh_batchnorm` recomputes the audio branch's statistics from.

    Example:
        >>> [tuple(m.shape) for m in batched_mels([np.zeros(12800, np.float32)] * 3, DataConfig(), batch_size=2)]
        [(2, 64, 81), (1, 64, 81)]
    """
    chunk: list[np.ndarray] = []
    for wave in waves:
        chunk.append(np.ascontiguousarray(wave, np.float32))
        if len(chunk) == batch_size:
            yield data_log_mel(torch.from_numpy(np.stack(chunk)), d)
            chunk = []
    if chunk:
        yield data_log_mel(torch.from_numpy(np.stack(chunk)), d)


class AVClipDataset(Dataset):
    """:class:`AVClip` items as tensors.

    Args:
        clips: the clips.
        d: the data config (audio window length and rate, log-mel settings, ``lead_jitter``).
        mean, std: the picture's normalisation (the model's ``mean``/``std``).
        seed: with ``train``, seeds each item's :func:`lead_jitter` (by ``(seed, epoch, index)``).
        train: apply :func:`lead_jitter`.
        epoch: the epoch (changes the jitter from one epoch to the next).
    """

    def __init__(self, clips: Sequence[AVClip], d: DataConfig, mean: Sequence[float], std: Sequence[float],
                 seed: int = 0, train: bool = False, epoch: int = 0) -> None:
        self.clips, self.d, self.mean, self.std = list(clips), d, tuple(mean), tuple(std)
        self.seed, self.train, self.epoch = int(seed), bool(train), int(epoch)
        self.n_samples = int(round(d.audio_seconds * d.audio_rate))
        self.t = next((len(c.frames) for c in self.clips if c.frames is not None), 1)

    def __len__(self) -> int:
        return len(self.clips)

    def scoring_mels(self, batch_size: int = 64) -> Iterator[torch.Tensor]:
        """The clips' log-mels without the jitter, ``(B, M, L)`` batches (:func:`batched_mels`); clips without sound
        are left out."""
        return batched_mels((c.wave for c in self.clips if c.wave is not None), self.d, batch_size)

    def __getitem__(self, index: int) -> dict:
        c = self.clips[index]
        wave = c.wave if c.wave is not None else np.zeros(self.n_samples, np.float32)  # (N,)
        if self.train and c.wave is not None:
            wave = lead_jitter(wave, self.d.audio_rate, self.d.lead_jitter,
                               np.random.default_rng([self.seed, self.epoch, index]))
        frames = c.frames if c.frames is not None else np.zeros((self.t, 32, 32, 3), np.uint8)
        return {
            "clip": to_tensor_clip(frames, self.mean, self.std),  # (T, C, H, W)
            "mel": data_log_mel(torch.from_numpy(np.ascontiguousarray(wave, np.float32)), self.d),  # (M, L)
            "has_audio": torch.tensor(c.wave is not None),
            "label": torch.tensor(float(c.label)),
        }
