"""Benchmark the detector's training step (Adam) and inference: clips per second and peak memory.

Cases, side by side at the training defaults (``train.batch_size``, ``data.frames``, ``data.size``):

* CPU: fp32 in the plain memory layout vs fp32 channels-last (what ``train.py`` and scoring use on the CPU,
  :func:`models.build.to_device`) vs bf16 autocast (peak memory = the process's peak RSS, ``resource.getrusage``).
* CUDA: fp32 vs AMP (bf16 where supported, else fp16 with a GradScaler) + channels_last, with DataLoader workers on;
  the time spent in ``next(loader)`` against the step time tells whether the GPU waits for data (peak memory =
  ``torch.cuda.max_memory_allocated``).

Clips come from the real data path: :class:`dfdetect.data.ClipDataset` reading PNG face-size crops from disk (cut from
a sample video when one is there, synthetic otherwise), with the training augmentation for training cases. The step is
THE training step, :func:`dfdetect.training.step.train_step` (inference: :func:`~dfdetect.training.step.predict_batch`),
so the bench times exactly what ``train.py`` runs. Weights are random (``pretrained=False``): speed does not depend on
them, and the bench runs offline. Each case runs in a fresh process (``--no-isolate`` to run in this one) so that one
case's peak memory does not leak into the next.

Usage:
    python bench/train.py [--backbone efficientnet-b0] [--device cpu|cuda] [--steps 3]
    python bench/train.py --backbone efficientnet-lite0 --batch-size 2 --clip-len 4 --size 96 --steps 1  # quick
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# `python bench/train.py` puts bench/ first on the path, where its scripts' names would shadow packages (bench/av.py is
# not PyAV): the project's root takes its place.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench.common import format_table  # noqa: E402
from dfdetect.core.cli import add_verbose, run_cli  # noqa: E402
from dfdetect.core.config import ModelConfig, default_of  # noqa: E402
from dfdetect.core.io import InputError, save_image, write_csv  # noqa: E402
from dfdetect.core.runtime import resolve_device  # noqa: E402
from dfdetect.data import ClipDataset, ClipSpec, VideoCrops, build_clip_augmentation  # noqa: E402
from dfdetect.training.step import predict_batch, train_step  # noqa: E402
from frame_extraction.decode import sample_video  # noqa: E402
from models import BACKBONES, build_model, to_device  # noqa: E402

log = logging.getLogger("bench.train")

COLUMNS = [
    "phase", "precision", "device", "batch", "frames", "size", "threads", "workers",
    "step_s", "data_s", "clips_per_s", "clips_per_s_with_data", "data_wait_pct", "peak_mem_gb", "loss", "error",
]
N_CROPS = 16  # distinct crops per bench video; clips are windows of T of them


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--backbone", default=default_of("model.backbone"), help="efficientnet-b0 | efficientnet-lite0")
    p.add_argument("--temporal", default=default_of("model.temporal"), help="mean | convlstm | two-stream")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="auto = CUDA when available")
    p.add_argument(
        "--steps", type=int, default=None,
        help="timed steps per case (default 3 on CPU; 30 on CUDA, more than the loader's prefetched batches,\n"
        "so that a loader too slow for the GPU shows as time in next(loader))",
    )
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 1 on CPU, 3 on CUDA)")
    p.add_argument("--batch-size", type=int, default=default_of("train.batch_size"))
    p.add_argument("--clip-len", "--frames", dest="frames", type=int, default=default_of("data.frames"),
                   help="T, timesteps per clip (--frames: its old name)")
    p.add_argument("--size", type=int, default=default_of("data.size"), help="crop side in pixels")
    p.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: 0 on CPU, 4 on CUDA)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: cores minus workers)")
    p.add_argument("--phases", default="train,infer", help="comma-separated: train, infer")
    p.add_argument("--samples", default=str(ROOT / "data" / "samples"), help="sample videos to cut crops from")
    p.add_argument("--csv", default=None, help="also write the table to this CSV file")
    p.add_argument("--no-isolate", action="store_true", help="run every case in this process (peak RSS accumulates)")
    add_verbose(p)
    p.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case (JSON) in a child process
    return p


# ----------------------------------------------------------------------------------------------------------- data
def _source_frames(samples: Path, n: int) -> list[np.ndarray]:
    """n RGB frames of a real face video when available (realistic PNG sizes), else smooth synthetic images."""
    video = samples / "single_face.mp4"
    if video.is_file():
        try:
            frames = sample_video(video, n=n, stride=default_of("data.stride"), mode="linspace").frames
            if frames:
                return frames
        except Exception as e:  # the bench must still run without the sample or the decoder
            log.warning("cannot read %s (%s): using synthetic crops", video, e)
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        small = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
        img = cv2.resize(small, (256, 256), interpolation=cv2.INTER_CUBIC)
        out.append(np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8))
    return out


def make_crops(folder: Path, samples: Path, size: int) -> list[VideoCrops]:
    """Write two bench "videos" of ``N_CROPS`` PNG crops (size x size) and return them as VideoCrops."""
    frames = _source_frames(samples, N_CROPS)
    videos = []
    for v, label in enumerate((0, 1)):
        paths = []
        for i in range(N_CROPS):
            img = frames[i % len(frames)]
            h, w = img.shape[:2]
            side = min(h, w)
            y, x = (h - side) // 2, (w - side) // 2  # centre square: a face-sized crop of the frame
            crop = cv2.resize(img[y : y + side, x : x + side], (size, size), interpolation=cv2.INTER_AREA)
            if v:
                crop = np.ascontiguousarray(crop[:, ::-1])  # the second video differs from the first
            path = folder / f"video{v}" / f"{i:06d}.png"
            save_image(path, crop)
            paths.append(path)
        videos.append(
            VideoCrops(
                video=f"video{v}.mp4", label=label, frames=list(range(N_CROPS)), paths=paths,
                boxes=np.zeros((N_CROPS, 4), np.float32), landmarks=np.full((N_CROPS, 5, 2), np.nan, np.float32),
            )
        )
    return videos


def make_loader(case: dict[str, Any], videos: list[VideoCrops], mean: tuple, std: tuple) -> torch.utils.data.DataLoader:
    """The training/eval loader over enough clips for warmup + steps batches."""
    rng = np.random.default_rng(0)
    t, n_batches = case["frames"], case["warmup"] + case["steps"]
    specs = []
    for i in range(case["batch"] * n_batches):
        start = int(rng.integers(0, max(1, N_CROPS - t + 1)))
        window = tuple(min(start + k, N_CROPS - 1) for k in range(t))  # repeats the last crop when T > N_CROPS
        specs.append(ClipSpec(video=i % len(videos), window=window, seed=i))
    augment = build_clip_augmentation(case["size"]) if case["phase"] == "train" else None
    ds = ClipDataset(videos, specs, size=case["size"], mean=mean, std=std, augment=augment)
    workers = case["workers"]
    return torch.utils.data.DataLoader(
        ds,
        batch_size=case["batch"],
        shuffle=False,
        num_workers=workers,
        pin_memory=case["device"] == "cuda",
        persistent_workers=False,
        prefetch_factor=2 if workers else None,
        worker_init_fn=_worker_init if workers else None,
    )


def _worker_init(_: int) -> None:
    cv2.setNumThreads(1)  # one core per loader worker


# ----------------------------------------------------------------------------------------------------------- cases
def _peak_mem_gb(device: str) -> float:
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux reports KiB


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """Run one (phase, precision) case and return its table row.

    ``case`` holds plain values: phase ``train|infer``, precision ``fp32|fp32-plain|bf16-autocast|amp+channels_last``
    (``fp32-plain``: the plain memory layout; the others as :func:`models.build.to_device` places the model), device,
    backbone, temporal, batch, frames, size, steps, warmup, workers, threads, samples.
    """
    row = {k: case[k] for k in ("phase", "precision", "device", "batch", "frames", "size", "workers")}
    device = torch.device(case["device"])
    torch.set_num_threads(case["threads"])
    row["threads"] = torch.get_num_threads()
    torch.manual_seed(0)
    model = build_model(ModelConfig(backbone=case["backbone"], temporal=case["temporal"], pretrained=False))
    amp_dtype = None
    if case["precision"] == "bf16-autocast":
        amp_dtype = torch.bfloat16
    elif case["precision"] == "amp+channels_last":
        amp_dtype = torch.bfloat16 if device.type != "cuda" or torch.cuda.is_bf16_supported() else torch.float16
    # THE placement of train.py: channels-last on the CPU and with AMP (the forward turns its frames to match)
    to_device(model, device, amp=amp_dtype is not None)
    if case["precision"] == "fp32-plain":
        model.to(memory_format=torch.contiguous_format)  # the layout train.py used on the CPU before to_device
    # Disabled unless fp16: train_step's scale/step/update then pass the loss and the step through unchanged.
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    train = case["phase"] == "train"
    model.train(train)
    optimizer = torch.optim.Adam(model.parameters(), lr=default_of("train.lr")) if train else None
    loss_fn = torch.nn.BCEWithLogitsLoss()

    with tempfile.TemporaryDirectory(prefix="bench_crops_") as tmp:
        videos = make_crops(Path(tmp), Path(case["samples"]), case["size"])
        loader = make_loader(case, videos, model.mean, model.std)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: cuDNN picks its fastest kernels during warmup
            torch.cuda.reset_peak_memory_stats()
        data_times, step_times = [], []
        loss_value = float("nan")
        it = iter(loader)
        for i in range(case["warmup"] + case["steps"]):
            t0 = time.perf_counter()
            batch = next(it)
            t1 = time.perf_counter()
            if train:  # THE training step: (B, T, C, H, W) clips -> one Adam step
                loss = train_step(model, batch, optimizer, scaler, loss_fn, device, amp_dtype)
            else:  # (B,) logits without gradients
                loss = loss_fn(predict_batch(model, batch, device, amp_dtype), batch["label"].to(device))
            loss_value = float(loss)  # also synchronises CUDA before the clock stops
            t2 = time.perf_counter()
            if i >= case["warmup"]:
                data_times.append(t1 - t0)
                step_times.append(t2 - t1)
            log.debug("%s %s step %d: data %.3fs step %.3fs loss %.4f", case["phase"], case["precision"], i,
                      t1 - t0, t2 - t1, loss_value)
        del it, loader  # shut loader workers down before the crops folder goes
    step_s, data_s = statistics.median(step_times), statistics.median(data_times)
    row.update(
        step_s=step_s,
        data_s=data_s,
        clips_per_s=case["batch"] / step_s,
        clips_per_s_with_data=case["batch"] / (step_s + data_s),
        data_wait_pct=100.0 * data_s / (step_s + data_s),
        peak_mem_gb=_peak_mem_gb(device.type),
        loss=loss_value,
        error="",
    )
    return row


def _run_isolated(case: dict[str, Any]) -> dict[str, Any]:
    """Run a case in a fresh interpreter so its peak memory is its own."""
    with tempfile.TemporaryDirectory(prefix="bench_case_") as tmp:
        result = Path(tmp) / "row.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--case", json.dumps({**case, "result": str(result)})]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0 or not result.is_file():
            tail = (proc.stdout or "").strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
            raise RuntimeError(tail[0])
        return json.loads(result.read_text())


def plan_cases(args: argparse.Namespace, device: str) -> list[dict[str, Any]]:
    """The (phase, precision) grid for the device, each as a plain dict a child process can take as JSON."""
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    bad = [p for p in phases if p not in ("train", "infer")]
    if bad:
        raise InputError(f"unknown phase(s) {bad}: use train and/or infer")
    precisions = ["fp32", "amp+channels_last"] if device == "cuda" else ["fp32-plain", "fp32", "bf16-autocast"]
    workers = args.workers if args.workers is not None else (min(4, max(1, (os.cpu_count() or 2) - 1))
                                                             if device == "cuda" else 0)
    threads = args.threads or max(1, (os.cpu_count() or 1) - (workers if device == "cpu" else 0))
    base = {
        "device": device, "backbone": args.backbone, "temporal": args.temporal, "batch": args.batch_size,
        "frames": args.frames, "size": args.size, "steps": args.steps, "warmup": args.warmup, "workers": workers,
        "threads": threads, "samples": args.samples,
    }
    return [{**base, "phase": ph, "precision": pr} for ph in phases for pr in precisions]


def _allocator_note() -> str:
    preload = os.environ.get("LD_PRELOAD", "")
    if "tcmalloc" in preload:
        return "tcmalloc (LD_PRELOAD)"
    if os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        return "glibc, tuned (MALLOC_MMAP_THRESHOLD_)"
    return "glibc default (CPU runs 1.6-1.9x slower than with tcmalloc: use `make bench`)"


def main(argv: list[str] | None = None) -> int:
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    """The body of :func:`main` (after the arguments and the logging setup)."""
    if args.case:  # child process: one case, its row as JSON
        case = json.loads(args.case)
        row = run_case(case)
        Path(case["result"]).write_text(json.dumps(row))
        return 0
    if args.backbone not in BACKBONES:
        raise InputError(f"unknown backbone {args.backbone!r} (choose from {', '.join(BACKBONES)})")
    device = resolve_device(args.device).type
    if args.steps is None:
        args.steps = 30 if device == "cuda" else 3
    if args.warmup is None:
        args.warmup = 3 if device == "cuda" else 1
    if min(args.steps, args.batch_size, args.frames, args.size) < 1 or args.warmup < 0:
        raise InputError("--steps, --batch-size, --frames and --size must be >= 1, --warmup >= 0")
    cases = plan_cases(args, device)

    log.info(
        "bench: %s + %s on %s, batch %d x T %d x %d px, %d+%d steps per case, allocator: %s",
        args.backbone, args.temporal, device, args.batch_size, args.frames, args.size, args.warmup, args.steps,
        _allocator_note(),
    )
    rows = []
    for case in cases:
        log.info("case %s / %s ...", case["phase"], case["precision"])
        try:
            row = run_case(case) if args.no_isolate else _run_isolated(case)
        except Exception as e:  # one failing case (e.g. out of memory) must not hide the others
            log.error("case %s / %s failed: %s", case["phase"], case["precision"], e)
            row = {**{k: case.get(k, "") for k in COLUMNS}, "error": str(e)[:200]}
        rows.append(row)
    print(format_table(rows, COLUMNS))
    if device == "cuda":
        for row in rows:
            if row.get("error") or row["phase"] != "train":
                continue
            waits = row["data_wait_pct"] > 10.0
            print(f"{row['precision']}: the GPU {'WAITS' if waits else 'does not wait'} for data "
                  f"({row['data_s']:.3f} s in next(loader) vs {row['step_s']:.3f} s per step, "
                  f"{row['workers']} workers)")
    if args.csv:
        write_csv(args.csv, rows, COLUMNS)
    return 0 if any(not r.get("error") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
