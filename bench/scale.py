"""Benchmark what grows with the data: preprocessing throughput, manifest and plan costs, the training loader.

1. Preprocessing (``python -m frame_extraction`` then ``python -m face_crop``) of the sample videos with 1 worker,
   2 workers, and 2 shards run at the same time (``--shard K/2``, then ``python -m dfdetect merge``): videos/s and
   the peak resident memory of the largest process.
2. Reading a ``crops.csv`` and drawing an epoch plan for synthetic manifests of 1k, 10k and 100k videos (15 crops
   each), each in a fresh process: seconds and the memory above the bare import; the ratios between sizes must stay
   near 10 (linear growth).
3. The training loader's clips/s from the PNG folder and from WebDataset tar shards of the same crops.

Example:
    python bench/scale.py --samples data/samples --out bench_out/scale
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# `python bench/scale.py` puts bench/ first on the path, where its scripts' names would shadow packages (bench/av.py is
# not PyAV): the project's root takes its place.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from bench.common import format_table  # noqa: E402
from dfdetect.core.io import setup_logging  # noqa: E402
from dfdetect.data import ClipDataset, epoch_plan, read_training_crops, write_crop_shards  # noqa: E402

log = logging.getLogger(__name__)

_RUN = """import resource, runpy, sys
sys.argv = [sys.argv[1], *sys.argv[2:]]
try:
    runpy.run_module(sys.argv[0], run_name="__main__")
except SystemExit as e:
    assert not e.code, e.code
r = resource.getrusage
print("MAXRSS_KB", max(r(resource.RUSAGE_SELF).ru_maxrss, r(resource.RUSAGE_CHILDREN).ru_maxrss))
"""

_MANIFEST = """import resource, sys, time
from pathlib import Path
import numpy as np
from dfdetect.core.io import write_csv
from dfdetect.core.schemas import CROPS_COLUMNS
from dfdetect.data import epoch_plan, rank_batches, read_crops_manifest
n, path = int(sys.argv[1]), Path(sys.argv[2])
if not path.is_file():
    rng = np.random.default_rng(0)
    write_csv(path, ({"video": f"v{v:07d}.mp4", "label": int(v % 5 != 0), "frame": 2 * f, "path": f"v{v}/{f}.png",
                      "x1": 10, "y1": 20, "x2": 110, "y2": 140, "prob": 0.99,
                      "landmarks": " ".join(f"{x:.2f}" for x in rng.random(10) * 100), "width": 640, "height": 360,
                      "region": "0 0 160 160"} for v in range(n) for f in range(15)), CROPS_COLUMNS)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
