"""``python -m dfdetect synth VIDEOS... OUT``: self-made fake videos (and re-encoded reals) with their labels.

    python -m dfdetect synth VIDEOS... OUT --per-video 2 --seed 0 [--method NAME] [--no-reals] [--max-frames N]

Each input real video gives ``--per-video`` fakes of the generator ``--method`` (:data:`~dfdetect.synth.registry.
GENERATORS`, default ``sbi``; :func:`~dfdetect.synth.registry.generate` on the frames and their face track: the same
generators training runs on the fly) and, unless ``--no-reals``, itself re-encoded by the same writer
(:func:`dfdetect.synth.encode.encode_video`), so the codec settings do not tell fakes from reals. Outputs get neutral
shuffled names (:data:`NAME_PATTERN`); ``OUT/labels.csv`` holds the labels (``video_name,target,method``: ``eval.py``
reports the metrics per method) and ``OUT/meta.csv`` (:data:`META_COLUMNS`) the record: source, seed, parameters,
per-frame manipulated flags (``manipulated``: one ``0``/``1`` per frame of the fake) and every skipped input with its
reason. Each fake's per-frame masks (where and how much the face was replaced) go to ``OUT/masks/<name>.npz``
(:func:`write_masks`, the ``masks`` column; read them with :func:`read_masks`). A rerun keeps the outputs made with the
same settings (resume).

Exit status: 0 at least one input done, 1 none, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import av
import numpy as np
from tqdm import tqdm

from dfdetect.core.cli import add_verbose, run_cli
from dfdetect.core.io import InputError, collect_files, read_csv, write_bytes_atomic
from dfdetect.core.schemas import LABELS_COLUMNS, METHOD_COLUMN, ItemStatus
from dfdetect.core.seeding import item_rng, stable_seed
from dfdetect.core.shards import Shard, parse_shard, shard_file
from dfdetect.core.stage import Manifest, merge_manifests, shard_part, write_manifests
from dfdetect.synth.encode import encode_video
from dfdetect.synth.registry import GENERATORS, generate
from dfdetect.synth.track import FaceTrack, track_faces
from face_crop.detect import FaceDetector
from frame_extraction.decode import VideoError, VideoInfo, read_frames, scan_video

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^v\d{4,}\.mp4$")
"""Neutral output names (``v0007.mp4``): nothing in a name says real or fake."""
META_FILE = "meta.csv"
LABELS_FILE = "labels.csv"
MASKS_DIR = "masks"
"""``OUT/masks/<video stem>.npz``: a fake's per-frame masks (:func:`write_masks`)."""
META_COLUMNS = ("video_name", "target", "source", "k", "method", "seed", "max_frames", "status", "reason",
                "frames", "fps", "width", "height", "face_frames", "params", "manipulated", "masks")
"""``OUT/meta.csv``: one row per output (status ok) and one per skipped input (status skipped, with the reason).
``manipulated``: one ``0``/``1`` per frame of a fake; ``masks``: its mask file, relative to OUT."""
NEW_COLUMNS = ("method", "manipulated", "masks")
"""Columns a meta.csv of an earlier version may lack (still ours: its fakes are made again, with masks)."""


def write_masks(path: str | Path, masks: Sequence[np.ndarray | None], size: tuple[int, int]) -> None:
    """Save one fake's per-frame masks, atomically, as a compressed ``.npz``.

    Keys: ``masks`` uint8 (T, H, W), the float mask in [0, 1] times 255, rounded (0 where a frame was left alone);
    ``manipulated`` bool (T,), the frame has a mask above 0. H, W are ``size``: the written video's (even) size.

    Args:
        path: the ``.npz`` file.
        masks: per frame, float32 (H', W') in [0, 1] (H' >= H, W' >= W: cropped like the video) or None.
        size: (H, W) of the encoded video.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "m.npz"
        >>> write_masks(p, [None, np.full((3, 5), 0.5, np.float32)], (2, 4))
        >>> m, flags = read_masks(p)
        >>> m.shape, int(m[1, 0, 0]), flags.tolist()
        ((2, 2, 4), 128, [False, True])
    """
    h, w = size
    stack = np.zeros((len(masks), h, w), np.uint8)  # (T, H, W)
    for t, m in enumerate(masks):
        if m is not None:
            stack[t] = np.rint(np.clip(m[:h, :w], 0, 1) * 255).astype(np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, masks=stack, manipulated=stack.reshape(len(masks), -1).max(axis=1) > 0)
    write_bytes_atomic(path, buf.getvalue())


