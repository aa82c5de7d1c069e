"""Self-made audio-visual fakes that keep the identity: the picture untouched, the clip's audio replaced by audio of the
same person (never another person's voice on a face).

Every audio generator has the signature ``fn(audio, start, end, rng) -> GeneratedAudio``: the file's whole decoded
track (:class:`frame_extraction.audio.Audio`), the clip's audio window ``[start, end)`` in container seconds
(:func:`frame_extraction.audio.clip_window`) and a seeded generator; it returns the window's new samples, as many as
the real window has. The same generator state gives the same samples.

* ``avshift``: the audio of a window 0.2-1 s earlier or later: the words are the person's own, the lips out of sync
  (the audio-visual offset augmentation of the FFDV teams; lip-sync errors of talking-head generators).
* ``avmoment``: the audio of another moment of the same track, at least 1 s and one window away: the same voice saying
  other words (a lip-sync deepfake driven by the person's own voice).
* ``splice``: the window cut at a random point and its rest taken from another moment of the same track (words edited
  in the speaker's own voice: partial spoofing).
* ``vocoder``: the window's own audio re-synthesised from its mel spectrogram (Griffin-Lim phase recovery, Griffin &
  Lim 1984): same words, same timing, the smeared phase and band-limited texture of synthetic speech.

The fourth kind of fake, a visual fake with its untouched audio, needs no audio generator: a visual generator's twin
(:data:`dfdetect.synth.GENERATORS`) keeps the real audio, so the fused model must look too.

Windows that would leave the track are moved back inside it, never padded with silence: a fake must not differ from
a real by leading or trailing silence (the shortcut of FakeAVCeleb and AV-Deepfake1M; AVH-Align, CVPR 2025).

Example:
    >>> rate = 16000
    >>> track = Audio(np.sin(np.arange(5 * rate) / 40.0).astype(np.float32), rate=rate, start=0.0)  # 5 s
    >>> made = generate_audio("avshift", track, 2.0, 2.8, np.random.default_rng(0))
    >>> made.samples.shape, made.method, 0.2 <= abs(made.record["offset"]) <= 1.0
    ((12800,), 'avshift', True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from frame_extraction.audio import Audio
from frame_extraction.melspec import mel_filterbank, power_mel

SHIFT_RANGE = (0.2, 1.0)
"""Offsets (s) of ``avshift``: lip-sync visibly broken (a human notices about 0.1 s) but the same words nearby."""
MOMENT_MIN = 1.0
"""Least distance (s) between the window and ``avmoment``'s other moment (and at least one window length)."""
GRIFFIN_LIM_ITERS = 32
"""Griffin-Lim iterations of ``vocoder`` (with momentum 0.99; Perraudin et al. 2013)."""
VOCODER_N_FFT = 512
"""FFT size of ``vocoder``'s analysis and re-synthesis (32 ms at 16 kHz), hop a quarter of it."""
SPLICE_FADE = 0.005
"""Cross-fade (s) at ``splice``'s seam: 5 ms, so the cut is not a click (an editor's default)."""
VOCODER_MELS = 80
"""Mel bands ``vocoder`` keeps (a TTS vocoder's usual 80): the fine spectral detail above them is lost."""


@dataclass
class GeneratedAudio:
    """An audio generator's output.

    Attributes:
        samples: float32 (N,) the window's new audio, as long as the real window.
        method: the generator's name.
        record: the plain (JSON-ready) parameters used (offset in seconds, source window...).
    """

    samples: np.ndarray
    method: str
    record: dict[str, Any] = field(default_factory=dict)


def _inside(audio: Audio, start: float, length: float) -> float:
    """``start`` moved so that ``[start, start + length)`` lies inside the track (when the track is long enough)."""
    return float(min(max(start, audio.start), max(audio.end - length, audio.start)))


def avshift_audio(audio: Audio, start: float, end: float, rng: np.random.Generator) -> GeneratedAudio:
    """The audio of the window moved by 0.2-1 s (:data:`SHIFT_RANGE`), earlier or later, whichever stays inside the
    track (a random side when both do).

    Example:
        >>> track = Audio(np.arange(16000 * 3, dtype=np.float32), rate=16000, start=0.0)
        >>> made = avshift_audio(track, 0.0, 0.5, np.random.default_rng(1))  # at the start: only later fits
        >>> made.record["offset"] > 0, made.samples[0] == track.samples[int(made.record["offset"] * 16000)]
        (True, np.True_)
    """
    length = end - start
    size = float(rng.uniform(*SHIFT_RANGE))
    sides = [s for s in (-1.0, 1.0) if audio.start <= start + s * size and start + s * size + length <= audio.end]
    sign = float(rng.choice(sides)) if sides else (1.0 if audio.end - end >= start - audio.start else -1.0)
    src = _inside(audio, start + sign * size, length)
    record = {"offset": round(src - start, 6), "source": [src, src + length]}
    return GeneratedAudio(audio.segment(src, src + length), "avshift", record)


