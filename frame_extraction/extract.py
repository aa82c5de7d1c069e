"""Extract sampled frames from a batch of videos: ``OUT/<video>/<frame:06d>.png`` plus ``frames.csv``/``videos.csv``.

Each video is independent: its frames come from an RNG derived from ``(seed, video name)``
(:func:`~frame_extraction.sampling.video_rng`), a bad video becomes a ``skipped`` row with its reason, and a finished
video is marked by ``OUT/<video>/_done.json`` (written atomically after its frames), so an interrupted run resumes
without decoding the finished ones. The two CSVs are rebuilt from every video of the run at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import multiprocessing
import os
import re
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from dfdetect.core.io import InputError, atomic_write, collect_files, read_labels, save_image, setup_logging, write_csv
from frame_extraction.decode import VideoError, probe_video, sample_video
from frame_extraction.sampling import MODES, video_rng

log = logging.getLogger(__name__)

FRAMES_COLUMNS = ("video", "label", "frame", "path", "width", "height")
VIDEOS_COLUMNS = ("video", "label", "status", "reason", "num_frames", "fps", "width", "height", "sampled")
DONE_MARKER = "_done.json"
IMAGE_FORMATS = ("png", "jpg")
_INFO_KEYS = {"num_frames", "fps", "width", "height"}
_FRAME_FILE = re.compile(r"^\d{6}\.(png|jpg)$")  # the files this module writes in a video folder


@dataclass(frozen=True)
class ExtractOptions:
    """What decides which frames a video gets and how they are stored (recorded in each video's marker)."""

    n: int = 15
    stride: int = 2
    mode: str = "random"
    seed: int = 0
    image_format: str = "png"


@dataclass(frozen=True)
class VideoJob:
    """One video to extract: its output name (the file name), source path and label (None when unknown)."""

    name: str
    path: Path
    label: int | None = None


@dataclass
class ExtractResult:
    """Rows of ``videos.csv`` (one per input video or label) and of ``frames.csv``."""

    videos: list[dict[str, Any]] = field(default_factory=list)
    frames: list[dict[str, Any]] = field(default_factory=list)

    @property
    def processed(self) -> int:
        """Videos with frames on disk (status ok or short)."""
        return sum(r["status"] in ("ok", "short") for r in self.videos)


def _label_str(label: int | None) -> str:
    return "" if label is None else str(label)


def _skip_row(name: str, label: int | None, status: str, reason: str) -> dict[str, Any]:
    return {"video": name, "label": _label_str(label), "status": status, "reason": reason}


def plan_videos(files: Sequence[Path], labels: dict[str, int] | None = None) -> tuple[list[VideoJob], list[dict]]:
    """Match video files to labels and set aside what cannot be processed.

    A second file with an already-seen name is skipped ``duplicate name`` (outputs are keyed by file name); with labels,
    a file not in them is skipped ``no label`` and a labelled name with no file is skipped ``missing``.

    Returns:
        The jobs (in input order) and the ``videos.csv`` rows of the skipped entries.

    Example:
        >>> jobs, skipped = plan_videos([Path("a/x.mp4"), Path("b/x.mp4")])
        >>> [j.name for j in jobs], [r["reason"] for r in skipped]
        (['x.mp4'], ['duplicate name'])
    """
    jobs: list[VideoJob] = []
    skipped: list[dict] = []
    seen: dict[str, Path] = {}
    for path in files:
        name = path.name
        label = labels.get(name) if labels is not None else None
        if name in seen:
            log.warning("skipping %s: duplicate name, %s has the same name", path, seen[name])
            skipped.append(_skip_row(name, label, "skipped", "duplicate name"))
            continue
        seen[name] = path
        if labels is not None and label is None:
            log.warning("skipping %s: not in the labels", path)
            skipped.append(_skip_row(name, None, "skipped", "no label"))
            continue
        jobs.append(VideoJob(name, path, label))
    if labels is not None:
        for name in sorted(set(labels) - set(seen)):
            log.warning("skipping %s: in the labels but no such video among the inputs", name)
            skipped.append(_skip_row(name, labels[name], "skipped", "missing"))
    return jobs, skipped


def balance_jobs(jobs: Sequence[VideoJob], seed: int) -> tuple[list[VideoJob], list[VideoJob]]:
    """Downsample the majority class to the size of the minority, deterministically from ``seed``.

    The choice depends only on the seed and the set of names (not their order). With a single class there is nothing
    to balance against: every job is kept and a warning logged.

    Returns:
        (kept jobs in input order, excluded jobs).

    Example:
        >>> jobs = [VideoJob(f"{i}.mp4", Path(f"{i}.mp4"), int(i > 0)) for i in range(3)]
        >>> kept, excluded = balance_jobs(jobs, seed=0)
        >>> len(kept), len(excluded)
        (2, 1)
    """
    by_label: dict[int, list[str]] = {0: [], 1: []}
    for job in jobs:
        if job.label is None:
            raise InputError("--balance needs a label for every video (give --labels)")
        by_label[job.label].append(job.name)
    minority = min(len(v) for v in by_label.values())
    if minority == 0:
        log.warning("--balance: only one class among %d videos; nothing to balance against, keeping all", len(jobs))
        return list(jobs), []
    major = max(by_label, key=lambda k: len(by_label[k]))
    names = sorted(by_label[major])
    rng = np.random.default_rng([int(seed), 0xBA1A])  # its own stream, apart from the per-video ones
    keep = set(rng.choice(len(names), size=minority, replace=False).tolist())
    dropped = {n for i, n in enumerate(names) if i not in keep}
    kept = [j for j in jobs if j.name not in dropped]
    excluded = [j for j in jobs if j.name in dropped]
    return kept, excluded


def _marker_path(out_dir: Path, name: str) -> Path:
    return out_dir / name / DONE_MARKER


def _params(opts: ExtractOptions) -> dict[str, Any]:
    return asdict(opts)


def load_done(out_dir: Path, job: VideoJob, opts: ExtractOptions) -> dict[str, Any] | None:
    """The completion marker of ``job`` if its output is complete for these options and this source file, else None.

    Example:
        >>> load_done(Path("frames_out"), VideoJob("a.mp4", Path("a.mp4")), ExtractOptions()) is None  # doctest: +SKIP
        True
    """
    marker = _marker_path(out_dir, job.name)
    try:
        done = json.loads(marker.read_text())
        size = job.path.stat().st_size
    except (OSError, ValueError):
        return None
    try:  # a marker from other options, another source file, or damaged by hand: redo the video
        ok = (done["params"] == _params(opts) and done["source_size"] == size and set(done["info"]) >= _INFO_KEYS
              and all((out_dir / f["path"]).is_file() and isinstance(f["frame"], int) for f in done["frames"]))
    except (KeyError, TypeError):
        return None
    return done if ok else None


def _frame_rows(job: VideoJob, done: dict[str, Any]) -> list[dict[str, Any]]:
    info = done["info"]
    return [
        {"video": job.name, "label": _label_str(job.label), "frame": f["frame"], "path": f["path"],
         "width": info["width"], "height": info["height"]}
        for f in done["frames"]
    ]


def _video_row(job: VideoJob, done: dict[str, Any]) -> dict[str, Any]:
    info = done["info"]
    return {
        "video": job.name, "label": _label_str(job.label), "status": done["status"], "reason": done["reason"],
        "num_frames": info["num_frames"], "fps": round(info["fps"], 4), "width": info["width"],
        "height": info["height"], "sampled": len(done["frames"]),
    }


def extract_video(job: VideoJob, out_dir: str | os.PathLike, opts: ExtractOptions,
                  threads: int | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Extract one video (or reuse its finished output): returns its ``videos.csv`` row and ``frames.csv`` rows.

    Never raises for a bad video: the row says ``skipped`` and why.

    Example:
        >>> row, frames = extract_video(VideoJob("single_face.mp4", Path("data/samples/single_face.mp4")),
        ...                             "frames_out", ExtractOptions())  # doctest: +SKIP
        >>> row["status"], len(frames)  # doctest: +SKIP
        ('ok', 15)
    """
    out_dir = Path(out_dir)
    done = load_done(out_dir, job, opts)
    if done is not None:
        log.debug("%s: already extracted, skipping", job.name)
        return _video_row(job, done), _frame_rows(job, done)
    try:
        size = job.path.stat().st_size
        sv = sample_video(job.path, n=opts.n, stride=opts.stride, mode=opts.mode, rng=video_rng(opts.seed, job.name),
                          threads=threads)
    except (VideoError, OSError) as e:
        reason = str(e).removeprefix(f"{job.path}: ")
        log.warning("skipping %s: %s", job.path, reason)
        return _skip_row(job.name, job.label, "skipped", reason), []
    video_dir = out_dir / job.name
    video_dir.mkdir(parents=True, exist_ok=True)
    # A marker from other options would vouch for the old frames: remove it first, then the old frames.
    with contextlib.suppress(FileNotFoundError):
        _marker_path(out_dir, job.name).unlink()
    names = {f"{i:06d}.{opts.image_format}" for i in sv.indices}
    for old in video_dir.iterdir():
        if _FRAME_FILE.match(old.name) and old.name not in names:
            old.unlink()
    frames = []
    for idx, rgb in zip(sv.indices, sv.frames):
        rel = f"{job.name}/{idx:06d}.{opts.image_format}"
        save_image(out_dir / rel, rgb)
        frames.append({"frame": idx, "path": rel})
    status = "short" if sv.short else "ok"
    reason = f"{len(sv.indices)} of {opts.n} frames" if sv.short else ""
    done = {"params": _params(opts), "source": str(job.path), "source_size": size, "status": status,
            "reason": reason, "info": asdict(sv.info), "frames": frames}
    with atomic_write(_marker_path(out_dir, job.name)) as f:
        json.dump(done, f, indent=1)
    return _video_row(job, done), _frame_rows(job, done)


def _extract_safe(job: VideoJob, out_dir: Path, opts: ExtractOptions,
                  threads: int | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    # Anything unexpected (disk full, a decoder crash surfacing as an exception) fails this video, not the batch.
    try:
        return extract_video(job, out_dir, opts, threads)
    except Exception as e:
        log.error("failed on %s: %s: %s", job.path, type(e).__name__, e)
        return _skip_row(job.name, job.label, "skipped", f"error: {type(e).__name__}: {e}".splitlines()[0]), []


def _init_worker(log_level: int) -> None:
    import cv2

    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    cv2.setNumThreads(1)  # image encoding in each worker: one thread each, the workers share the cores


def extract_videos(
    inputs: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    labels: dict[str, int] | None = None,
    opts: ExtractOptions = ExtractOptions(),
    balance: bool = False,
    workers: int = 1,
    progress: bool = True,
) -> ExtractResult:
    """Extract sampled frames from every video in ``inputs`` and write ``frames.csv`` and ``videos.csv`` in ``out_dir``.

    Args:
        inputs: video files and/or folders (:func:`dfdetect.core.io.collect_files`).
        out_dir: output folder (created).
        labels: ``{video_name: 0 real / 1 fake}``; when given, unlabelled videos and missing labelled ones are
            recorded as skipped.
        opts: sampling and image options.
        balance: downsample the majority class to 1:1 (needs ``labels``); the rest are recorded ``excluded``.
        workers: videos processed in parallel (processes); decoder threads are split so the total stays within the
            cores.
        progress: show a tqdm bar over videos.

    Raises:
        InputError: a named input does not exist, ``balance`` without labels, bad options.

    Example:
        >>> res = extract_videos(["data/samples"], "frames_out", opts=ExtractOptions(n=15, seed=0))  # doctest: +SKIP
        >>> res.processed  # doctest: +SKIP
        7
    """
    if opts.mode not in MODES:
        raise InputError(f"mode must be one of {MODES}, got {opts.mode!r}")
    if opts.image_format not in IMAGE_FORMATS:
        raise InputError(f"format must be one of {IMAGE_FORMATS}, got {opts.image_format!r}")
    if opts.n < 1 or opts.stride < 1 or opts.seed < 0:
        raise InputError("frames and stride must be >= 1 and seed >= 0")
    if balance and labels is None:
        raise InputError("--balance needs --labels")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"output is not a folder: {out_dir}")
    jobs, rows = plan_videos(collect_files(inputs), labels)
    if balance:
        readable = []
        for job in jobs:  # balance among the videos that can be read (a probe is a packet pass, a few ms)
            if load_done(out_dir, job, opts) is None:
                try:
                    if probe_video(job.path).num_frames == 0:
                        raise VideoError("no video frames")
                except VideoError as e:
                    reason = str(e).removeprefix(f"{job.path}: ")
                    log.warning("skipping %s: %s", job.path, reason)
                    rows.append(_skip_row(job.name, job.label, "skipped", reason))
                    continue
            readable.append(job)
        jobs, excluded = balance_jobs(readable, opts.seed)
        if excluded:
            names = sorted(j.name for j in excluded)
            shown = ", ".join(names[:20]) + (f", ... ({len(names) - 20} more)" if len(names) > 20 else "")
            log.info("--balance: kept %d per class, left out %d: %s", len(jobs) // 2, len(names), shown)
        rows.extend(_skip_row(j.name, j.label, "excluded", "balance") for j in excluded)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Finished videos are read back here, so a resumed run neither decodes them nor starts workers for them.
    results: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    todo = []
    for job in jobs:
        done = load_done(out_dir, job, opts)
        if done is not None:
            results[job.name] = (_video_row(job, done), _frame_rows(job, done))
        else:
            todo.append(job)
    if results:
        log.info("%d of %d videos already extracted (resuming)", len(results), len(jobs))
    cores = os.cpu_count() or 1
    workers = max(1, min(int(workers), cores, len(todo) or 1))
    threads = max(1, cores // workers) if workers > 1 else None
    with tqdm(total=len(todo), desc="extracting", unit="video", disable=not progress) as bar:
        if workers == 1:
            for job in todo:
                results[job.name] = _extract_safe(job, out_dir, opts, threads)
                bar.update()
        else:
            # spawn, not fork: a forked child inherits locks held by the parent's decoder/OpenCV threads and can hang
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                     initargs=(logging.getLogger().getEffectiveLevel(),)) as pool:
                futures = {pool.submit(_extract_safe, job, out_dir, opts, threads): job for job in todo}
                for fut in as_completed(futures):
                    results[futures[fut].name] = fut.result()
                    bar.update()
    frame_rows: list[dict[str, Any]] = []
    for job in jobs:
        row, frames = results[job.name]
        rows.append(row)
        frame_rows.extend(frames)
    rows.sort(key=lambda r: (r["video"], r["reason"] == "duplicate name"))  # a duplicate after the file used
    frame_rows.sort(key=lambda r: (r["video"], r["frame"]))
    write_csv(out_dir / "videos.csv", rows, VIDEOS_COLUMNS)
    write_csv(out_dir / "frames.csv", frame_rows, FRAMES_COLUMNS)
    # The sampling settings travel with the data: face_crop copies them, train.py puts them in the checkpoint, so
    # evaluation samples its windows the way training data was sampled.
    with atomic_write(out_dir / SETTINGS_FILE) as f:
        json.dump(_params(opts), f, indent=1)
    counts = {s: sum(r["status"] == s for r in rows) for s in ("ok", "short", "skipped", "excluded")}
    log.info("%s; %d frames; wrote %s and %s", ", ".join(f"{v} {k}" for k, v in counts.items()), len(frame_rows),
             out_dir / "frames.csv", out_dir / "videos.csv")
    return ExtractResult(videos=rows, frames=frame_rows)


SETTINGS_FILE = "settings.json"
"""Beside ``frames.csv``: the options of the last run (frames, stride, mode, seed, format)."""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _seed(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def get_args_parser() -> argparse.ArgumentParser:
    """Command-line options of ``python -m frame_extraction``."""
    p = argparse.ArgumentParser(
        prog="python -m frame_extraction",
        description="Sample frames from videos (one decoding pass each) into OUT/<video>/<frame>.png, "
        "with OUT/frames.csv and OUT/videos.csv. Resumable: finished videos are not decoded again.",
    )
    p.add_argument("inputs", nargs="+", metavar="VIDEOS", help="video files and/or folders of videos")
    p.add_argument("out", metavar="OUT", help="output folder")
    p.add_argument("--labels", help="labels CSV with header video_name,target (1 = fake)")
    p.add_argument("--frames", type=_positive_int, default=15, help="frames per video (default 15)")
    p.add_argument("--stride", type=_positive_int, default=2, help="gap between frames in random mode (default 2)")
    p.add_argument("--mode", choices=MODES, default="random",
                   help="random: a clip starting in the first half (training); linspace: spread over the video")
    p.add_argument("--seed", type=_seed, default=0, help="sampling seed; each video's draw depends on it and its name")
    p.add_argument("--balance", action="store_true", help="downsample the majority class to 1:1 (needs --labels)")
    p.add_argument("--workers", type=_positive_int, default=1, help="videos processed in parallel (default 1)")
    p.add_argument("--format", choices=IMAGE_FORMATS, default="png", help="image format (png is lossless)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns 0 on success, 1 when no video could be processed, 2 on malformed input.

    Example:
        >>> main(["data/samples", "frames_out", "--frames", "15", "--seed", "0"])  # doctest: +SKIP
        0
    """
    args = get_args_parser().parse_args(argv)
    setup_logging(args.verbose)
    opts = ExtractOptions(n=args.frames, stride=args.stride, mode=args.mode, seed=args.seed,
                          image_format=args.format)
    try:
        labels = read_labels(args.labels) if args.labels else None
        result = extract_videos(args.inputs, args.out, labels=labels, opts=opts, balance=args.balance,
                                workers=args.workers, progress=not args.no_progress)
    except InputError as e:
        log.error("%s", e)
        return 2
    if result.processed == 0:
        log.error("no video could be processed (see %s)", Path(args.out) / "videos.csv")
        return 1
    return 0
