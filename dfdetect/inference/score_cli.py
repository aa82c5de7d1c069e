"""``dfdetect score [--weights CKPT] PATH... [--windows] [--frames]``: score videos or face images, print a table.

The table says how much of each video was looked at (``windows`` scored, the ``seconds`` they span of the video's
duration: by default one window every ``--window-every`` seconds, ``--clips N`` forces N); ``--windows`` also prints
each window's start, end and P(fake), and the ``fake_segments`` (the windows at or above ``--threshold``, merged).
A video of several people gets a line per person (its P(fake), face box and seconds; the video's score is the
highest), and its windows and frames are those of the highest-scored person.

Without ``--weights`` the default detector scores (:func:`dfdetect.core.config.default_model_path`, built by
``dfdetect model build``); when it has not been built, one line says how. The first form of this command,
``score CKPT PATH...`` (a first path ending in ``.pt``/``.pth``/``.onnx`` followed by others), still works.

Exit status: 2 for bad input (missing path, unusable or missing checkpoint), 1 when nothing could be scored, 0
otherwise.

Example:
    $ dfdetect score data/samples/single_face.mp4 --weights runs/demo/best.pt --windows --frames
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from dfdetect.core.cli import add_verbose, run_cli
from dfdetect.core.config import ScoreConfig, add_score_overrides, resolve_weights, score_from_args
from dfdetect.core.io import InputError, collect_files, format_table
from dfdetect.core.schemas import ScoreStatus, format_boxes
from dfdetect.inference.aggregate import verdict
from dfdetect.inference.detector import Detector, VideoScore
from dfdetect.inference.prepare import is_image

log = logging.getLogger(__name__)

TABLE_COLUMNS = ("name", "score", "verdict", "status", "faces", "windows", "seconds", "reason")
"""The columns of the printed table (verdict = fake / real by ``--threshold``, ``-`` when it could not be scored;
faces = frames with a face / frames sampled; seconds = seconds the windows span / the video's duration)."""
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".onnx")
"""A first path with one of these suffixes, followed by others, is the checkpoint (``score CKPT PATH...``)."""


def get_args_parser() -> argparse.ArgumentParser:
    """The ``python -m dfdetect score`` command line."""
    p = argparse.ArgumentParser(
        prog="dfdetect score",
        description="Score videos or face images with a checkpoint (default: the default detector, `dfdetect model "
                    "build`); prints a table (score = P(fake)).",
    )
    p.add_argument("paths", nargs="+", help="videos, images, or folders of them (every file of a folder gets a row, "
                   "except hidden files and .csv/.json side files); `score CKPT PATH...` also works")
    p.add_argument("--weights", default=None, help="checkpoint (.pt) written by train.py or its ONNX export "
                   "(default: the default detector, $DFDETECT_HOME/models/...; `dfdetect model build` makes it)")
    p.add_argument("--windows", action="store_true", help="also print each window's start and end (seconds) and "
                   "P(fake), and the fake segments (windows at or above --threshold, merged)")
    p.add_argument("--frames", action="store_true", help="also print per-frame scores of each video")
    add_score_overrides(p, "clips", "window_every", "max_windows", "tta", "aggregate", "top_k", "threshold", "device",
                        "batch_size")
    add_verbose(p)
    return p


def format_score_table(results: Sequence[VideoScore], threshold: float = ScoreConfig().threshold) -> str:
    """A plain-text table of :data:`TABLE_COLUMNS` (:func:`dfdetect.core.io.format_table`), the verdict by
    ``threshold``.

    Example:
        >>> print(format_score_table([
        ...     VideoScore("a.mp4", 0.25, ScoreStatus.OK, "", 15, 15, window_scores=[0.25], window_times=[(0, 1.25)],
        ...                duration_s=2.5, covered_s=1.25),
        ...     VideoScore("b.mp4", 0.5, ScoreStatus.NO_FACE, "no face", 0, 15, duration_s=4.0)]))
        name   score   verdict  status   faces  windows  seconds    reason
        a.mp4  0.2500  real     ok       15/15  1        1.2/2.5 s
        b.mp4  0.5000  -        no_face  0/15   0        0.0/4.0 s  no face
    """
    rows = [list(TABLE_COLUMNS)]
    # one word per cell, so the table splits on whitespace: "-" where the API says "not scored"
    rows += [[r.name, f"{r.score:.4f}", verdict(r.score, str(r.status), threshold).replace("not scored", "-"),
              str(r.status), f"{r.faces}/{r.sampled}", str(r.windows), f"{r.covered_s:.1f}/{r.duration_s:.1f} s",
              r.reason]
             for r in results]
    return format_table(rows)


