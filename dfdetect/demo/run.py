"""``python -m dfdetect demo`` (``make demo``): the whole job on the sample videos, end to end, on a CPU.

Steps, each the project's own CLI entry point called in-process (so the demo runs exactly what a user runs):

1. ``python -m dfdetect demo-data``: real clips cut from the sample videos and the audio-video track's talking faces
   of nine people, one self-made fake per clip (the named generators, :data:`dfdetect.demo.data.METHODS`, in turn),
   all at one resolution, a split by person: seven people train (32 clips), one validates (16 videos), the woman is
   held out (16 videos: 8 reals, 8 fakes, each of the eight generators once) (:mod:`dfdetect.demo.data`).
2. ``python -m frame_extraction``: 15 frames at stride 2 from a random start, for the training and validation videos
   (the training people's reals only when the recipe never draws a labelled fake: every real clip twinned on the fly,
   undersampled: 32 videos).
3. ``python -m face_crop``: MTCNN face crops; videos with too few faces are recorded in ``rejects.csv``.
4. ``python train.py``: EfficientNet-Lite0 (offline ImageNet weights) -> ConvLSTM -> two dense layers (the package
   default, with its localisation heads for training) with ``configs/demo.yaml``, on the training people
   (``split.csv``), each real clip with an on-the-fly twin from the whole generator family (``train.synth_methods``);
   the validation people pick ``best.pt`` and fit its calibration (temperature scaling).
5. ``python eval.py best.pt``: the held-out person's raw videos, through the whole chain; AUC, log loss, accuracy,
   and the AUC of each generator (its fakes against all the person's reals).
6. Pictures: an augmented frame grid (``python -m dfdetect grid``) and real/fake example frames side by side.

Every step resumes: running the demo again reuses what is finished.

Reproducibility: the run is pinned to ``--threads`` torch threads (default :data:`DEMO_THREADS`, the count the
README's figures were measured with). The same seed and the same thread count give the same weights and the same
figures on one machine; another thread count, or a CPU with another instruction set (AVX2 vs AVX-512, Intel vs AMD),
changes the floating-point reduction order, and over a few hundred training steps that alone moves the AUC by a few
hundredths. ``summary.json`` records the machine (``machine``) so that other figures can be traced to it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from dfdetect.core.cli import add_verbose, run_cli
from dfdetect.core.config import load_config
from dfdetect.core.io import InputError, read_csv, read_labels, write_csv, write_json
from dfdetect.core.runtime import machine_info, timed
from dfdetect.core.schemas import LABELS_COLUMNS, METHOD_COLUMN
from dfdetect.data import draws_labelled_fakes
from dfdetect.demo import data as demo_data
from dfdetect.demo import grids
from dfdetect.demo.samples import SAMPLES_DIR
from dfdetect.inference import evaluate
from dfdetect.training import cli as training_cli
from face_crop import cli as face_crop_cli
from frame_extraction import cli as frames_cli

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs" if (ROOT / "configs").is_dir() else Path(__file__).resolve().parents[1] / "configs"
"""The recipes: ``configs/`` of a clone, else the wheel's copy ``dfdetect/configs/`` (pyproject's package-dir)."""
DEFAULT_CONFIG = CONFIGS / "demo.yaml"
DEMO_THREADS = 2
"""Torch threads of a demo run: the README's figures were measured with 2 (a 2-core CPU)."""
GRID_CLIPS = 6
"""Rows of the augmentation grid."""


class DemoError(RuntimeError):
    """A demo step failed; the message names the step and the command to run it alone."""


def shown_argv(argv: list[str], keep: int = 2) -> str:
    """``argv`` quoted as a shell would need it, with a run of more than ``2 * keep + 1`` positional arguments (the
    videos) shortened to its first ``keep``, how many are left out, and its last ``keep``.

    Example:
        >>> shown_argv(["a.mp4", "b.mp4", "c.mp4", "d.mp4", "e.mp4", "f.mp4", "out", "--labels", ""])
        "a.mp4 b.mp4 ... (3 more) f.mp4 out --labels ''"
    """
    parts: list[str] = []
    run: list[str] = []
    for arg in [*argv, "--"]:  # the sentinel ends the last run
        if not arg.startswith("-"):
            run.append(shlex.quote(arg))
            continue
        if len(run) > 2 * keep + 1:
            run = [*run[:keep], f"... ({len(run) - 2 * keep} more)", *run[-keep:]]
        parts += [*run, shlex.quote(arg)]
        run = []
    return " ".join(parts[:-1])


