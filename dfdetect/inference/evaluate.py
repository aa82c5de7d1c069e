"""``python eval.py weights.pt VIDEOS... [--labels labels.csv] [--out OUTDIR | predictions.csv]``: score and evaluate.

Inputs (in the order given; folders are expanded, sorted by name):

- raw videos, or folders of them: the whole chain of :class:`dfdetect.inference.detector.Detector` (the same code as
  ``Detector.score``: see :mod:`dfdetect.inference.detector` for sampling, faces, clips, TTA and aggregation);
- a face-crop manifest (``crops.csv`` written by ``python -m face_crop``, or its folder): the crops are read as they
  are and give ``--clips`` clip windows per video (:func:`dfdetect.data.clip_windows`, as in validation); videos in
  the manifest's ``rejects.csv`` are listed too, with their reason. Labels come from the manifest unless ``--labels``
  is given.

Outputs (in OUTDIR, or beside the given ``.csv``), all written atomically:

- ``predictions.csv``: ``video_name,score`` (score = P(fake)), every input exactly once, in input order; an input
  that cannot be scored gets 0.5;
- ``predictions_status.csv``: ``video_name,score,status,reason,faces,sampled,clip_scores,source`` (why a video got
  0.5, how many faces were found, the per-clip scores); also the resume state, saved every ``--save-every`` videos:
  an interrupted run started again with the same command skips the videos already done (same checkpoint file and
  settings, see ``eval_run.json``); ``--no-resume`` starts over;
- with labels: ``metrics.json`` (:func:`dfdetect.core.metrics.compute_metrics` over every labelled input, unscored ones
  included at 0.5 as in the DFDC scoring, plus ``n_unscored``/``n_unlabelled``), ``roc.png``; ``scores_hist.png``
  always.

Exit status: 2 for malformed input (missing path, bad labels or manifest, unusable checkpoint), 1 when no input
could be scored, 0 otherwise.

Example:
    $ python eval.py runs/demo/best.pt data/demo/test --labels data/demo/labels.csv --out eval_out --tta 2
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dfdetect.core.io import InputError, atomic_write, collect_files, read_csv, read_labels, setup_logging, write_csv
from dfdetect.inference.detector import AGGREGATIONS, NEUTRAL_SCORE, Detector, PreparedVideo, VideoScore

log = logging.getLogger(__name__)

PREDICTION_COLUMNS = ("video_name", "score")
STATUS_COLUMNS = ("video_name", "score", "status", "reason", "faces", "sampled", "clip_scores", "source")
REJECT_COLUMNS = ("video", "label", "faces", "reason")


@dataclass
class EvalInput:
    """One input of the evaluation.

    Attributes:
        name: file name (``video_name`` in the outputs).
        source: unique key of the input (a video's absolute path, or ``manifest::video``), used to resume.
        path: the video (or image) file, for raw inputs.
        crop_paths: ``{frame: crop image}`` for manifest inputs.
        rejected: the manifest's rejection reason, for videos in ``rejects.csv``.
        label: the manifest's label (None when unknown or for raw inputs).
    """

    name: str
    source: str
    path: Path | None = None
    crop_paths: dict[int, Path] | None = None
    rejected: str | None = None
    label: int | None = None


@dataclass(frozen=True)
class OutputPaths:
    """Where the evaluation writes (see the module docstring)."""

    predictions: Path
    status: Path
    run: Path
    metrics: Path
    roc: Path
    hist: Path


def output_paths(out: str | Path) -> OutputPaths:
    """``--out``: a ``.csv`` file is the predictions file (side files beside it), anything else a folder.

    Example:
        >>> output_paths("res/preds.csv").status.name, output_paths("eval_out").predictions.as_posix()
        ('preds_status.csv', 'eval_out/predictions.csv')
    """
    out = Path(out)
    if out.suffix.lower() == ".csv":
        folder, stem = out.parent, out.stem
        predictions = out
    else:
        folder, stem = out, "predictions"
        predictions = out / "predictions.csv"
    return OutputPaths(
        predictions=predictions,
        status=folder / f"{stem}_status.csv",
        run=folder / "eval_run.json",
        metrics=folder / "metrics.json",
        roc=folder / "roc.png",
        hist=folder / "scores_hist.png",
    )


def _read_manifest(path: Path) -> list[EvalInput]:
    """The videos of a crop manifest and of the ``rejects.csv`` beside it, sorted by name."""
    from dfdetect.data.dataset import read_crops_manifest

    items: dict[str, EvalInput] = {}
    # check_files=False: a video whose crop files are gone is scored 0.5 as unreadable, never silently dropped.
    for name, v in read_crops_manifest(path, check_files=False).items():
        items[name] = EvalInput(name=name, source=f"{path.resolve()}::{name}",
                                crop_paths=dict(zip(v.frames, v.paths)), label=v.label)
    rejects = path.parent / "rejects.csv"
    if rejects.is_file():
        for lineno, row in enumerate(read_csv(rejects), start=2):
            name = (row.get("video") or "").strip()
            if not name:
                raise InputError(f"{rejects}:{lineno}: empty video name")
            if name in items:
                continue  # listed with crops: the crops win
            label_text = (row.get("label") or "").strip()
            items[name] = EvalInput(
                name=name,
                source=f"{path.resolve()}::{name}",
                rejected=(row.get("reason") or "").strip() or "rejected by face_crop",
                label=int(label_text) if label_text in ("0", "1") else None,
            )
    return [items[n] for n in sorted(items)]


def resolve_inputs(inputs: Sequence[str | Path]) -> list[EvalInput]:
    """Expand the command-line inputs into a list of :class:`EvalInput` (input order, folders sorted).

    A ``.csv`` file, or a folder holding ``crops.csv``, is a crop manifest; other folders are searched for videos;
    other files are videos (a file that is not one gets a recorded failure, not an exit).

    Raises:
        InputError: a path that does not exist, a malformed manifest, two inputs with the same file name (the
            predictions are keyed by name), or no input at all.

    Example:
        >>> [i.name for i in resolve_inputs(["data/samples/single_face.mp4"])]  # doctest: +SKIP
        ['single_face.mp4']
    """
    items: list[EvalInput] = []
    for raw in inputs:
        p = Path(raw)
        if p.is_file() and p.suffix.lower() == ".csv":
            items.extend(_read_manifest(p))
        elif p.is_dir() and (p / "crops.csv").is_file():
            items.extend(_read_manifest(p / "crops.csv"))
        else:
            items.extend(EvalInput(name=f.name, source=str(f.resolve()), path=f) for f in collect_files([p]))
    if not items:
        raise InputError(f"no video found in {', '.join(str(i) for i in inputs)}")
    seen: dict[str, str] = {}
    for it in items:
        if it.name in seen:
            raise InputError(f"two inputs named {it.name!r} ({seen[it.name]} and {it.source}): predictions are keyed "
                             "by file name")
        seen[it.name] = it.source
    return items


def _prepared_stream(items: Sequence[EvalInput], det: Detector) -> Iterator[str | Path | PreparedVideo]:
    """What :meth:`Detector.predict` gets: video paths, or crops read from a manifest (lazily, one video at a time)."""
    from dfdetect.data.dataset import load_crop

    for it in items:
        if it.path is not None:
            yield it.path
        elif it.rejected is not None:
            yield PreparedVideo(name=it.name).failed("rejected", it.rejected)
        else:
            try:
                crops = {f: load_crop(p, det.cfg.data.size) for f, p in (it.crop_paths or {}).items()}
            except OSError as e:
                yield PreparedVideo(name=it.name).failed("unreadable", str(e))
                continue
            yield det.prepare_crops(it.name, crops)


def _status_row(r: VideoScore, source: str) -> dict[str, Any]:
    return {
        "video_name": r.name,
        "score": f"{r.score:.6f}",
        "status": r.status,
        "reason": r.reason,
        "faces": r.faces,
        "sampled": r.sampled,
        "clip_scores": " ".join(f"{s:.6f}" for s in r.clip_scores),
        "source": source,
    }


def _run_signature(weights: str | Path, det: Detector) -> dict[str, Any]:
    """What must not change for a resumed run to reuse earlier rows."""
    st = os.stat(weights)
    return {
        "weights": str(Path(weights).resolve()),
        "weights_size": st.st_size,
        "weights_mtime_ns": st.st_mtime_ns,
        "clips": det.clips,
        "tta": det.tta,
        "aggregate": det.aggregate,
    }


def load_resume_state(paths: OutputPaths, signature: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Rows of a previous run with the same signature, keyed by source (empty when there is none or it differs).

    Example:
        >>> load_resume_state(output_paths("eval_out"), {"weights": "x"})  # doctest: +SKIP
        {}
    """
    if not (paths.run.is_file() and paths.status.is_file()):
        return {}
    try:
        previous = json.loads(paths.run.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    if previous != signature:
        log.info("%s: earlier run used other settings or weights; scoring everything again", paths.run)
        return {}
    rows = read_csv(paths.status)
    # "error" rows (an unexpected failure on that input) are tried again; every other status is final.
    done = {r["source"]: r for r in rows if r.get("source") and r.get("status") not in ("", None, "error")}
    if done:
        log.info("resuming: %d videos already scored in %s", len(done), paths.status)
    return done


def _row_score(row: dict[str, Any]) -> float:
    return float(row["score"])


def _json_safe(d: dict[str, Any]) -> dict[str, Any]:
    """NaN -> None, so metrics.json is strict JSON."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


def evaluate_scores(
    names: Sequence[str], scores: Sequence[float], statuses: Sequence[str], labels: dict[str, int]
) -> tuple[dict[str, Any] | None, list[int | None]]:
    """Video-level metrics over the labelled inputs (warning for scored inputs without a label).

    Returns:
        ``(metrics or None when no input is labelled, per-input label or None)``.

    Example:
        >>> m, y = evaluate_scores(["a", "b", "c"], [0.2, 0.9, 0.5], ["ok", "ok", "no_face"], {"a": 0, "b": 1})
        >>> m["auc"], m["n"], m["n_unlabelled"], y
        (1.0, 2, 1, [0, 1, None])
    """
    from dfdetect.core.metrics import compute_metrics

    y = [labels.get(n) for n in names]
    unlabelled = [n for n, lab in zip(names, y) if lab is None]
    if unlabelled:
        log.warning("%d of %d videos have no label (e.g. %s); metrics use the %d labelled ones", len(unlabelled),
                    len(names), ", ".join(unlabelled[:3]), len(names) - len(unlabelled))
    idx = [i for i, lab in enumerate(y) if lab is not None]
    if not idx:
        return None, y
    metrics: dict[str, Any] = compute_metrics([y[i] for i in idx], [scores[i] for i in idx])
    metrics["n_unscored"] = sum(statuses[i] != "ok" for i in idx)
    metrics["n_unlabelled"] = len(unlabelled)
    if metrics["n_real"] == 0 or metrics["n_fake"] == 0:
        log.warning("only one class among the labelled videos: AUC, EER and TPR at FPR are undefined")
    return metrics, y


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python eval.py",
        description="Score videos with a checkpoint, write predictions.csv (video_name,score = P(fake)) and, with "
        "labels, metrics.json, roc.png and scores_hist.png.",
    )
    p.add_argument("weights", help="checkpoint (.pt) written by train.py")
    p.add_argument("videos", nargs="+", help="videos, folders of videos, or a face-crop manifest (crops.csv)")
    p.add_argument("--labels", help="labels CSV video_name,target (1 = fake); default: the manifest's labels")
    p.add_argument("--out", default="eval_out", help="output folder, or the predictions .csv file (default eval_out)")
    p.add_argument("--clips", type=int, default=None,
                   help="clip windows per video (default: the checkpoint's train.val_clips); each window samples "
                   "data.sample_frames frames data.stride apart")
    p.add_argument("--tta", type=int, default=1, help="views per clip, averaged: 2 adds a horizontal flip, more add "
                   "shifted windows (default 1)")
    p.add_argument("--aggregate", choices=AGGREGATIONS, default="mean",
                   help="video score from clip scores: mean, or the DFDC winner's confident strategy")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    p.add_argument("--batch-size", type=int, default=8, help="clips per model forward (TTA views count)")
    p.add_argument("--save-every", type=int, default=25, help="save the resume state every N videos")
    p.add_argument("--no-resume", action="store_true", help="score everything again even if a run was interrupted")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    setup_logging(args.verbose)
    try:
        items = resolve_inputs(args.videos)
        if args.labels:
            labels = read_labels(args.labels)
        else:
            labels = {it.name: it.label for it in items if it.label is not None}
        paths = output_paths(args.out)
        det = Detector.load(args.weights, device=args.device, clips=args.clips, tta=args.tta,
                            aggregate=args.aggregate, batch_size=args.batch_size)
    except InputError as e:
        log.error("%s", e)
        return 2
    log.info("%d inputs; %d clip window(s) per video of %d frames (stride %d), T = %d, TTA %d, aggregate %s, %s",
             len(items), det.clips, det.cfg.data.sample_frames, det.cfg.data.stride, det.cfg.data.frames, det.tta,
             det.aggregate, det.device)

    signature = _run_signature(args.weights, det)
    done = {} if args.no_resume else load_resume_state(paths, signature)
    with atomic_write(paths.run) as f:
        json.dump(signature, f, indent=2)
    rows: dict[str, dict[str, Any]] = {it.source: done[it.source] for it in items if it.source in done}
    todo = [it for it in items if it.source not in rows]

    def save_state() -> None:
        write_csv(paths.status, [rows[it.source] for it in items if it.source in rows], STATUS_COLUMNS)

    results = det.predict(_prepared_stream(todo, det), progress=True, total=len(todo))
    for n, r in enumerate(results, start=1):  # one result per input, in order
        it = todo[n - 1]
        r.name = it.name
        rows[it.source] = _status_row(r, it.source)
        if n % max(1, args.save_every) == 0:
            save_state()
    save_state()

    ordered = [rows[it.source] for it in items]
    names = [r["video_name"] for r in ordered]
    scores = [_row_score(r) for r in ordered]
    statuses = [r["status"] for r in ordered]
    write_csv(paths.predictions, [{"video_name": n, "score": f"{s:.6f}"} for n, s in zip(names, scores)],
              PREDICTION_COLUMNS)
    n_ok = statuses.count("ok")
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    log.info("scored %d of %d videos (%s); predictions in %s", n_ok, len(items),
             ", ".join(f"{k} {v}" for k, v in counts.items()), paths.predictions)
    if n_ok < len(items):
        log.warning("%d video(s) got the neutral score %.1f; reasons in %s", len(items) - n_ok, NEUTRAL_SCORE,
                    paths.status)

    extra = len(set(labels) - set(names))
    if extra:
        log.info("%d labelled video(s) are not among the inputs (ignored)", extra)
    _report(names, scores, statuses, labels, paths, signature)
    return 0 if n_ok else 1


def _report(names: Sequence[str], scores: Sequence[float], statuses: Sequence[str], labels: dict[str, int],
            paths: OutputPaths, settings: dict[str, Any]) -> None:
    """Metrics table, metrics.json and the plots."""
    from dfdetect.core.metrics import format_metrics
    from dfdetect.inference.plots import plot_roc, plot_score_histogram

    metrics, y = evaluate_scores(names, scores, statuses, labels) if labels else (None, None)
    plot_score_histogram(scores, paths.hist, y_true=y)
    if metrics is None:
        if labels:
            log.warning("no input has a label: no metrics")
        _warn_stale(paths.metrics, paths.roc)
        return
    log.info("video-level metrics (%d labelled videos, %d unscored at %.1f):\n%s", metrics["n"],
             metrics["n_unscored"], NEUTRAL_SCORE, format_metrics(metrics))
    summary = {**_json_safe(metrics), **{k: settings[k] for k in ("weights", "clips", "tta", "aggregate")}}
    with atomic_write(paths.metrics) as f:
        json.dump(summary, f, indent=2)
    if metrics["n_real"] and metrics["n_fake"]:
        idx = [i for i, lab in enumerate(y) if lab is not None]
        plot_roc([y[i] for i in idx], [scores[i] for i in idx], paths.roc)
    else:
        _warn_stale(paths.roc)
    log.info("metrics in %s, plots in %s", paths.metrics, paths.metrics.parent)


def _warn_stale(*files: Path) -> None:
    """Outputs this run did not write but an earlier run left in the folder (kept: nothing is deleted)."""
    for f in files:
        if f.exists():
            log.warning("%s was not written by this run and is left from an earlier one", f)
