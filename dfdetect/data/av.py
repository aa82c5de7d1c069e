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

import numpy as np
import torch
from torch.utils.data import Dataset

from dfdetect.clips.audio import lead_jitter
from dfdetect.clips.transforms import to_tensor_clip
from dfdetect.core.config import DataConfig
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
