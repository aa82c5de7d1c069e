"""Preprocessing benchmark: decode the sampled frames, find the face, crop it; naive seed approach versus ours.

``python bench/prep.py --samples data/samples [--out bench_out]``

Per video, the same 15 sampled frames (stride 2, this project's sampler) go through:

* naive (the seed code): ``cv2.VideoCapture`` with a ``CAP_PROP_POS_FRAMES`` seek per sampled frame, then
  facenet-pytorch MTCNN at FULL resolution, one call per frame, then a plain box crop;
* ours: :func:`frame_extraction.decode.sample_video` (one decoding pass) + :func:`face_crop.pipeline.crop_faces`
  (:meth:`face_crop.detect.FaceDetector.detect`: one batched MTCNN call on the key frames, every
  :data:`face_crop.detect.KEY_STEP`-th, on copies downscaled to 480 px; O-Net follows the face on the others).

A second table compares decoders alone on the same frames (cv2 seek per frame, cv2 grab/retrieve, PyAV decoding every
frame, ours), wall and CPU seconds. Videos: the sample face videos and a 10 s 1080p H.264 video made from one of them
(:func:`bench.common.make_hd_video`, cached in ``--out``). Targets: ours >= 20x faster than naive and <= 1 s for the
10 s 1080p video, >= 8x on the 640x360 samples, every face still found. Results also go to ``OUT/prep.csv`` and
``OUT/prep_decode.csv``.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from facenet_pytorch import MTCNN

ROOT = Path(__file__).resolve().parents[1]
# `python bench/prep.py` puts bench/ first on the path, where its scripts' names would shadow packages (bench/av.py is
# not PyAV): the project's root takes its place.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from bench.common import HD_NAME, format_table, make_hd_video  # noqa: E402
from dfdetect.core.config import DataConfig  # noqa: E402
from dfdetect.core.io import setup_logging, write_csv  # noqa: E402
from face_crop.detect import MIN_FACE_SIZE, THRESHOLDS, FaceDetector  # noqa: E402
from face_crop.pipeline import crop_faces  # noqa: E402
from frame_extraction.decode import probe_video, read_frames, sample_video  # noqa: E402
from frame_extraction.sampling import sample_indices, video_rng  # noqa: E402

log = logging.getLogger("bench.prep")

FACE_VIDEOS = ("single_face.mp4", "WolfgangLanger_Pexels.mp4", "face_noface.mov", "carphone_pristine.mp4")
HD_SOURCE = "WolfgangLanger_Pexels.mp4"
_DATA = DataConfig()  # the project's defaults: 15 frames at stride 2, margin 0.3, 224 px crops
N_FRAMES, STRIDE, SEED = _DATA.sample_frames, _DATA.stride, 0
MARGIN, SIZE = _DATA.margin, _DATA.size


# --------------------------------------------------------------------------------------------------------- decoders
def decode_cv2_seek(path: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """The seed's decoder: one ``CAP_PROP_POS_FRAMES`` seek + read per sampled frame."""
    cap = cv2.VideoCapture(str(path))
    out = {}
    try:
        for i in indices:
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(i))
            ok, bgr = cap.read()
            if ok:
                out[i] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    return out