def format_windows(r: VideoScore, threshold: float) -> list[str]:
    """The lines ``--windows`` prints for one result: each window's span and P(fake) (``*`` at or above
    ``threshold``), then its fake segments.

    Example:
        >>> print("\\n".join(format_windows(VideoScore("a.mp4", 0.5, window_scores=[0.1, 0.8],
        ...     window_times=[(0.0, 1.25), (4.0, 5.25)], duration_s=6.0, covered_s=2.5,
        ...     fake_segments=[(4.0, 5.25, 0.8)]), 0.5)))
        <BLANKLINE>
        a.mp4: 2 windows over 2.5 of 6.0 s (P(fake), * at or above 0.5)
          window   0     0.00 -    1.25 s  0.1000
          window   1     4.00 -    5.25 s  0.8000 *
          fake segments: 4.00-5.25 s (peak 0.8000)
    """
    lines = [f"\n{r.name}: {r.windows} windows over {r.covered_s:.1f} of {r.duration_s:.1f} s (P(fake), * at or "
             f"above {threshold:g})"]
    times = r.window_times or [(float("nan"), float("nan"))] * len(r.window_scores)
    lines += [f"  window {k:3d}  {a:7.2f} - {b:7.2f} s  {s:.4f}{' *' if s >= threshold else ''}"
              for k, ((a, b), s) in enumerate(zip(times, r.window_scores))]
    segments = ", ".join(f"{a:.2f}-{b:.2f} s (peak {p:.4f})" for a, b, p in r.fake_segments)
    lines.append(f"  fake segments: {segments or 'none'}")
    return lines


def format_persons(r: VideoScore) -> list[str]:
    """The lines printed for a video of several people (none for one): each person's P(fake), face box and seconds;
    the video's score is the highest.

    Example:
        >>> from dfdetect.inference import PersonScore
        >>> print("\\n".join(format_persons(VideoScore("a.mp4", 0.74, persons=[
        ...     PersonScore(0, 0.41, 30, 2, 0.0, 2.4, (221, 85, 371, 297)), PersonScore(1, 0.74, 28, 2, 0.0, 2.4)]))))
        <BLANKLINE>
        a.mp4: 2 persons, each scored on its own (the video's score is the highest)
          person   0  0.4100  face at 221,85,371,297  0.00 -    2.40 s  30 faces, 2 windows
          person   1  0.7400  face at -  0.00 -    2.40 s  28 faces, 2 windows
    """
    if len(r.persons) < 2:
        return []
    lines = [f"\n{r.name}: {len(r.persons)} persons, each scored on its own (the video's score is the highest)"]
    lines += [f"  person {p.person:3d}  {p.score:.4f}  face at {format_boxes([p.box])}  {p.start_s:.2f} - "
              f"{p.end_s:7.2f} s  {p.faces} faces, {p.windows} windows" for p in r.persons]
    return lines


def split_weights(weights: str | None, paths: list[str]) -> tuple[str | None, list[str]]:
    """The checkpoint and the inputs of a command line: ``--weights``, or the old first positional checkpoint.

    Example:
        >>> split_weights(None, ["best.pt", "a.mp4"]), split_weights("m.pt", ["a.mp4"]), split_weights(None, ["a.mp4"])
        (('best.pt', ['a.mp4']), ('m.pt', ['a.mp4']), (None, ['a.mp4']))
    """
    if weights is None and len(paths) > 1 and paths[0].lower().endswith(CHECKPOINT_SUFFIXES):
        return paths[0], paths[1:]
    return weights, paths


def main(argv: list[str] | None = None) -> int:
    """``dfdetect score``: see the module docstring for the exit status."""
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    """The body of :func:`main` (after the arguments and the logging setup)."""
    weights, inputs = split_weights(args.weights, args.paths)
    weights = resolve_weights(weights)
    # Every file of a folder, whatever its extension (not hidden or .csv/.json side files): one row each, a file
    # that is not media gets its reason in the table.
    paths = collect_files(inputs)
    if not paths:
        raise InputError(f"no file found in {', '.join(inputs)}")
    det = Detector.load(weights, score_from_args(args))
    frame_lines: list[str] = []
    if not args.frames:
        results = list(det.predict(paths, progress=len(paths) > 1))
        for r in results:
            frame_lines.extend(format_persons(r))
            if args.windows and r.status == ScoreStatus.OK:
                frame_lines.extend(format_windows(r, det.score_config.threshold))
    else:
        results = []
        for path in paths:  # one video at a time so its prepared crops serve both scores (decoded once)
            prep = det.prepare(path)
            results.extend(det.predict([prep]))
            frame_lines.extend(format_persons(results[-1]))
            if args.windows and results[-1].status == ScoreStatus.OK:
                frame_lines.extend(format_windows(results[-1], det.score_config.threshold))
            if not is_image(path) and prep.status == ScoreStatus.OK:
                scores = det.frame_scores(prep.persons[results[-1].person])  # the person the windows are of
                frame_lines.append(f"\n{prep.name}: per-frame P(fake) ({len(scores)} frames with a face)")
                frame_lines.extend(f"  frame {i:6d}  {s:.4f}" for i, s in scores.items())
    out = [format_score_table(results, det.score_config.threshold), *frame_lines]
    sys.stdout.write("\n".join(out) + "\n")  # the command's output (logging goes to stderr)
    return 0 if any(r.status == ScoreStatus.OK for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