def _other_moment(audio: Audio, start: float, length: float, rng: np.random.Generator) -> float:
    """A start (s) of another window of ``length`` s in the track, at least ``max(1 s, length)`` from ``start`` (the
    farthest when the track is too short for that), on a 10 ms grid."""
    gap = max(MOMENT_MIN, length)
    lo, hi = audio.start, max(audio.end - length, audio.start)  # possible source starts
    step = 1.0 / audio.rate
    starts = np.arange(lo, hi + step / 2, max(step, 0.01))  # candidates every 10 ms
    far = starts[np.abs(starts - start) >= gap]
    return float(rng.choice(far)) if len(far) else float(starts[np.argmax(np.abs(starts - start))])


def avmoment_audio(audio: Audio, start: float, end: float, rng: np.random.Generator) -> GeneratedAudio:
    """The audio of another moment of the same track, at least ``max(1 s, window)`` away (the farthest moment when the
    track is too short for that).

    Example:
        >>> track = Audio(np.zeros(16000 * 6, np.float32), rate=16000, start=0.0)
        >>> made = avmoment_audio(track, 1.0, 1.8, np.random.default_rng(0))
        >>> abs(made.record["offset"]) >= 1.0, made.samples.shape
        (True, (12800,))
    """
    length = end - start
    src = _other_moment(audio, start, length, rng)
    return GeneratedAudio(audio.segment(src, src + length), "avmoment",
                          {"offset": round(src - start, 6), "source": [src, src + length]})


def splice_audio(audio: Audio, start: float, end: float, rng: np.random.Generator) -> GeneratedAudio:
    """The window cut at a random point (30-70 % in) and its rest taken from another moment of the same track, the
    seam cross-faded over :data:`SPLICE_FADE` s: an edited sentence in the speaker's own voice (words cut and joined,
    the partial spoofs of PartialSpoof, Zhang et al. 2021, and AV-Deepfake1M's local edits). A fake by the sound
    alone: an audio model can catch it without the picture.

    Example:
        >>> rate = 16000
        >>> track = Audio(np.sin(np.arange(6 * rate) / 40.0).astype(np.float32), rate=rate, start=0.0)
        >>> made = splice_audio(track, 1.0, 1.8, np.random.default_rng(0))
        >>> real = track.segment(1.0, 1.8)
        >>> cut = made.record["cut"]
        >>> made.samples.shape, bool(np.array_equal(made.samples[:cut - 80], real[:cut - 80]))
        ((12800,), True)
    """
    real = audio.segment(start, end)  # (N,)
    n = len(real)
    src = _other_moment(audio, start, end - start, rng)
    other = audio.segment(src, src + (end - start))[:n]  # (N,)
    fade = max(1, int(round(SPLICE_FADE * audio.rate)))
    cut = int(rng.integers(max(fade, int(0.3 * n)), max(fade + 1, int(0.7 * n))))
    out = real.copy()
    out[cut:] = other[cut:]
    w = np.linspace(0.0, 1.0, fade, dtype=np.float32)  # (fade,) the cross-fade before the cut
    out[cut - fade:cut] = real[cut - fade:cut] * (1 - w) + other[cut - fade:cut] * w
    record = {"cut": cut, "offset": round(src - start, 6), "source": [src, src + end - start]}
    return GeneratedAudio(out, "splice", record)


def griffin_lim(magnitude: torch.Tensor, n_fft: int, hop: int, length: int, iters: int = GRIFFIN_LIM_ITERS,
                momentum: float = 0.99, seed: int = 0) -> torch.Tensor:
    """A waveform whose STFT magnitude approaches ``magnitude`` (fast Griffin-Lim, Perraudin et al. 2013).

    Args:
        magnitude: (F, L) STFT magnitude (``F = n_fft // 2 + 1``).
        n_fft: FFT and window size.
        hop: hop (samples).
        length: samples of the output.
        iters: iterations.
        momentum: the fast variant's momentum (0: the original algorithm).
        seed: seed of the random initial phase.

    Returns:
        float (length,) waveform.
    """
    window = torch.hann_window(n_fft, periodic=True, dtype=magnitude.dtype)
    g = torch.Generator().manual_seed(int(seed))
    phase = torch.exp(2j * torch.pi * torch.rand(magnitude.shape, generator=g, dtype=magnitude.dtype))  # (F, L)
    previous = torch.zeros_like(phase)
    for _ in range(iters):
        wave = torch.istft(magnitude * phase, n_fft, hop_length=hop, window=window, length=length)  # (N,)
        rebuilt = torch.stft(wave, n_fft, hop_length=hop, window=window, return_complex=True)  # (F, L)
        accelerated = rebuilt - (momentum / (1 + momentum)) * previous
        previous = rebuilt
        phase = accelerated / accelerated.abs().clamp(min=1e-8)
    return torch.istft(magnitude * phase, n_fft, hop_length=hop, window=window, length=length)


