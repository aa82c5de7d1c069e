"""``python eval.py weights.pt VIDEOS... [--labels labels.csv] [--out OUTDIR | predictions.csv]``: score and evaluate.

Inputs (in the order given; folders are expanded, sorted by name):

- raw videos, or folders of them (every file of a folder whatever its extension, except hidden files, ``.csv``/``.json``
  side files such as a labels file, and this run's own outputs; a file that is not media gets 0.5 and its reason;
  each file keeps its own name, a symlink included): the whole chain of :meth:`Detector.predict` (the same code as
  ``Detector.score``: :mod:`dfdetect.inference.prepare` for sampling and faces, :mod:`dfdetect.inference.detector`
  for clips and TTA, :mod:`dfdetect.inference.aggregate` for the video score);
- a face-crop manifest (``crops.csv`` written by ``python -m face_crop``, or its folder): the crops are read as they
  are and give ``--clips`` clip windows per video (:func:`dfdetect.data.clip_windows`, as in validation); videos in
  the manifest's ``rejects.csv`` are listed too, with their reason. Labels come from the manifest unless ``--labels``
  is given.

Images (``.jpg``, ``.png``..., or a crops manifest made from images) are inputs too: when every input is an image (the
image track), the name column of the outputs is ``img_name`` (the challenge's ``img_name,score``), else
``video_name``. A frame checkpoint (``model.kind: frame``) scores each face image once (``--tta N``: flip, rotations,
grayscale, centre crop) and a video as the mean of its per-frame scores.

Outputs (in OUTDIR, or beside the given ``.csv``), all written atomically:

- ``predictions.csv``: ``video_name,score`` (``img_name,score`` for images; score = P(fake)), every input exactly
  once, in input order; an input that cannot be scored (unreadable, no face) gets 0.5;
- ``predictions_status.csv``: ``video_name,score,status,reason,faces,sampled,clip_scores,source,windows,covered_s,
  duration_s,fake_segments,window_scores,persons,person_scores,person_boxes`` (why a video got 0.5, how many faces
  were found, the per-clip scores, how much of the video was looked at: ``windows`` spanning ``covered_s`` of its
  ``duration_s`` seconds, and where it looks fake: ``fake_segments`` ``START-END:PEAK`` in seconds, the windows at or
  above ``--threshold`` merged; every person scored: ``persons`` (how many), ``person_scores`` (``START-END:SCORE``
  each: the seconds its windows span and its P(fake); the video's score is the highest) and ``person_boxes``
  (``X1,Y1,X2,Y2`` each, its mean face box in pixels); the clip and window columns are the highest person's);
  also the resume state, saved every ``--save-every`` videos:
  an interrupted run started again with the same command skips the videos already done (same checkpoint file and
  settings: ``eval_run.json``, a :mod:`dfdetect.core.resume` marker written after each save); ``--no-resume``
  starts over;
- ``predictions_windows.csv``: ``video_name,window,start_s,end_s,score``, every scored window of every video (by
  default one every ``--window-every`` seconds of it, :class:`~dfdetect.core.config.ScoreConfig`), its start and end in
  seconds and its P(fake);
- with labels: ``metrics.json`` (:func:`dfdetect.core.metrics.compute_metrics` over every labelled input, unscored ones
  included at 0.5 as in the DFDC scoring, plus ``n_unscored``/``n_unlabelled``; ``by_method`` when the labels have a
  ``method`` column: each method's fakes against all reals), ``roc.png``; ``scores_hist.png``
  always.

Runs are kept apart: a run holds ``OUT/.predictions.lock`` (its pid) while it runs, so a second run on the same
``--out`` is refused (a lock left by a process that no longer runs is taken over, with a warning); a run that starts
afresh removes the earlier run's results first, and the results (predictions, metrics, plots) are written into a
staging folder and moved into place together, so the folder never holds two runs' results side by side. Resumed rows
are trusted only for files whose identity (size, modification time, SHA-256 of the first MiB) is unchanged.

Exit status: 2 for malformed input (missing path, bad labels or manifest, unusable checkpoint) or another run
writing the same outputs, 3 when the outputs cannot be written (disk full...: one line, no traceback), 1 when no
input could be scored, 0 otherwise.

Example:
    $ python eval.py runs/demo/best.pt data/demo/test --labels data/demo/labels.csv --out eval_out --tta 2
    $ python eval.py runs/image/best.pt images/ --labels labels.csv --out eval_out  # img_name,score
"""