videos = list(read_crops_manifest(path, check_files=False).values())
t1 = time.perf_counter()
specs, counts = epoch_plan(videos, epoch=0, seed=0, t=10, synth_fakes=0.5)
parts = rank_batches(len(specs), 64, 0, 2)
t2 = time.perf_counter()
print("RESULT", n, t1 - t0, t2 - t1, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)
"""


def _run_module(args: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of ``python -m args[0] args[1:]`` in a fresh process."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _RUN, *args], cwd=ROOT, capture_output=True, text=True, check=True)
    rss = next(int(line.split()[1]) for line in done.stdout.splitlines() if line.startswith("MAXRSS_KB"))
    return time.perf_counter() - start, rss / 1024


def preprocessing(videos: list[Path], out: Path, size: int) -> list[dict]:
    """Frames then crops of ``videos`` with 1 worker, 2 workers and 2 concurrent shards."""
    rows = []
    for label, workers, shards in (("1 worker", 1, 1), ("2 workers", 2, 1), ("2 shards", 1, 2)):
        folder = out / label.replace(" ", "_")
        frames, crops = folder / "frames", folder / "crops"
        common_f = [*map(str, videos), str(frames), "--frames", "8", "--workers", str(workers), "--no-progress"]
        common_c = [str(frames), str(crops), "--size", str(size), "--min-faces", "2", "--workers", str(workers)]
        start = time.perf_counter()
        if shards == 1:
            _, rss_f = _run_module(["frame_extraction", *common_f])
            _, rss_c = _run_module(["face_crop", *common_c])
        else:
            rss_f = rss_c = 0.0
            for stage, common in (("frame_extraction", common_f), ("face_crop", common_c)):
                procs = [subprocess.Popen([sys.executable, "-c", _RUN, stage, *common, "--shard", f"{k}/{shards}"],
                                          cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                         for k in range(1, shards + 1)]
                for p in procs:
                    stdout, _ = p.communicate()
                    rss = max(int(x.split()[1]) for x in stdout.splitlines() if x.startswith("MAXRSS_KB")) / 1024
                    rss_f, rss_c = (max(rss_f, rss), rss_c) if stage == "frame_extraction" else (rss_f, max(rss_c, rss))
                _run_module(["dfdetect", "merge", str(frames if stage == "frame_extraction" else crops)])
        seconds = time.perf_counter() - start
        rows.append({"run": label, "videos": len(videos), "seconds": seconds, "videos_per_s": len(videos) / seconds,
                     "peak_rss_frames_mib": rss_f, "peak_rss_crops_mib": rss_c})
    return rows


def manifests(sizes: list[int], out: Path) -> list[dict]:
    """Reading crops.csv and the epoch plan for synthetic manifests of ``sizes`` videos, each in a fresh process."""
    rows = []
    for n in sizes:
        done = subprocess.run([sys.executable, "-c", _MANIFEST, str(n), str(out / f"crops_{n}.csv")], cwd=ROOT,
                              capture_output=True, text=True, check=True)
        _, _, read_s, plan_s, mib = next(x for x in done.stdout.splitlines() if x.startswith("RESULT")).split()
        rows.append({"videos": n, "crops": 15 * n, "read_s": float(read_s), "plan_s": float(plan_s),
                     "memory_mib": float(mib)})
    for prev, row in zip(rows, rows[1:]):
        row["read_ratio"] = row["read_s"] / prev["read_s"]
        row["plan_ratio"] = row["plan_s"] / prev["plan_s"]
        row["memory_ratio"] = row["memory_mib"] / max(prev["memory_mib"], 1e-9)
    return rows


def loader(crops: Path, out: Path, size: int, epochs: int) -> list[dict]:
    """Clips/s of the training DataLoader (augmentation off, T = 8) from PNGs and from tar shards."""
    shards = out / "shards"
    if not (shards / "shards.json").is_file():
        write_crop_shards(crops, shards, videos_per_shard=4)
    rows = []
    for layout, source in (("png", crops), ("webdataset", shards)):
        # the sample videos carry no labels: alternate them (only the loading is measured)
        videos = [dataclasses.replace(v, label=i % 2) for i, v in enumerate(read_training_crops(source).values())]
        n, start = 0, time.perf_counter()
        for epoch in range(epochs):
            specs, _ = epoch_plan(videos, epoch, 0, t=8, balance="none")
            ds = ClipDataset(videos, specs, size, (0.5,) * 3, (0.25,) * 3)
            for batch in DataLoader(ds, batch_size=8):
                n += len(batch["label"])
        seconds = time.perf_counter() - start
        rows.append({"layout": layout, "clips": n, "seconds": seconds, "clips_per_s": n / seconds})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench/scale.py", description=__doc__.splitlines()[0])
    p.add_argument("--samples", default=str(ROOT / "data" / "samples"), help="sample videos folder")
    p.add_argument("--out", default="bench_out/scale", help="work folder")
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000], help="synthetic manifest sizes")
    p.add_argument("--size", type=int, default=128, help="crop side in pixels")
    p.add_argument("--loader-epochs", type=int, default=20, help="epochs of the sample crops the loader runs")
    args = p.parse_args(argv)
    setup_logging(False)
    torch.set_num_threads(1)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    videos = sorted(v for v in Path(args.samples).resolve().iterdir() if v.suffix in (".mp4", ".mov"))
    prep = preprocessing(videos, out / "prep", args.size)
    print("preprocessing (frame_extraction + face_crop, 8 frames per video):")
    print(format_table(prep, list(prep[0])))
    man = manifests(args.sizes, out)
    print("\ncrops.csv reading and epoch plan (15 crops per video; ratios: per 10x more videos, linear = 10):")
    print(format_table(man, list(man[-1])))
    load = loader(out / "prep" / "1_worker" / "crops" / "crops.csv", out, args.size, args.loader_epochs)
    print(f"\ntraining loader, T = 8, {args.size} px, no augmentation, 0 workers:")
    print(format_table(load, list(load[0])))
    (out / "scale.json").write_text(json.dumps({"preprocessing": prep, "manifests": man, "loader": load}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