def decode_cv2_grab(path: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """One sequential OpenCV pass: ``grab()`` every frame, ``retrieve()`` only the sampled ones."""
    cap = cv2.VideoCapture(str(path))
    wanted, out = set(indices), {}
    try:
        for i in range(max(indices) + 1):
            if not cap.grab():
                break
            if i in wanted:
                ok, bgr = cap.retrieve()
                if ok:
                    out[i] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    return out


def decode_pyav_plain(path: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """One sequential PyAV pass decoding every frame from the first (no seek, no frame skipping)."""
    return read_frames(path, indices, fast=False)


def decode_ours(path: Path, indices: list[int]) -> dict[int, np.ndarray]:
    """Ours: packet index, keyframe seek, unwanted non-reference frames not decoded."""
    return read_frames(path, indices)


DECODERS: dict[str, Callable[[Path, list[int]], dict[int, np.ndarray]]] = {
    "cv2_seek": decode_cv2_seek,
    "cv2_grab": decode_cv2_grab,
    "pyav_all": decode_pyav_plain,
    "ours": decode_ours,
}


# --------------------------------------------------------------------------------------------------------- pipelines
def naive_pipeline(path: Path, indices: list[int], mtcnn: Any) -> dict[str, Any]:
    """Seek per frame, full-resolution MTCNN one frame at a time, plain crop of the most confident box."""
    c0, t0 = time.process_time(), time.perf_counter()
    frames = decode_cv2_seek(path, indices)
    t1 = time.perf_counter()
    faces = 0
    for frame in frames.values():
        boxes, _ = mtcnn.detect(frame)
        if boxes is None:
            continue
        x1, y1, x2, y2 = np.asarray(boxes[0], dtype=np.float32).round().astype(int)
        h, w = frame.shape[:2]
        crop = frame[max(0, y1):min(h, y2), max(0, x1):min(w, x2)]
        if crop.size:
            cv2.resize(crop, (SIZE, SIZE))
            faces += 1
    t2 = time.perf_counter()
    return {"decode": t1 - t0, "detect": t2 - t1, "total": t2 - t0, "cpu": time.process_time() - c0,
            "frames": len(frames), "faces": faces}


def our_pipeline(path: Path, detector: Any) -> dict[str, Any]:
    """One decoding pass, one batched detection on downscaled copies, crops from the full frames."""
    c0, t0 = time.process_time(), time.perf_counter()
    sv = sample_video(path, n=N_FRAMES, stride=STRIDE, rng=video_rng(SEED, path.name))
    t1 = time.perf_counter()
    pairs = crop_faces(sv.frames, detector, margin=MARGIN, size=SIZE)
    t2 = time.perf_counter()
    faces = sum(crop is not None for crop, _ in pairs)
    return {"decode": t1 - t0, "detect": t2 - t1, "total": t2 - t0, "cpu": time.process_time() - c0,
            "frames": len(sv.frames), "faces": faces, "indices": sv.indices}


def _median_runs(fn: Callable[[], dict[str, Any]], repeat: int) -> dict[str, Any]:
    runs = [fn() for _ in range(max(1, repeat))]
    out = dict(runs[-1])
    for key in ("decode", "detect", "total", "cpu"):
        out[key] = float(statistics.median(r[key] for r in runs))
    return out


def _time_decoder(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(max(1, repeat)):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return float(statistics.median(walls)), float(statistics.median(cpus))


# -------------------------------------------------------------------------------------------------------------- main
def get_args_parser() -> argparse.ArgumentParser:
    """Command-line options of ``bench/prep.py``."""
    p = argparse.ArgumentParser(prog="python bench/prep.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", default="data/samples", help="folder with the sample videos (make data)")
    p.add_argument("--out", default="bench_out", help="where the 1080p test video and the result CSVs go")
    p.add_argument("--videos", nargs="*", default=list(FACE_VIDEOS), help="sample videos to time")
    p.add_argument("--repeat", type=int, default=3, help="timed runs of ours per video (median)")
    p.add_argument("--naive-repeat", type=int, default=1, help="timed runs of the naive pipeline per video")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads for MTCNN")
    p.add_argument("--no-decoders", action="store_true", help="skip the decoder-only table")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the tables; returns 0 (2 when a sample video is missing)."""
    args = get_args_parser().parse_args(argv)
    setup_logging()
    torch.set_num_threads(max(1, args.threads))
    samples, out = Path(args.samples), Path(args.out)
    missing = [v for v in [*args.videos, HD_SOURCE] if not (samples / v).is_file()]
    if missing:
        log.error("missing sample videos in %s: %s (run make data)", samples, ", ".join(missing))
        return 2
    hd = make_hd_video(samples / HD_SOURCE, out / HD_NAME)
    videos = [samples / v for v in args.videos] + [hd]

    # Same detector settings for both; only the resolution and the batching differ.
    naive_mtcnn = MTCNN(keep_all=True, min_face_size=MIN_FACE_SIZE, thresholds=list(THRESHOLDS), device="cpu")
    detector = FaceDetector()
    warm = samples / args.videos[0]  # first calls pay one-off costs (allocations, lazy init): not timed
    warm_idx = sample_indices(probe_video(warm).num_frames, 3, STRIDE, rng=0).tolist()
    naive_pipeline(warm, warm_idx, naive_mtcnn)
    our_pipeline(warm, detector)

    rows, decode_rows = [], []
    for path in videos:
        info = probe_video(path)
        indices = sample_indices(info.num_frames, N_FRAMES, STRIDE, rng=video_rng(SEED, path.name)).tolist()
        ours = _median_runs(lambda p=path: our_pipeline(p, detector), args.repeat)
        assert ours["indices"] == indices  # both pipelines see the same frames
        naive = _median_runs(lambda p=path, i=indices: naive_pipeline(p, i, naive_mtcnn), args.naive_repeat)
        rows.append({
            "video": path.name, "size": f"{info.width}x{info.height}", "first": indices[0],
            "naive_s": naive["total"], "ours_s": ours["total"], "ratio": naive["total"] / ours["total"],
            "naive_cpu_s": naive["cpu"], "ours_cpu_s": ours["cpu"],
            "naive_decode_s": naive["decode"], "naive_detect_s": naive["detect"],
            "ours_decode_s": ours["decode"], "ours_detect_s": ours["detect"],
            "faces_naive": f"{naive['faces']}/{naive['frames']}", "faces_ours": f"{ours['faces']}/{ours['frames']}",
        })
        log.info("%s: naive %.3f s, ours %.3f s", path.name, naive["total"], ours["total"])
        if not args.no_decoders:
            row: dict[str, Any] = {"video": path.name, "size": f"{info.width}x{info.height}", "first": indices[0]}
            for name, fn in DECODERS.items():
                rep = 1 if name == "cv2_seek" else args.repeat
                row[f"{name}_s"], row[f"{name}_cpu_s"] = _time_decoder(lambda f=fn, p=path, i=indices: f(p, i), rep)
            decode_rows.append(row)

    cols = ["video", "size", "first", "naive_s", "ours_s", "ratio", "naive_cpu_s", "ours_cpu_s", "naive_decode_s",
            "naive_detect_s", "ours_decode_s", "ours_detect_s", "faces_naive", "faces_ours"]
    print("\nPreprocessing per video (15 frames, stride 2; wall seconds, median; *_cpu_s: CPU seconds, all threads):")
    print(format_table(rows, cols))
    write_csv(out / "prep.csv", rows, cols)
    if decode_rows:
        dcols = ["video", "size", "first"] + [f"{n}_{k}" for n in DECODERS for k in ("s", "cpu_s")]
        print("\nDecoding only, the same frames (wall and CPU seconds):")
        print(format_table(decode_rows, dcols))
        write_csv(out / "prep_decode.csv", decode_rows, dcols)

    # The targets are for DFDC-like 10 s 1080p videos; on small videos full-resolution MTCNN is cheap anyway.
    hd_row, small = rows[-1], rows[:-1]
    cpu_ratio = hd_row["naive_cpu_s"] / hd_row["ours_cpu_s"]
    small_ratios = [r["ratio"] for r in small]
    sd = [r["ratio"] for r in small if r["size"] == "640x360"]
    print(
        f"\nSummary: 10 s 1080p video: ours {hd_row['ours_s']:.2f} s (CPU {hd_row['ours_cpu_s']:.2f} s) vs naive "
        f"{hd_row['naive_s']:.2f} s (CPU {hd_row['naive_cpu_s']:.2f} s): {hd_row['ratio']:.1f}x wall, "
        f"{cpu_ratio:.1f}x CPU"
        + (f"; sample videos: {min(small_ratios):.1f}-{max(small_ratios):.1f}x" if small_ratios else "")
        + f". Targets: 1080p >= 20x {'met' if hd_row['ratio'] >= 20 else 'NOT met'}, <= 1 s "
        f"{'met' if hd_row['ours_s'] <= 1.0 else 'NOT met'}; 640x360 >= 8x "
        f"{'met' if sd and min(sd) >= 8 else 'NOT met'}; faces "
        f"{'all found' if all(r.get('faces_ours') == r.get('faces_naive') for r in rows) else 'MISSED'} "
        f"({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