from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path, PurePosixPath
from typing import Any

from dfdetect.core.cli import add_verbose, run_cli
from dfdetect.core.config import add_score_overrides, score_from_args
from dfdetect.core.io import (
    InputError,
    collect_files,
    format_table,
    output_lock,
    read_csv,
    read_label_methods,
    read_labels,
    staged_outputs,
    write_csv,
    write_json,
)
from dfdetect.core.metrics import compute_metrics, format_metrics, metrics_by_method
from dfdetect.core.resume import file_identity, read_marker, write_marker
from dfdetect.core.schemas import (
    IMAGE_PREDICTION_COLUMNS,
    IMAGE_STATUS_COLUMNS,
    PREDICTION_COLUMNS,
    STATUS_COLUMNS,
    WINDOW_COLUMNS,
    ScoreStatus,
    format_boxes,
    format_spans,
    parse_spans,
)
from dfdetect.core.shards import Shard, parse_shard
from dfdetect.core.stage import shard_part, split_done
from dfdetect.data import from_images, load_crop, read_crops_manifest
from dfdetect.inference.detector import NEUTRAL_SCORE, Detector, VideoScore
from dfdetect.inference.plots import plot_roc, plot_score_histogram
from dfdetect.inference.prepare import PreparedVideo, is_image, prepare_crops

log = logging.getLogger(__name__)

