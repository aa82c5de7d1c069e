"""Generalisation benchmark: leave-one-generator-out on a held-out person, ConvLSTM against the same encoder averaged
over frames and against both side by side (two-stream).

``python bench/generalise.py --samples data/samples [--out bench_out/generalise] [--seeds 0 1] [--epochs 40]``

Protocol (every number from one run of this script, same data and seeds for both models):

1. The demo data set (``python -m dfdetect demo-data``): real clips of nine people, split by person; the test person's
   real clips are the only test reals, the other people's real clips the only training videos (the data set's own
   offline fakes are not used: any of them could come from the generator left out).
2. For each generator G of :data:`dfdetect.synth.GENERATORS`: a test set of the held-out person's real clips and one
   fake of each made by G (``python -m dfdetect synth --method G``; reals re-encoded with the same encoder).
3. For each G, each model (``model.temporal``: convlstm, mean, two-stream) and each seed: ``train.py`` on the training
   reals with an on-the-fly twin for every real clip made by the OTHER generators (``--synth-fakes 1 --synth-methods``
   all but G), then ``eval.py`` on G's test set: the video-level AUC on a person and a manipulation never seen.

Prints a table of AUC per left-out generator (mean over seeds, and each seed) for both models and their mean, and
writes ``OUT/generalise.csv`` (one row per run) and ``OUT/generalise_table.csv``. Resumable: finished runs are read
back from their ``metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# `python bench/generalise.py` puts bench/ first on the path, where its scripts' names would shadow packages
# (bench/av.py is not PyAV): the project's root takes its place.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from bench.common import format_table  # noqa: E402
from dfdetect.core.config import TEMPORAL_MODELS, load_config  # noqa: E402
from dfdetect.core.io import read_csv, setup_logging, write_csv  # noqa: E402
from dfdetect.core.schemas import LABELS_COLUMNS, SPLIT_COLUMNS  # noqa: E402
from dfdetect.demo.data import build_demo_data  # noqa: E402
from dfdetect.demo.run import DEFAULT_CONFIG, torch_threads  # noqa: E402
from dfdetect.inference import evaluate  # noqa: E402
from dfdetect.synth import GENERATORS  # noqa: E402
from dfdetect.synth import cli as synth_cli  # noqa: E402
from dfdetect.training import cli as training_cli  # noqa: E402
from face_crop import cli as face_crop_cli  # noqa: E402
from frame_extraction import cli as frames_cli  # noqa: E402

log = logging.getLogger("bench.generalise")

RUN_COLUMNS = ["left_out", "temporal", "seed", "auc", "log_loss", "accuracy", "train_methods", "seconds"]


def _step(fn, argv: list[str], what: str) -> None:
    code = fn(argv)
    if code != 0:
        raise RuntimeError(f"{what} failed with exit status {code}: {' '.join(argv)}")


def prepare(samples: Path, out: Path, seed: int) -> tuple[Path, list[Path], float]:
    """The demo data set, the crops of its training reals, and the test person's real clips.

    Returns:
        ``(crops.csv of the training reals, test real videos, seconds)``.
    """
    t0 = time.perf_counter()
    data = out / "data"
    build_demo_data(samples, data, seed=seed)
    labels = {r["video_name"]: int(r["target"]) for r in read_csv(data / "labels.csv")}
    split = {r["video_name"]: r["split"] for r in read_csv(data / "split.csv")}
    train_reals = sorted(n for n, s in split.items() if s in ("train", "val") and labels[n] == 0)  # all 4 men
    test_reals = sorted(n for n, s in split.items() if s == "test" and labels[n] == 0)
    cfg = load_config(DEFAULT_CONFIG)
    train_labels = out / "train_labels.csv"
    write_csv(train_labels, [{"video_name": n, "target": 0} for n in train_reals], LABELS_COLUMNS)
    # every training real trains (no validation carved out of them: the test person is the only held-out data)
    write_csv(out / "train_split.csv", [{"video_name": n, "split": "train"} for n in train_reals], SPLIT_COLUMNS)
    crops = out / "crops"
    if not (crops / "crops.csv").is_file():
        _step(frames_cli.main, [*(str(data / n) for n in train_reals), str(out / "frames"), "--labels",
                                str(train_labels), "--frames", str(cfg.data.sample_frames), "--stride",
                                str(cfg.data.stride), "--seed", str(seed), "--no-progress"], "frame extraction")
        _step(face_crop_cli.main, [str(out / "frames"), str(crops), "--min-faces", str(cfg.data.min_faces),
                                   "--margin", str(cfg.data.margin), "--size", str(cfg.data.size)], "face crops")
    log.info("%d training reals, %d test reals (held-out person)", len(train_reals), len(test_reals))
    return crops / "crops.csv", [data / n for n in test_reals], time.perf_counter() - t0


def test_set(test_reals: list[Path], out: Path, method: str, seed: int) -> Path:
    """The held-out person's reals (re-encoded) and one fake of each made by ``method``: a folder with labels.csv."""
    folder = out / f"test_{method}"
    if not (folder / "labels.csv").is_file():
        _step(synth_cli.main, [*(str(p) for p in test_reals), str(folder), "--method", method, "--per-video", "1",
                               "--seed", str(seed)], f"synth --method {method}")
    return folder


