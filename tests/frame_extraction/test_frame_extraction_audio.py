"""Audio decode (duration, rate, channels, alignment with frame times, no audio track) and the log-mel against
librosa on real speech."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from frame_extraction.audio import AudioError, clip_window, decode_audio, frame_times, has_audio
from frame_extraction.decode import scan_video
from frame_extraction.melspec import log_mel, mel_filterbank


def _tone(rate: int, seconds: float, hz: float, start: float = 0.0) -> np.ndarray:
    """A sine of ``hz`` (amplitude 0.5) that starts at ``start`` s; silence before."""
    t = np.arange(int(round(seconds * rate))) / rate
    return np.where(t >= start, 0.5 * np.sin(2 * np.pi * hz * t), 0.0).astype(np.float32)


def write_media(path: Path, rate: int, channels: int, wave: np.ndarray, fps: int | None = None,
                codec: str = "pcm_s16le") -> None:
    """Write ``wave`` (mono samples; every channel gets it, the 2nd at half level) with PyAV, with a video track of
    grey frames at ``fps`` covering the same duration when ``fps`` is given."""
    layout = "mono" if channels == 1 else "stereo"
    with av.open(str(path), mode="w") as out:
        vstream = None
        if fps:
            vstream = out.add_stream("libx264", rate=fps)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 64, "yuv420p"
        astream = out.add_stream(codec, rate=rate, layout=layout)
        planes = np.stack([wave * (1.0 if c == 0 else 0.5) for c in range(channels)])  # (C, N)
        fmt = "fltp" if codec == "aac" else "s16p"
        data = planes if fmt == "fltp" else (planes * 32767).astype(np.int16)
        step = 1024
        for i in range(0, planes.shape[1], step):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data[:, i:i + step]), format=fmt, layout=layout)
            frame.sample_rate, frame.pts, frame.time_base = rate, i, Fraction(1, rate)
            for packet in astream.encode(frame):
                out.mux(packet)
        for packet in astream.encode(None):
            out.mux(packet)
        if vstream is not None:
            for k in range(int(round(planes.shape[1] / rate * fps))):
                img = np.full((64, 64, 3), (k * 3) % 256, np.uint8)
                for packet in vstream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    out.mux(packet)
            for packet in vstream.encode(None):
                out.mux(packet)


def _peak_hz(wave: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.fft.rfftfreq(len(wave), 1 / rate)[spectrum.argmax()])


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
@pytest.mark.parametrize("channels", [1, 2])
def test_decode_rates_and_channels(tmp_path: Path, rate: int, channels: int) -> None:
    path = tmp_path / f"tone_{rate}_{channels}.wav"
    write_media(path, rate, channels, _tone(rate, 1.0, 440.0), codec="pcm_s16le")
    audio = decode_audio(path, rate=16000)
    assert audio.rate == 16000 and audio.samples.ndim == 1 and audio.samples.dtype == np.float32
    assert abs(audio.duration - 1.0) < 0.005 and abs(audio.start) < 1e-6
    assert _peak_hz(audio.samples, 16000) == pytest.approx(440.0, abs=2.0)
    # FFmpeg's stereo downmix (L + R) / sqrt(2): 0.5 and 0.25 give 0.53
    peak = float(np.abs(audio.samples[1000:-1000]).max())
    assert peak == pytest.approx(0.5 if channels == 1 else 0.75 / np.sqrt(2), abs=0.01)


def test_window_follows_frame_times_in_an_aac_video(tmp_path: Path) -> None:
    """A 25 fps video whose sound (AAC, with its priming samples) starts exactly at 1.0 s: the window of the frames
    from 1.0 s has sound from its first 20 ms, the window of the first frames is silent."""
    path = tmp_path / "beep.mp4"
    write_media(path, 48000, 2, _tone(48000, 2.0, 1000.0, start=1.0), fps=25, codec="aac")
    scan = scan_video(path)
    assert frame_times(scan, [0, 25]).round(4).tolist() == [0.0, 1.0]
    audio = decode_audio(path, rate=16000)
    start, end = clip_window(scan, range(25, 45), seconds=0.8)  # frames 25-44: shown from 1.0 to 1.8 s
    assert (round(start, 4), round(end, 4)) == (1.0, 1.8)
    wave = audio.segment(start, end)
    assert len(wave) == 12800
    assert np.abs(wave[:320]).max() > 0.2  # sound within the first 20 ms
    before = audio.segment(*clip_window(scan, range(0, 20), seconds=0.8))  # 0 - 0.8 s: silence
    assert np.abs(before).max() < 0.02
    # the onset, found in the decoded track, sits at 1.0 s on the container clock (AAC priming accounted for)
    onset = audio.start + np.argmax(np.abs(audio.samples) > 0.1) / audio.rate
    assert onset == pytest.approx(1.0, abs=0.003)


def test_late_audio_track_real_sample(samples_dir: Path) -> None:
    """face_noface.mov: picture from 0 s, sound from 2.43 s; before that a clip's window is silent."""
    path = samples_dir / "face_noface.mov"
    audio = decode_audio(path)
    assert audio.start == pytest.approx(2.430, abs=0.001)
    assert audio.end == pytest.approx(6.42, abs=0.03)
    scan = scan_video(path)
    assert not audio.segment(*clip_window(scan, range(0, 20, 2))).any()
    late = audio.segment(*clip_window(scan, range(120, 140, 2)))  # around 4.3 s: sound
    assert np.abs(late).max() > 0.01


def test_no_audio_track(samples_dir: Path) -> None:
    path = samples_dir / "franck.mp4"
    assert not has_audio(path)
    with pytest.raises(AudioError, match="no audio track"):
        decode_audio(path)
    with pytest.raises(AudioError, match="file not found"):
        decode_audio(samples_dir / "missing.mp4")


def test_log_mel_matches_librosa_on_real_audio(samples_dir: Path) -> None:
    librosa = pytest.importorskip("librosa")
    audio = decode_audio(samples_dir / "no_face.mp4", rate=16000)  # a cartoon's soundtrack: voices and music
    wave = audio.samples[:16000 * 3].astype(np.float64)  # its first 3 s
    assert np.abs(wave).max() > 0.05
    ours = log_mel(torch.from_numpy(wave), rate=16000, n_fft=400, hop=160, n_mels=64, fmax=8000).numpy()
    fb = librosa.filters.mel(sr=16000, n_fft=400, n_mels=64, fmax=8000, dtype=np.float64)
    np.testing.assert_allclose(mel_filterbank(16000, 400, 64, fmax=8000), fb, atol=1e-12)
    ref = librosa.power_to_db(librosa.feature.melspectrogram(y=wave, sr=16000, n_fft=400, hop_length=160, n_mels=64,
                                                             fmax=8000, dtype=np.float64), ref=1.0, top_db=None)
    assert ours.shape == ref.shape == (64, 301)
    assert np.abs(ours - ref).max() < 1e-4
    # float32, what the model is fed: still close
    ours32 = log_mel(torch.from_numpy(wave.astype(np.float32)), 16000, 400, 160, 64, 8000).numpy()
    assert np.abs(ours32 - ref)[ref > -60].max() < 0.05
