"""Generalisation benchmark: leave-generators-out on held-out people, the default (ConvLSTM with localisation heads
and the landmark stream) against the frame mean, each network alone and with the stream, the default without its
heads and the default at T = 15.

``python bench/generalise.py --samples data/samples [--out bench_out/generalise] [--seeds 0 1 2] [--epochs N]``
(``make bench-generalise``)

Protocol (every number from one run of this script, same data and seeds for every variant):

1. The demo data set (``python -m dfdetect demo-data``, nine people), split by PERSON: the ``--test-people`` (default
   the woman and franck) are held out; every other person's real clips are the only training videos (the data set's
   own offline fakes are not used: any of them could come from a generator left out).
2. The generator family (:data:`dfdetect.synth.GENERATORS`) is split into ``--folds`` (default three, each holding
   one or two generators whose fakes exist only in time and one or two others, so that every fold trains on both
   kinds). For
   each fold, a test set: the held-out people's real clips and one fake of each made by each generator of the fold
   (``python -m dfdetect synth --method G``; reals re-encoded alike), cut into face crops once (``face_crop``).
3. For each fold, each variant (:data:`VARIANTS`) and each seed: ``train.py`` on the training reals with an
   on-the-fly twin for every real clip made by the generators NOT in the fold (``--synth-fakes 1
   --synth-methods``), then ``eval.py`` on the fold's crops: the video-level AUC of each left-out generator's fakes
   against the held-out people's reals, on people and manipulations never seen. ``timeblend``, the generic time-only
   recipe, is in no default fold, so every run trains on it: a left-out named time-only generator is then a recipe
   never seen, of a kind (a region retimed, moved or bent) that ``timeblend`` spans. ``--never-train timeblend``
   measures the family without it.

``--in-distribution`` is the control: every run trains on the WHOLE family and the fold's generators are only what is
reported (people never seen, manipulations seen). A time-only generator that the frame mean catches there leaves a
trace in single frames; one it cannot catch while the ConvLSTM does is seen only in time.

Prints, per left-out generator and variant, the AUC's mean and spread (standard deviation) over seeds and each seed;
the means over the generators whose fakes exist only in time (:data:`dfdetect.synth.TIME_ONLY`) and over the others;
and whether the default earns its place (issue 22): on the time-only generators at least 0.10 above the frame mean,
elsewhere not below it by more than the seeds' spread. Writes ``OUT/generalise.csv`` (one row per run and generator)
and ``OUT/generalise_table.csv``. Resumable: finished runs are read back from their ``metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
# `python bench/generalise.py` puts bench/ first on the path, where its scripts' names would shadow packages
# (bench/av.py is not PyAV): the project's root takes its place.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from bench.common import format_table, run_step  # noqa: E402
from dfdetect.core.config import load_config  # noqa: E402
from dfdetect.core.io import read_csv, setup_logging, write_csv  # noqa: E402
from dfdetect.core.runtime import machine_info  # noqa: E402
from dfdetect.core.schemas import LABELS_COLUMNS, METHOD_COLUMN, SPLIT_COLUMNS  # noqa: E402
from dfdetect.demo.data import build_demo_data  # noqa: E402
from dfdetect.demo.run import DEFAULT_CONFIG, torch_threads  # noqa: E402
from dfdetect.inference import evaluate  # noqa: E402
from dfdetect.synth import GENERATORS, TIME_ONLY  # noqa: E402
from dfdetect.synth import cli as synth_cli  # noqa: E402
from dfdetect.training import add_landmarks  # noqa: E402
from dfdetect.training import cli as training_cli  # noqa: E402
from face_crop import cli as face_crop_cli  # noqa: E402
from frame_extraction import cli as frames_cli  # noqa: E402

log = logging.getLogger("bench.generalise")

VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "mean": {"model": {"temporal": "mean", "aux_heads": False, "landmarks": False}},
    "convlstm": {"model": {"landmarks": False}},
    "default": {},
    "no-heads": {"model": {"aux_heads": False}},
    "t15": {"data": {"frames": 15}},
    "two-stream": {"model": {"temporal": "two-stream"}},
    "motion": {"model": {"motion_hidden": 32}},
    "pixel": {"model": {"pixel_hidden": 16}},
    "frozen": {"train": {"freeze_encoder": True}},
    "mean+landmarks": {"model": {"temporal": "mean", "aux_heads": False}},
    "default-clip": {"model": {"landmark_frames": 0}},
    "mean+landmarks-clip": {"model": {"temporal": "mean", "aux_heads": False, "landmark_frames": 0}},
    "default-linear": {"model": {"landmark_unusual": False}},
}
"""Variants, as differences from the base config (the demo's, with the model part left to the package defaults:
ConvLSTM, localisation heads and landmark stream): the frame mean (the baseline: the network alone), the ConvLSTM
network alone (``convlstm``: the default before the landmark stream), the default, the frame mean with the landmark
stream (``mean+landmarks``: what the ConvLSTM adds to the detector is ``default`` against it), the default without
dense supervision,
the default on the design's 15 frames instead of the demo's 8, the two-stream model with the heads, the default
with a motion stream (a ConvLSTM over the frame-to-frame differences of the encoder's 1/8 maps), the default with a
pixel stream (a 1x1 ConvLSTM over the frame-to-frame differences of the input frames at half size) and the default
with its ImageNet encoder frozen (only the temporal part, the heads and the dense layers learn: the first phase of
AltFreezing, Wang et al., CVPR 2023, which trains the temporal part on its own so that it cannot lean on what one
frame shows). Every variant but ``mean`` and ``convlstm`` has the landmark stream (``model.landmarks``: how the face's
landmarks move, fitted after training on the run's time-only fakes, fused with the network's logit); it reads the
15 crops of each clip's window (``model.landmark_frames``), but in ``default-clip`` and ``mean+landmarks-clip`` (the
stream as first built) only the clip's own T; ``default-linear`` is the default without the stream's one-class cue
(``model.landmark_unusual``: the distance from the training reals), as the default was before 2026-12-07's evening."""
WITH_LANDMARKS = {"mean+landmarks": "mean", "default": "convlstm", "default-clip": "convlstm",
                  "default-linear": "convlstm", "mean+landmarks-clip": "mean"}
