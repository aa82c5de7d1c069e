"""Audio-only, video-only and fused models side by side, per self-made fake kind, and the audio part's seconds per
video (``make bench-av``).

Runs :func:`dfdetect.demo.av.run` for each seed and prints its AUC table (all fakes, then each kind against all the
reals) and the mean over seeds, on the sample videos with a face and sound, split by person
(:data:`dfdetect.demo.av.HELD_OUT` are the test speakers).

Then :func:`dfdetect.demo.av.run_speech` for each seed: audio-only models on real speech of held-out SPEAKERS (AMI
excerpts), per fake kind by the sound alone, with the kind seen in training and left out of it (leave one generator
out), for each audio branch (``--audio-encoders``: the small CNN and the image encoder on the mel picture).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# `python bench/av.py` puts bench/ first on the path, where this very file would shadow PyAV (``import av``): the
# project's root takes its place.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import numpy as np  # noqa: E402

from dfdetect.core.io import setup_logging  # noqa: E402
from dfdetect.core.runtime import set_cpu_threads  # noqa: E402
from dfdetect.demo.av import format_table, run, run_speech, speech_columns  # noqa: E402
from dfdetect.demo.samples import SAMPLES_DIR, SPEECH_DIR  # noqa: E402

MODELS = ("audio", "video", "av")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", default=SAMPLES_DIR)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--windows", type=int, default=16)
    p.add_argument("--speech-epochs", type=int, default=8)
    p.add_argument("--audio-encoders", nargs="+", default=["cnn"], choices=["cnn", "image"],
                   help="audio branches to compare on the speech set (image: the backbone on the 224 px mel picture)")
    p.add_argument("--no-av", action="store_true", help="only the speech table")
    p.add_argument("--no-unseen", action="store_true",
                   help="speech: skip the models trained without each kind (the 'unseen' columns stay nan)")
    args = p.parse_args(argv)
    setup_logging()
    set_cpu_threads(0)
    if not args.no_av:
        runs = [run(Path(args.samples), args.epochs, args.windows, seed) for seed in args.seeds]
        print_runs(args.seeds, runs, MODELS, lambda o: f"{o['train']} training clips, {o['test']} held-out clips of "
                   f"{', '.join(o['people'][1])}")
        print(f"audio part: {np.mean([o['audio_s_per_video'] for o in runs]):.3f} s per video (decode + log-mel)")
    cols = speech_columns(args.audio_encoders)
    speech = [run_speech(Path(args.samples) / SPEECH_DIR, args.speech_epochs, seed, audio_encoders=args.audio_encoders,
                         unseen=not args.no_unseen) for seed in args.seeds]
    print()
    print_runs(args.seeds, speech, cols, lambda o: f"audio only, {o['train']} training clips of {o['speakers'][0]} "
               f"speakers, {o['test']} held-out clips of {o['speakers'][1]} other speakers",
               "speech", " ('unseen': the kind left out of training)")
    return 0


def print_runs(seeds: list[int], runs: list[dict], columns: list[str] | tuple[str, ...], what: Callable[[dict], str],
               title: str = "", note: str = "") -> None:
    """Each seed's AUC table headed by ``title`` and ``what(run)``, then their mean over seeds."""
    head = f"{title}, " if title else ""
    for seed, out in zip(seeds, runs):
        print(f"{head}seed {seed}: {what(out)}")
        print(format_table(out["rows"], columns))
    print(f"{head}mean over {len(runs)} seed(s){note}:")
    print(format_table(mean_rows(runs, columns), columns))


def mean_rows(runs: list[dict], columns: list[str] | tuple[str, ...]) -> list[dict]:
    """The AUC table's rows averaged over runs (seeds), column by column."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a column without an AUC (nan) in every run stays nan
        return [{**r, **{m: float(np.nanmean([o["rows"][i][m] for o in runs])) for m in columns}}
                for i, r in enumerate(runs[0]["rows"])]


if __name__ == "__main__":
    sys.exit(main())
