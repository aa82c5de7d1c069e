"""Audio-only, video-only and fused models side by side, per self-made fake kind, and the audio part's seconds per
video (``make bench-av``).

Runs :func:`dfdetect.demo.av.run` for each seed and prints its AUC table (all fakes, then each kind against all the
reals) and the mean over seeds. The held-out clips are the later part of ``single_face.mp4``: the only sample video
with a face and sound at the same time (see :mod:`dfdetect.demo.av`), so this is a split by time, not by speaker, and
every generator is seen in training (no leave-one-generator-out yet).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# `python bench/av.py` puts bench/ first on the path, where this very file would shadow PyAV (``import av``): the
# project's root takes its place.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import numpy as np  # noqa: E402

from dfdetect.core.io import setup_logging  # noqa: E402
from dfdetect.core.runtime import set_cpu_threads  # noqa: E402
from dfdetect.demo.av import format_table, run  # noqa: E402
from dfdetect.demo.samples import SAMPLES_DIR  # noqa: E402

MODELS = ("audio", "video", "av")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", default=SAMPLES_DIR)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--windows", type=int, default=16)
    args = p.parse_args(argv)
    setup_logging()
    set_cpu_threads(0)
    runs = [run(Path(args.samples), args.epochs, args.windows, seed) for seed in args.seeds]
    for seed, out in zip(args.seeds, runs):
        print(f"seed {seed}: {out['train']} training clips, {out['test']} held-out clips")
        print(format_table(out["rows"], MODELS))
    mean = [{**r, **{m: float(np.nanmean([o["rows"][i][m] for o in runs])) for m in MODELS}}
            for i, r in enumerate(runs[0]["rows"])]
    print(f"mean over {len(runs)} seed(s):")
    print(format_table(mean, MODELS))
    print(f"audio part: {np.mean([o['audio_s_per_video'] for o in runs]):.3f} s per video (decode + log-mel)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