SHARD_RECORD = "shard.json"
"""In a shard's folder: the whole input order, labels and settings, so the merge writes what one run would."""


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
        image: a single image (an image file, or a manifest entry made from one): the image track.
    """

    name: str
    source: str
    path: Path | None = None
    crop_paths: dict[int, Path] | None = None
    rejected: str | None = None
    label: int | None = None
    image: bool = False


@dataclass(frozen=True)
class OutputPaths:
    """Where the evaluation writes (see the module docstring)."""

    predictions: Path
    status: Path
    windows: Path
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
        windows=folder / f"{stem}_windows.csv",
        run=folder / "eval_run.json",
        metrics=folder / "metrics.json",
        roc=folder / "roc.png",
        hist=folder / "scores_hist.png",
    )


def _read_manifest(path: Path) -> list[EvalInput]:
    """The videos of a crop manifest and of the ``rejects.csv`` beside it, sorted by name."""
    items: dict[str, EvalInput] = {}
    image = from_images(path)
    # check_files=False: a video whose crop files are gone is scored 0.5 as unreadable, never silently dropped.
    for name, v in read_crops_manifest(path, check_files=False).items():
        items[name] = EvalInput(name=name, source=f"{path.resolve()}::{name}",
                                crop_paths=dict(zip(v.frames, v.paths)), label=v.label, image=image)
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
                image=image,
            )
    return [items[n] for n in sorted(items)]


def resolve_inputs(inputs: Sequence[str | Path], exclude: Collection[str | Path] = ()) -> list[EvalInput]:
    """Expand the command-line inputs into a list of :class:`EvalInput` (input order, folders sorted).

    A ``.csv`` file, or a folder holding ``crops.csv``, is a crop manifest; other folders give every file
    (:func:`dfdetect.core.io.collect_files`: whatever its extension, but not hidden files, ``.csv``/``.json`` side
    files and subfolders); other files are videos (a file that is not one gets a recorded failure, not an exit).
    Each input keeps the name it was given: a symlink and its target are two inputs (``source`` is the absolute path
    without resolving links).

    Args:
        inputs: the command line's paths.
        exclude: files a folder must not give (this run's own outputs, e.g. ``roc.png`` when ``--out`` is the folder).

    Returns:
        One :class:`EvalInput` per video, in input order.

    Raises:
        InputError: a path that does not exist, a malformed manifest, two inputs with the same file name (the
            predictions are keyed by name), or no input at all.

    Example:
        >>> [i.name for i in resolve_inputs(["data/samples/single_face.mp4", "data/samples/no_face.mp4"])]
        ['single_face.mp4', 'no_face.mp4']
    """
    skip = {os.path.abspath(x) for x in exclude}
    items: list[EvalInput] = []
    for raw in inputs:
        p = Path(raw)
        if p.is_file() and p.suffix.lower() == ".csv":
            items.extend(_read_manifest(p))
        elif p.is_dir() and (p / "crops.csv").is_file():
            items.extend(_read_manifest(p / "crops.csv"))
        else:
            for f in collect_files([p]):
                source = os.path.abspath(f)  # not resolve(): a symlink and its target stay two inputs
                if not (p.is_dir() and source in skip):
                    items.append(EvalInput(name=f.name, source=source, path=f, image=is_image(f)))
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
    for it in items:
        if it.path is not None:
            yield it.path
        elif it.rejected is not None:
            yield PreparedVideo(name=it.name).failed(ScoreStatus.REJECTED, it.rejected)
        else:
            try:
                crops = {f: load_crop(p, det.cfg.data.size) for f, p in (it.crop_paths or {}).items()}
            except OSError as e:
                yield PreparedVideo(name=it.name).failed(ScoreStatus.UNREADABLE, str(e))
                continue
            yield prepare_crops(it.name, crops, det.cfg.data, det.clips)


def name_columns(items: Sequence[EvalInput]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns of ``predictions.csv`` and ``predictions_status.csv``: named by ``img_name`` when every input is an
    image (the image track's format), by ``video_name`` otherwise.

    Example:
        >>> name_columns([EvalInput("a.jpg", "/a.jpg", image=True)])[0]
        ('img_name', 'score')
    """
    if items and all(it.image for it in items):
        return IMAGE_PREDICTION_COLUMNS, IMAGE_STATUS_COLUMNS
    return PREDICTION_COLUMNS, STATUS_COLUMNS


def _row_name(row: dict[str, Any]) -> str:
    """An input's name in a status row, whichever name column the row was written with."""
    return row.get(STATUS_COLUMNS[0]) or row.get(IMAGE_STATUS_COLUMNS[0]) or ""


def _status_row(r: VideoScore, source: str, name_col: str = STATUS_COLUMNS[0]) -> dict[str, Any]:
    """A row of ``predictions_status.csv`` (:data:`dfdetect.core.schemas.STATUS_COLUMNS`, named by ``name_col``)."""
    return {
        name_col: r.name,
        "score": f"{r.score:.6f}",
        "status": str(r.status),
        "reason": r.reason,
        "faces": r.faces,
        "sampled": r.sampled,
        "clip_scores": " ".join(f"{s:.6f}" for s in r.clip_scores),
        "source": source,
        "windows": r.windows,
        "covered_s": f"{r.covered_s:.3f}",
        "duration_s": f"{r.duration_s:.3f}",
        "fake_segments": format_spans(r.fake_segments),
        "window_scores": format_spans(r.window_times, r.window_scores) if r.window_times else "",
        "persons": len(r.persons),
        "person_scores": format_spans([(p.start_s, p.end_s, p.score) for p in r.persons]),
        "person_boxes": format_boxes([p.box for p in r.persons]),
    }


def window_rows(ordered: Sequence[dict[str, Any]], name_col: str = WINDOW_COLUMNS[0]) -> list[dict[str, Any]]:
    """The rows of ``predictions_windows.csv`` (:data:`dfdetect.core.schemas.WINDOW_COLUMNS`, named by ``name_col``)
    from the status rows' ``window_scores`` (so a resumed or merged run writes them too).

    Example:
        >>> window_rows([{"video_name": "a.mp4", "window_scores": "0.000-0.625:0.100000 4.000-4.625:0.900000"}])[1]
        {'video_name': 'a.mp4', 'window': 1, 'start_s': '4.000', 'end_s': '4.625', 'score': '0.900000'}
    """
    return [{name_col: _row_name(r), "window": k, "start_s": f"{a:.3f}", "end_s": f"{b:.3f}", "score": f"{s:.6f}"}
            for r in ordered for k, (a, b, s) in enumerate(parse_spans(r.get("window_scores", "")))]


def run_signature(weights: str | Path, det: Detector) -> dict[str, Any]:
    """What must not change for a resumed run to reuse earlier rows: the checkpoint file and the scoring settings.

    Example:
        >>> import tempfile, types
        >>> weights = Path(tempfile.mkdtemp()) / "best.pt"
        >>> _ = weights.write_bytes(b"1234")
        >>> sig = run_signature(weights, types.SimpleNamespace(clips=2, tta=1, aggregate="mean"))
        >>> sig["weights_size"], sig["clips"], sig["tta"], sig["aggregate"]
        (4, 2, 1, 'mean')
    """
    st = os.stat(weights)
    score = getattr(det, "score_config", None)
    coverage = getattr(det, "coverage", None)
    return {
        "weights": str(Path(weights).resolve()),
        "weights_size": st.st_size,
        "weights_mtime_ns": st.st_mtime_ns,
        "clips": det.clips,
        "coverage": None if coverage is None else [coverage.every_s, coverage.maximum],
        "tta": det.tta,
        "aggregate": det.aggregate,
        "top_k": None if score is None else score.top_k,
        "threshold": None if score is None else score.threshold,
    }


def load_resume_state(paths: OutputPaths, signature: dict[str, Any],
                      identities: dict[str, str | None] | None = None) -> dict[str, dict[str, str]]:
    """Rows of a previous run with the same signature, keyed by source (empty when there is none or it differs).

    The rows are trusted only when ``eval_run.json`` is a marker (:func:`dfdetect.core.resume.read_marker`) with this
    signature that vouches for exactly the rows now in the status file (:func:`save_state` writes it after them).
    Rows with status ``error`` are left out: they are tried again. So is a row whose file is no longer the file it
    scored (``identities``: :func:`dfdetect.core.resume.file_identity` now, against the one the marker recorded): a
    video replaced under the same name is scored again.

    Args:
        paths: the run's outputs.
        signature: :func:`run_signature` of this run.
        identities: ``{source: file identity now}`` of the inputs that are files (None: not checked).

    Returns:
        ``{source: status row}`` of the inputs already done.

    Example:
        >>> import tempfile
        >>> paths = output_paths(tempfile.mkdtemp())
        >>> save_state(paths, {"weights": "x"}, [{"video_name": "a.mp4", "score": "0.9", "status": "ok",
        ...                                       "source": "/v/a.mp4"}])
        >>> list(load_resume_state(paths, {"weights": "x"})), load_resume_state(paths, {"weights": "y"})
        (['/v/a.mp4'], {})
    """
    payload = read_marker(paths.run, signature)
    if payload is None or not paths.status.is_file():
        if paths.run.is_file():
            log.info("%s: earlier run used other settings or weights; scoring everything again", paths.run)
        return {}
    rows = read_csv(paths.status)
    if payload.get("rows") != len(rows):
        log.info("%s does not hold the %s rows %s vouches for; scoring everything again", paths.status,
                 payload.get("rows"), paths.run)
        return {}
    done = {r["source"]: r for r in rows if r.get("source") and r.get("status") not in ("", None, ScoreStatus.ERROR)}
    recorded = payload.get("files") or {}
    changed = [src for src in done if identities and src in identities and identities[src] != recorded.get(src)]
    if changed:
        log.info("%d file(s) changed since they were scored (size, time or content), scored again: %s", len(changed),
                 ", ".join(Path(c).name for c in changed[:3]) + (", ..." if len(changed) > 3 else ""))
        done = {src: r for src, r in done.items() if src not in changed}
    if done:
        log.info("resuming: %d videos already scored in %s", len(done), paths.status)
    return done


def save_state(paths: OutputPaths, signature: dict[str, Any], rows: Sequence[dict[str, Any]],
               columns: Sequence[str] = STATUS_COLUMNS, identities: dict[str, str | None] | None = None) -> None:
    """Write the status file, then the resume marker that vouches for its rows (last, so an interruption in between
    leaves a marker that does not match and the rows are scored again) and records the identity of each row's file
    (``identities``, see :func:`load_resume_state`)."""
    name_col = columns[0]
    write_csv(paths.status, [{**r, name_col: _row_name(r)} for r in rows], columns)
    files = {r["source"]: identities[r["source"]] for r in rows if identities and r.get("source") in identities}
    write_marker(paths.run, signature, {"rows": len(rows), "files": files})


def evaluate_scores(
    names: Sequence[str], scores: Sequence[float], statuses: Sequence[str], labels: dict[str, int]
) -> tuple[dict[str, Any] | None, list[int | None]]:
    """Video-level metrics over the labelled inputs (warning for scored inputs without a label).

    Args:
        names: input names, in order.
        scores: their P(fake).
        statuses: their :class:`~dfdetect.core.schemas.ScoreStatus` (unscored inputs count at their 0.5).
        labels: ``{name: 1 = fake, 0 = real}``.

    Returns:
        ``(metrics or None when no input is labelled, per-input label or None)``.

    Example:
        >>> m, y = evaluate_scores(["a", "b", "c"], [0.2, 0.9, 0.5], ["ok", "ok", "no_face"], {"a": 0, "b": 1})
        >>> m["auc"], m["n"], m["n_unlabelled"], y
        (1.0, 2, 1, [0, 1, None])
    """
    y = [labels.get(n) for n in names]
    unlabelled = [n for n, lab in zip(names, y) if lab is None]
    if unlabelled:
        log.warning("%d of %d videos have no label (e.g. %s); metrics use the %d labelled ones", len(unlabelled),
                    len(names), ", ".join(unlabelled[:3]), len(names) - len(unlabelled))
    idx = [i for i, lab in enumerate(y) if lab is not None]
    if not idx:
        return None, y
    metrics: dict[str, Any] = compute_metrics([y[i] for i in idx], [scores[i] for i in idx])
    metrics["n_unscored"] = sum(statuses[i] != ScoreStatus.OK for i in idx)
    metrics["n_unlabelled"] = len(unlabelled)
    if metrics["n_real"] == 0 or metrics["n_fake"] == 0:
        log.warning("only one class among the labelled videos: AUC, EER and TPR at FPR are undefined")
    return metrics, y


def unmatched_labels_message(labelled: Iterable[str], names: Sequence[str], show: int = 3) -> str | None:
    """A one-line warning naming the labels that match no input, with the likely fix; None when all match.

    The hint is given for the first such name that matches an input by file name without its folder, by stem (no
    or another extension), or by case.

    Example:
        >>> print(unmatched_labels_message(["clip01", "b.mp4"], ["clip01.mp4", "b.mp4"]))
        1 of 2 labelled name(s) match no input and are ignored: 'clip01' (labels name 'clip01', input 'clip01.mp4': \
use file names with their extension)
        >>> unmatched_labels_message(["b.mp4"], ["b.mp4", "c.mp4"]) is None
        True
    """
    labelled = list(labelled)
    inputs = set(names)
    extra = [n for n in labelled if n not in inputs]
    if not extra:
        return None
    by_stem: dict[str, str] = {}
    by_lower: dict[str, str] = {}
    for n in names:
        by_stem.setdefault(PurePosixPath(n).stem, n)
        by_lower.setdefault(n.lower(), n)
    hint = ""
    for lab in extra:
        base = PurePosixPath(lab.replace("\\", "/")).name
        if base != lab and base in inputs:
            hint = f" (labels name {lab!r}, input {base!r}: use file names without their folder)"
        elif base in by_stem:
            hint = f" (labels name {lab!r}, input {by_stem[base]!r}: use file names with their extension)"
        elif PurePosixPath(base).stem in by_stem:
            hint = f" (labels name {lab!r}, input {by_stem[PurePosixPath(base).stem]!r}: use the input's file name)"
        elif base.lower() in by_lower:
            hint = f" (labels name {lab!r}, input {by_lower[base.lower()]!r}: names are case-sensitive)"
        if hint:
            break
    shown = ", ".join(repr(n) for n in extra[:show]) + (", ..." if len(extra) > show else "")
    return f"{len(extra)} of {len(labelled)} labelled name(s) match no input and are ignored: {shown}{hint}"


def get_args_parser() -> argparse.ArgumentParser:
    """The ``python eval.py`` command line."""
    p = argparse.ArgumentParser(
        prog="python eval.py",
        description="Score videos or face images with a checkpoint, write predictions.csv (video_name,score or "
        "img_name,score = P(fake)) and, with labels, metrics.json, roc.png and scores_hist.png.",
    )
    p.add_argument("weights", help="checkpoint (.pt) written by train.py")
    p.add_argument("videos", nargs="+", help="videos or face images, folders of them, or a face-crop manifest "
                   "(crops.csv)")
    p.add_argument("--labels", help="labels CSV video_name,target or img_name,target (1 = fake); an optional method "
                   "column adds the metrics per method (its fakes against all reals); default: the manifest's labels")
    p.add_argument("--out", default="eval_out", help="output folder, or the predictions .csv file (default eval_out)")
    add_score_overrides(p, "clips", "window_every", "max_windows", "tta", "aggregate", "top_k", "threshold", "device",
                        "batch_size")
    p.add_argument("--shard", metavar="K/N", help="score only shard K of N (inputs split by a hash of their name) into "
                   "OUT/predictions.shard-K-of-N/; python -m dfdetect merge OUT joins the shards into OUT")
    p.add_argument("--save-every", type=int, default=25, help="save the resume state every N videos")
    p.add_argument("--no-resume", action="store_true", help="score everything again even if a run was interrupted")
    add_verbose(p)
    return p


def main(argv: list[str] | None = None) -> int:
    """``python eval.py``: see the module docstring for inputs, outputs and the exit status."""
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    """The body of :func:`main` (after the arguments and the logging setup); an InputError (a lock held) -> exit 2."""
    paths = output_paths(args.out)
    items = resolve_inputs(args.videos, exclude=[getattr(paths, f.name) for f in fields(paths)])
    methods: dict[str, str] = {}
    if args.labels:
        labels = read_labels(args.labels)
        methods = read_label_methods(args.labels)
    else:
        labels = {it.name: it.label for it in items if it.label is not None}
    det = Detector.load(args.weights, score_from_args(args))
    shard = parse_shard(args.shard) if args.shard else None
    target = output_paths(shard_folder(paths, shard)) if shard is not None else paths
    try:
        with output_lock(lock_path(target), "evaluation outputs"):
            return _evaluate(args, paths, items, labels, methods, det, shard)
    except OSError as e:  # disk full, read-only folder, quota...: one line, not a traceback
        log.debug("writing the outputs failed", exc_info=True)
        log.error("cannot write the outputs in %s: %s (errno %s); outputs of earlier runs are left whole, this run's "
                  "are not written", target.predictions.parent, e.strerror or e, e.errno)
        return 3


def lock_path(paths: OutputPaths) -> Path:
    """The lock file that keeps two runs from writing the same outputs at once (:func:`dfdetect.core.io.output_lock`).

    Example:
        >>> lock_path(output_paths("eval_out")).as_posix(), lock_path(output_paths("res/preds.csv")).as_posix()
        ('eval_out/.predictions.lock', 'res/.preds.lock')
    """
    return paths.predictions.with_name(f".{paths.predictions.stem}.lock")


def _evaluate(args: argparse.Namespace, paths: OutputPaths, items: list[EvalInput], labels: dict[str, int],
              methods: dict[str, str], det: Detector, shard: Shard | None) -> int:
    """Score ``items`` into ``paths`` (resuming), then write the results; the exit status of :func:`main`."""
    prediction_columns, status_columns = name_columns(items)
    if shard is not None:
        paths = output_paths(shard_folder(paths, shard))
        record = {"shard": [shard.k, shard.n], "inputs": [it.source for it in items], "labels": labels,
                  "methods": methods, "signature": run_signature(args.weights, det),
                  "columns": [list(prediction_columns), list(status_columns)]}
        paths.predictions.parent.mkdir(parents=True, exist_ok=True)
        write_json(paths.predictions.parent / SHARD_RECORD, record)
        items = shard_part(items, shard, lambda it: it.name)
        log.info("shard %d/%d: %d of %d inputs, into %s", shard.k, shard.n, len(items), len(record["inputs"]),
                 paths.predictions.parent)
    log.info("%d inputs (%d images); %s model; %d clip window(s) per video of %d frames (stride %d), T = %d, TTA %d, "
             "aggregate %s, %s", len(items), sum(it.image for it in items), det.kind, det.clips,
             det.cfg.data.sample_frames, det.cfg.data.stride, det.cfg.data.frames, det.tta, det.aggregate, det.device)

    signature = run_signature(args.weights, det)
    identities = {it.source: file_identity(it.path) for it in items if it.path is not None}
    done = {} if args.no_resume else load_resume_state(paths, signature, identities)
    if not done:
        # Nothing reused: an earlier marker must not vouch for the old rows once this run starts replacing them, and
        # the earlier run's results must not stay beside this run's (if this one fails, neither is left half-mixed).
        write_marker(paths.run, signature, {"rows": 0})
        _remove_earlier(paths)
    finished, todo = split_done(items, lambda it: done.get(it.source))
    rows: dict[str, dict[str, Any]] = {it.source: row for it, row in finished}

    def save() -> None:
        save_state(paths, signature, [rows[it.source] for it in items if it.source in rows], status_columns,
                   identities)

    results = det.predict(_prepared_stream(todo, det), progress=True, total=len(todo))
    for n, r in enumerate(results, start=1):  # one result per input, in order
        it = todo[n - 1]
        r.name = it.name
        rows[it.source] = _status_row(r, it.source, status_columns[0])
        if n % max(1, args.save_every) == 0:
            save()
    save()

    n_ok = write_results([rows[it.source] for it in items], prediction_columns, labels, paths, signature, methods)
    return 0 if n_ok or (shard is not None and not items) else 1


def write_results(ordered: Sequence[dict[str, Any]], prediction_columns: Sequence[str], labels: dict[str, int],
                  paths: OutputPaths, settings: dict[str, Any], methods: dict[str, str] | None = None) -> int:
    """``predictions.csv`` from the status rows in input order, then the metrics and plots (:func:`_report`).

    Returns:
        The number of inputs scored (status ok).
    """
    names = [_row_name(r) for r in ordered]
    scores = [float(r["score"]) for r in ordered]
    statuses = [r["status"] for r in ordered]
    name_col, score_col = prediction_columns
    results = (paths.predictions, paths.windows, paths.metrics, paths.roc, paths.hist)
    # Written side by side in a staging folder, then moved into place together: a failure (disk full) leaves the
    # earlier results whole, and a result this run does not write (metrics without labels) is not left from another.
    with staged_outputs(results) as staged:
        written = replace(paths, **{f: staged[getattr(paths, f)]
                                    for f in ("predictions", "windows", "metrics", "roc", "hist")})
        write_csv(written.predictions, [{name_col: n, score_col: f"{s:.6f}"} for n, s in zip(names, scores)],
                  prediction_columns)
        write_csv(written.windows, window_rows(ordered, name_col), (name_col, *WINDOW_COLUMNS[1:]))
        _report(names, scores, statuses, labels, written, settings, methods)
    if paths.metrics.is_file():
        log.info("metrics in %s, plots in %s", paths.metrics, paths.metrics.parent)
    n_ok = statuses.count(ScoreStatus.OK)
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    log.info("scored %d of %d inputs (%s); predictions in %s", n_ok, len(ordered),
             ", ".join(f"{k} {v}" for k, v in counts.items()), paths.predictions)
    if n_ok < len(ordered):
        log.warning("%d input(s) got the neutral score %.1f; reasons in %s", len(ordered) - n_ok, NEUTRAL_SCORE,
                    paths.status)

    unmatched = unmatched_labels_message(labels, names)
    if unmatched:
        log.warning("%s", unmatched)
    return n_ok


def shard_folder(paths: OutputPaths, shard: Shard) -> Path:
    """Where shard ``K/N`` of an evaluation writes: ``OUT/predictions.shard-K-of-N/`` (beside a ``.csv`` OUT).

    Example:
        >>> shard_folder(output_paths("eval_out"), Shard(2, 3)).as_posix()
        'eval_out/predictions.shard-2-of-3'
    """
    return paths.predictions.with_name(f"{paths.predictions.stem}.{shard.suffix}")


def merge_eval(out: str | Path) -> int:
    """Join the ``--shard K/N`` evaluations of ``out`` into what one run writes there: ``predictions.csv`` in input
    order, ``predictions_status.csv`` (and its resume marker), ``metrics.json`` and the plots.

    Args:
        out: the ``--out`` the shards were given (a folder, or the predictions ``.csv``).

    Returns:
        The number of inputs scored (status ok).

    Raises:
        InputError: no shard, a shard missing or unfinished, or shards of different runs (inputs, weights, settings).
    """
    paths = output_paths(out)
    stem = paths.predictions.stem
    records = {}
    for folder in sorted(paths.predictions.parent.glob(f"{stem}.shard-*-of-*")):
        if (folder / SHARD_RECORD).is_file():
            record = json.loads((folder / SHARD_RECORD).read_text())
            records[tuple(record["shard"])] = (folder, record)
    if not records:
        raise InputError(f"no evaluation shards ({stem}.shard-K-of-N/{SHARD_RECORD}) in {paths.predictions.parent}")
    n = {key[1] for key in records}
    if len(n) > 1:
        raise InputError(f"{paths.predictions.parent}: evaluation shards of different N ({sorted(n)})")
    n_shards = n.pop()
    missing = [k for k in range(1, n_shards + 1) if (k, n_shards) not in records]
    if missing:
        raise InputError(f"evaluation shard(s) {', '.join(f'{k}/{n_shards}' for k in missing)} missing in "
                         f"{paths.predictions.parent}: run them first (--shard K/N)")
    first = records[(1, n_shards)][1]
    rows: dict[str, dict[str, Any]] = {}
    identities: dict[str, str | None] = {}  # the files each shard scored, so a resumed run on OUT can check them
    for (k, _), (folder, record) in sorted(records.items()):
        for what in ("inputs", "signature", "labels", "columns"):
            if record[what] != first[what]:
                raise InputError(f"{folder}: shard {k}/{n_shards} was run with other {what} than shard 1")
        rows.update({r["source"]: r for r in read_csv(output_paths(folder).status)})
        identities.update((read_marker(output_paths(folder).run, record["signature"]) or {}).get("files") or {})
    unfinished = [src for src in first["inputs"] if src not in rows]
    if unfinished:
        raise InputError(f"{len(unfinished)} input(s) have no score in any shard, e.g. {unfinished[0]}: a shard did "
                         "not finish (run it again)")
    ordered = [rows[src] for src in first["inputs"]]
    prediction_columns, status_columns = (tuple(c) for c in first["columns"])
    save_state(paths, first["signature"], ordered, status_columns, identities)
    return write_results(ordered, prediction_columns, first["labels"], paths, first["signature"], first["methods"])


def _report(names: Sequence[str], scores: Sequence[float], statuses: Sequence[str], labels: dict[str, int],
            paths: OutputPaths, settings: dict[str, Any], methods: dict[str, str] | None = None) -> None:
    """Metrics table, metrics.json (with ``by_method`` when the labels name methods) and the plots."""
    metrics, y = evaluate_scores(names, scores, statuses, labels) if labels else (None, None)
    if metrics is not None and methods:
        idx = [i for i, lab in enumerate(y) if lab is not None]
        by = metrics_by_method([y[i] for i in idx], [scores[i] for i in idx], [methods.get(names[i]) for i in idx])
        if by:
            metrics["by_method"] = by
            table = [["method", "auc", "log_loss", "accuracy", "n_fake"]]
            table += [[g, f"{m['auc']:.4f}", f"{m['log_loss']:.4f}", f"{m['acc_fake']:.4f}", str(m["n_fake"])]
                      for g, m in by.items()]
            log.info("per method (its fakes against all %d reals; accuracy on its fakes):\n%s", metrics["n_real"],
                     format_table(table))
    plot_score_histogram(scores, paths.hist, y_true=y)
    if metrics is None:
        if labels:
            log.warning("no input has a label: no metrics")
        _warn_stale(paths.metrics, paths.roc)
        return
    log.info("metrics (%d labelled inputs, %d unscored at %.1f):\n%s", metrics["n"],
             metrics["n_unscored"], NEUTRAL_SCORE, format_metrics(metrics))
    write_json(paths.metrics, {**metrics, **{k: settings[k] for k in ("weights", "clips", "tta", "aggregate")}})
    if metrics["n_real"] and metrics["n_fake"]:
        idx = [i for i, lab in enumerate(y) if lab is not None]
        plot_roc([y[i] for i in idx], [scores[i] for i in idx], paths.roc)
    else:
        _warn_stale(paths.roc)


def _remove_earlier(paths: OutputPaths) -> None:
    """Remove an earlier run's results (never the inputs: only this tool's own outputs at their fixed names), when a
    run starts afresh: until it writes its own, the folder holds no results rather than another run's."""
    old = [p for p in (paths.predictions, paths.status, paths.windows, paths.metrics, paths.roc, paths.hist)
           if p.is_file()]
    if old:
        log.info("removing the results of an earlier run (%s): this run writes its own at the end",
                 ", ".join(p.name for p in old))
        for p in old:
            p.unlink()


def _warn_stale(*files: Path) -> None:
    """Outputs this run did not write but an earlier run left in the folder (kept: nothing is deleted)."""
    for f in files:
        if f.exists():
            log.warning("%s was not written by this run and is left from an earlier one", f)
