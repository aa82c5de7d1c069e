"""``python -m dfdetect demo`` (``make demo``): the whole job on the sample videos, end to end, on a CPU.

Steps, each the project's own CLI entry point called in-process (so the demo runs exactly what a user runs):

1. ``python -m dfdetect demo-data``: real clips cut from the sample videos, one self-blended fake per clip, a split by
   person (:mod:`dfdetect.demo.data`).
2. ``python -m frame_extraction``: 15 frames at stride 2 from a random start, for the training videos.
3. ``python -m face_crop``: MTCNN face crops; videos with too few faces are recorded in ``rejects.csv``.
4. ``python train.py``: EfficientNet-Lite0 (offline ImageNet weights) + ConvLSTM with ``configs/demo.yaml``, on the
   training people only (``split.csv``); no validation split is carved out of 6 videos, so ``best.pt`` is the last
   epoch.
5. ``python eval.py best.pt``: the held-out person's raw videos, through the whole chain; AUC, log loss, accuracy.
6. Pictures: an augmented frame grid (``python -m dfdetect grid``) and real/fake example frames side by side.

Every step resumes: running the demo again reuses what is finished.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dfdetect.core.io import InputError, atomic_write, read_csv, setup_logging, write_csv

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "configs" / "demo.yaml"


class DemoError(RuntimeError):
    """A demo step failed; the message names the step and the command to run it alone."""


def _step(name: str, fn: Callable[[list[str]], int], argv: list[str], timings: dict[str, float]) -> None:
    log.info("== %s: %s", name, " ".join(argv))
    t0 = time.perf_counter()
    rc = fn(argv)
    timings[name] = round(time.perf_counter() - t0, 1)
    if rc != 0:
        raise DemoError(f"step {name!r} failed with exit status {rc}")
    log.info("== %s done in %.1f s", name, timings[name])


def write_examples(data_dir: Path, out_png: Path, margin: float, size: int, pairs: int = 3) -> Path:
    """Save real/fake example frames side by side for the first test pairs (full frame, face crops, difference).

    Args:
        data_dir: the demo data set (``meta.csv``, ``split.csv`` and the videos).
        out_png: output PNG.
        margin: face crop margin (the trained model's, ``cfg.data.margin``).
        size: face crop size.
        pairs: how many real/fake pairs to show.

    Returns:
        ``out_png``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from face_crop.detect import FaceDetector
    from face_crop.pipeline import crop_faces
    from frame_extraction.decode import read_frames

    meta = read_csv(data_dir / "meta.csv")
    split = {r["video_name"]: r["split"] for r in read_csv(data_dir / "split.csv")}
    by_pair: dict[str, dict[int, dict[str, str]]] = {}
    for r in meta:
        if split.get(r["video_name"]) == "test":
            by_pair.setdefault(r["pair"], {})[int(r["target"])] = r
    chosen = [p for p in by_pair.values() if set(p) == {0, 1}][:pairs]
    if not chosen:
        raise DemoError("no real/fake pair in the test split to show")
    detector = FaceDetector()
    fig, axes = plt.subplots(len(chosen), 4, figsize=(13, 3.2 * len(chosen)), squeeze=False)
    for row, pair in zip(axes, chosen):
        real_name, fake_name = pair[0]["video_name"], pair[1]["video_name"]
        mid = int(pair[0]["frames"]) // 2
        real = read_frames(data_dir / real_name, [mid])[mid]
        fake = read_frames(data_dir / fake_name, [mid])[mid]
        # The same crop as training and inference; the real frame's face box places both crops identically.
        (real_crop, face), = crop_faces([real], detector, margin=margin, size=size)
        if face is None:
            continue
        from face_crop.crop import crop_face

        fake_crop = crop_face(fake, face.box, margin=margin, size=size)
        diff = np.abs(fake_crop.astype(np.int16) - real_crop.astype(np.int16)).sum(-1)
        panels = [(real, f"real {real_name}"), (fake, f"fake {fake_name}"), (np.hstack([real_crop, fake_crop]),
                  "face crops: real | fake"), (diff, "|fake - real| (crop)")]
        for ax, (img, title) in zip(row, panels):
            ax.imshow(img, cmap="magma" if img.ndim == 2 else None)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    fig.tight_layout()
    with atomic_write(out_png, "wb") as f:
        fig.savefig(f, format="png", dpi=80)
    plt.close(fig)
    return out_png


def run_demo(samples: Path, out: Path, config: Path = DEFAULT_CONFIG, seed: int = 0, workers: int = 1) -> dict:
    """Run every step of the demo into ``out`` and return the summary (also written to ``out/summary.json``).

    Example:
        >>> summary = run_demo(Path("data/samples"), Path("demo_out"))  # doctest: +SKIP
        >>> summary["metrics"]["auc"]
    """
    import face_crop.__main__ as face_crop_cli
    import frame_extraction.__main__ as frames_cli
    from dfdetect import demo, evaluate, grid, training
    from dfdetect.core.config import load_config

    cfg = load_config(config)
    data, frames, crops, run, ev = out / "data", out / "frames", out / "crops", out / "run", out / "eval"
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    _step("demo-data", demo.main, ["--samples", str(samples), "--out", str(data), "--seed", str(seed)], timings)
    split = {r["video_name"]: r["split"] for r in read_csv(data / "split.csv")}
    train_videos = [str(data / v) for v, s in split.items() if s == "train"]
    test_videos = [str(data / v) for v, s in split.items() if s == "test"]
    labels = str(data / "labels.csv")
    # Extraction sees the training videos only, so it gets their labels only (the others would be "missing").
    train_labels = out / "train_labels.csv"
    write_csv(train_labels, [r for r in read_csv(data / "labels.csv") if split[r["video_name"]] == "train"],
              ("video_name", "target"))
    _step("frame_extraction", frames_cli.main,
          [*train_videos, str(frames), "--labels", str(train_labels), "--frames", str(cfg.data.sample_frames),
           "--stride", str(cfg.data.stride), "--seed", str(seed), "--workers", str(workers), "--no-progress"], timings)
    _step("face_crop", face_crop_cli.main,
          [str(frames), str(crops), "--min-faces", str(cfg.data.min_faces), "--margin", str(cfg.data.margin),
           "--size", str(cfg.data.size)], timings)
    resume = ["--resume"] if (run / "last.pt").exists() else []
    _step("train", training.main,
          ["--data", str(crops / "crops.csv"), "--split", str(data / "split.csv"), "--config", str(config),
           "--out", str(run), "--seed", str(seed), *resume], timings)
    _step("eval", evaluate.main, [str(run / "best.pt"), *test_videos, "--labels", labels, "--out", str(ev)], timings)
    _step("grid", grid.main, ["--data", str(crops / "crops.csv"), "--out", str(out / "augmentations.png"),
                              "--config", str(config), "--clips", "6"], timings)
    t1 = time.perf_counter()
    write_examples(data, out / "examples.png", margin=cfg.data.margin, size=cfg.data.size)
    timings["examples"] = round(time.perf_counter() - t1, 1)
    timings["total"] = round(time.perf_counter() - t0, 1)
    metrics = json.loads((ev / "metrics.json").read_text())
    summary = {
        "metrics": metrics,
        "n_train_videos": len(train_videos),
        "n_test_videos": len(test_videos),
        "timings_s": timings,
        "outputs": {k: str(v) for k, v in {
            "predictions": ev / "predictions.csv", "metrics": ev / "metrics.json", "roc": ev / "roc.png",
            "augmentations": out / "augmentations.png", "examples": out / "examples.png", "checkpoint": run / "best.pt",
        }.items()},
    }
    with atomic_write(out / "summary.json") as f:
        json.dump(summary, f, indent=2)
    return summary


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m dfdetect demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", default="data/samples", help="sample videos (make data)")
    p.add_argument("--out", default="demo_out", help="output folder")
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="training config (YAML differences from defaults)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1, help="parallel videos in frame extraction")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        s = run_demo(Path(args.samples), Path(args.out), Path(args.config), seed=args.seed, workers=args.workers)
    except (DemoError, InputError) as e:
        log.error("%s", e)
        return 1
    m = s["metrics"]
    log.info(
        "held-out person (%d videos): video-level ROC AUC %.3f | log loss %.3f | accuracy %.3f | total %.0f s",
        s["n_test_videos"], m["auc"], m["log_loss"], m["accuracy"], s["timings_s"]["total"],
    )
    for k, v in s["outputs"].items():
        log.info("%-13s %s", k, v)
    return 0
