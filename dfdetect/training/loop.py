"""Training: ``python train.py --data CROPS_MANIFEST [--val ...] [--split ...] [--out runs/NAME] ...``.

Reads a face-crop manifest (``crops.csv``), splits it by video, and trains the clip model (Adam, BCE-with-logits on
the single logit) with clip-consistent augmentation, optional on-the-fly self-blended fakes and per-epoch real/fake
balancing. Every epoch appends a line to ``OUT/metrics.csv``, rewrites ``OUT/run.json`` and ``OUT/last.pt``, and
``OUT/best.pt`` when the validation video-level AUC improves. ``--resume`` continues from ``last.pt`` and gives the
same result as an uninterrupted run (every epoch's random choices derive from ``(seed, epoch)``; torch's global RNG,
used by dropout, is saved and restored).

``--show-augmentations N`` writes ``OUT/augmentations.png`` (N clips of the first epoch to run, exactly the tensors
the model receives, de-normalised) and then trains as usual; with ``--epochs 0`` it only writes the picture.

Example:
    python train.py --data crops/crops.csv --split split.csv --out runs/b0 --epochs 10 --synth-fakes 0.5
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from dfdetect.core.checkpoint import config_from_checkpoint, load_checkpoint, save_checkpoint
from dfdetect.core.config import Config, config_to_dict, load_config, save_config
from dfdetect.core.io import InputError, atomic_write, setup_logging, write_csv
from dfdetect.core.runtime import resolve_device
from dfdetect.data.dataset import (
    BALANCE_MODES,
    ClipDataset,
    VideoCrops,
    build_clip_augmentation,
    epoch_plan,
    read_crops_manifest,
    read_split,
    split_videos,
    val_plan,
    video_scores,
)

log = logging.getLogger(__name__)

METRICS_COLUMNS = (
    "epoch", "train_loss", "val_auc", "val_log_loss", "val_accuracy", "seconds", "n_train_real", "n_train_fake",
    "n_train_synth", "lr",
)
# Config keys that may differ between a run and its --resume: they change where/how fast it runs, not its result.
_RESUME_FREE_KEYS = {("train", "device"), ("data", "workers"), ("train", "epochs")}


class NothingToTrainError(RuntimeError):
    """Well-formed input that leaves nothing to train on (e.g. every video unlabelled): exit 1."""


@dataclass
class DataSplit:
    """Labelled training and validation videos, and what was left out and why (recorded in run.json)."""

    train: list[VideoCrops]
    val: list[VideoCrops]
    source: str
    skipped: dict[str, str] = field(default_factory=dict)


def validate_config(cfg: Config) -> None:
    """Reject values training cannot use (and self-blending without its module), with a one-line
    :class:`InputError`."""
    checks = [
        (cfg.train.epochs >= 0, f"train.epochs must be >= 0, got {cfg.train.epochs}"),
        (cfg.train.batch_size >= 1, f"train.batch_size must be >= 1, got {cfg.train.batch_size}"),
        (cfg.train.lr > 0, f"train.lr must be > 0, got {cfg.train.lr}"),
        (0.0 <= cfg.train.synth_fakes <= 1.0, f"train.synth_fakes must be in [0, 1], got {cfg.train.synth_fakes}"),
        (cfg.train.freeze_blocks >= 0, f"train.freeze_blocks must be >= 0, got {cfg.train.freeze_blocks}"),
        (cfg.train.val_clips >= 1, f"train.val_clips must be >= 1, got {cfg.train.val_clips}"),
        (cfg.train.scheduler in ("cosine", "none"), f"train.scheduler must be cosine|none, got {cfg.train.scheduler}"),
        (cfg.data.frames >= 1, f"data.frames must be >= 1, got {cfg.data.frames}"),
        (cfg.data.size >= 16, f"data.size must be >= 16, got {cfg.data.size}"),
        (cfg.data.workers >= 0, f"data.workers must be >= 0, got {cfg.data.workers}"),
        (cfg.data.balance in BALANCE_MODES, f"data.balance must be {'|'.join(BALANCE_MODES)}, got {cfg.data.balance}"),
        (
            cfg.train.device in ("auto", "cpu", "cuda") or cfg.train.device.startswith("cuda:"),
            f"train.device must be auto|cpu|cuda[:N], got {cfg.train.device!r}",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise InputError(message)
    if cfg.train.synth_fakes > 0:
        try:
            import dfdetect.synth.sbi  # noqa: F401
        except ImportError as e:
            raise InputError(f"train.synth_fakes > 0 needs dfdetect.synth.sbi, which cannot be imported: {e}") from None


def set_cpu_threads(workers: int) -> int:
    """Cap torch threads so loader workers + torch threads never exceed the cores (oversubscription slows a shared
    CPU 5-10x); a lower setting made by the caller (``torch.set_num_threads``, ``OMP_NUM_THREADS``) is kept.

    Example:
        >>> set_cpu_threads(workers=1) <= max(1, (os.cpu_count() or 1) - 1)
        True
    """
    n = max(1, min(torch.get_num_threads(), (os.cpu_count() or 1) - workers))
    torch.set_num_threads(n)
    return n


def adopt_preprocessing(cfg: Config, data: str | Path) -> Config:
    """Take the crop margin, min-faces rule and frame sampling from the settings the training crops were made with.

    ``python -m face_crop`` writes ``settings.json`` beside ``crops.csv`` (with frame_extraction's sampling settings
    inside). They win over the config, so the checkpoint records how its training data was made and inference crops
    and samples the same way. Missing settings (a manifest made by other tools) keep the config's values.

    Example:
        >>> cfg = adopt_preprocessing(cfg, "crops/crops.csv")  # doctest: +SKIP
        >>> cfg.data.margin  # the --margin face_crop used
        0.4
    """
    cfg = copy.deepcopy(cfg)  # a new config: the caller's is left as it was
    path = Path(data).parent / "settings.json"
    if not path.is_file():
        log.warning("no %s: assuming the crops were made with data.margin=%s, data.sample_frames=%s, data.stride=%s",
                    path, cfg.data.margin, cfg.data.sample_frames, cfg.data.stride)
        return cfg
    try:
        crops = json.loads(path.read_text())
        found = {"margin": float(crops["margin"]), "min_faces": int(crops["min_faces"])}
        frames = crops.get("frames") or {}
        if frames:
            found["sample_frames"] = int(frames["n"])
            if frames.get("mode", "random") == "random":
                found["stride"] = int(frames["stride"])
            else:
                log.warning("training frames were sampled with --mode %s; evaluation samples windows at stride %d",
                            frames.get("mode"), cfg.data.stride)
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path}: unreadable preprocessing settings ({e})") from None
    for key, value in found.items():
        if getattr(cfg.data, key) != value:
            log.info("data.%s = %s, as the training crops were made (%s; the config said %s)", key, value, path,
                     getattr(cfg.data, key))
            setattr(cfg.data, key, value)
    if int(crops.get("size", cfg.data.size)) != cfg.data.size:
        log.info("crops are %s px and the model takes %d px: training resizes them; inference crops at %d px directly",
                 crops.get("size"), cfg.data.size, cfg.data.size)
    return cfg


def prepare_data(
    data: str | Path, val: str | Path | None = None, split: str | Path | None = None, seed: int = 0
) -> DataSplit:
    """Read the manifests and split BY VIDEO: ``--val`` manifest, ``--split`` file, or a hash split of ``--data``.

    Unlabelled videos are skipped (recorded with the reason); a video in both train and val is an error.

    Raises:
        InputError: malformed manifests or split file, ``--val`` together with ``--split``, overlapping videos.

    Example:
        >>> ds = prepare_data("crops/crops.csv", split="split.csv")  # doctest: +SKIP
        >>> len(ds.train), len(ds.val), ds.source  # doctest: +SKIP
        (40, 10, 'split file split.csv')
    """
    if val is not None and split is not None:
        raise InputError("give either --val (a separate crops manifest) or --split (a split file), not both")
    videos = read_crops_manifest(data)
    skipped: dict[str, str] = {}
    if val is not None:
        val_videos = read_crops_manifest(val)
        both = sorted(set(videos) & set(val_videos))
        if both:
            raise InputError(f"{len(both)} video(s) in both --data and --val, e.g. {both[0]!r}: split by video")
        train_names, val_names, source = sorted(videos), sorted(val_videos), f"validation manifest {val}"
        pool = {**videos, **val_videos}
    elif split is not None:
        parts = read_split(split)
        train_names = sorted(n for n in videos if parts.get(n) == "train")
        val_names = sorted(n for n in videos if parts.get(n) == "val")
        for n in videos:
            if n not in parts:
                skipped[n] = "not in the split file"
            elif parts[n] == "test":
                skipped[n] = "test split"
        source, pool = f"split file {split}", videos
    else:
        train_names, val_names = split_videos(videos, seed=seed)
        source, pool = f"80/20 hash split by video name (seed {seed})", videos
        log.warning(
            "no --split/--val: hash split by video name; clips of one person can land in train and val "
            "(give a person-level split file with --split for honest scores)"
        )
    for n in (*train_names, *val_names):
        if pool[n].label is None:
            skipped[n] = "no label"
    train = [pool[n] for n in train_names if n not in skipped]
    val_list = [pool[n] for n in val_names if n not in skipped]
    if skipped:
        log.warning("%d video(s) not used: %s", len(skipped), ", ".join(f"{k} ({v})" for k, v in skipped.items()))
    return DataSplit(train=train, val=val_list, source=source, skipped=skipped)


def _amp_dtype(device: torch.device, enabled: bool) -> torch.dtype | None:
    """bf16 where supported (no loss scaling needed), else fp16 with a GradScaler; None on CPU or when disabled."""
    if not enabled or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _autocast(device: torch.device, amp_dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """Mixed precision when ``amp_dtype`` is set (CUDA), nothing otherwise."""
    return torch.autocast(device.type, dtype=amp_dtype) if amp_dtype is not None else contextlib.nullcontext()


def _loader(ds: ClipDataset, batch_size: int, workers: int, device: torch.device) -> DataLoader:
    return DataLoader(
        ds,
        batch_size=batch_size,
        shuffle=False,  # the order is part of the epoch plan (seeded), never the loader's
        num_workers=workers,
        pin_memory=device.type == "cuda",
        worker_init_fn=_worker_init,
    )


def _worker_init(_: int) -> None:
    import cv2

    cv2.setNumThreads(1)  # one core per worker; torch already sets 1 thread in workers


@torch.no_grad()
def predict_clips(
    model: nn.Module, loader: DataLoader, device: torch.device, amp_dtype: torch.dtype | None = None
) -> np.ndarray:
    """sigmoid(logit) of every clip of ``loader`` in order (model in eval mode).

    Example:
        >>> scores = predict_clips(model, DataLoader(ClipDataset(videos, specs, 224, mean, std)), torch.device("cpu"))
        ... # doctest: +SKIP
    """
    model.eval()
    scores = []
    for batch in loader:
        x = batch["clip"].to(device, non_blocking=True)  # (B, T, C, H, W)
        with _autocast(device, amp_dtype):
            logits = model(x)  # (B,)
        scores.append(torch.sigmoid(logits.float()).cpu())
    return torch.cat(scores).numpy().astype(np.float64) if scores else np.zeros(0)


def validate(
    model: nn.Module,
    videos: list[VideoCrops],
    cfg: Config,
    device: torch.device,
    amp_dtype: torch.dtype | None = None,
) -> tuple[dict[str, float], np.ndarray]:
    """Video-level validation: mean of sigmoid(logit) over the fixed clip windows, then compute_metrics.

    Returns:
        The metrics (NaN values without validation videos) and the per-video scores.

    Example:
        >>> metrics, scores = validate(model, ds.val, cfg, torch.device("cpu"))  # doctest: +SKIP
        >>> metrics["auc"]  # doctest: +SKIP
        0.93
    """
    from dfdetect.core.metrics import compute_metrics

    if not videos:
        return {"auc": math.nan, "log_loss": math.nan, "accuracy": math.nan}, np.zeros(0)
    mean, std = _normalization(model, cfg)
    specs = val_plan(videos, cfg.data.frames, cfg.train.val_clips)
    ds = ClipDataset(videos, specs, cfg.data.size, mean, std, augment=None, margin=cfg.data.margin)
    clip_scores = predict_clips(model, _loader(ds, cfg.train.batch_size, cfg.data.workers, device), device, amp_dtype)
    scores = video_scores(specs, clip_scores, len(videos))
    metrics = compute_metrics([v.label for v in videos], scores)
    return metrics, scores


def _normalization(model: nn.Module, cfg: Config) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The backbone's input normalisation (``unwrap_model`` sees through compile/DataParallel wrappers)."""
    from dfdetect.core.checkpoint import unwrap_model

    m = unwrap_model(model)
    return tuple(m.mean), tuple(m.std)