def run_one(crops: Path, test: Path, out: Path, left_out: str, temporal: str, seed: int, epochs: int | None) -> dict:
    """Train without ``left_out`` and evaluate on its test set; a finished run is read back."""
    run = out / "runs" / f"{left_out}-{temporal}-s{seed}"
    others = ",".join(g for g in GENERATORS if g != left_out)
    metrics_path = run / "eval" / "metrics.json"
    t0 = time.perf_counter()
    if not metrics_path.is_file():
        # The demo's config with one difference: the temporal model.
        config = yaml.safe_load(DEFAULT_CONFIG.read_text()) or {}
        config.setdefault("model", {})["temporal"] = temporal
        run.mkdir(parents=True, exist_ok=True)
        (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        argv = ["--data", str(crops), "--split", str(crops.parent.parent / "train_split.csv"), "--out",
                str(run / "train"), "--config", str(run / "config.yaml"), "--seed",
                str(seed), "--synth-fakes", "1", "--synth-methods", others]
        if epochs is not None:
            argv += ["--epochs", str(epochs)]
        if (run / "train" / "last.pt").exists():
            argv.append("--resume")
        _step(training_cli.main, argv, f"train {run.name}")
        _step(evaluate.main, [str(run / "train" / "best.pt"), str(test), "--labels", str(test / "labels.csv"),
                              "--out", str(run / "eval")], f"eval {run.name}")
    m = json.loads(metrics_path.read_text())
    return {"left_out": left_out, "temporal": temporal, "seed": seed, "auc": m["auc"], "log_loss": m["log_loss"],
            "accuracy": m["accuracy"], "train_methods": others, "seconds": round(time.perf_counter() - t0, 1)}


def summarise(rows: list[dict], seeds: list[int], models: tuple[str, ...] | list[str] = TEMPORAL_MODELS) -> list[dict]:
    """One row per left-out generator (and their mean): AUC of each model, mean over seeds, and each seed."""
    table = []
    for g in [*GENERATORS, "mean"]:
        row: dict = {"left_out": g}
        for temporal in models:
            runs = [r for r in rows if r["temporal"] == temporal and (g == "mean" or r["left_out"] == g)]
            aucs = [float(r["auc"]) for r in runs if r["auc"] is not None]
            row[f"{temporal}_auc"] = statistics.mean(aucs) if aucs else float("nan")
            if g != "mean":
                by_seed = {int(r["seed"]): float(r["auc"]) for r in runs if r["auc"] is not None}
                row[f"{temporal}_seeds"] = " / ".join(f"{by_seed[s]:.3f}" for s in seeds if s in by_seed)
        table.append(row)
    return table


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python bench/generalise.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", default="data/samples", help="the sample media (make data)")
    p.add_argument("--out", default="bench_out/generalise", help="work and result folder (resumable)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="training seeds (default 0 1)")
    p.add_argument("--epochs", type=int, default=None, help="override the demo config's epochs (fewer: faster)")
    p.add_argument("--generators", nargs="+", default=list(GENERATORS), choices=list(GENERATORS),
                   help="generators to leave out in turn (default all)")
    p.add_argument("--temporal", nargs="+", default=list(TEMPORAL_MODELS), choices=list(TEMPORAL_MODELS),
                   help="temporal models to compare (default all)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (as the demo: results depend on it)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    setup_logging()
    out = Path(args.out)
    rows: list[dict] = []
    with torch_threads(args.threads):
        crops, test_reals, prep_s = prepare(Path(args.samples), out, seed=0)
        for g in args.generators:
            test = test_set(test_reals, out, g, seed=0)
            for temporal in args.temporal:
                for seed in args.seeds:
                    rows.append(run_one(crops, test, out, g, temporal, seed, args.epochs))
                    log.info("left out %s, %s, seed %d: AUC %.3f", g, temporal, seed, rows[-1]["auc"])
                    write_csv(out / "generalise.csv", rows, RUN_COLUMNS)
    table = summarise(rows, args.seeds, args.temporal)
    cols = ["left_out"] + [c for t in args.temporal for c in (f"{t}_auc", f"{t}_seeds")]
    write_csv(out / "generalise_table.csv", table, cols)
    print("\nVideo AUC on the held-out person, each generator left out of training in turn "
          f"(seeds {' '.join(map(str, args.seeds))}; data set {prep_s:.0f} s):")
    print(format_table(table, cols))
    best = max(args.temporal, key=lambda t: table[-1][f"{t}_auc"])
    means = ", ".join(f"{t} {table[-1][f'{t}_auc']:.3f}" for t in args.temporal)
    print(f"\nSummary: mean AUC {means}: {best} generalises best to the left-out generators here.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
