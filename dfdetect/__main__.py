"""``python -m dfdetect COMMAND ...``: the project's tools, each a ``main(argv)`` in the module of its stage.

A command's module is imported only when it runs (``fetch-samples`` must not pay for importing torch).
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
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
    "score": ("dfdetect.inference.score_cli", "score videos or face images with a checkpoint"),
    "pack-shards": ("dfdetect.data.shards", "write a crops manifest's face crops into WebDataset tar shards"),
    "merge": ("dfdetect.merge", "join the --shard K/N outputs of frame_extraction, face_crop, synth or eval.py"),
    "explain": ("dfdetect.inference.explain", "write Grad-CAM heat maps of the face crops the model scored"),
    "export": ("dfdetect.inference.export", "export a checkpoint to ONNX or TorchScript"),
    "serve": ("dfdetect.serve.cli", "the scoring web page and REST API (FastAPI + uvicorn)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print("usage: python -m dfdetect COMMAND [ARGS]\n\ncommands:")
        for name, (_, doc) in COMMANDS.items():
            print(f"  {name:14s} {doc}")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
