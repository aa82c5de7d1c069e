"""Benchmark end-to-end scoring: seconds per video (decode, detect, crop, model) on a 10 s 1080p video, on CPU.

The timed code is THE scoring path (:meth:`dfdetect.inference.detector.Detector.predict`, the one ``eval.py`` and
``Detector.score`` use), with its optional ``timings`` dict giving each stage's share
(:data:`~dfdetect.inference.detector.TIMING_STAGES`). From :func:`dfdetect.inference.prepare.prepare_video`:
``probe`` (``scan_video``: the packet index), ``decode`` (``read_frames``: the sampled frames, each run of them from
the keyframe before it), ``detect`` (:func:`face_crop.pipeline.crop_tracks`' scene cuts and face tracks: full MTCNN on
the key frames, O-Net between them), ``crop`` (``crop_face`` on every tracked face, cut from the full-resolution
frames); from the detector: ``transform`` (uint8 crops -> normalised tensor) and ``model``.
Target of one window (15 frames, T = 10; ``--clips 1``): at most 2 s per 10 s 1080p video on a 2-core CPU. With the
default settings (coverage, below) the goal is per minute of video.

Coverage (issue 26): each runtime scores each video twice, side by side: ``coverage`` (the scoring settings given:
by default one window every ``--window-every`` seconds over the whole video) and ``one window`` (``--clips`` = the
checkpoint's ``train.val_clips``, the cost before coverage); ``s_per_min`` is the seconds per minute of video
(``total_s * 60 / duration_s``; goal: at most 3 s per minute of 1080p with onnxruntime on 2 cores), beside
``windows`` and ``covered_s`` of ``duration_s``. The videos: the 10 s 1080p one, and ``--minutes`` (default 1) of
1080p and of 640x360, all made from the same sample.

Peak memory (``--long-minutes``, default 60; 0 = off): each runtime and mode scores the ``--minutes`` 1080p video and
a ``--long-minutes`` 1080p video (that video repeated without re-encoding, :func:`bench.common.repeat_video`) in a
process of its own (``python -m dfdetect score``), whose peak resident memory (``VmHWM``) and wall time, start-up
included, are printed (goal: at most 2 GiB for an hour of 1080p with the default coverage).

Torch and onnxruntime side by side (``--onnx``, on by default): the checkpoint is also exported to ONNX
(:func:`dfdetect.inference.export.export_model`, T fixed, batch dynamic) and the same videos are scored by
``Detector.load("model.onnx")`` on the CPU; ``runtime`` says which, ``max_abs_diff`` is the largest score difference
from torch over the videos (the export promises 1e-4). A checkpoint with a fitted landmark stream (the default; the
untrained one is given a zero-weight stream) is also timed as :data:`NETWORK_ALONE`: the same ONNX network with the
stream turned off, so the stream's cost (the face mesh of every crop, in ``model``) reads off side by side.

The 1080p video is made once by :func:`bench.common.make_hd_video` from a sample
(``bench_out/hd_10s_1080p.mp4``, shared with bench/prep.py); the
sample itself (640x360) is timed too. Without ``--weights`` an untrained model of ``--backbone`` is saved to a
temporary checkpoint (speed does not depend on the weights). The first call is an untimed warm-up (detector and
model construction, first-call allocations); the run with the median total of ``--repeat`` runs is reported,
with its stages, and the fastest total.

Usage:
    python bench/score.py --samples data/samples [--weights runs/x/best.pt] [--repeat 3] [--tta 1] [--clips 1]
        [--no-onnx] [--minutes 1] [--long-minutes 60]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# `python bench/score.py` puts bench/ first on the path, where its scripts' names would shadow packages (bench/av.py is
# not PyAV): the project's root takes its place.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import torch  # noqa: E402

from bench.common import HD_NAME, format_table, make_hd_video, peak_rss_gb, repeat_video  # noqa: E402
from dfdetect.core.checkpoint import save_checkpoint  # noqa: E402
from dfdetect.core.cli import add_verbose, run_cli  # noqa: E402
from dfdetect.core.config import TEMPORAL_MODELS, Config, add_score_overrides, score_from_args  # noqa: E402
from dfdetect.core.io import write_csv  # noqa: E402
from dfdetect.inference.detector import TIMING_STAGES, Detector  # noqa: E402
from dfdetect.inference.export import export_model  # noqa: E402
from frame_extraction.decode import probe_video  # noqa: E402
from models.build import build_model  # noqa: E402

log = logging.getLogger("bench.score")

SOURCE = "WolfgangLanger_Pexels.mp4"  # a face throughout most of it (a hand covers it briefly)
TARGET_S = 2.0
PEAK_GIB = 2.0  # issue 26: an hour of 1080p with the default coverage peaks at most at 2 GiB


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--samples", default=str(ROOT / "data" / "samples"), help="sample videos folder")
    p.add_argument("--weights", help="checkpoint to time (default: an untrained --backbone model)")
    p.add_argument("--backbone", default="efficientnet-b0", help="backbone of the untrained model without --weights")
    p.add_argument("--temporal", default=Config().model.temporal, choices=TEMPORAL_MODELS,
                   help="temporal model of the untrained model without --weights (default: the config's)")
    p.add_argument("--out", default="bench_out", help="where the 1080p video and score.csv go")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per video (median reported)")
    add_score_overrides(p, "clips", "window_every", "max_windows", "tta", "batch_size", "device")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, the core count)")
    p.add_argument("--no-onnx", dest="onnx", action="store_false", help="time torch only (no ONNX export)")
    p.add_argument("--minutes", type=float, default=1.0, help="length of the 1080p and 640x360 videos timed (minutes)")
    p.add_argument("--long-minutes", type=int, default=60,
                   help="length of the long 1080p video whose peak memory is measured (minutes; 0: no peak memory)")
    add_verbose(p)
    return p


NETWORK_ALONE = "onnxruntime, network alone"
"""The ``runtime`` of the rows timed without the landmark stream."""


def untrained_checkpoint(folder: Path, backbone: str, temporal: str) -> Path:
    """Save a randomly initialised model with the default config (but ``backbone``, ``temporal``) as a checkpoint; its
    landmark stream is marked fitted (zero weights), so scoring pays for the face mesh as a trained default does."""
    cfg = Config()
    cfg.model.backbone, cfg.model.temporal, cfg.model.pretrained, cfg.model.weights = backbone, temporal, False, None
    path = folder / "untrained.pt"
    model = build_model(cfg.model)
    head = model.landmark_head
    if head is not None:
        n = head.mean.numel()
        # the one-class cue (the default) at the origin with unit spread: its Mahalanobis distance is computed too
        unusual = ({"centre": torch.zeros(n), "precision": torch.eye(n), "distance": torch.tensor([0.0, 1.0])}
                   if head.unusual else {})
        head.set_fit(torch.zeros(n), torch.ones(n), torch.zeros(n), torch.tensor(0.0),
                     torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0]), **unusual)
    save_checkpoint(path, model, cfg)
    return path


def time_video(det: Any, video: Path, repeat: int) -> dict[str, Any]:
    """Seconds in total and per stage of the median run (by total) among ``repeat`` scorings of ``video``.

    The stages come from that one run, so they add up to its total (``other_s`` is the rest: bookkeeping).
    """
    runs: list[tuple[float, dict[str, float], Any]] = []
    for _ in range(max(1, repeat)):
        t: dict[str, float] = {}
        start = time.perf_counter()
        (result,) = det.predict([video], timings=t)
        runs.append((time.perf_counter() - start, t, result))
    runs.sort(key=lambda r: r[0])
    total, t, result = runs[len(runs) // 2]
    row: dict[str, Any] = {"video": video.name, "total_s": total, "status": result.status, "faces": result.faces,
                           "sampled": result.sampled, "min_total_s": runs[0][0], "score": result.score,
                           "windows": result.windows, "covered_s": result.covered_s, "duration_s": result.duration_s,
                           "s_per_min": total * 60.0 / result.duration_s if result.duration_s > 0 else float("nan")}
    for s in TIMING_STAGES:
        row[f"{s}_s"] = t.get(s, 0.0)
    row["other_s"] = max(0.0, total - sum(row[f"{s}_s"] for s in TIMING_STAGES))
    return row


def main(argv: list[str] | None = None) -> int:
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    """The body of :func:`main` (after the arguments and the logging setup); an InputError -> exit 2."""
    if args.threads:
        torch.set_num_threads(args.threads)
    samples, out = Path(args.samples), Path(args.out)
    source = samples / SOURCE
    if not source.is_file():
        log.error("%s not found (run `make data`)", source)
        return 2
    hd = make_hd_video(source, out / HD_NAME)
    seconds = round(60 * args.minutes)
    hd_min = make_hd_video(source, out / f"hd_{seconds}s_1080p.mp4", seconds=seconds)
    sd_min = make_hd_video(source, out / f"sd_{seconds}s_360p.mp4", seconds=seconds, size=(640, 360))
    videos = (hd, hd_min, sd_min)
    rows, peaks = [], []
    with tempfile.TemporaryDirectory() as tmp:
        weights = (Path(args.weights) if args.weights
                   else untrained_checkpoint(Path(tmp), args.backbone, args.temporal))
        runtimes = {"torch": weights}
        if args.onnx:
            runtimes["onnxruntime"] = export_model(weights, "onnx", Path(tmp) / "model.onnx")
        # onnxruntime runs on the CPU here; torch on --device
        score = score_from_args(args)
        detectors = {name: Detector.load(path, score, device=score.device if name == "torch" else "cpu")
                     for name, path in runtimes.items()}
        if args.onnx and detectors["onnxruntime"].landmark_head is not None:
            # the cost of the landmark stream, side by side: the same ONNX network without it
            alone = Detector.load(runtimes["onnxruntime"], score, device="cpu")
            alone.landmark_head = None
            detectors[NETWORK_ALONE] = alone
        # the cost before coverage, measured in the same run: the checkpoint's val_clips windows per video
        one_window = {name: Detector(d.model, d.cfg, d.score_config, face_detector=d.face_detector,
                                     clips=d.cfg.train.val_clips, device=d.device)
                      for name, d in detectors.items()}
        det = detectors["torch"]
        d = det.cfg.data
        log.info("%s on %s, %d window(s) x %d frames (stride %d), T = %d, %d px, TTA %d, %d torch threads",
                 det.cfg.model.backbone, det.device, det.clips, d.sample_frames, d.stride, d.frames, d.size, det.tta,
                 torch.get_num_threads())
        for runtime, runtime_det in detectors.items():
            list(runtime_det.predict([hd]))  # warm-up, untimed
            for mode, mode_det in (("coverage", runtime_det), ("one window", one_window[runtime])):
                for video in videos:
                    info = probe_video(video)
                    row = time_video(mode_det, video, args.repeat)
                    row["runtime"], row["mode"] = runtime, mode
                    row["resolution"] = f"{info.width}x{info.height}"
                    row["videos_per_s"] = 1.0 / row["total_s"]
                    rows.append(row)
        if args.long_minutes > 0:
            long = repeat_video(hd_min, out / f"hd_{args.long_minutes}min_1080p.mp4",
                                max(1, round(args.long_minutes * 60 / seconds)))
            for runtime, path in runtimes.items():
                for mode, clips in (("coverage", score.clips), ("one window", det.cfg.train.val_clips)):
                    for video in (hd_min, long):
                        peaks.append(peak_row(path, runtime, mode, clips, video, score, args.threads))
    torch_scores = {(r["video"], r["mode"]): r["score"] for r in rows if r["runtime"] == "torch"}
    for r in rows:  # the network alone scores otherwise by design: no difference to report
        r["max_abs_diff"] = (None if r["runtime"] == NETWORK_ALONE
                             else abs(r["score"] - torch_scores[(r["video"], r["mode"])]))
    columns = ["runtime", "mode", "video", "resolution", "windows", "covered_s", "duration_s", "s_per_min",
               "videos_per_s", "total_s", "min_total_s", *(f"{s}_s" for s in TIMING_STAGES), "other_s", "faces",
               "sampled", "status", "score", "max_abs_diff"]
    write_csv(out / "score.csv", rows, columns)
    shares = ", ".join(f"{s} {100 * rows[0][f'{s}_s'] / rows[0]['total_s']:.0f}%" for s in TIMING_STAGES)
    verdict = "within" if rows[0]["total_s"] <= TARGET_S else "OVER"
    log.info("scoring benchmark on %s (median of %d):\n%s\n1080p: %.2f s per video, %.2f videos/s (%s the %.1f s "
             "target); %s", det.device, args.repeat, format_table(rows, columns), rows[0]["total_s"],
             rows[0]["videos_per_s"], verdict, TARGET_S, shares)
    for r in rows:
        log.info("%s, %s, %s %s: %.2f s per minute of video (%d windows over %.1f of %.1f s)", r["runtime"],
                 r["mode"], r["video"], r["resolution"], r["s_per_min"], r["windows"], r["covered_s"],
                 r["duration_s"])
    if peaks:
        peak_columns = ["runtime", "mode", "video", "duration_s", "status", "wall_s", "s_per_min", "peak_gb"]
        write_csv(out / "score_peak.csv", peaks, peak_columns)
        worst = max((r for r in peaks if r["mode"] == "coverage" and r["video"] != hd_min.name),
                    key=lambda r: r["peak_gb"])
        log.info("peak memory, one process per row (wall time includes start-up):\n%s\n%s: %.2f GiB at most (%s the "
                 "%.0f GiB goal)", format_table(peaks, peak_columns), worst["video"], worst["peak_gb"] * 1e9 / 2**30,
                 "within" if worst["peak_gb"] * 1e9 <= PEAK_GIB * 2**30 else "OVER", PEAK_GIB)
    return 0


def peak_row(weights: Path, runtime: str, mode: str, clips: int | None, video: Path, score: Any,
             threads: int | None) -> dict[str, Any]:
    """Score ``video`` in a process of its own (``python -m dfdetect score``) and return its wall time and peak
    resident memory (:func:`bench.common.peak_rss_gb`)."""
    cmd = [sys.executable, "-m", "dfdetect", "score", "--weights", str(weights), str(video),
           "--device", score.device if runtime == "torch" else "cpu"]
    if clips is not None:
        cmd += ["--clips", str(clips)]
    if score.batch_size is not None:
        cmd += ["--batch-size", str(score.batch_size)]
    env = {**os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
    info = probe_video(video)
    duration = info.num_frames / info.fps if info.fps else 0.0
    start = time.perf_counter()
    code, peak = peak_rss_gb(cmd, cwd=ROOT, env=env)
    wall = time.perf_counter() - start
    return {"runtime": runtime, "mode": mode, "video": video.name, "duration_s": duration,
            "status": "ok" if code == 0 else f"exit {code}", "wall_s": wall,
            "s_per_min": wall * 60.0 / duration if duration else float("nan"), "peak_gb": peak}


if __name__ == "__main__":
    sys.exit(main())