def selection_key(metrics: dict[str, float]) -> tuple[float, float]:
    """Model selection order: higher AUC, then lower log loss; NaN ranks below any number."""
    auc, ll = metrics.get("auc", math.nan), metrics.get("log_loss", math.nan)
    return (-math.inf if not np.isfinite(auc) else float(auc), -math.inf if not np.isfinite(ll) else -float(ll))


def _fmt(v: Any) -> Any:
    return "" if isinstance(v, float) and math.isnan(v) else (round(v, 6) if isinstance(v, float) else v)


def _config_diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    diffs = []
    for section in sorted(set(a) | set(b)):
        sa, sb = a.get(section, {}), b.get(section, {})
        for key in sorted(set(sa) | set(sb)):
            if (section, key) not in _RESUME_FREE_KEYS and sa.get(key) != sb.get(key):
                diffs.append(f"{section}.{key}: {sa.get(key)!r} in the run vs {sb.get(key)!r} now")
    return diffs


def train(
    cfg: Config,
    data: str | Path,
    out: str | Path,
    val: str | Path | None = None,
    split: str | Path | None = None,
    resume: bool = False,
    show_augmentations: int = 0,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Train a clip model on a face-crop manifest and write the run folder.

    Run folder: ``config.yaml`` (resolved config), ``metrics.csv`` (a line per epoch), ``run.json`` (split, balance
    and counts per epoch, best epoch), ``last.pt`` (resumable), ``best.pt`` (best validation AUC, then log loss),
    ``val_predictions.csv`` (the latest epoch's video scores), ``augmentations.png`` (``show_augmentations``).

    Args:
        cfg: the resolved config.
        data: training crops manifest.
        out: run folder (must not hold a run unless ``resume``).
        val: separate validation crops manifest.
        split: split file ``video_name,split`` applied to ``data``.
        resume: continue from ``out/last.pt`` (a fresh start when there is none).
        show_augmentations: write this many augmented clips to ``out/augmentations.png`` before training.
        stop_after: stop after this many epochs in this call (a time-boxed job; continue later with ``resume``).

    Returns:
        The run summary also written to ``run.json``.

    Raises:
        InputError: bad data/config, an existing run without ``resume``, or a config that differs from the run
            being resumed.

    Example:
        >>> cfg = load_config(None, {"model.backbone": "efficientnet-lite0", "data.size": 64, "train.epochs": 1})
        >>> summary = train(cfg, "crops/crops.csv", "runs/tiny")  # doctest: +SKIP
    """
    from models import build_model

    validate_config(cfg)
    cfg = adopt_preprocessing(cfg, data)
    out = Path(out)
    last_path = out / "last.pt"
    ckpt = None
    if last_path.exists():
        if not resume:
            raise InputError(f"{out} already holds a run (last.pt): use --resume to continue it or another --out")
        ckpt = load_checkpoint(last_path)
        diffs = _config_diff(config_to_dict(config_from_checkpoint(ckpt, last_path)), config_to_dict(cfg))
        if diffs:
            raise InputError(f"--resume with a different config ({len(diffs)} change(s)): {diffs[0]}")
    elif resume:
        log.info("--resume: no %s yet, starting a new run", last_path)

    device = resolve_device(cfg.train.device)
    threads = set_cpu_threads(cfg.data.workers) if device.type == "cpu" else torch.get_num_threads()
    ds_split = prepare_data(data, val=val, split=split, seed=cfg.train.seed)
    if not ds_split.train:
        raise NothingToTrainError(f"no labelled training videos in {data} ({ds_split.source})")
    n_real = sum(v.label == 0 for v in ds_split.train)
    log.info(
        "data: %d train videos (%d real, %d fake), %d val videos; %s; balance=%s synth_fakes=%.2f",
        len(ds_split.train), n_real, len(ds_split.train) - n_real, len(ds_split.val), ds_split.source,
        cfg.data.balance, cfg.train.synth_fakes,
    )
    if not ds_split.val:
        log.warning("no validation videos: best.pt follows last.pt")
    if cfg.train.synth_fakes >= 1.0 and cfg.data.balance == "undersample" and n_real < len(ds_split.train):
        log.warning("synth_fakes = 1 with balance = undersample: every real clip has a blended twin, so the %d "
                    "labelled fake video(s) are never drawn; lower synth_fakes or use balance none to train on them",
                    len(ds_split.train) - n_real)

    torch.manual_seed(cfg.train.seed)  # model initialisation; dropout continues from this stream
    # A resumed run loads every weight from last.pt: no ImageNet weights to fetch (B0's may be unreachable offline).
    model = build_model(dataclasses.replace(cfg.model, pretrained=False) if ckpt is not None else cfg.model)
    if cfg.train.freeze_encoder:
        model.freeze_encoder(None)
    elif cfg.train.freeze_blocks > 0:
        model.freeze_encoder(cfg.train.freeze_blocks)
    amp_dtype = _amp_dtype(device, cfg.train.amp)
    model.to(device)
    if device.type == "cuda" and cfg.train.amp:
        model.to(memory_format=torch.channels_last)  # faster convolutions with tensor cores
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(cfg.train.epochs, 1))
        if cfg.train.scheduler == "cosine"
        else None
    )
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    criterion = nn.BCEWithLogitsLoss()
    mean, std = _normalization(model, cfg)

    start_epoch, best_key, best_epoch, history = 0, None, None, []
    if ckpt is not None:
        model.load_state_dict(ckpt["model"], strict=True)
        optimizer.load_state_dict(ckpt["optimizer"])
        if scheduler is not None and ckpt.get("scheduler") is not None:
            scheduler.load_state_dict(ckpt["scheduler"])
            scheduler.T_max = max(cfg.train.epochs, 1)  # allows extending a run with more --epochs
        if ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        torch.set_rng_state(ckpt["torch_rng"])
        if device.type == "cuda" and ckpt.get("cuda_rng"):
            torch.cuda.set_rng_state_all(ckpt["cuda_rng"])
        start_epoch = int(ckpt["epoch"])
        best_key = tuple(ckpt["best_key"]) if ckpt.get("best_key") is not None else None
        best_epoch = ckpt.get("best_epoch")
        history = list(ckpt.get("history", []))
        log.info("resumed %s at epoch %d/%d", out, start_epoch, cfg.train.epochs)
        del ckpt
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.yaml")

    augment = build_clip_augmentation(cfg.data.size) if cfg.data.augment else None
    if show_augmentations > 0:
        from dfdetect.data.grid import render_clips, training_clips

        specs = training_clips(ds_split.train, cfg, show_augmentations, first_epoch=start_epoch)
        ds = ClipDataset(ds_split.train, specs, cfg.data.size, mean, std, augment=augment, margin=cfg.data.margin)
        render_clips(ds, range(len(ds)), out / "augmentations.png")
        log.info("wrote %s", out / "augmentations.png")

    inputs = {k: (str(Path(v).resolve()) if v is not None else None) for k, v in
              {"data": data, "val": val, "split_file": split}.items()}
    summary: dict[str, Any] = {}
    end_epoch = cfg.train.epochs if stop_after is None else min(cfg.train.epochs, start_epoch + stop_after)
    for epoch in range(start_epoch, end_epoch):
        t0 = time.perf_counter()
        specs, counts = epoch_plan(
            ds_split.train, epoch, cfg.train.seed, cfg.data.frames, cfg.data.balance, cfg.train.synth_fakes
        )
        ds = ClipDataset(ds_split.train, specs, cfg.data.size, mean, std, augment=augment, margin=cfg.data.margin)
        loader = _loader(ds, cfg.train.batch_size, cfg.data.workers, device)
        model.train()
        lr = optimizer.param_groups[0]["lr"]
        loss_sum, n_seen = 0.0, 0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.train.epochs}", unit="batch", leave=False, dynamic_ncols=True)
        for batch in bar:
            x = batch["clip"].to(device, non_blocking=True)  # (B, T, C, H, W)
            y = batch["label"].to(device)  # (B,)
            optimizer.zero_grad(set_to_none=True)
            with _autocast(device, amp_dtype):
                logits = model(x)  # (B,)
            loss = criterion(logits.float(), y)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            loss_sum += float(loss.detach()) * len(y)
            n_seen += len(y)
            bar.set_postfix(loss=f"{loss_sum / n_seen:.4f}")
        bar.close()
        if scheduler is not None:
            scheduler.step()
        train_loss = loss_sum / max(n_seen, 1)

        metrics, scores = validate(model, ds_split.val, cfg, device, amp_dtype)
        seconds = time.perf_counter() - t0
        row = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "val_auc": metrics["auc"],
            "val_log_loss": metrics["log_loss"],
            "val_accuracy": metrics["accuracy"],
            "seconds": seconds,
            "n_train_real": counts["n_real"],
            "n_train_fake": counts["n_fake"],
            "n_train_synth": counts["n_synth"],
            "lr": lr,
        }
        history.append({k: float(v) if isinstance(v, float) else v for k, v in row.items()})
        key = selection_key(metrics)
        improved = best_key is None or key > best_key or not ds_split.val
        if improved:
            best_key, best_epoch = key, epoch + 1
        log.info(
            "epoch %d/%d: loss %.4f, val AUC %.4f, log loss %.4f, acc %.3f, %.0f s, train %d real/%d fake (%d synth)%s",
            epoch + 1, cfg.train.epochs, train_loss, metrics["auc"], metrics["log_loss"], metrics["accuracy"],
            seconds, counts["n_real"], counts["n_fake"], counts["n_synth"], " *best*" if improved else "",
        )

        write_csv(out / "metrics.csv", [{k: _fmt(v) for k, v in h.items()} for h in history], METRICS_COLUMNS)
        if ds_split.val:
            write_csv(
                out / "val_predictions.csv",
                [{"video_name": v.video, "label": v.label, "score": f"{s:.6f}"} for v, s in zip(ds_split.val, scores)],
                ["video_name", "label", "score"],
            )
        val_metrics = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        if improved:
            save_checkpoint(out / "best.pt", model, cfg, epoch=epoch + 1, metrics=val_metrics)
        save_checkpoint(
            last_path,
            model,
            cfg,
            epoch=epoch + 1,
            metrics=val_metrics,
            optimizer=optimizer.state_dict(),
            scheduler=scheduler.state_dict() if scheduler is not None else None,
            scaler=scaler.state_dict() if scaler.is_enabled() else None,
            torch_rng=torch.get_rng_state(),
            cuda_rng=torch.cuda.get_rng_state_all() if device.type == "cuda" else None,
            best_key=list(best_key) if best_key is not None else None,
            best_epoch=best_epoch,
            history=history,
        )
        summary = _summary(cfg, ds_split, history, best_epoch, device, threads, status="running", inputs=inputs)
        _write_json(out / "run.json", summary)

    status = "done" if len(history) >= cfg.train.epochs else "stopped"
    summary = _summary(cfg, ds_split, history, best_epoch, device, threads, status=status, inputs=inputs)
    _write_json(out / "run.json", summary)
    return summary


def _summary(
    cfg: Config, ds: DataSplit, history: list[dict], best_epoch: int | None, device: torch.device, threads: int,
    status: str, inputs: dict[str, str | None],
) -> dict[str, Any]:
    return {
        "status": status,
        **inputs,
        "epochs_done": len(history),
        "epochs": cfg.train.epochs,
        "best_epoch": best_epoch,
        "best": next((h for h in history if h["epoch"] == best_epoch), None),
        "device": str(device),
        "torch_threads": threads,
        "split": ds.source,
        "train_videos": [v.video for v in ds.train],
        "val_videos": [v.video for v in ds.val],
        "skipped": ds.skipped,
        "balance": cfg.data.balance,
        "synth_fakes": cfg.train.synth_fakes,
        "per_epoch_counts": [
            {k: h[k] for k in ("epoch", "n_train_real", "n_train_fake", "n_train_synth")} for h in history
        ],
    }


def _write_json(path: Path, obj: Any) -> None:
    def clean(v: Any) -> Any:  # NaN is not JSON: write null
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v

    with atomic_write(path) as f:
        json.dump(clean(obj), f, indent=2)


def get_args_parser() -> argparse.ArgumentParser:
    d = Config()  # the defaults, shown in the help
    p = argparse.ArgumentParser(
        prog="train.py", description="Train the deepfake clip model on a face-crop manifest (crops.csv)."
    )
    p.add_argument("--data", required=True, help="training crops manifest (crops.csv from python -m face_crop)")
    p.add_argument("--val", help="a separate validation crops manifest")
    p.add_argument("--split", help="split file video_name,split (train|val|test) applied to --data")
    p.add_argument("--out", help="run folder (default runs/run-YYYYmmdd-HHMMSS)")
    p.add_argument("--config", help="YAML config holding differences from the defaults (unknown keys are errors)")
    g = p.add_argument_group("overrides (take precedence over --config)")
    g.add_argument("--epochs", type=int, help=f"default {d.train.epochs}")
    g.add_argument("--batch-size", type=int, help=f"clips per step (default {d.train.batch_size})")
    g.add_argument("--lr", type=float, help=f"Adam learning rate (default {d.train.lr})")
    g.add_argument("--frames", type=int, help=f"timesteps T per clip (default {d.data.frames})")
    g.add_argument("--size", type=int, help=f"crop side fed to the model (default {d.data.size})")
    g.add_argument("--backbone", help=f"efficientnet-b0 | efficientnet-lite0 (default {d.model.backbone})")
    g.add_argument("--no-pretrained", action="store_true", help="random backbone initialisation")
    g.add_argument("--weights", help="backbone weights file instead of a download")
    g.add_argument("--freeze-encoder", action="store_true", help="train only the temporal model and head")
    g.add_argument("--freeze-blocks", type=int, metavar="K", help="freeze the encoder stem and its first K blocks")
    g.add_argument("--synth-fakes", type=float, metavar="P",
                   help="probability that a real training clip gets a self-blended twin labelled fake (default 0)")
    g.add_argument("--balance", choices=BALANCE_MODES, help=f"per-epoch real/fake balance (default {d.data.balance})")
    g.add_argument("--no-augment", action="store_true", help="no training augmentation")
    g.add_argument("--val-clips", type=int, metavar="K",
                   help=f"fixed clip windows per validation video (default {d.train.val_clips})")
    g.add_argument("--device", help="auto | cpu | cuda[:N] (default auto)")
    g.add_argument("--workers", type=int, help=f"DataLoader workers (default {d.data.workers})")
    g.add_argument("--seed", type=int, help=f"default {d.train.seed}")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
    p.add_argument(
        "--show-augmentations", type=int, default=0, metavar="N",
        help="write N augmented training clips to OUT/augmentations.png, then train (--epochs 0: picture only)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Dotted config overrides from the CLI flags (``None`` = not given, the YAML/default stays)."""
    return {
        "train.epochs": args.epochs,
        "train.batch_size": args.batch_size,
        "train.lr": args.lr,
        "data.frames": args.frames,
        "data.size": args.size,
        "model.backbone": args.backbone,
        "model.pretrained": False if args.no_pretrained else None,
        "model.weights": args.weights,
        "train.freeze_encoder": True if args.freeze_encoder else None,
        "train.freeze_blocks": args.freeze_blocks,
        "train.synth_fakes": args.synth_fakes,
        "data.balance": args.balance,
        "data.augment": False if args.no_augment else None,
        "train.val_clips": args.val_clips,
        "train.device": args.device,
        "data.workers": args.workers,
        "train.seed": args.seed,
    }


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: 0 done, 1 when training could not run, 2 for malformed input (one-line message)."""
    args = get_args_parser().parse_args(sys.argv[1:] if argv is None else argv)
    setup_logging(args.verbose)
    from models import WeightsUnavailableError

    try:
        cfg = load_config(args.config, overrides_from_args(args))
        if args.resume and not args.out:
            raise InputError("--resume needs --out (the run folder to continue)")
        out = Path(args.out) if args.out else Path("runs") / time.strftime("run-%Y%m%d-%H%M%S")
        summary = train(
            cfg, args.data, out, val=args.val, split=args.split, resume=args.resume,
            show_augmentations=args.show_augmentations,
        )
    except InputError as e:  # includes CheckpointError
        log.error("%s", e)
        return 2
    except NothingToTrainError as e:
        log.error("%s", e)
        return 1
    except WeightsUnavailableError as e:
        log.error("backbone weights unavailable: %s", str(e).splitlines()[0] if str(e) else type(e).__name__)
        return 1
    except OSError as e:  # e.g. an unreadable crop image: the message names the file
        log.error("%s", e)
        return 1
    except KeyboardInterrupt:
        log.error("interrupted: continue with --resume --out %s", args.out or "RUN")
        return 1
    best = summary.get("best") or {}
    log.info(
        "done: %s (best epoch %s, val AUC %s)", out, summary.get("best_epoch"),
        "n/a" if best.get("val_auc") is None or not np.isfinite(best.get("val_auc")) else f"{best['val_auc']:.4f}",
    )
    return 0
