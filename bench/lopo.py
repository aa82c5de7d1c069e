"""Leave one person out: the default detector's recipe trained with each person held out in turn, scored on that
person's videos. The model card's figures (``dfdetect model build`` trains on every person, so its own validation
says nothing about people it has not seen).

``python bench/lopo.py --samples data/samples [--out bench_out/lopo] [--people P ...] [--epochs N] [--card DIR]``
(``make bench-lopo``)

Protocol (every number from one run of this script):

1. The build's data, exactly as ``dfdetect model build`` makes it
   (:func:`dfdetect.demo.model.build_training_crops`: every person's clips of the sample videos, one self-made fake
   per clip, the generators taken in turn; frames and face crops with the recipe's settings), once.
2. For each person P: ``train.py`` with the recipe (``configs/demo.yaml``, on-the-fly twins from the whole family) on
   every other person's videos, their validation videos a stratified share of them drawn as the build draws its own
   (:func:`dfdetect.data.splits.split_videos`); then ``eval.py`` on P's raw videos (reals and fakes) through the whole
   scoring chain.
3. Prints per person the AUC (P's fakes against P's reals) and log loss; their mean and spread (standard deviation
   over people); and per generator the AUC of its fakes against the reals, pooled over every person, each video scored
   by the model that never saw its person. Writes ``OUT/lopo.csv`` (one row per video: its person, label, generator,
   score), ``OUT/lopo.json`` (the figures) and, with ``--card DIR`` (default: the default detector's folder when its
   card exists and this run is its recipe, no ``--epochs`` nor ``--max-clips``), the figures into that model card.
   Resumable: a finished person is read back from its predictions.

People with few clips give coarse AUCs (a person with two real clips has four real/fake pairs): the pooled figures and
the spread say more than any one person's.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# `python bench/lopo.py` puts bench/ first on the path, where its scripts' names would shadow packages (bench/av.py is
# not PyAV): the project's root takes its place.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from bench.common import format_table, run_step  # noqa: E402
from dfdetect.core.config import CARD_JSON, default_model_path, load_config  # noqa: E402
from dfdetect.core.io import read_csv, setup_logging, write_csv, write_json  # noqa: E402
from dfdetect.core.metrics import compute_metrics, metrics_by_method  # noqa: E402
from dfdetect.core.runtime import machine_info  # noqa: E402
from dfdetect.core.schemas import LABELS_COLUMNS, METHOD_COLUMN, SPLIT_COLUMNS  # noqa: E402
from dfdetect.data.shards import read_training_crops  # noqa: E402
from dfdetect.data.splits import split_videos  # noqa: E402
from dfdetect.demo.model import add_held_out_figures, build_training_crops  # noqa: E402
from dfdetect.demo.run import DEFAULT_CONFIG, DEMO_THREADS, torch_threads  # noqa: E402
from dfdetect.demo.samples import SAMPLES_DIR  # noqa: E402
from dfdetect.inference import evaluate  # noqa: E402
from dfdetect.training import add_landmarks  # noqa: E402
from dfdetect.training import cli as training_cli  # noqa: E402

log = logging.getLogger("bench.lopo")

ROW_COLUMNS = ["person", "video_name", "target", METHOD_COLUMN, "score", "status"]


def fold_split(crops: Path, held_out: set[str], seed: int) -> list[dict[str, str]]:
    """The split file of one fold: the held-out videos ``test``; the others train, with a stratified share of them
    in validation drawn as training draws it when given no split (:func:`split_videos`, same seed)."""
    videos = read_training_crops(crops)
    train, val = split_videos({n: v for n, v in videos.items() if n not in held_out}, seed=seed)
    rows = [{"video_name": n, "split": "train"} for n in train] + [{"video_name": n, "split": "val"} for n in val]
    return rows + [{"video_name": n, "split": "test"} for n in sorted(held_out)]


def run_person(person: str, work: Path, out: Path, labels: list[dict[str, str]], person_of: dict[str, str],
               config: Path, seed: int, epochs: int | None, landmarks_from: Path | None = None
               ) -> list[dict[str, Any]]:
    """Train without ``person`` and score their videos; a finished person is read back. With ``landmarks_from`` (an
    earlier work folder of this script, trained without the landmark stream), that run's finished model of the same
    person gets the stream (``python -m dfdetect add-landmarks``: the same network, weight for weight) instead of
    training again.

    Returns:
        One row per video of ``person`` (:data:`ROW_COLUMNS`).
    """
    run = out / "runs" / person
    predictions = run / "eval" / "predictions_status.csv"
    mine = [r for r in labels if person_of[r["video_name"]] == person]
    if not predictions.is_file():
        run.mkdir(parents=True, exist_ok=True)
        crops = work / "crops" / "crops.csv"
        write_csv(run / "split.csv", fold_split(crops, {r["video_name"] for r in mine}, seed), SPLIT_COLUMNS)
        write_csv(run / "labels.csv", mine, (*LABELS_COLUMNS, METHOD_COLUMN))
        argv = ["--data", str(crops), "--split", str(run / "split.csv"), "--config", str(config), "--out",
                str(run / "train"), "--seed", str(seed)]
        argv += ["--epochs", str(epochs)] if epochs is not None else []
        argv += ["--resume"] if (run / "train" / "last.pt").exists() else []
        base = landmarks_from / "runs" / person if landmarks_from is not None else None
        if base is not None and (base / "eval" / "predictions_status.csv").is_file() and not (run / "train").exists():
            run_step(add_landmarks.main, [str(base / "train"), str(run / "train")], f"add-landmarks {person}")
        else:
            run_step(training_cli.main, argv, f"train without {person}")
        run_step(evaluate.main, [str(run / "train" / "best.pt"), *(str(work / "data" / r["video_name"]) for r in mine),
                                 "--labels", str(run / "labels.csv"), "--out", str(run / "eval")], f"eval {person}")
    scored = {r["video_name"]: r for r in read_csv(predictions)}
    return [{"person": person, "video_name": r["video_name"], "target": int(r["target"]),
             METHOD_COLUMN: r.get(METHOD_COLUMN) or "", "score": float(scored[r["video_name"]]["score"]),
             "status": scored[r["video_name"]]["status"]} for r in mine]


def figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per person AUC and log loss, their mean and spread over people, and per generator the pooled AUC.

    Example:
        >>> rows = [{"person": p, "target": t, "method": m, "score": s} for p, t, m, s in [
        ...     ("a", 0, "", 0.2), ("a", 1, "sbi", 0.7), ("b", 0, "", 0.6), ("b", 1, "sbi", 0.4)]]
        >>> f = figures(rows)
        >>> f["per_person"]["a"]["auc"], f["per_person"]["b"]["auc"], f["auc_mean"], f["pooled"]["auc"]
        (1.0, 0.0, 0.5, 0.75)
    """
    people = sorted({r["person"] for r in rows})
    per_person: dict[str, dict[str, float]] = {}
    for p in people:
        mine = [r for r in rows if r["person"] == p]
        y = [r["target"] for r in mine]
        if 0 < sum(y) < len(y):
            m = compute_metrics(y, [r["score"] for r in mine])
            per_person[p] = {"auc": round(m["auc"], 3), "log_loss": round(m["log_loss"], 3),
                             "n_real": len(y) - sum(y), "n_fake": sum(y)}
    aucs = [v["auc"] for v in per_person.values()]
    y, s = [r["target"] for r in rows], [r["score"] for r in rows]
    pooled = compute_metrics(y, s)
    by = metrics_by_method(y, s, [r[METHOD_COLUMN] for r in rows])
    return {
        "per_person": per_person,
        "auc_mean": round(statistics.mean(aucs), 3) if aucs else None,
        "auc_spread": round(statistics.stdev(aucs), 3) if len(aucs) > 1 else 0.0,
        "pooled": {"auc": round(pooled["auc"], 3), "log_loss": round(pooled["log_loss"], 3),
                   "n_real": len(y) - sum(y), "n_fake": sum(y)},
        "by_method": {g: {"auc": round(m["auc"], 3), "n_fake": int(m.get("n_fake", 0))} for g, m in by.items()},
    }


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python bench/lopo.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", default=str(SAMPLES_DIR), help="the sample media (make data)")
    p.add_argument("--out", default="bench_out/lopo", help="work and result folder (resumable)")
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="the recipe (default configs/demo.yaml, the build's)")
    p.add_argument("--people", nargs="+", help="hold out only these people (default: each person in turn)")
    p.add_argument("--epochs", type=int, help="override the recipe's train.epochs (fewer: faster, not the card's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=DEMO_THREADS, help="torch threads (the build's)")
    p.add_argument("--max-clips", type=int, help="at most N clips per sample video (a quick run)")
    p.add_argument("--landmarks-from", metavar="DIR",
                   help="an earlier work folder of this script, trained without the landmark stream: its finished "
                        "runs get the stream (add-landmarks) instead of training again")
    p.add_argument("--card", help="model folder whose card gets the figures (default: the default detector's, when "
                                  "built and the run is its recipe: no --epochs, no --max-clips); 'none' to write no "
                                  "card")
    return p


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    setup_logging()
    out = Path(args.out)
    cfg = load_config(args.config, {"train.epochs": args.epochs} if args.epochs is not None else None)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    with torch_threads(args.threads):
        data_args = ["--max-clips", str(args.max_clips)] if args.max_clips else None
        _, labels, _ = build_training_crops(out / "build", cfg, args.seed, timings, samples=args.samples,
                                            data_args=data_args)
        person_of = {r["video_name"]: r["person"] for r in read_csv(out / "build" / "data" / "meta.csv")}
        people = sorted({person_of[r["video_name"]] for r in labels})
        unknown = sorted(set(args.people or []) - set(people))
        if unknown:
            raise SystemExit(f"unknown people: {', '.join(unknown)} (people: {', '.join(people)})")
        rows: list[dict[str, Any]] = []
        for person in args.people or people:
            rows += run_person(person, out / "build", out, labels, person_of, Path(args.config), args.seed,
                               args.epochs, Path(args.landmarks_from) if args.landmarks_from else None)
            write_csv(out / "lopo.csv", rows, ROW_COLUMNS)
        machine = machine_info()
    result = figures(rows)
    minutes = (time.perf_counter() - t0) / 60
    result.update({"protocol": "bench/lopo.py", "config": str(args.config),
                   "seed": args.seed, "epochs": cfg.train.epochs, "minutes": round(minutes, 1),
                   "machine": {k: machine[k] for k in ("cpu_model", "cpu_capability", "torch_threads", "allocator")}})
    write_json(out / "lopo.json", result)
    table = [{"held out": p, "auc": v["auc"], "log_loss": v["log_loss"], "reals": v["n_real"], "fakes": v["n_fake"]}
             for p, v in result["per_person"].items()]
    print(f"\nLeave one person out, {len(table)} people, seed {args.seed}, {cfg.train.epochs} epochs "
          f"({minutes:.0f} min; {machine['cpu_model']}, {machine['cpu_capability']}, {machine['torch_threads']} "
          f"torch threads, allocator {machine['allocator']}):")
    print(format_table(table, ["held out", "auc", "log_loss", "reals", "fakes"]))
    print(f"\nAUC over people: {result['auc_mean']} ± {result['auc_spread']}; pooled over every video: "
          f"{result['pooled']['auc']} (log loss {result['pooled']['log_loss']})")
    print(format_table([{"generator": g, "auc": v["auc"], "fakes": v["n_fake"]} for g, v in
                        result["by_method"].items()], ["generator", "auc", "fakes"]))
    # The default detector's card takes only a run of its own recipe: a quick run (--epochs, --max-clips) measures
    # another model, so its figures go into a card only when --card names one.
    quick = args.epochs is not None or args.max_clips is not None
    card = None if args.card == "none" or (quick and not args.card) else (
        Path(args.card) if args.card else default_model_path().parent)
    if card is not None and (card / CARD_JSON).is_file():
        add_held_out_figures(card, result)
        print(f"\nfigures written into the model card in {card}")
    elif quick and not args.card:
        print("\n--epochs or --max-clips: not the default detector's recipe, so its card is left alone (--card DIR)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