def read_masks(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(masks uint8 (T, H, W) = mask * 255, manipulated bool (T,))`` of a file of :func:`write_masks`."""
    with np.load(path) as z:
        return z["masks"], z["manipulated"]


def assign_names(keys: Sequence[Any], taken: set[str], seed: int) -> dict[Any, str]:
    """Neutral names ``v0000.mp4``... for new outputs, in a seeded random order (the order leaks nothing).

    Args:
        keys: the outputs needing a name, in a deterministic order.
        taken: names already used in the folder.
        seed: shuffles which key gets which number.

    Returns:
        ``{key: name}``: the lowest free numbers, shuffled over the keys.

    Example:
        >>> sorted(assign_names(["a", "b"], {"v0000.mp4"}, seed=0).values())
        ['v0001.mp4', 'v0002.mp4']
    """
    used = {int(n[1:-4]) for n in taken if NAME_PATTERN.match(n)}
    numbers: list[int] = []
    i = 0
    while len(numbers) < len(keys):
        if i not in used:
            numbers.append(i)
        i += 1
    order = item_rng(seed, "names", len(used)).permutation(len(keys))
    return {k: f"v{numbers[j]:04d}.mp4" for k, j in zip(keys, order)}


def get_args_parser() -> argparse.ArgumentParser:
    """The ``synth`` command line (see the module docstring)."""
    p = argparse.ArgumentParser(
        prog="python -m dfdetect synth",
        description="Write self-blended fake videos (SBI extended to video) from real videos, plus OUT/labels.csv.",
    )
    p.add_argument("videos", nargs="+", help="real videos or folders of videos")
    p.add_argument("out", help="output folder (fakes v0000.mp4..., labels.csv, meta.csv)")
    p.add_argument("--per-video", type=int, default=1, help="fakes per input video (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed: same seed, same blended pixels")
    p.add_argument("--method", default="sbi", choices=list(GENERATORS),
                   help="the fake generator: " + "; ".join(f"{g.name}: {g.summary}" for g in GENERATORS.values()))
    p.add_argument("--flicker", action="store_true", help=argparse.SUPPRESS)  # replaced by --method temporal
    p.add_argument("--no-reals", dest="with_reals", action="store_false",
                   help="write only the fakes (by default each real video is re-encoded into OUT with the same encoder "
                        "settings, target 0: otherwise the codec, bitrate and size alone would tell fakes from reals)")
    p.add_argument("--with-reals", dest="with_reals", action="store_true", help=argparse.SUPPRESS)  # the default
    p.add_argument("--max-frames", type=int, default=0,
                   help="use only the first N frames of each video (0 = all; bounds memory on long videos)")
    p.add_argument("--device", default="cpu", help="face detector device")
    p.add_argument("--shard", metavar="K/N", help="make only the outputs of shard K of N (inputs split by a hash "
                   "of the input's name; names are assigned over all inputs); join with python -m dfdetect merge OUT")
    add_verbose(p)
    return p


def meta_order(row: dict[str, Any]) -> tuple[bool, str]:
    """The order of ``meta.csv``: the outputs by name, then the skipped inputs by source (also how shards merge)."""
    ok = row["status"] == ItemStatus.OK
    return not ok, row["video_name"] if ok else row["source"]


META_MANIFEST = Manifest(META_FILE, META_COLUMNS, meta_order)
LABELS_MANIFEST = Manifest(LABELS_FILE, (*LABELS_COLUMNS, METHOD_COLUMN))


def main(argv: list[str] | None = None) -> int:
    """CLI: 0 at least one input done, 1 none (each skip is in ``meta.csv`` with its reason), 2 bad arguments."""
    return run_cli(get_args_parser(), argv, _run)


def write_tables(out: Path, rows: dict[Any, dict[str, Any]], skips: dict[str, dict[str, Any]],
                 shard: Shard | None = None) -> None:
    """Write ``meta.csv`` (outputs by name, then skipped inputs by name) and ``labels.csv`` (the outputs), atomically
    (``meta.shard-K-of-N.csv``... for a shard)."""
    (table,) = write_manifests(out, shard, [(META_MANIFEST, [*rows.values(), *skips.values()])])
    write_manifests(out, shard, [(LABELS_MANIFEST, _label_rows(table))])


def _label_rows(table: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``labels.csv`` rows of a ``meta.csv`` table: its outputs, with the method of each fake."""
    return [{**r, METHOD_COLUMN: r["method"] if int(r["target"]) else ""}
            for r in table if r["status"] == ItemStatus.OK]


def merge_synth(out: str | Path) -> int:
    """Join the ``--shard K/N`` tables of ``out`` into ``meta.csv`` and ``labels.csv``, as one run writes them.

    Returns:
        The number of outputs listed in ``labels.csv``.

    Raises:
        InputError: no shard tables, or a shard missing.
    """
    out = Path(out)
    (table,) = merge_manifests(out, [META_MANIFEST])  # meta.csv; labels.csv is made from it, as one run makes it
    labels = write_manifests(out, None, [(LABELS_MANIFEST, _label_rows(table))])[0]
    log.info("merged %d outputs and %d skipped inputs into %s", len(labels), len(table) - len(labels), out / META_FILE)
    return len(labels)


def _check_args(args: argparse.Namespace) -> list[Path]:
    """Validate the CLI arguments; returns the input files."""
    if args.flicker:
        raise InputError("--flicker is replaced by --method temporal (blend parameters that drift from frame to frame)")
    if args.per_video < 0 or args.max_frames < 0:
        raise InputError("--per-video and --max-frames must be >= 0")
    if args.per_video == 0 and not args.with_reals:
        raise InputError("nothing to write: --per-video 0 with --no-reals")
    files = collect_files(args.videos)
    if not files:
        raise InputError(f"no videos found in {', '.join(args.videos)}")
    names = [f.name for f in files]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"several inputs share the file name {dup[0]!r} (names key the seeds and the record)")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"output is not a folder: {out}")
    if any(f.resolve().parent == out.resolve() for f in files):
        raise InputError(f"OUT ({out}) holds input videos: write the fakes to another folder")
    return files