def vocoder_audio(audio: Audio, start: float, end: float, rng: np.random.Generator) -> GeneratedAudio:
    """The window's audio re-synthesised from its mel spectrogram (:data:`VOCODER_MELS` bands): mel power ->
    linear power by the filterbank's pseudo-inverse (clamped at 0) -> magnitude -> :func:`griffin_lim`; the level
    matched to the real window's RMS.

    Example:
        >>> rate = 16000
        >>> t = np.arange(rate) / rate
        >>> track = Audio((0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), rate=rate, start=0.0)
        >>> made = vocoder_audio(track, 0.1, 0.9, np.random.default_rng(0))
        >>> made.samples.shape, bool(np.abs(made.samples - track.segment(0.1, 0.9)).max() > 0.05)
        ((12800,), True)
    """
    real = audio.segment(start, end)  # (N,)
    x = torch.from_numpy(real.astype(np.float64))
    n_fft, hop = VOCODER_N_FFT, VOCODER_N_FFT // 4
    fmax = audio.rate / 2
    mel = power_mel(x, rate=audio.rate, n_fft=n_fft, hop=hop, n_mels=VOCODER_MELS, fmax=fmax)  # (M, L)
    fb = mel_filterbank(audio.rate, n_fft, VOCODER_MELS, fmax=fmax)  # (M, F)
    linear = torch.from_numpy(np.linalg.pinv(fb)) @ mel  # (F, L)
    magnitude = linear.clamp(min=0).sqrt()  # (F, L)
    # torch.stft's centred frames are what power_mel used (zero padding); istft inverts the same framing
    wave = griffin_lim(magnitude, n_fft, hop, len(real), seed=int(rng.integers(0, 2**31 - 1))).numpy()
    rms_real, rms_fake = float(np.sqrt(np.mean(real ** 2))), float(np.sqrt(np.mean(wave ** 2)))
    if rms_fake > 1e-8:
        wave = wave * (rms_real / rms_fake)
    return GeneratedAudio(np.clip(wave, -1, 1).astype(np.float32), "vocoder",
                          {"n_mels": VOCODER_MELS, "n_fft": n_fft, "iters": GRIFFIN_LIM_ITERS})


@dataclass(frozen=True)
class AudioGenerator:
    """A named audio generator: ``fn(audio, start, end, rng) -> GeneratedAudio``, what it imitates, its source.

    ``picture`` is True for a fake only against the picture (the audio alone is real speech of the person: ``avshift``,
    ``avmoment``); :data:`SOUND_GENERATORS` are the others, fakes by their sound alone (an audio-only data set's)."""

    name: str
    fn: Callable[..., GeneratedAudio]
    summary: str
    source: str
    picture: bool = False


AUDIO_GENERATORS: dict[str, AudioGenerator] = {g.name: g for g in (
    AudioGenerator("avshift", avshift_audio, "the person's own audio 0.2-1 s early or late: lip-sync broken",
                   "audio-visual offset augmentation of the FFDV (Inclusion 2024) teams", picture=True),
    AudioGenerator("avmoment", avmoment_audio, "the same voice from another moment: other words on the lips",
                   "lip-sync deepfakes driven by the person's own voice (Wav2Lip-style)", picture=True),
    AudioGenerator("splice", splice_audio, "the window's rest from another moment of the track: words edited",
                   "partial spoofing (PartialSpoof, Zhang et al. 2021; AV-Deepfake1M's local edits)"),
    AudioGenerator("vocoder", vocoder_audio, "the window's audio re-synthesised from its mel by Griffin-Lim",
                   "synthetic-speech artefacts (Griffin & Lim 1984; mel vocoders of TTS)"),
)}
"""Every audio generator, by name."""
SOUND_GENERATORS: tuple[str, ...] = tuple(n for n, g in AUDIO_GENERATORS.items() if not g.picture)
"""The audio generators whose fakes are fakes by the sound alone (``splice``, ``vocoder``): an audio-only set's."""


def generate_audio(method: str, audio: Audio, start: float, end: float, rng: np.random.Generator) -> GeneratedAudio:
    """Run the audio generator ``method`` (:data:`AUDIO_GENERATORS`) on the window ``[start, end)``.

    Raises:
        ValueError: an unknown name or an empty window.
    """
    if method not in AUDIO_GENERATORS:
        raise ValueError(f"unknown audio generator {method!r}; known: {', '.join(AUDIO_GENERATORS)}")
    if not end > start:
        raise ValueError(f"empty audio window [{start}, {end})")
    return AUDIO_GENERATORS[method].fn(audio, float(start), float(end), rng)