def _step(name: str, fn: Callable[[list[str]], int], argv: list[str], timings: dict[str, float]) -> None:
    """Run one CLI entry point in-process; its wall time (s, rounded to 0.1) goes to ``timings[name]``."""
    log.info("== %s: %s", name, shown_argv(argv))  # the whole command at -v (debug)
    log.debug("== %s: %s", name, shlex.join(argv))  # quoted as a shell would need it: an empty argument shows as ''
    with timed(timings, name):
        rc = fn(argv)
    timings[name] = round(timings[name], 1)
    if rc != 0:
        raise DemoError(f"step {name!r} failed with exit status {rc}")
    log.info("== %s done in %.1f s", name, timings[name])


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[int]:
    """Pin torch's intra-op thread count to ``n`` for the block, then restore the caller's.

    Example:
        >>> before = torch.get_num_threads()
        >>> with torch_threads(1) as n:
        ...     n, torch.get_num_threads()
        (1, 1)
        >>> torch.get_num_threads() == before
        True
    """
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(old)


def run_demo(samples: str | Path, out: str | Path, config: str | Path = DEFAULT_CONFIG, seed: int = 0,
             workers: int = 1, threads: int = DEMO_THREADS) -> dict[str, Any]:
    """Run every step of the demo into ``out`` and return the summary (also written to ``out/summary.json``).

    Args:
        samples: the sample videos (``make data``).
        out: output folder (``data/``, ``frames/``, ``crops/``, ``run/``, ``eval/``, the pictures, ``summary.json``).
        config: training config (YAML differences from the defaults).
        seed: seeds the data set, frame sampling and training.
        workers: videos decoded in parallel by frame extraction.
        threads: torch threads for the whole run (restored afterwards); the figures depend on it.

    Returns:
        ``{"metrics", "score_range", "n_train_videos", "n_val_videos", "n_test_videos", "torch_threads", "machine",
        "timings_s", "outputs"}``; ``metrics`` is evaluation's ``metrics.json``, ``score_range`` the lowest and highest
        P(fake) of the held-out reals and of its fakes (``{"real": [lo, hi], "fake": [lo, hi]}``), ``machine`` what
        the figures depend on (:func:`dfdetect.core.runtime.machine_info`: CPU model and instruction set, allocator,
        threads, versions),
        ``timings_s`` the wall time of each step in seconds.

    Raises:
        DemoError: a step failed (the message names it).
        InputError: a malformed config.
    """
    samples, out = Path(samples), Path(out)
    cfg = load_config(config)
    data, frames, crops, run, ev = out / "data", out / "frames", out / "crops", out / "run", out / "eval"
    timings: dict[str, float] = {}
    with torch_threads(threads), timed(timings, "total"):
        _step("demo-data", demo_data.main, ["--samples", str(samples), "--out", str(data), "--seed", str(seed)],
              timings)
        split = {r["video_name"]: r["split"] for r in read_csv(data / "split.csv")}
        all_labels = read_csv(data / "labels.csv")
        # The training people's labelled fakes are left out when the recipe would never draw one (every real clip
        # twinned on the fly, undersampling: dfdetect.data.draws_labelled_fakes): no frames or crops are made for
        # them. The data set keeps them (any person can be held out: --test-person, bench/lopo.py).
        drawn = draws_labelled_fakes(cfg.data.balance, cfg.train.synth_fakes)
        trained = {r["video_name"] for r in all_labels if split[r["video_name"]] == "val"
                   or (split[r["video_name"]] == "train" and (drawn or r["target"] == "0"))}
        train_videos = [str(data / v) for v in split if v in trained]  # split.csv tells train.py which validate
        test_videos = [str(data / v) for v, s in split.items() if s == "test"]
        # Each step gets the labels of the videos it sees (others would be reported as labels matching no input).
        train_labels, test_labels = out / "train_labels.csv", out / "test_labels.csv"
        columns = (*LABELS_COLUMNS, METHOD_COLUMN)
        write_csv(train_labels, [r for r in all_labels if r["video_name"] in trained], columns)
        write_csv(test_labels, [r for r in all_labels if split[r["video_name"]] == "test"], columns)
        _step("frame_extraction", frames_cli.main,
              [*train_videos, str(frames), "--labels", str(train_labels), "--frames", str(cfg.data.sample_frames),
               "--stride", str(cfg.data.stride), "--seed", str(seed), "--workers", str(workers), "--no-progress"],
              timings)
        _step("face_crop", face_crop_cli.main,
              [str(frames), str(crops), "--min-faces", str(cfg.data.min_faces), "--margin", str(cfg.data.margin),
               "--size", str(cfg.data.size)], timings)
        resume = ["--resume"] if (run / "last.pt").exists() else []
        _step("train", training_cli.main,
              ["--data", str(crops / "crops.csv"), "--split", str(data / "split.csv"), "--config", str(config),
               "--out", str(run), "--seed", str(seed), *resume], timings)
        _step("eval", evaluate.main,
              [str(run / "best.pt"), *test_videos, "--labels", str(test_labels), "--out", str(ev)], timings)
        _step("grid", grids.main, ["--data", str(crops / "crops.csv"), "--out", str(out / "augmentations.png"),
                                   "--config", str(config), "--clips", str(GRID_CLIPS)], timings)
        with timed(timings, "examples"):
            try:
                grids.write_examples(data, out / "examples.png", margin=cfg.data.margin, size=cfg.data.size)
            except grids.ExampleError as e:
                raise DemoError(f"step 'examples' failed: {e}") from None
        machine = machine_info()  # inside the pinned threads: the count the run used
    timings = {k: round(v, 1) for k, v in timings.items()}
    # The score range of the reals and of the fakes: what the accuracy at 0.5 rests on (the AUC only ranks them).
    target = read_labels(test_labels)
    scores: dict[str, list[float]] = {"real": [], "fake": []}
    for r in read_csv(ev / "predictions.csv"):
        if r["video_name"] in target and r["score"] != "":
            scores[("real", "fake")[target[r["video_name"]]]].append(float(r["score"]))
    summary = {
        "metrics": json.loads((ev / "metrics.json").read_text()),
        "score_range": {k: [min(v), max(v)] if v else None for k, v in scores.items()},
        "n_train_videos": sum(split[v] == "train" for v in trained),
        "n_val_videos": sum(split[v] == "val" for v in trained),
        "n_test_videos": len(test_videos),
        "torch_threads": threads,
        "machine": machine,
        "timings_s": timings,
        "outputs": {k: str(v) for k, v in {
            "predictions": ev / "predictions.csv", "metrics": ev / "metrics.json", "roc": ev / "roc.png",
            "augmentations": out / "augmentations.png", "examples": out / "examples.png", "checkpoint": run / "best.pt",
        }.items()},
    }
    write_json(out / "summary.json", summary)
    return summary


