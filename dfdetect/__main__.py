"""``dfdetect COMMAND ...`` (the console command ``pip install`` makes) or ``python -m dfdetect COMMAND ...``: the
project's tools, each a ``main(argv)`` in the module of its stage.

A command's module is imported only when it runs (``fetch-samples`` must not pay for importing torch). A command whose
optional part is not installed (``pip install 'dfdetect[serve]'``; facenet-pytorch, which pip installs only with
``--no-deps``) stops with one line that says what to install, and exit status 2.
"""

from __future__ import annotations

import importlib
import sys

from dfdetect.core.extras import install_hint

COMMANDS = {
    "score": ("dfdetect.inference.score_cli", "score videos or face images (default: the default detector)"),
    "eval": ("dfdetect.inference.evaluate", "score inputs into predictions.csv, metrics when labelled (= eval.py)"),
    "train": ("dfdetect.training.cli", "train a model on a crops manifest or a folder of face images (= train.py)"),
    "add-landmarks": ("dfdetect.training.add_landmarks", "give a finished run's model the landmark stream (no "
                      "training again)"),
    "model": ("dfdetect.demo.model", "the default detector: `model build` trains it (make model), `model path`"),
    "fetch-samples": ("dfdetect.demo.samples", "download the sample face videos (make data)"),
    "dataset": ("dfdetect.datasets.cli", "read FF++, Celeb-DF, DFDC, Inclusion or real/fake folders as they come: "
                "labels, splits by identity"),
    "synth": ("dfdetect.synth.cli", "write self-blended fake videos and labels.csv from real videos"),
    "demo-data": ("dfdetect.demo.data", "build the demo data set (real clips, fakes, labels, person split)"),
    "demo": ("dfdetect.demo.run", "run the whole demo: data -> frames -> crops -> train -> eval"),
    "demo-image": ("dfdetect.demo.image", "the image track's demo: face images -> frame model -> held-out AUC"),
    "demo-av": ("dfdetect.demo.av", "the audio-video demo: audio-visual fakes, audio vs video vs fused AUC"),
    "grid": ("dfdetect.demo.grids", "write PNG grids of augmented training clips"),
    "synth-pictures": ("dfdetect.demo.synth_pictures", "write pictures of fakes over time (real, fake, difference)"),
    "pack-shards": ("dfdetect.data.shards", "write a crops manifest's face crops into WebDataset tar shards"),
    "merge": ("dfdetect.merge", "join the --shard K/N outputs of frame_extraction, face_crop, synth or eval.py"),
    "explain": ("dfdetect.inference.explain", "write Grad-CAM heat maps of the face crops the model scored"),
    "export": ("dfdetect.inference.export", "export a checkpoint to ONNX or TorchScript"),
    "serve": ("dfdetect.serve.cli", "the scoring web page and REST API (FastAPI + uvicorn)"),
}


def main(argv: list[str] | None = None) -> int:
    """Run ``COMMAND ARGS``; the list of commands for no argument or ``-h`` (exit 0) or an unknown command (exit 2)."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print("usage: dfdetect COMMAND [ARGS]   (or: python -m dfdetect COMMAND [ARGS])\n\n"
              "`dfdetect COMMAND -h` for the help of one.\n\ncommands:")
        for name, (_, doc) in COMMANDS.items():
            print(f"  {name:14s} {doc}")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    try:
        module = importlib.import_module(COMMANDS[argv[0]][0])
        return int(module.main(argv[1:]) or 0)
    except ModuleNotFoundError as e:
        hint = install_hint(e.name)
        if hint is None:
            raise
        print(f"dfdetect {argv[0]}: {e.name} is not installed: {hint}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
