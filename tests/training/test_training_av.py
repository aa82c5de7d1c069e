"""train.py and eval.py with ``model.modalities: av | audio``: the sound read from the source videos (``--videos``),
a video without sound scored by the video head (and said so), an audio-only file scored by an audio model."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from dfdetect.core.io import read_csv, write_csv
from dfdetect.inference.evaluate import main as eval_main
from dfdetect.training.cli import main as train_main
from frame_extraction.audio import decode_audio
from tests.fixtures import CROP_SIZE, MIN_FACES, SAMPLE_FRAMES, TINY_FRAMES

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _train(modalities: str, sample_crops: Path, samples_dir: Path, root: Path) -> Path:
    names = sorted({r["video"] for r in read_csv(sample_crops)})
    split = root / "split.csv"
    write_csv(split, [{"video_name": n, "split": "val" if n.startswith("carphone") else "train"} for n in names],
              ["video_name", "split"])
    cfg = root / "tiny.yaml"
    cfg.write_text(f"data:\n  sample_frames: {SAMPLE_FRAMES}\n  min_faces: {MIN_FACES}\nmodel:\n  audio_channels: 4\n")
    run = root / modalities
    assert train_main([
        "--data", str(sample_crops), "--split", str(split), "--out", str(run), "--config", str(cfg),
        "--videos", str(samples_dir), "--modalities", modalities, "--backbone", "efficientnet-lite0",
        "--clip-len", str(TINY_FRAMES), "--size", str(CROP_SIZE), "--batch-size", "4", "--epochs", "1",
        "--val-clips", "1", "--seed", "0", "--synth-fakes", "0"]) == 0
    return run


def _status(out: Path) -> dict[str, dict[str, str]]:
    return {r["video_name"]: r for r in read_csv(out / "predictions_status.csv")}


def test_av_model_trains_with_the_sound_and_scores_a_silent_video_by_its_video_head(
        sample_crops: Path, samples_dir: Path, tmp_path: Path) -> None:
    run = _train("av", sample_crops, samples_dir, tmp_path)
    out = tmp_path / "eval"
    videos = [str(samples_dir / n) for n in ("single_face.mp4", "carphone_pristine.mp4")]
    assert eval_main([str(run / "best.pt"), *videos, "--out", str(out), "--clips", "2"]) == 0
    rows = _status(out)
    assert rows["single_face.mp4"]["status"] == "ok" and rows["single_face.mp4"]["reason"] == ""
    silent = rows["carphone_pristine.mp4"]  # a face, no audio track
    assert silent["status"] == "ok"
    assert silent["reason"] == "no audio track: scored by the video head alone"
    assert len(silent["clip_scores"].split()) >= 2


def test_audio_model_scores_an_audio_only_file_and_refuses_a_video_without_sound(
        sample_crops: Path, samples_dir: Path, tmp_path: Path) -> None:
    run = _train("audio", sample_crops, samples_dir, tmp_path)
    summary = json.loads((run / "run.json").read_text())
    assert summary["skipped"]["carphone_pristine.mp4"] == "no sound for the audio model: no audio track"
    track = decode_audio(samples_dir / "single_face.mp4", 16000)  # its sound alone, as a wav file
    wav = tmp_path / "voice.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes((np.clip(track.samples, -1, 1) * 32767).astype("<i2").tobytes())
    out = tmp_path / "eval"
    assert eval_main([str(run / "best.pt"), str(wav), str(samples_dir / "franck.mp4"), "--out", str(out),
                      "--clips", "3"]) == 0
    rows = _status(out)
    assert rows["voice.wav"]["status"] == "ok" and rows["voice.wav"]["faces"] == "0"
    scores = [float(s) for s in rows["voice.wav"]["clip_scores"].split()]  # 3 windows over its 2.4 s
    assert len(scores) == 3 and all(0 < s < 1 for s in scores) and len(set(scores)) == 3
    assert rows["franck.mp4"]["status"] == "no_audio" and rows["franck.mp4"]["reason"] == "no audio track"