def get_args_parser() -> argparse.ArgumentParser:
    """The ``demo`` command line (``make demo``)."""
    p = argparse.ArgumentParser(prog="python -m dfdetect demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", default=SAMPLES_DIR, help="sample videos (make data)")
    p.add_argument("--out", default="demo_out", help="output folder")
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="training config (YAML differences from defaults)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1, help="parallel videos in frame extraction")
    p.add_argument("--threads", type=int, default=DEMO_THREADS,
                   help=f"torch threads (default {DEMO_THREADS}, the README's figures; another count changes them "
                        "slightly)")
    add_verbose(p)
    return p


def main(argv: list[str] | None = None) -> int:
    """CLI: 0 done (the metrics and outputs are logged), 1 a step failed or the input is malformed."""
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    """The body of :func:`main` (after the arguments and the logging setup); here a malformed input exits 1."""
    if args.threads < 1:
        log.error("--threads must be >= 1, got %d", args.threads)
        return 1
    try:
        s = run_demo(args.samples, args.out, args.config, seed=args.seed, workers=args.workers, threads=args.threads)
    except (DemoError, InputError) as e:
        log.error("%s", e)
        return 1
    m = s["metrics"]
    log.info(
        "held-out person (%d videos): video-level ROC AUC %.3f | log loss %.3f | accuracy %.3f | total %.0f s",
        s["n_test_videos"], m["auc"], m["log_loss"], m["accuracy"], s["timings_s"]["total"],
    )
    ranges = s["score_range"]
    if ranges["real"] and ranges["fake"]:
        log.info("  scores P(fake): reals %.3f-%.3f, fakes %.3f-%.3f (the accuracy is at 0.5; the AUC ranks them)",
                 *ranges["real"], *ranges["fake"])
    for method, mm in m.get("by_method", {}).items():
        log.info("  generator %-9s AUC %.3f (%d fakes against the %d reals)", method, mm["auc"], mm["n_fake"],
                 mm["n_real"])
    for k, v in s["outputs"].items():
        log.info("%-13s %s", k, v)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
