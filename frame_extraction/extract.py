"""Extract sampled frames from a batch of videos: ``OUT/<video>/<frame:06d>.png`` plus ``frames.csv``/``videos.csv``.

Each video is independent: its frames come from an RNG derived from ``(seed, video name)``
(:func:`~frame_extraction.sampling.video_rng`), a bad video becomes a ``skipped`` row with its reason, and a finished
video is marked by ``OUT/<video>/_done.json`` (a :mod:`dfdetect.core.resume` marker written after its frames, with the
options and the source file's size as its settings), so an interrupted run resumes without decoding the finished ones.
The two CSVs (:data:`~dfdetect.core.schemas.FRAMES_COLUMNS`, :data:`~dfdetect.core.schemas.VIDEOS_COLUMNS`) are
rebuilt from every video of the run at the end, and ``OUT/settings.json`` records the options. The command line is in
:mod:`frame_extraction.cli`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
from tqdm import tqdm

from dfdetect.core.config import DataConfig
from dfdetect.core.io import InputError, collect_files, save_image, write_json
from dfdetect.core.schemas import FRAMES_COLUMNS, SETTINGS_FILE, VIDEOS_COLUMNS, VideoStatus
from dfdetect.core.seeding import item_rng
from dfdetect.core.shards import Shard, shard_file
from dfdetect.core.stage import ItemMarkers, Manifest, merge_manifests, shard_part, split_done, write_manifests
from frame_extraction.decode import VideoError, probe_video, sample_video
from frame_extraction.sampling import MODES, video_rng

log = logging.getLogger(__name__)

DONE_MARKER = "_done.json"
"""A finished video's resume marker, in its output folder."""
IMAGE_FORMATS = ("png", "jpg")
_INFO_KEYS = {"num_frames", "fps", "width", "height"}
_FRAME_FILE = re.compile(r"^\d{6}\.(png|jpg)$")  # the files this module writes in a video folder
_BALANCE_STREAM = 0xBA1A  # balance_jobs' own random stream, apart from the per-video ones
_DATA = DataConfig()
FRAMES_FILE = "frames.csv"
VIDEOS_FILE = "videos.csv"


def videos_order(row: dict[str, Any]) -> tuple[str, bool]:
    """The order of ``videos.csv``: by name, a duplicate after the file used (also how shards are merged)."""
    return row["video"], row["reason"] == "duplicate name"


def frames_order(row: dict[str, Any]) -> tuple[str, int]:
    """The order of ``frames.csv``: by video name, then frame index (also how shards are merged)."""
    return row["video"], int(row["frame"])


VIDEOS_MANIFEST = Manifest(VIDEOS_FILE, VIDEOS_COLUMNS, videos_order)
FRAMES_MANIFEST = Manifest(FRAMES_FILE, FRAMES_COLUMNS, frames_order)


@dataclass(frozen=True)
class ExtractOptions:
    """What decides which frames a video gets and how they are stored (recorded in each video's marker).

    Attributes:
        n: frames per video (``DataConfig().sample_frames``).
        stride: gap between frames in ``random`` mode (``DataConfig().stride``).
        mode: one of :data:`~frame_extraction.sampling.MODES`.
        seed: sampling seed; a video's draw depends on it and the video's name only.
        image_format: one of :data:`IMAGE_FORMATS` (png is lossless).
    """

    n: int = _DATA.sample_frames
    stride: int = _DATA.stride
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
        return sum(r["status"] in (VideoStatus.OK, VideoStatus.SHORT) for r in self.videos)


def _label_str(label: int | None) -> str:
    return "" if label is None else str(label)


def _skip_row(name: str, label: int | None, status: VideoStatus, reason: str) -> dict[str, Any]:
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
            skipped.append(_skip_row(name, label, VideoStatus.SKIPPED, "duplicate name"))
            continue
        seen[name] = path
        if labels is not None and label is None:
            log.warning("skipping %s: not in the labels", path)
            skipped.append(_skip_row(name, None, VideoStatus.SKIPPED, "no label"))
            continue
        jobs.append(VideoJob(name, path, label))
    if labels is not None:
        for name in sorted(set(labels) - set(seen)):
            log.warning("skipping %s: in the labels but no such video among the inputs", name)
            skipped.append(_skip_row(name, labels[name], VideoStatus.SKIPPED, "missing"))
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
    rng = item_rng(int(seed), _BALANCE_STREAM)  # its own stream, apart from the per-video ones
    keep = set(rng.choice(len(names), size=minority, replace=False).tolist())
    dropped = {n for i, n in enumerate(names) if i not in keep}
    kept = [j for j in jobs if j.name not in dropped]
    excluded = [j for j in jobs if j.name in dropped]
    return kept, excluded


