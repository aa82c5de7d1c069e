"""THE log-mel spectrogram of the audio branch: ``torch.stft`` and a mel filterbank, no audio library needed.

The definition is librosa's (``librosa.feature.melspectrogram`` then ``librosa.power_to_db``; McFee et al., SciPy
2015): a periodic Hann window of ``n_fft`` samples, frames centred on ``t * hop`` (the signal zero-padded by
``n_fft // 2`` on both sides), the power spectrum through a Slaney-style mel filterbank (Slaney's mel scale: linear
below 1 kHz, logarithmic above; each triangle normalised to unit area), then ``10 * log10(max(S, 1e-10))`` dB.
``tests/frame_extraction/test_frame_extraction_audio.py`` checks it against librosa to 1e-4 dB on real speech.

Example:
    >>> wave = torch.sin(2 * torch.pi * 440 * torch.arange(16000) / 16000)  # 1 s of 440 Hz at 16 kHz
    >>> spec = log_mel(wave, rate=16000, n_fft=400, hop=160, n_mels=64, fmax=8000)
    >>> tuple(spec.shape), int(spec.mean(dim=1).argmax())  # (n_mels, frames); the loudest band holds 440 Hz
    ((64, 101), 8)
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from dfdetect.core.config import DataConfig

_DATA = DataConfig()  # THE defaults: rate, FFT size, hop, bands, top frequency

AMIN = 1e-10
"""Power floor before the logarithm (librosa's ``amin``): silence reads -100 dB."""

_F_SP = 200.0 / 3  # Slaney's mel scale: 3 mels per 200 Hz below 1 kHz...
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP  # 15
_LOGSTEP = np.log(6.4) / 27.0  # ...and 27 mels per factor 6.4 above


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Frequencies (Hz) to Slaney mels (linear below 1 kHz, logarithmic above).

    Example:
        >>> hz_to_mel(np.array([0.0, 1000.0, 6400.0])).round(3).tolist()
        [0.0, 15.0, 42.0]
    """
    hz = np.asarray(hz, np.float64)
    mel = hz / _F_SP
    above = hz >= _MIN_LOG_HZ
    return np.where(above, _MIN_LOG_MEL + np.log(np.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP, mel)


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """Slaney mels to Hz (the inverse of :func:`hz_to_mel`)."""
    mel = np.asarray(mel, np.float64)
    return np.where(mel >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (mel - _MIN_LOG_MEL)), _F_SP * mel)


@functools.lru_cache(maxsize=16)
def _filterbank(rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    fft_hz = np.linspace(0, rate / 2, 1 + n_fft // 2)  # (F,) centre of each FFT bin
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))  # (n_mels + 2,) triangle corners
    width = np.diff(edges)  # (n_mels + 1,)
    ramps = edges[:, None] - fft_hz[None, :]  # (n_mels + 2, F)
    rising = -ramps[:-2] / width[:-1, None]  # (n_mels, F)
    falling = ramps[2:] / width[1:, None]  # (n_mels, F)
    weights = np.maximum(0.0, np.minimum(rising, falling))  # (n_mels, F) triangles
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]  # Slaney normalisation: each triangle of unit area
    weights.setflags(write=False)
    return weights


def mel_filterbank(rate: int = _DATA.audio_rate, n_fft: int = _DATA.n_fft, n_mels: int = _DATA.n_mels,
                   fmin: float = 0.0, fmax: float = _DATA.fmax) -> np.ndarray:
    """The mel filterbank: float64 ``(n_mels, n_fft // 2 + 1)`` weights over the FFT bins (read-only, cached).

    Example:
        >>> fb = mel_filterbank(16000, 400, 64, fmax=8000)
        >>> fb.shape, bool((fb >= 0).all())
        ((64, 201), True)
    """
    return _filterbank(int(rate), int(n_fft), int(n_mels), float(fmin), float(fmax))


def power_mel(wave: torch.Tensor, rate: int = _DATA.audio_rate, n_fft: int = _DATA.n_fft, hop: int = _DATA.hop,
              n_mels: int = _DATA.n_mels, fmax: float = _DATA.fmax, fmin: float = 0.0) -> torch.Tensor:
    """The mel power spectrogram (before the logarithm).

    Args:
        wave: ``(..., N)`` float samples (float32 or float64; the result has the same dtype).
        rate: sample rate (Hz).
        n_fft: FFT and window size (samples).
        hop: hop between frames (samples).
        n_mels: mel bands.
        fmax: top band edge (Hz).
        fmin: bottom band edge (Hz).

    Returns:
        ``(..., n_mels, 1 + N // hop)`` power.
    """
    lead = wave.shape[:-1]
    x = wave.reshape(-1, wave.shape[-1])  # (B, N)
    window = torch.hann_window(n_fft, periodic=True, dtype=x.dtype, device=x.device)  # (n_fft,)
    spec = torch.stft(x, n_fft, hop_length=hop, win_length=n_fft, window=window, center=True, pad_mode="constant",
                      return_complex=True)  # (B, F, L) complex
    power = spec.real ** 2 + spec.imag ** 2  # (B, F, L)
    fb = torch.tensor(mel_filterbank(rate, n_fft, n_mels, fmin, fmax), dtype=x.dtype, device=x.device)  # (M, F)
    mel = torch.matmul(fb, power)  # (B, M, L)
    return mel.reshape(*lead, n_mels, mel.shape[-1])


def log_mel(wave: torch.Tensor, rate: int = _DATA.audio_rate, n_fft: int = _DATA.n_fft, hop: int = _DATA.hop,
            n_mels: int = _DATA.n_mels, fmax: float = _DATA.fmax, fmin: float = 0.0) -> torch.Tensor:
    """The log-mel spectrogram in dB: ``10 * log10(max(power_mel, 1e-10))``, ``(..., n_mels, 1 + N // hop)``.

    Same arguments as :func:`power_mel`.
    """
    return 10.0 * torch.log10(torch.clamp(power_mel(wave, rate, n_fft, hop, n_mels, fmax, fmin), min=AMIN))


def data_log_mel(wave: torch.Tensor, d: DataConfig) -> torch.Tensor:
    """:func:`log_mel` with the settings of ``d`` (``data.audio_rate``, ``n_fft``, ``hop``, ``n_mels``, ``fmax``): what
    the audio branch is fed, in training and at inference alike.

    Example:
        >>> data_log_mel(torch.zeros(2, 12800), DataConfig()).shape  # 0.8 s at 16 kHz -> 64 bands x 81 frames
        torch.Size([2, 64, 81])
    """
    return log_mel(wave, d.audio_rate, d.n_fft, d.hop, d.n_mels, d.fmax)