"""A variant whose network is another's, weight for weight, plus the landmark stream (fitted after training, it changes
nothing of the network): where that run of the same fold and seed is finished, its model gets the stream
(``python -m dfdetect add-landmarks``) instead of training again."""
DEFAULT_VARIANTS = ("mean", "convlstm", "mean+landmarks", "default", "no-heads", "t15")
"""What the issue asks the benchmark to compare, and the two networks alone (``--variants`` adds the others)."""
DEFAULT_FOLDS = ("mouthretime,facewarp,sbi", "eyefreeze,resample", "facejitter,selfswap,temporal")
"""Left-out generator sets (one fold each): each leaves out one or two time-only generators and one or two others;
``facewarp`` and ``facejitter`` (a face that boils, a face that shakes) in different folds, so each is left out while
the other trains. Every generator that imitates a kind of fake is in one fold; ``timeblend`` (:data:`ALWAYS_TRAINED`)
in none."""
ALWAYS_TRAINED = ("timeblend",)
"""Generators in no default fold: training recipes (the generic time-only fake), not imitations of a method."""
DEFAULT_TEST_PEOPLE = ("pexels_woman", "franck")
RUN_COLUMNS = ["fold", "variant", "seed", "left_out", "auc", "log_loss", "n_fake", "train_methods", "seconds"]
EARN_MARGIN = 0.10
"""Issue 22: on left-out time-only generators the default's mean AUC must be at least this much above the frame mean."""