def _markers(out_dir: Path) -> ItemMarkers:
    return ItemMarkers(out_dir, "{name}/" + DONE_MARKER)


def _marker_settings(opts: ExtractOptions, source_size: int) -> dict[str, Any]:
    """What a video's marker must have been written with to be trusted: the options and the source file's size."""
    return {**asdict(opts), "source_size": int(source_size)}


def load_done(out_dir: Path, job: VideoJob, opts: ExtractOptions) -> dict[str, Any] | None:
    """The marker payload of ``job`` if its output is complete for these options and this source file, else None.

    The payload holds ``status``, ``reason``, ``info`` (the :class:`~frame_extraction.decode.VideoInfo` fields),
    ``frames`` (``[{"frame", "path"}]``, paths relative to ``out_dir``) and ``source``; every listed frame file must
    still exist.

    Example:
        >>> import tempfile
        >>> job = VideoJob("single_face.mp4", Path("data/samples/single_face.mp4"))
        >>> load_done(Path(tempfile.mkdtemp()), job, ExtractOptions()) is None  # nothing extracted there yet
        True
    """
    try:
        size = job.path.stat().st_size
    except OSError:
        return None
    # a marker from other options, another source file, another marker version or a damaged one reads as None
    done = _markers(out_dir).read(job.name, _marker_settings(opts, size))
    if done is None:
        return None
    try:  # damaged by hand, or a frame file gone: redo the video
        ok = (done["status"] in (VideoStatus.OK, VideoStatus.SHORT) and isinstance(done["reason"], str)
              and set(done["info"]) >= _INFO_KEYS
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

    Args:
        job: the video.
        out_dir: the run's output folder; frames go to ``out_dir/<job.name>/<frame:06d>.<format>``.
        opts: sampling and image options.
        threads: decoder threads (None: FFmpeg's default).

    Returns:
        The ``videos.csv`` row and the ``frames.csv`` rows (empty for a skipped video).

    Example:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp())
        >>> job = VideoJob("single_face.mp4", Path("data/samples/single_face.mp4"), label=0)
        >>> row, frames = extract_video(job, out, ExtractOptions(n=3, seed=0))
        >>> str(row["status"]), row["sampled"], [r["path"] for r in frames]
        ('ok', 3, ['single_face.mp4/000032.png', 'single_face.mp4/000034.png', 'single_face.mp4/000036.png'])
        >>> load_done(out, job, ExtractOptions(n=3, seed=0))["status"], load_done(out, job, ExtractOptions(n=4))
        ('ok', None)
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
        return _skip_row(job.name, job.label, VideoStatus.SKIPPED, reason), []
    video_dir = out_dir / job.name
    video_dir.mkdir(parents=True, exist_ok=True)
    # A marker from other options would vouch for the old frames: remove it first, then the old frames.
    _markers(out_dir).forget(job.name)
    names = {f"{i:06d}.{opts.image_format}" for i in sv.indices}
    for old in video_dir.iterdir():
        if _FRAME_FILE.match(old.name) and old.name not in names:
            old.unlink()
    frames = []
    for idx, rgb in zip(sv.indices, sv.frames):
        rel = f"{job.name}/{idx:06d}.{opts.image_format}"
        save_image(out_dir / rel, rgb)
        frames.append({"frame": idx, "path": rel})
    status = VideoStatus.SHORT if sv.short else VideoStatus.OK
    reason = f"{len(sv.indices)} of {opts.n} frames" if sv.short else ""
    if sv.undecodable:  # damaged packets skipped: said, not silent
        reason = f"{reason} ({sv.undecodable} sampled frame(s) could not be decoded: damaged data skipped)".strip()
    done = {"source": str(job.path), "status": status, "reason": reason, "info": asdict(sv.info), "frames": frames}
    _markers(out_dir).write(job.name, _marker_settings(opts, size), done)  # last, after the frames
    return _video_row(job, done), _frame_rows(job, done)


def _extract_safe(job: VideoJob, out_dir: Path, opts: ExtractOptions,
                  threads: int | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    # Anything unexpected (disk full, a decoder crash surfacing as an exception) fails this video, not the batch.
    try:
        return extract_video(job, out_dir, opts, threads)
    except Exception as e:
        log.error("failed on %s: %s: %s", job.path, type(e).__name__, e)
        return _skip_row(job.name, job.label, VideoStatus.SKIPPED,
                         f"error: {type(e).__name__}: {e}".splitlines()[0]), []


def _init_worker(log_level: int) -> None:
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
    shard: Shard | None = None,
) -> ExtractResult:
    """Extract sampled frames from every video in ``inputs`` and write ``frames.csv`` and ``videos.csv`` in ``out_dir``.

    With ``shard``, only the videos of that shard (:mod:`dfdetect.core.shards`: by a hash of the file name) are
    extracted, into the same ``out_dir`` layout, and the manifests are written as ``frames.shard-K-of-N.csv`` and
    ``videos.shard-K-of-N.csv``; :func:`merge_extraction` joins the N shards into what one run writes. ``balance``
    is decided over every input first (it depends on the whole set), then the shard takes its part.

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
        shard: extract only this shard's videos (None: all).

    Returns:
        The rows written to ``videos.csv`` and ``frames.csv`` (the shard's files with ``shard``).

    Raises:
        InputError: a named input does not exist, ``balance`` without labels, bad options.

    Example:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp())
        >>> videos = ["data/samples/single_face.mp4", "data/samples/no_face.mp4"]
        >>> res = extract_videos(videos, out, opts=ExtractOptions(n=4, seed=0), progress=False)
        >>> res.processed, len(res.frames), sorted(p.name for p in out.iterdir())
        (2, 8, ['frames.csv', 'no_face.mp4', 'settings.json', 'single_face.mp4', 'videos.csv'])
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
                    rows.append(_skip_row(job.name, job.label, VideoStatus.SKIPPED, reason))
                    continue
            readable.append(job)
        jobs, excluded = balance_jobs(readable, opts.seed)
        if excluded:
            names = sorted(j.name for j in excluded)
            shown = ", ".join(names[:20]) + (f", ... ({len(names) - 20} more)" if len(names) > 20 else "")
            log.info("--balance: kept %d per class, left out %d: %s", len(jobs) // 2, len(names), shown)
        rows.extend(_skip_row(j.name, j.label, VideoStatus.EXCLUDED, "balance") for j in excluded)
    jobs = shard_part(jobs, shard, lambda j: j.name, "videos")
    rows = shard_part(rows, shard, lambda r: r["video"])
    out_dir.mkdir(parents=True, exist_ok=True)
    # Finished videos are read back here, so a resumed run neither decodes them nor starts workers for them.
    finished, todo = split_done(jobs, lambda j: load_done(out_dir, j, opts), "videos")
    results = {job.name: (_video_row(job, done), _frame_rows(job, done)) for job, done in finished}
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
    rows, frame_rows = write_manifests(out_dir, shard, [(VIDEOS_MANIFEST, rows), (FRAMES_MANIFEST, frame_rows)])
    # The sampling settings travel with the data: face_crop copies them, train.py puts them in the checkpoint, so
    # evaluation samples its windows the way training data was sampled.
    write_json(out_dir / SETTINGS_FILE, asdict(opts), indent=1)
    counts = {s: sum(r["status"] == s for r in rows) for s in VideoStatus}
    log.info("%s; %d frames; wrote %s and %s", ", ".join(f"{v} {k}" for k, v in counts.items()), len(frame_rows),
             shard_file(out_dir / FRAMES_FILE, shard), shard_file(out_dir / VIDEOS_FILE, shard))
    return ExtractResult(videos=rows, frames=frame_rows)


def merge_extraction(out_dir: str | os.PathLike) -> tuple[int, int]:
    """Join the ``--shard K/N`` manifests of ``out_dir`` into ``videos.csv`` and ``frames.csv``, as one run writes them.

    Args:
        out_dir: the output folder every shard wrote into.

    Returns:
        The number of rows of ``videos.csv`` and ``frames.csv``.

    Raises:
        InputError: no shard manifests, or a shard missing.
    """
    out_dir = Path(out_dir)
    videos, frames = merge_manifests(out_dir, (VIDEOS_MANIFEST, FRAMES_MANIFEST))
    log.info("merged %d videos, %d frames into %s and %s", len(videos), len(frames), out_dir / VIDEOS_FILE,
             out_dir / FRAMES_FILE)
    return len(videos), len(frames)
