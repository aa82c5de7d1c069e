"""``dfdetect model build`` (``make model``): the default detector, and ``dfdetect model path``: where it lives.

    dfdetect model build [--samples DIR | --reals DIR] [--out PATH] [--epochs N] [--seed S] [--threads N]
    dfdetect model path

The default detector is the project's current recipe (the demo's: ``configs/demo.yaml``, EfficientNet-Lite0 ->
ConvLSTM, every real clip with an on-the-fly twin from the whole generator family) trained on EVERY person the project
can fetch, none held out. Steps, each the project's own CLI called in-process as :mod:`dfdetect.demo.run` calls them:

1. Data. Default: the sample videos (``make data``) cut into clips of every person, one self-made fake per clip
   (:func:`dfdetect.demo.data.build_demo_data` with no test and no validation person). ``--reals DIR``: a user's own
   folder of real videos instead, each re-encoded with one self-blended (SBI) fake (``dfdetect synth``), so a detector
   for their domain needs no fake of theirs (as SBI trains on real videos only).
2. ``frame_extraction`` and ``face_crop`` with the recipe's sampling and crop settings.
3. ``train.py`` with the recipe's config: the validation videos (which pick ``best.pt`` and fit its calibration) are a
   stratified share of the videos (``dfdetect.data.splits.split_videos``), drawn from the same people.
4. ``best.pt`` copied to ``--out`` (default :func:`dfdetect.core.config.default_model_path`,
   ``$DFDETECT_HOME/models/dfdetect-v1/model.pt``), with ``MODEL_CARD.md`` and ``model_card.json`` beside it: data
   and people, recipe, config, seed, threads, training time, software versions, and the leave-one-person-out
   figures once ``bench/lopo.py`` (``make bench-lopo``) has measured them (:func:`add_held_out_figures`): a separate
   run that trains this recipe with each person held out in turn, never figures from people the model trained on.

The intermediate files go to ``--work`` (default ``build/`` beside the checkpoint); every step resumes, as the demo's.
Same data, seed and ``--threads`` give the same weights on one machine (see :mod:`dfdetect.demo.run`).

Exit status: 0 built, 1 a step failed, 2 bad arguments. ``model path`` prints the path; 0 when it is built, else 1.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import platform
import sys
import time
from pathlib import Path
from typing import Any

from dfdetect.core.cli import add_verbose, run_cli
from dfdetect.core.config import (
    CARD_FILE,
    CARD_JSON,
    DEFAULT_MODEL_NAME,
    Config,
    config_to_dict,
    default_model_path,
    load_config,
)
from dfdetect.core.io import (
    InputError,
    atomic_write,
    read_csv,
    write_bytes_atomic,
    write_json,
)
from dfdetect.core.runtime import machine_info, timed
from dfdetect.data import draws_labelled_fakes
from dfdetect.demo import data as demo_data
from dfdetect.demo.run import DEFAULT_CONFIG, DEMO_THREADS, DemoError, _step, torch_threads
from dfdetect.demo.samples import SAMPLES_DIR
from dfdetect.synth import cli as synth_cli
from dfdetect.training import cli as training_cli
from face_crop import cli as face_crop_cli
from frame_extraction import cli as frames_cli

log = logging.getLogger(__name__)

REALS_METHOD = "sbi"
"""The generator of the one fake made per real video of ``--reals`` (training's twins still draw the whole family)."""
SOFTWARE = ("dfdetect", "torch", "torchvision", "numpy", "opencv-python", "av", "efficientnet-pytorch",
            "facenet-pytorch", "albumentations", "scikit-learn")
"""The distributions whose versions the card records (beside Python and the platform)."""


def software_versions() -> dict[str, str]:
    """``{name: version}`` of Python and :data:`SOFTWARE` (``"missing"`` for one not installed)."""
    out = {"python": platform.python_version()}
    for name in SOFTWARE:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def _data_from_samples(samples: Path, data: Path, seed: int, timings: dict[str, float],
                       extra: list[str]) -> dict[str, Any]:
    """Step 1 on the sample videos: every person's clips and their fakes, no test and no validation person."""
    _step("data", demo_data.main, ["--samples", str(samples), "--out", str(data), "--seed", str(seed),
                                   "--test-person", "", "--val-people", "", *extra], timings)
    meta = read_csv(data / "meta.csv")
    people = sorted({r["person"] for r in meta})
    return {"kind": "samples", "root": str(samples), "people": people,
            "clips_per_person": {p: sum(r["person"] == p and r["target"] == "0" for r in meta) for p in people},
            "sources": sorted({r["source"] for r in meta})}


def _data_from_reals(reals: Path, data: Path, seed: int, timings: dict[str, float]) -> dict[str, Any]:
    """Step 1 on a user's folder of real videos: each re-encoded with one self-blended fake (``dfdetect synth``)."""
    if not reals.is_dir():
        raise InputError(f"--reals: folder not found: {reals}")
    _step("data", synth_cli.main, [str(reals), str(data), "--per-video", "1", "--seed", str(seed),
                                   "--method", REALS_METHOD], timings)
    sources = sorted({r["source"] for r in read_csv(data / "meta.csv") if r["status"] == "ok"})
    return {"kind": "reals", "root": str(reals), "people": "unknown (a folder of real videos)",
            "sources": [Path(s).name for s in sources], "fakes": f"one {REALS_METHOD} fake per real video"}


def build_training_crops(work: Path, cfg: Config, seed: int, timings: dict[str, float],
                         samples: str | Path = SAMPLES_DIR, reals: str | Path | None = None,
                         data_args: list[str] | None = None) -> tuple[dict[str, Any], list[dict[str, str]], Path]:
    """Steps 1-2 of the build: the videos (``work/data``: the sample people's clips and fakes, or ``reals`` and their
    fakes), their sampled frames (``work/frames``) and face crops (``work/crops``), with the recipe's sampling and
    crop settings. Resumable. Also the data of ``bench/lopo.py``, which trains the same recipe with one person out.

    Args:
        work: the build's work folder.
        cfg: the recipe (its ``data`` section: frames, stride, min_faces, margin, size).
        seed: seeds the fakes and the frame sampling.
        timings: seconds per step are added under ``data``, ``frame_extraction`` and ``face_crop``.
        samples, reals, data_args: as :func:`build_model`.

    Returns:
        ``(data description for the card, rows of work/data/labels.csv, work/crops/crops.csv)``.

    Raises:
        DemoError: a step failed.
        InputError: ``reals`` is not a folder.
    """
    data, frames, crops = work / "data", work / "frames", work / "crops"
    if reals is not None:
        data_info = _data_from_reals(Path(reals), data, seed, timings)
    else:
        data_info = _data_from_samples(Path(samples), data, seed, timings, list(data_args or []))
    labels = read_csv(data / "labels.csv")
    videos = [str(data / r["video_name"]) for r in labels]
    _step("frame_extraction", frames_cli.main,
          [*videos, str(frames), "--labels", str(data / "labels.csv"), "--frames", str(cfg.data.sample_frames),
           "--stride", str(cfg.data.stride), "--seed", str(seed), "--no-progress"], timings)
    _step("face_crop", face_crop_cli.main,
          [str(frames), str(crops), "--min-faces", str(cfg.data.min_faces), "--margin", str(cfg.data.margin),
           "--size", str(cfg.data.size)], timings)
    return data_info, labels, crops / "crops.csv"


def build_model(out: str | Path | None = None, samples: str | Path = SAMPLES_DIR, reals: str | Path | None = None,
                work: str | Path | None = None, config: str | Path = DEFAULT_CONFIG, seed: int = 0,
                epochs: int | None = None, threads: int = DEMO_THREADS,
                data_args: list[str] | None = None) -> dict[str, Any]:
    """Train the recipe on every person (or on ``reals``) and write the checkpoint and its model card.

    Args:
        out: the checkpoint to write (default :func:`dfdetect.core.config.default_model_path`); the card goes beside.
        samples: the sample videos (``make data``); used unless ``reals`` is given.
        reals: a folder of the user's real videos (fakes made from them).
        work: intermediate files (default ``build/`` beside ``out``); a rerun resumes from them.
        config: the recipe (YAML differences from the defaults).
        seed: seeds the data, frame sampling and training.
        epochs: overrides the recipe's ``train.epochs``.
        threads: torch threads for the whole build (the weights depend on it).
        data_args: extra arguments of ``dfdetect demo-data`` (e.g. ``--max-clips 1`` for a quick build).

    Returns:
        The model card (also written as ``model_card.json`` and ``MODEL_CARD.md`` beside ``out``).

    Raises:
        DemoError: a step failed (the message names it).
        InputError: a malformed config, a missing folder.
    """
    out = Path(out) if out is not None else default_model_path()
    work = Path(work) if work is not None else out.parent / "build"
    cfg = load_config(config, {"train.epochs": epochs} if epochs is not None else None)
    run = work / "run"
    timings: dict[str, float] = {}
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with torch_threads(threads), timed(timings, "total"):
        data_info, labels, crops = build_training_crops(work, cfg, seed, timings, samples=samples, reals=reals,
                                                        data_args=data_args)
        resume = ["--resume"] if (run / "last.pt").exists() else []
        epochs_arg = ["--epochs", str(epochs)] if epochs is not None else []
        _step("train", training_cli.main, ["--data", str(crops), "--config", str(config), "--out",
                                           str(run), "--seed", str(seed), *epochs_arg, *resume], timings)
        machine = machine_info()  # inside the pinned threads: the count the build used
    summary = json.loads((run / "run.json").read_text())
    card = {
        "name": DEFAULT_MODEL_NAME if out == default_model_path() else out.stem,
        "checkpoint": out.name,
        "built": started,
        "data": {**data_info, "videos_real": sum(r["target"] == "0" for r in labels),
                 "videos_fake": sum(r["target"] == "1" for r in labels),
                 "train_videos": len(summary.get("train_videos", [])),
                 "val_videos": len(summary.get("val_videos", []))},
        "recipe": {"config_file": _shown_path(config), "held_out_people": [],
                   "synth_methods": cfg.train.synth_methods, "synth_fakes": cfg.train.synth_fakes,
                   # every real clip has a twin: balancing then never draws a labelled fake (they validate only)
                   "labelled_fakes_trained": draws_labelled_fakes(cfg.data.balance, cfg.train.synth_fakes)},
        "config": config_to_dict(load_config(run / "config.yaml")),
        "seed": seed,
        "torch_threads": threads,
        "device": summary.get("device"),
        "training_time_s": {k: round(v, 1) for k, v in timings.items()},
        "best_epoch": summary.get("best_epoch"),
        "validation": summary.get("best"),
        "landmarks": summary.get("landmarks"),
        "held_out_figures": None,
        "software": software_versions(),
        "machine": machine,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(out, (run / "best.pt").read_bytes())
    write_json(out.parent / CARD_JSON, card)
    with atomic_write(out.parent / CARD_FILE) as f:
        f.write(card_markdown(card))
    log.info("default detector written: %s (card %s)", out, out.parent / CARD_FILE)
    return card


def _held_out_lines(fig: dict[str, Any] | None) -> list[str]:
    """The card's held-out section: the figures of ``bench/lopo.py`` (:func:`add_held_out_figures`), or why none."""
    if not fig:
        return ["Not measured yet: `python bench/lopo.py` (`make bench-lopo`) trains this recipe with each person held "
                "out in turn and writes its figures here (AUC per person and per generator), never from people the "
                "model trained on."]
    m = fig.get("machine") or {}
    lines = [f"Leave one person out (`{fig.get('protocol', 'bench/lopo.py')}`): the same recipe ({fig.get('epochs')} "
             f"epochs, seed {fig.get('seed')}) trained once per person with that person held out, scored on their "
             f"videos ({fig.get('minutes')} min on {m.get('cpu_model', '?')}, {m.get('torch_threads', '?')} threads).",
             "",
             f"- AUC over people: {fig['auc_mean']} ± {fig['auc_spread']} (mean ± standard deviation); pooled over "
             f"every video ({fig['pooled']['n_real']} real, {fig['pooled']['n_fake']} fake): AUC "
             f"{fig['pooled']['auc']}, log loss {fig['pooled']['log_loss']}",
             "",
             "| held out | AUC | log loss | reals | fakes |", "|---|---|---|---|---|"]
    lines += [f"| {p} | {v['auc']} | {v['log_loss']} | {v['n_real']} | {v['n_fake']} |"
              for p, v in fig["per_person"].items()]
    lines += ["", "| generator (its fakes against every real, pooled) | AUC | fakes |", "|---|---|---|"]
    lines += [f"| {g} | {v['auc']} | {v['n_fake']} |" for g, v in fig["by_method"].items()]
    return lines


def add_held_out_figures(model_dir: str | Path, figures: dict[str, Any]) -> dict[str, Any]:
    """Write the leave-one-person-out ``figures`` (``bench/lopo.py``) into the model card of ``model_dir``
    (``model_card.json`` and ``MODEL_CARD.md``, atomically).

    Returns:
        The updated card.

    Raises:
        InputError: no model card in ``model_dir``.
    """
    path = Path(model_dir) / CARD_JSON
    if not path.is_file():
        raise InputError(f"no model card in {model_dir} (build the model first: dfdetect model build)")
    card = json.loads(path.read_text())
    card["held_out_figures"] = figures
    write_json(path, card)
    with atomic_write(Path(model_dir) / CARD_FILE) as f:
        f.write(card_markdown(card))
    return card


def _shown_path(path: str | Path) -> str:
    """``path`` as the card shows it: relative to the project's folder when inside it (``configs/demo.yaml``), so the
    card names no folder of the machine that built it.

    Example:
        >>> _shown_path(DEFAULT_CONFIG)
        'configs/demo.yaml'
    """
    try:
        return Path(path).resolve().relative_to(DEFAULT_CONFIG.resolve().parents[1]).as_posix()
    except ValueError:
        return str(path)


def _landmarks_line(record: dict[str, Any] | None) -> str:
    """The model card's line on the landmark stream (``run.json``'s ``landmarks`` record).

    Example:
        >>> print(_landmarks_line({"skipped": "no face mesh"}))
        not fitted (no face mesh): scores are the network's alone
        >>> print(_landmarks_line({"n_train_real": 4, "n_train_fake": 8, "generators": ["facejitter"],
        ...                        "n_val_real_clips": 5, "landmark_frames": 15}).split("; ")[-1])
        reads 15 crops around each clip
    """
    if not record:
        return "none (model.landmarks off)"
    if record.get("skipped"):
        return f"not fitted ({record['skipped']}): scores are the network's alone"
    frames = record.get("landmark_frames") or 0  # absent: fitted before the setting existed (the clip's own)
    read = f"; reads {frames} crops around each clip" if frames else "; reads each clip's own crops"
    if record.get("landmark_unusual"):
        read += "; also scores the distance from the training reals"
    return (f"fitted on {record['n_train_real']} real and {record['n_train_fake']} fake training clips "
            f"({', '.join(record['generators'])}), fusion scales from {record['n_val_real_clips']} "
            f"{record.get('scales_from', 'validation')} real clips{read}")


def card_markdown(card: dict[str, Any]) -> str:
    """The model card as Markdown (the same content as ``model_card.json``)."""
    d, r, v, m = card["data"], card["recipe"], card.get("validation") or {}, card["machine"]
    people = d["people"] if isinstance(d["people"], str) else ", ".join(d["people"])
    lines = [
        f"# Model card: {card['name']}",
        "",
        f"Checkpoint `{card['checkpoint']}`, built {card['built']} by `dfdetect model build` "
        f"({card['training_time_s'].get('total', 0):.0f} s on {card['device']}, {card['torch_threads']} torch "
        "threads).",
        "",
        "## Data",
        f"- {d['kind']}: `{d['root']}`; people: {people} (none held out)",
        f"- {d['videos_real']} real and {d['videos_fake']} fake videos; training {d['train_videos']}, validation "
        f"{d['val_videos']} (validation videos come from the same people: they pick the epoch and the calibration)"
        + ("" if r.get("labelled_fakes_trained", True) else "; training learns from the reals and their on-the-fly "
           "twins only (every real clip has one, so balancing draws none of the labelled fakes: they validate)"),
        f"- sources: {', '.join(d['sources'])}",
        "",
        "## Recipe",
        f"- config `{r['config_file']}`; on-the-fly twins: {r['synth_fakes']} per real clip, generators "
        f"{r['synth_methods']}",
        f"- seed {card['seed']}; best epoch {card['best_epoch']}; validation AUC "
        f"{v.get('val_auc', 'n/a')} (people seen in training: not a measure of generalisation)",
        f"- landmark stream: {_landmarks_line(card.get('landmarks'))}",
        "",
        "## Held-out figures (leave one person out)",
        *_held_out_lines(card.get("held_out_figures")),
        "",
        "## Software",
        *[f"- {k} {val}" for k, val in card["software"].items()],
        f"- machine: {m['cpu_model']} ({m['cpu_count']} CPUs, torch kernels {m['cpu_capability']}), {m['platform']}, "
        f"allocator {m['allocator']}; the weights depend on the CPU's instruction set and the torch threads",
        "",
        "## Config",
        "```json",
        *json.dumps(card["config"], indent=2, sort_keys=True).splitlines(),
        "```",
        "",
    ]
    return "\n".join(lines)


def get_args_parser() -> argparse.ArgumentParser:
    """The ``dfdetect model`` command line."""
    p = argparse.ArgumentParser(prog="dfdetect model", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="action", required=True)
    b = sub.add_parser("build", help="train the default detector and write its model card")
    b.add_argument("--samples", default=SAMPLES_DIR, help="the sample videos (make data)")
    b.add_argument("--reals", help="a folder of your own real videos instead (fakes made from them)")
    b.add_argument("--out", help="checkpoint to write (default $DFDETECT_HOME/models/dfdetect-v1/model.pt, "
                                 "DFDETECT_HOME defaulting to ~/.cache/dfdetect)")
    b.add_argument("--work", help="intermediate files (default build/ beside --out); a rerun resumes")
    b.add_argument("--config", default=str(DEFAULT_CONFIG), help="the recipe (default configs/demo.yaml)")
    b.add_argument("--epochs", type=int, help="override the recipe's train.epochs")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--threads", type=int, default=DEMO_THREADS, help=f"torch threads (default {DEMO_THREADS})")
    b.add_argument("--max-clips", type=int, help="at most N clips per sample video (default: the demo's)")
    add_verbose(b)
    sub.add_parser("path", help="print where the default detector is (exit 1 when it is not built)")
    return p


def main(argv: list[str] | None = None) -> int:
    """CLI: see the module docstring for the exit status."""
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    """The body of :func:`main` (after the arguments and the logging setup)."""
    if args.action == "path":
        path = default_model_path()
        sys.stdout.write(f"{path}\n")
        return 0 if path.is_file() else 1
    if args.threads < 1 or (args.epochs is not None and args.epochs < 1):
        raise InputError("--threads and --epochs must be >= 1")
    if not Path(args.config).is_file():
        raise InputError(f"recipe not found: {args.config} (pass --config)")
    try:
        build_model(args.out, samples=args.samples, reals=args.reals, work=args.work, config=args.config,
                    seed=args.seed, epochs=args.epochs, threads=args.threads,
                    data_args=["--max-clips", str(args.max_clips)] if args.max_clips else None)
    except DemoError as e:
        log.error("%s", e)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