def base_config() -> dict[str, Any]:
    """The demo's config with its model part left to the package defaults (what ``VARIANTS['default']`` means)."""
    config = yaml.safe_load(DEFAULT_CONFIG.read_text()) or {}
    model = config.get("model", {})
    for key in ("temporal", "aux_heads"):
        model.pop(key, None)
    return config


def merged(base: dict[str, Any], diff: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``base`` with ``diff``'s sections updated key by key (a copy)."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for section, values in diff.items():
        out.setdefault(section, {}).update(values)
    return out


def prepare(samples: Path, out: Path, test_people: tuple[str, ...], seed: int) -> tuple[Path, list[Path], float]:
    """The demo data set, the crops of its training reals, and the held-out people's real clips.

    Returns:
        ``(crops.csv of the training reals, test real videos, seconds)``.

    Raises:
        ValueError: a test person who is not in the data set.
    """
    t0 = time.perf_counter()
    data = out / "data"
    build_demo_data(samples, data, seed=seed)
    meta = [r for r in read_csv(data / "meta.csv") if r.get("video_name") and int(r["target"]) == 0]
    people = sorted({r["person"] for r in meta})
    unknown = [p for p in test_people if p not in people]
    if unknown:
        raise ValueError(f"unknown test people {unknown} (people: {', '.join(people)})")
    train_reals = sorted(r["video_name"] for r in meta if r["person"] not in test_people)
    test_reals = sorted(r["video_name"] for r in meta if r["person"] in test_people)
    cfg = load_config(DEFAULT_CONFIG)
    train_labels = out / "train_labels.csv"
    write_csv(train_labels, [{"video_name": n, "target": 0} for n in train_reals], LABELS_COLUMNS)
    # every training real trains (no validation carved out of them: the held-out people are the only test data)
    write_csv(out / "train_split.csv", [{"video_name": n, "split": "train"} for n in train_reals], SPLIT_COLUMNS)
    crops = out / "crops"
    if not (crops / "crops.csv").is_file():
        run_step(frames_cli.main, [*(str(data / n) for n in train_reals), str(out / "frames"), "--labels",
                                   str(train_labels), "--frames", str(cfg.data.sample_frames), "--stride",
                                   str(cfg.data.stride), "--seed", str(seed), "--no-progress"], "frame extraction")
        run_step(face_crop_cli.main, [str(out / "frames"), str(crops), "--min-faces", str(cfg.data.min_faces),
                                      "--margin", str(cfg.data.margin), "--size", str(cfg.data.size)], "face crops")
    log.info("%d training reals of %d people, %d test reals of %s", len(train_reals), len(people) - len(test_people),
             len(test_reals), ", ".join(test_people))
    return crops / "crops.csv", [data / n for n in test_reals], time.perf_counter() - t0


def fold_test_set(test_reals: list[Path], out: Path, fold: tuple[str, ...], seed: int) -> tuple[Path, Path]:
    """The held-out reals (re-encoded) and one fake of each by every generator of ``fold``, cut into face crops.

    Returns:
        ``(crops.csv, labels.csv with a method column)``.
    """
    folder = out / f"test_{'+'.join(fold)}"
    videos, labels_path, crops = folder / "videos", folder / "labels.csv", folder / "crops"
    if not labels_path.is_file():
        rows: list[dict[str, Any]] = []
        for i, method in enumerate(fold):
            made = folder / "synth" / method
            argv = [*(str(p) for p in test_reals), str(made), "--method", method, "--per-video", "1", "--seed",
                    str(seed)]
            run_step(synth_cli.main, argv + ([] if i == 0 else ["--no-reals"]), f"synth --method {method}")
            videos.mkdir(parents=True, exist_ok=True)
            for r in read_csv(made / synth_cli.LABELS_FILE):
                # one folder for the fold: the reals once (from the first generator's run), each fake under a name
                # that cannot collide between generators
                name = r["video_name"] if int(r["target"]) == 0 else f"{method}_{r['video_name']}"
                shutil.copyfile(made / r["video_name"], videos / name)
                rows.append({"video_name": name, "target": r["target"], METHOD_COLUMN: r.get(METHOD_COLUMN) or ""})
        write_csv(labels_path, rows, (*LABELS_COLUMNS, METHOD_COLUMN))
    if not (crops / "crops.csv").is_file():
        cfg = load_config(DEFAULT_CONFIG)
        names = [r["video_name"] for r in read_csv(labels_path)]
        run_step(frames_cli.main, [*(str(videos / n) for n in names), str(folder / "frames"), "--labels",
                                   str(labels_path), "--frames", str(cfg.data.sample_frames), "--stride",
                                   str(cfg.data.stride), "--seed", str(seed), "--no-progress"], "frame extraction")
        run_step(face_crop_cli.main, [str(folder / "frames"), str(crops), "--min-faces", str(cfg.data.min_faces),
                                      "--margin", str(cfg.data.margin), "--size", str(cfg.data.size)], "face crops")
    return crops / "crops.csv", labels_path


def training_methods(fold: tuple[str, ...], in_distribution: bool = False, never: tuple[str, ...] = ()) -> list[str]:
    """The generators a run of ``fold`` trains on: all but the fold's (all: ``in_distribution``), never ``never``.

    Example:
        >>> training_methods(("sbi", "facewarp"), never=("timeblend",))
        ['temporal', 'resample', 'selfswap', 'mouthretime', 'eyefreeze', 'facejitter']
        >>> "timeblend" in training_methods(("facewarp",))  # the generic recipe trains in every default fold
        True
    """
    return [g for g in GENERATORS if g not in never and (in_distribution or g not in fold)]


def run_one(crops: Path, test: tuple[Path, Path], out: Path, fold: tuple[str, ...], variant: str, seed: int,
            epochs: int | None, in_distribution: bool = False, never: tuple[str, ...] = ()) -> list[dict]:
    """Train without the fold's generators (with every generator: ``in_distribution``) and without ``never``, and
    evaluate on the fold's test set; a finished run is read back.

    Returns:
        One row per generator of the fold (:data:`RUN_COLUMNS`).
    """
    without = f"-without-{'+'.join(never)}" if never else ""  # such runs never share a folder with the others
    run = out / ("runs-in" if in_distribution else "runs") / f"{'+'.join(fold)}-{variant}{without}-s{seed}"
    others = ",".join(training_methods(fold, in_distribution, never))
    metrics_path = run / "eval" / "metrics.json"
    t0 = time.perf_counter()
    if not metrics_path.is_file():
        run.mkdir(parents=True, exist_ok=True)
        (run / "config.yaml").write_text(yaml.safe_dump(merged(base_config(), VARIANTS[variant]), sort_keys=False))
        argv = ["--data", str(crops), "--split", str(crops.parent.parent / "train_split.csv"), "--out",
                str(run / "train"), "--config", str(run / "config.yaml"), "--seed", str(seed), "--synth-fakes", "1",
                "--synth-methods", others]
        if epochs is not None:
            argv += ["--epochs", str(epochs)]
        if (run / "train" / "last.pt").exists():
            argv.append("--resume")
        base = run.parent / run.name.replace(f"-{variant}", f"-{WITH_LANDMARKS.get(variant)}", 1)
        if variant in WITH_LANDMARKS and (base / "eval" / "metrics.json").is_file() and not (run / "train").exists():
            model = VARIANTS[variant].get("model", {})
            frames, unusual = model.get("landmark_frames"), model.get("landmark_unusual")
            run_step(add_landmarks.main, [str(base / "train"), str(run / "train"),
                                          *([] if frames is None else ["--landmark-frames", str(frames)]),
                                          *([] if unusual is None else ["--unusual" if unusual else "--no-unusual"])],
                     f"add-landmarks {run.name}")
        else:
            run_step(training_cli.main, argv, f"train {run.name}")
        test_crops, test_labels = test
        run_step(evaluate.main, [str(run / "train" / "best.pt"), str(test_crops), "--labels", str(test_labels),
                                 "--out", str(run / "eval")], f"eval {run.name}")
        (run / "seconds.txt").write_text(f"{time.perf_counter() - t0:.1f}\n")  # a resumed run reports its own time
    m = json.loads(metrics_path.read_text())
    timed = run / "seconds.txt"
    seconds = float(timed.read_text()) if timed.is_file() else None  # None: trained before the time was recorded
    by = m.get("by_method") or {}
    return [{"fold": "+".join(fold), "variant": variant, "seed": seed, "left_out": g,
             "auc": (by.get(g) or {}).get("auc"), "log_loss": (by.get(g) or {}).get("log_loss"),
             "n_fake": (by.get(g) or {}).get("n_fake"), "train_methods": others, "seconds": seconds} for g in fold]


def _cell(aucs: list[float]) -> str:
    if not aucs:
        return "-"
    spread = statistics.stdev(aucs) if len(aucs) > 1 else 0.0
    return f"{statistics.mean(aucs):.3f} ± {spread:.3f}"


def summarise(rows: list[dict], seeds: list[int], variants: list[str]) -> list[dict]:
    """One row per left-out generator, then the means over time-only generators, the others and all: per variant the
    AUC's mean ± standard deviation over seeds (a group's per-seed value is the mean over its generators first) and the
    per-seed values."""
    generators = [g for g in GENERATORS if any(r["left_out"] == g for r in rows)]
    groups = {g: [g] for g in generators}
    groups["time-only (mean)"] = [g for g in generators if g in TIME_ONLY]
    groups["others (mean)"] = [g for g in generators if g not in TIME_ONLY]
    groups["all (mean)"] = generators
    table = []
    for name, members in groups.items():
        row: dict[str, Any] = {"left_out": name}
        for v in variants:
            per_seed = []
            for s in seeds:
                aucs = [float(r["auc"]) for r in rows if r["variant"] == v and int(r["seed"]) == s
                        and r["left_out"] in members and r["auc"] is not None]
                if aucs and len(aucs) == len(members):
                    per_seed.append(statistics.mean(aucs))
            row[v] = _cell(per_seed)
            row[f"{v}_seeds"] = " / ".join(f"{a:.3f}" for a in per_seed)
            row[f"_{v}"] = per_seed
        table.append(row)
    return table


def verdict(table: list[dict]) -> str:
    """Whether the default earns its place against the frame mean (issue 22's rule), in one line."""
    by = {r["left_out"]: r for r in table}
    time_only, others = by.get("time-only (mean)"), by.get("others (mean)")
    if not time_only or not time_only.get("_default") or not time_only.get("_mean"):
        return "Verdict: needs the default and the frame mean on time-only generators."
    gain = statistics.mean(time_only["_default"]) - statistics.mean(time_only["_mean"])
    text = f"time-only generators: default - frame mean = {gain:+.3f} (needed >= {EARN_MARGIN:+.2f})"
    ok = gain >= EARN_MARGIN
    if others and others.get("_default") and others.get("_mean"):
        loss = statistics.mean(others["_mean"]) - statistics.mean(others["_default"])
        spread = max((statistics.stdev(others[k]) if len(others[k]) > 1 else 0.0) for k in ("_default", "_mean"))
        text += f"; others: frame mean - default = {loss:+.3f} (seeds' spread {spread:.3f})"
        ok = ok and loss <= spread
    line = f"Verdict: {text}: the default {'earns' if ok else 'does NOT earn'} its place."
    pairs = (("mean+landmarks", "the ConvLSTM"), ("convlstm", "the landmark stream"))
    for other, part in pairs:  # what each part of the default adds, where the run without it is in the table
        if time_only.get(f"_{other}") and others and others.get(f"_{other}"):
            t = statistics.mean(time_only["_default"]) - statistics.mean(time_only[f"_{other}"])
            o = statistics.mean(others["_default"]) - statistics.mean(others[f"_{other}"])
            line += f"\nWhat {part} adds (default - {other}): time-only {t:+.3f}, others {o:+.3f}."
    return line


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python bench/generalise.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", default="data/samples", help="the sample media (make data)")
    p.add_argument("--out", default="bench_out/generalise", help="work and result folder (resumable)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds (default 0 1 2)")
    p.add_argument("--epochs", type=int, default=None, help="override the demo config's epochs (fewer: faster)")
    p.add_argument("--folds", nargs="+", default=list(DEFAULT_FOLDS),
                   help="left-out generator sets, comma-separated each (default: "
                        f"{' '.join(DEFAULT_FOLDS)}; one name per fold: leave-one-generator-out)")
    p.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS), choices=list(VARIANTS),
                   help=f"variants to compare (default {' '.join(DEFAULT_VARIANTS)})")
    p.add_argument("--test-people", nargs="+", default=list(DEFAULT_TEST_PEOPLE),
                   help=f"held-out people (default {' '.join(DEFAULT_TEST_PEOPLE)})")
    p.add_argument("--threads", type=int, default=2, help="torch threads (as the demo: results depend on it)")
    p.add_argument("--never-train", nargs="+", default=[], metavar="GENERATOR",
                   help="generators left out of every training run (e.g. timeblend: the family before it existed)")
    p.add_argument("--in-distribution", action="store_true",
                   help="the control: train on every generator, report the folds' (seen manipulations, unseen people)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    setup_logging()
    folds = [tuple(f.split(",")) for f in args.folds]
    unknown = sorted({g for f in folds for g in f} - set(GENERATORS))
    if unknown:
        raise SystemExit(f"unknown generators in --folds: {', '.join(unknown)} (known: {', '.join(GENERATORS)})")
    never = tuple(args.never_train)
    if set(never) - set(GENERATORS):
        raise SystemExit(f"unknown generators in --never-train: {', '.join(sorted(set(never) - set(GENERATORS)))}")
    out = Path(args.out)
    stem = "generalise_in" if args.in_distribution else "generalise"  # the control's results beside the benchmark's
    stem += f"_without_{'+'.join(never)}" if never else ""
    rows: list[dict] = []
    t0 = time.perf_counter()
    with torch_threads(args.threads):
        crops, test_reals, prep_s = prepare(Path(args.samples), out, tuple(args.test_people), seed=0)
        for fold in folds:
            test = fold_test_set(test_reals, out, fold, seed=0)
            for variant in args.variants:
                for seed in args.seeds:
                    got = run_one(crops, test, out, fold, variant, seed, args.epochs, args.in_distribution, never)
                    rows += got
                    log.info("left out %s, %s, seed %d: %s", "+".join(fold), variant, seed,
                             ", ".join(f"{r['left_out']} {r['auc']:.3f}" for r in got if r["auc"] is not None))
                    write_csv(out / f"{stem}.csv", rows, RUN_COLUMNS)
    table = summarise(rows, args.seeds, args.variants)
    cols = ["left_out", *args.variants, *(f"{v}_seeds" for v in args.variants)]
    write_csv(out / f"{stem}_table.csv", table, cols)
    machine = machine_info()
    what = ("every generator trained on (the control)" if args.in_distribution
            else "each fold's generators left out of training")
    what += f", never trained on: {', '.join(never)}" if never else ""
    print(f"\nVideo AUC on the held-out people ({', '.join(args.test_people)}), {what}, mean ± spread over seeds "
          f"{' '.join(map(str, args.seeds))} (data set {prep_s:.0f} s, all "
          f"{(time.perf_counter() - t0) / 60:.0f} min; {machine['cpu_model']}, {machine['cpu_capability']}, "
          f"{machine['torch_threads']} torch threads, allocator {machine['allocator']}):")
    print(format_table(table, ["left_out", *args.variants]))
    print("\nPer seed:")
    print(format_table(table, ["left_out", *(f"{v}_seeds" for v in args.variants)]))
    print("\n" + verdict(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
