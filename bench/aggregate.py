"""Which aggregation serves whole and partial fakes (issue 26, point 3): long videos of a person the checkpoint never
saw, real, wholly fake and partly fake, scored once with the default coverage; every aggregation of the same window
scores compared.

``python bench/aggregate.py CHECKPOINT [--source data/samples/franck.mp4] [--segments 8] [--seconds 24]
[--stretch 4] [--out bench_out/aggregate]``

Protocol (every number from one run of this script):

1. ``--segments`` stretches of ``--seconds`` seconds are cut from ``--source`` (a long real video of one person),
   spread over it without overlap, each written by THE video writer.
2. Each segment gets a fake of one generator (:data:`dfdetect.synth.GENERATORS` in turn, ``python -m dfdetect synth``,
   which also re-encodes the real). Three videos per segment, all through the same decode-splice-encode path: the
   REAL (no frame replaced), the WHOLE fake (every frame from the fake; a generator may itself change only a
   stretch, :data:`dfdetect.synth.temporal.PARTIAL_P`), the PARTIAL fake (only ``--stretch`` seconds from the fake,
   placed where the generator changed the most frames, at a seeded place otherwise).
3. Every video is scored once by :class:`dfdetect.inference.Detector` with the default scoring settings (windows over
   the whole video, one every ``score.window_every`` seconds); each aggregation of
   :data:`dfdetect.core.config.AGGREGATIONS` (``topk`` at k = 1, 2, 3) turns the same clip and window scores into a
   video score by THE rule scoring applies (:func:`dfdetect.inference.aggregate.video_score`).
4. Prints per aggregation the AUC of the whole fakes against the reals, of the partial fakes against the reals, the
   lower of the two, and the share of the reals it calls fake at ``score.threshold``; the aggregation with the highest
   lower AUC serves both (ties: the mean, then the order printed). Writes ``OUT/aggregate.csv`` (one row per video:
   its kind, generator, clip scores) and
   ``OUT/aggregate_table.csv``. The videos are made once (resumable); the scoring runs each time.

The checkpoint must not have seen the source's person: ``bench/lopo.py``'s fold of that person is such a model
(``bench_out/lopo/runs/franck/train/best.pt`` for franck.mp4).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# `python bench/aggregate.py` puts bench/ first on the path, where its scripts' names would shadow packages
# (bench/av.py is not PyAV): the project's root takes its place.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from bench.common import format_table, run_step  # noqa: E402
from dfdetect.core.config import AGGREGATIONS, ScoreConfig  # noqa: E402
from dfdetect.core.io import read_csv, setup_logging, write_csv  # noqa: E402
from dfdetect.core.metrics import compute_metrics  # noqa: E402
from dfdetect.core.runtime import machine_info  # noqa: E402
from dfdetect.demo.run import torch_threads  # noqa: E402
from dfdetect.inference import Detector  # noqa: E402
from dfdetect.inference.aggregate import video_score  # noqa: E402
from dfdetect.synth import GENERATORS  # noqa: E402
from dfdetect.synth import cli as synth_cli  # noqa: E402
from dfdetect.synth.encode import encode_video  # noqa: E402
from frame_extraction.decode import read_frames, scan_video  # noqa: E402

log = logging.getLogger("bench.aggregate")

KINDS = ("real", "whole", "partial")
VIDEO_COLUMNS = ["video_name", "kind", "segment", "method", "stretch_s", "status", "clip_scores", "window_scores"]
TOP_KS = (1, 2, 3)


def ways() -> list[tuple[str, str, int]]:
    """``(label, aggregation, top_k)`` of every aggregation compared: the mean, the confident strategy, top-k."""
    out = [(a, a, ScoreConfig.top_k) for a in AGGREGATIONS if a != "topk"]
    return out + [(f"topk (k = {k})", "topk", k) for k in TOP_KS]


def stretch_start(manipulated: str, n: int, length: int, rng: np.random.Generator) -> int:
    """Start of the ``length``-frame stretch with the most manipulated frames (``manipulated``: one ``0``/``1`` per
    frame, synth's ``meta.csv``); a seeded place when the flags are unknown.

    Example:
        >>> stretch_start("0011110000", 10, 3, np.random.default_rng(0))
        2
    """
    flags = np.array([c == "1" for c in manipulated], dtype=np.int64)
    if len(flags) < n or not flags.any():
        return int(rng.integers(0, n - length + 1))
    runs = np.convolve(flags[:n], np.ones(length, np.int64), mode="valid")  # (n - length + 1,)
    return int(np.argmax(runs))


def make_videos(source: Path, out: Path, segments: int, seconds: float, stretch: float,
                seed: int) -> list[dict[str, Any]]:
    """The real, whole-fake and partial-fake video of each segment (made once; see the module docstring)."""
    listing = out / "videos.csv"
    if listing.is_file():
        return read_csv(listing)
    scan = scan_video(source)  # once: every segment's read seeks with it
    info = scan.info
    fps, total = float(info.fps), int(info.num_frames)
    n, m = int(round(seconds * fps)), int(round(stretch * fps))
    if segments * n > total:
        raise SystemExit(f"{source}: {total / fps:.0f} s, too short for {segments} segments of {seconds:.0f} s")
    gap = (total - segments * n) // max(1, segments)
    methods = list(GENERATORS)
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for k in range(segments):
        a = k * (n + gap)
        footage = list(read_frames(source, range(a, a + n), scan=scan).values())  # RGB (H, W, 3) uint8 each
        cut = encode_video(out / "cuts" / f"segment{k}.mp4", footage, fps)
        method = methods[k % len(methods)]
        made = out / "synth" / f"segment{k}"
        run_step(synth_cli.main, [str(cut), str(made), "--method", method, "--per-video", "1", "--seed", str(seed)],
                 f"synth --method {method}")
        meta = {r["target"]: r for r in read_csv(made / "meta.csv") if r.get("video_name")}
        real = list(read_frames(made / meta["0"]["video_name"], range(n)).values())
        fake = list(read_frames(made / meta["1"]["video_name"], range(n)).values())
        s = stretch_start(meta["1"].get("manipulated", ""), min(len(real), len(fake)), m, rng)
        for kind, frames in (("real", real), ("whole", fake), ("partial", real[:s] + fake[s : s + m] + real[s + m :])):
            name = f"segment{k}_{kind}.mp4"
            encode_video(out / "videos" / name, frames, fps)
            rows.append({"video_name": name, "kind": kind, "segment": k, "method": method,
                         "stretch_s": f"{s / fps:.2f}-{(s + m) / fps:.2f}" if kind == "partial" else ""})
    write_csv(listing, rows, list(rows[0]))
    return rows


def compare(rows: list[dict[str, Any]], threshold: float = ScoreConfig.threshold) -> list[dict[str, Any]]:
    """Per aggregation, the AUC of the whole and of the partial fakes against the reals, the lower of the two, and the
    share of the real videos scored at or above ``threshold`` (called fake).

    Example:
        >>> rows = [{"kind": k, "clip_scores": s, "window_scores": s} for k, s in [("real", [0.1, 0.1, 0.1]),
        ...         ("whole", [0.9, 0.9, 0.9]), ("partial", [0.9, 0.1, 0.1]), ("real", [0.4, 0.4, 0.4])]]
        >>> table = compare(rows)
        >>> {r["aggregation"]: r["partial"] for r in table}  # the one fake clip of three: seen by the top 1-2
        {'mean': 0.5, 'confident': 0.5, 'topk (k = 1)': 1.0, 'topk (k = 2)': 1.0, 'topk (k = 3)': 0.5}
        >>> table[0]["reals_flagged"], compare(rows, threshold=0.3)[0]["reals_flagged"]
        (0.0, 0.5)
    """
    table = []
    for label, way, k in ways():
        score = {id(r): video_score(r["clip_scores"], r["window_scores"], way, k) for r in rows}  # THE rule
        row: dict[str, Any] = {"aggregation": label}
        for kind in ("whole", "partial"):
            mine = [r for r in rows if r["kind"] in ("real", kind)]
            row[kind] = round(compute_metrics([int(r["kind"] == kind) for r in mine],
                                              [score[id(r)] for r in mine])["auc"], 3)
        row["lower"] = min(row["whole"], row["partial"])
        reals = [score[id(r)] for r in rows if r["kind"] == "real"]
        # what it costs at the decision threshold: the share of real videos it calls fake
        row["reals_flagged"] = round(sum(s >= threshold for s in reals) / max(1, len(reals)), 3)
        table.append(row)
    return table


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python bench/aggregate.py", description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", help="a model that never saw the source's person (bench/lopo.py's fold of them)")
    p.add_argument("--source", default="data/samples/franck.mp4", help="a long real video of one person")
    p.add_argument("--segments", type=int, default=8, help="segments cut from it (one generator each, in turn)")
    p.add_argument("--seconds", type=float, default=24.0, help="length of each segment")
    p.add_argument("--stretch", type=float, default=4.0, help="seconds of the partial fake taken from the fake")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="torch threads")
    p.add_argument("--out", default="bench_out/aggregate", help="work and result folder")
    return p


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    setup_logging()
    out = Path(args.out)
    t0 = time.perf_counter()
    with torch_threads(args.threads):
        videos = make_videos(Path(args.source), out, args.segments, args.seconds, args.stretch, args.seed)
        made_s = time.perf_counter() - t0
        det = Detector.load(args.checkpoint, device="cpu")  # the default scoring settings: coverage, mean
        rows = []
        for v, r in zip(videos, det.predict([out / "videos" / v["video_name"] for v in videos], progress=True)):
            rows.append({**v, "status": str(r.status), "clip_scores": r.clip_scores, "window_scores": r.window_scores})
            if r.status != "ok":
                log.warning("%s: not scored (%s): %s", v["video_name"], r.status, r.reason)
        machine = machine_info()
    scored = [r for r in rows if r["status"] == "ok"]
    write_csv(out / "aggregate.csv", [{**r, **{k: " ".join(f"{s:.4f}" for s in r[k]) for k in ("clip_scores",
                                                                                              "window_scores")}}
                                      for r in rows], VIDEO_COLUMNS)
    table = compare(scored)
    write_csv(out / "aggregate_table.csv", table, ["aggregation", "whole", "partial", "lower", "reals_flagged"])
    windows = [len(r["clip_scores"]) for r in scored]
    print(f"\n{args.segments} segments of {args.seconds:.0f} s of {Path(args.source).name} (a {args.stretch:.0f} s "
          f"stretch in each partial fake), {len(scored)} of {len(rows)} videos scored, {min(windows)}-{max(windows)} "
          f"clips each, checkpoint {args.checkpoint} (videos made in {made_s:.0f} s, all "
          f"{(time.perf_counter() - t0) / 60:.1f} min; {machine['cpu_model']}, {machine['torch_threads']} threads):")
    print(f"AUC against the reals, and the share of reals called fake at the threshold {ScoreConfig.threshold}:")
    print(format_table(table, ["aggregation", "whole", "partial", "lower", "reals_flagged"]))
    best = max(table, key=lambda r: r["lower"])  # first of equals: the mean wins a tie
    print(f"\nServes both best (highest lower AUC): {best['aggregation']} ({best['lower']:.3f}).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
