"""The audio-visual fake generators on real audio (the cartoon soundtrack of ``no_face.mp4``): each changes the clip's
audio as it says, keeps its length, adds no silence, and is deterministic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dfdetect.synth.audio import AUDIO_GENERATORS, SHIFT_RANGE, SOUND_GENERATORS, generate_audio
from frame_extraction.audio import Audio, decode_audio
from frame_extraction.melspec import log_mel


@pytest.fixture(scope="module")
def track(samples_dir: Path) -> Audio:
    return decode_audio(samples_dir / "no_face.mp4", rate=16000)  # 3.97 s of voices and music


@pytest.mark.parametrize("method", sorted(AUDIO_GENERATORS))
def test_each_generator_changes_the_window_and_is_deterministic(track: Audio, method: str) -> None:
    start, end = 1.5, 2.3
    real = track.segment(start, end)
    a = generate_audio(method, track, start, end, np.random.default_rng(3))
    b = generate_audio(method, track, start, end, np.random.default_rng(3))
    assert a.method == method and a.samples.dtype == np.float32 and a.samples.shape == real.shape == (12800,)
    assert np.array_equal(a.samples, b.samples)
    assert np.abs(a.samples - real).mean() > 0.1 * np.abs(real).mean()  # changed
    assert np.abs(a.samples[:320]).max() > 1e-3  # no silence put at the start


def test_shift_and_moment_take_the_same_track_elsewhere(track: Audio) -> None:
    for seed in range(5):
        shift = generate_audio("avshift", track, 1.5, 2.3, np.random.default_rng(seed))
        assert SHIFT_RANGE[0] - 1e-6 <= abs(shift.record["offset"]) <= SHIFT_RANGE[1] + 1e-6
        src = shift.record["source"][0]
        assert np.array_equal(shift.samples, track.segment(src, src + 0.8))
        moment = generate_audio("avmoment", track, 1.5, 2.3, np.random.default_rng(seed))
        assert abs(moment.record["offset"]) >= 1.0
        assert track.start <= moment.record["source"][0] and moment.record["source"][1] <= track.end + 1e-6
    # at the very start of the track the shift goes later, never into the silence before the track
    first = generate_audio("avshift", track, track.start, track.start + 0.8, np.random.default_rng(0))
    assert first.record["offset"] > 0


def test_vocoder_keeps_the_words_not_the_waveform(track: Audio) -> None:
    start, end = 1.5, 2.3
    real = track.segment(start, end)
    fake = generate_audio("vocoder", track, start, end, np.random.default_rng(0)).samples
    assert np.sqrt(np.mean(fake ** 2)) == pytest.approx(np.sqrt(np.mean(real ** 2)), rel=1e-3)  # level kept
    assert abs(np.corrcoef(real, fake)[0, 1]) < 0.5  # the phase is made up: another waveform
    mr, mf = (log_mel(torch.from_numpy(x)).numpy() for x in (real, fake))  # (64, 81) dB
    assert np.corrcoef(mr.ravel(), mf.ravel())[0, 1] > 0.8  # the same spectrogram, roughly: the same sounds


def test_splice_keeps_the_start_and_takes_the_rest_from_elsewhere(track: Audio) -> None:
    start, end = 1.5, 2.3
    real = track.segment(start, end)
    cuts = set()
    for seed in range(5):
        made = generate_audio("splice", track, start, end, np.random.default_rng(seed))
        cut, (src, src_end) = made.record["cut"], made.record["source"]
        fade = 80  # 5 ms at 16 kHz
        assert 0.3 * len(real) <= cut <= 0.7 * len(real) and abs(made.record["offset"]) >= 1.0
        assert np.array_equal(made.samples[:cut - fade], real[:cut - fade])  # the start is the real window's
        assert np.array_equal(made.samples[cut:], track.segment(src, src_end)[cut:])  # the rest from elsewhere
        seam = made.samples[cut - fade:cut]
        lo = np.minimum(real[cut - fade:cut], track.segment(src, src_end)[cut - fade:cut])
        hi = np.maximum(real[cut - fade:cut], track.segment(src, src_end)[cut - fade:cut])
        assert np.all((seam >= lo - 1e-6) & (seam <= hi + 1e-6))  # a cross-fade between the two, no click
        cuts.add(cut)
    assert len(cuts) > 1  # the cut moves with the seed
    assert "splice" in SOUND_GENERATORS and "vocoder" in SOUND_GENERATORS
    assert not {"avshift", "avmoment"} & set(SOUND_GENERATORS)  # fakes only against the picture