def _read_video(path: Path, max_frames: int) -> tuple[VideoInfo, list[np.ndarray]]:
    """(VideoInfo, frames (H, W, 3) uint8) of one input, its first ``max_frames`` (0: all); raises VideoError."""
    scan = scan_video(path)  # one pass over the packets: the frame count, and the index read_frames reuses
    n = min(max_frames, scan.info.num_frames) if max_frames else scan.info.num_frames
    frames = list(read_frames(path, range(n), scan=scan).values())
    if not frames:
        raise VideoError(f"{path}: no decodable frame")
    if any(f.shape != frames[0].shape for f in frames):
        raise VideoError(f"{path}: frame size changes mid-video")
    return scan.info, frames


def _run(args: argparse.Namespace) -> int:
    files = _check_args(args)
    shard = parse_shard(args.shard) if args.shard else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta_path = out / META_FILE
    old = read_csv(meta_path) if meta_path.is_file() else []
    if old and set(META_COLUMNS) - set(old[0]) - set(NEW_COLUMNS):  # a file from before --method is still ours
        raise InputError(f"{meta_path} was not written by this tool (columns differ)")
    merged = {r["video_name"] for r in old}  # the names meta.csv records (the state before a sharded run)
    if shard is not None:  # what this shard made before (an interrupted shard resumes)
        mine = shard_file(meta_path, shard)
        old += read_csv(mine) if mine.is_file() else []

    # Outputs keyed by (source, target, k); a previous run's names are kept so that a resumed run continues.
    rows = {(r["source"], int(r["target"]), int(r["k"])): r for r in old
            if r["status"] == ItemStatus.OK and r["video_name"]}
    skips: dict[str, dict[str, Any]] = {}
    wanted = [(f.name, 1, k) for f in files for k in range(args.per_video)]
    wanted += [(f.name, 0, 0) for f in files] if args.with_reals else []
    # Never a name already in OUT (ours from meta.csv, or any file of the user's): nothing there is overwritten.
    taken = {r["video_name"] for r in rows.values()} | ({p.name for p in out.iterdir()} if out.is_dir() else set())
    if shard is not None:
        # The shards share OUT: a file another shard has just written must not move the names. Names are assigned
        # over every input from what meta.csv (the merged state before this sharded run) records.
        taken = merged | {p.name for p in out.iterdir() if not NAME_PATTERN.match(p.name)}
    named = {k for k, r in rows.items() if shard is None or r["video_name"] in merged}
    fresh = assign_names([k for k in wanted if k not in named], taken, args.seed)
    name_of = {k: rows[k]["video_name"] if k in rows else fresh[k] for k in wanted}
    settings = {"seed": str(args.seed), "method": args.method, "max_frames": str(args.max_frames)}

    def done(key: tuple[str, int, int]) -> bool:
        r = rows.get(key)
        if r is None or not (out / r["video_name"]).is_file():
            return False
        checked = settings if key[1] == 1 else {"max_frames": settings["max_frames"]}  # a real has no seed
        if r.get("flicker") == "1":  # made by the retired --flicker mode: not what any --method makes now
            return False
        if key[1] == 1 and not (r.get("masks") and (out / r["masks"]).is_file()):  # made before masks were written
            return False
        return all(str(r.get(s) or ("sbi" if s == "method" else "")) == v for s, v in checked.items())

    files = shard_part(files, shard, lambda f: f.name, "inputs")

    def flush() -> None:
        write_tables(out, rows, skips, shard)

    detector = None
    n_ok = n_skipped = 0
    for path in tqdm(files, desc="synth", unit="video"):
        todo = [k for k in wanted if k[0] == path.name and not done(k)]
        skips.pop(path.name, None)
        try:
            if todo:
                info, frames = _read_video(path, args.max_frames)
                track = None
                if any(k[1] == 1 for k in todo):
                    if detector is None:  # built on first need: a run of finished or faceless inputs never loads it
                        detector = FaceDetector(device=args.device)
                    track = track_faces(detector.detect(frames))
                    if not track.valid.any():
                        raise VideoError("no face detected")
                for key in todo:
                    rows[key] = _write_output(out / name_of[key], key, info, frames, track, args, settings)
        except (VideoError, ValueError, OSError, RuntimeError, av.error.FFmpegError) as e:
            log.warning("skipped %s: %s", path, e)
            skips[path.name] = {"source": path.name, "status": ItemStatus.SKIPPED, "reason": str(e)}
            n_skipped += 1
        else:
            n_ok += 1
        flush()
    log.info("%d videos done, %d skipped; %s", n_ok, n_skipped, shard_file(out / LABELS_FILE, shard))
    if shard is not None and not files:
        flush()  # an empty shard writes its (empty) tables: the merge needs every shard
        return 0
    return 0 if n_ok else 1


