"""The REST API with models that hear: an ``av`` model through a real server (uvicorn on a free localhost port, in a
thread) scores a sample video with sound and returns both kinds of heat maps; an ``audio`` model's answer has
spectrogram maps, no face maps, and no per-frame scores with the reason."""

from __future__ import annotations

import base64
import io
import wave
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from dfdetect.core.config import ServeConfig
from dfdetect.inference import Detector
from dfdetect.inference.detector import NO_FRAME_SCORES_AUDIO
from dfdetect.inference.explain import SPECTROGRAM_ZOOM, Explainer
from dfdetect.serve.app import create_app, score_file
from dfdetect.serve.page import PAGE
from frame_extraction.audio import decode_audio
from tests.serve.conftest import serving_in_thread


def _png(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def test_an_av_model_scores_a_video_with_sound_and_returns_spectrogram_maps(
    untrained_sound_checkpoints: dict[str, Path], face_video: Path, samples_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, one_torch_thread: None,
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # re-read TMPDIR
    weights = untrained_sound_checkpoints["av"]
    det = Detector.load(weights, device="cpu")
    app = create_app(det, weights, ServeConfig(max_clips=1))
    with serving_in_thread(app) as url:
        health = requests.get(f"{url}/healthz", timeout=10).json()
        assert health["model_modalities"] == "av" and health["model_kind"] == "video"
        assert health["model_name"] == "efficientnet-lite0+convlstm+audio-cnn"
        assert "What the model heard" in requests.get(url, timeout=10).text

        def post(path: Path) -> dict:
            files = {"file": (path.name, path.read_bytes(), "video/mp4")}
            r = requests.post(f"{url}/v1/score", files=files, params={"explain": "true"}, timeout=120)
            assert r.status_code == 200, r.text
            return r.json()

        got = post(face_video)
        assert got["status"] == "ok" and got["reason"] == ""
        assert got["score"] == pytest.approx(Detector.load(weights, device="cpu").score(face_video), abs=1e-5)
        (clip,) = got["clips"]
        assert len(got["heatmaps"]) == len(clip["frames"])  # the face crops, one map each
        assert [f["frame"] for f in got["frame_scores"]] == list(range(0, 16, 2))
        (spec,) = got["spectrograms"]
        assert spec["clip"] == 0 and spec["frames"] == clip["frames"] and got["spectrograms_reason"] == ""
        assert _png(spec["png"]).shape == (64 * SPECTROGRAM_ZOOM, 81 * SPECTROGRAM_ZOOM, 3)

        silent = post(samples_dir / "carphone_pristine.mp4")  # a face, no sound track: the video head, face maps
        assert silent["status"] == "ok" and "scored by the video head alone" in silent["reason"]
        assert silent["heatmaps"] and silent["spectrograms"] == []
        assert silent["spectrograms_reason"] == "no sound in this input: no spectrogram heat map"
    assert list(tmp_path.glob("dfdetect-serve-*")) == []


def test_an_audio_model_answers_with_spectrogram_maps_and_window_scores(
        untrained_sound_checkpoints: dict[str, Path], face_video: Path, tmp_path: Path, one_torch_thread: None) -> None:
    weights = untrained_sound_checkpoints["audio"]
    det = Detector.load(weights, device="cpu", clips=2)
    create_app(det, weights)  # accepted: no face detector built for it
    assert det._face_detector is None
    got = score_file(det, Explainer(det, max_clips=2), face_video, face_video.name, explain=True)
    assert got["status"] == "ok" and got["faces"] == 0 and got["score"] == pytest.approx(det.score(face_video))
    assert len(got["clips"]) == 2 and got["clips"][0]["score"] != got["clips"][1]["score"]  # per window of sound
    assert "frame_scores" not in got and got["frame_scores_reason"] == NO_FRAME_SCORES_AUDIO
    assert got["heatmaps"] == []
    assert [s["frames"] for s in got["spectrograms"]] == [c["frames"] for c in got["clips"]]
    assert all(_png(s["png"]).ndim == 3 for s in got["spectrograms"])
    assert 'id="spectrograms"' in PAGE


def _wav_of(video: Path, out: Path) -> Path:
    """The sound of ``video`` as a 16-bit mono .wav (stdlib ``wave``)."""
    audio = decode_audio(video)
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.rate)
        w.writeframes((np.clip(audio.samples, -1, 1) * 32767).astype("<i2").tobytes())
    return out


def test_sound_alone_is_served_to_an_audio_model_and_refused_by_a_picture_model(
    untrained_sound_checkpoints: dict[str, Path], face_video: Path, tmp_path: Path, one_torch_thread: None,
) -> None:
    """A .wav upload is sniffed as sound: an audio model scores it (spectrogram maps, no face), the av model (which
    needs a picture) answers 415 with the reason; nothing is left in the upload folders."""
    wav = _wav_of(face_video, tmp_path / "voice.wav")
    for kind, expected in (("audio", 200), ("av", 415)):
        weights = untrained_sound_checkpoints[kind]
        app = create_app(Detector.load(weights, device="cpu", clips=2), weights, ServeConfig(max_clips=1))
        with serving_in_thread(app) as url:
            # the name lies (.mp4, video/mp4): the content decides
            files = {"file": ("clip.mp4", wav.read_bytes(), "video/mp4")}
            r = requests.post(f"{url}/v1/score", files=files, params={"explain": "true"}, timeout=120)
        assert r.status_code == expected, r.text
        got = r.json()
        if kind == "audio":
            assert got["status"] == "ok" and got["faces"] == 0 and got["heatmaps"] == [] and got["spectrograms"]
        else:
            assert got["status"] == "unreadable" and "sound alone" in got["reason"]