def _write_output(path: Path, key: tuple[str, int, int], info: VideoInfo, frames: list[np.ndarray],
                  track: FaceTrack | None, args: argparse.Namespace, settings: dict[str, str]) -> dict[str, Any]:
    """Encode one output (a fake of ``frames``, or the re-encoded real) and return its meta row."""
    source, target, k = key
    h, w = frames[0].shape[:2]
    row: dict[str, Any] = {"video_name": path.name, "target": target, "source": source, "k": k,
                           "status": ItemStatus.OK, "reason": "", "frames": len(frames), "fps": round(info.fps, 6),
                           "width": w - w % 2, "height": h - h % 2, "max_frames": settings["max_frames"]}
    if target == 1 and track is not None:
        seed = stable_seed(args.seed, source, k)
        rng = np.random.default_rng(seed)
        gen = generate(args.method, frames, [track.face(i) for i in range(len(track))], rng)
        first = next((r for r in gen.records if r is not None), {})
        masks = Path(MASKS_DIR) / f"{path.stem}.npz"
        write_masks(path.parent / masks, gen.masks, (row["height"], row["width"]))
        encode_video(path, gen.frames, info.fps)
        row.update(seed=settings["seed"], method=args.method, face_frames=int(track.valid.sum()),
                   params=json.dumps({"mode": args.method, "seed": seed, **gen.extra, **first}),
                   manipulated="".join("1" if f else "0" for f in gen.manipulated), masks=masks.as_posix())
    else:
        encode_video(path, frames, info.fps)
    log.info("%s -> %s (%s)", source, path.name, "fake" if target else "real")
    return row
