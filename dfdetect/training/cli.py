"""``python train.py --data CROPS_MANIFEST [--val ...] [--split ...] [--out runs/NAME] ...``: train the clip model;
``python train.py --data IMAGES/ --labels labels.csv ...``: train the frame model of the image track.

Reads a face-crop manifest (``crops.csv``), splits it by video, and trains the clip model (Adam, BCE-with-logits on
the single logit) with clip-consistent augmentation, optional on-the-fly self-blended fakes and per-epoch real/fake
balancing (:func:`dfdetect.training.loop.train`). ``--resume`` continues from ``OUT/last.pt`` and gives the same
result as an uninterrupted run.

A folder of images (``--data IMAGES/ --labels img_name,target``) is cropped first into ``OUT/crops/``
(:mod:`dfdetect.training.inputs`) and trains a frame model (``--kind frame``, set by itself for images); ``--split``
then takes ``img_name,split``. ``--kind frame`` on videos' crops trains the frame-level baseline of the video model.

Flags that override config keys are declared with :func:`dfdetect.core.config.add_override` (their help names the
key and its default); they win over ``--config``, which wins over the defaults. ``--clip-len`` is T, the timesteps
per clip (``data.frames``); ``--frames`` is its deprecated old name (frame_extraction's ``--frames`` is the number of
frames sampled per video, ``data.sample_frames``).

``--show-augmentations N`` writes ``OUT/augmentations.png`` (N clips of the first epoch to run, exactly the tensors
the model receives, de-normalised) and then trains as usual; with ``--epochs 0`` it only writes the picture.

``torchrun --nproc_per_node N train.py ...`` trains on N processes (DDP; ``train.batch_size`` is the global batch;
:mod:`dfdetect.training.distributed`), with the same flags, and gives the weights one process would.

Exit codes: 0 done, 1 training could not run (nothing labelled, weights unavailable, an unreadable crop, interrupted),
2 malformed input (one-line message).

Example:
    python train.py --data crops/crops.csv --split split.csv --out runs/b0 --epochs 10 --synth-fakes 0.5
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from dfdetect.core.cli import add_verbose, run_cli
from dfdetect.core.config import (
    BALANCE_MODES,
    MODALITIES,
    MODEL_KINDS,
    TEMPORAL_MODELS,
    add_override,
    load_config,
    overrides_from_args,
)
from dfdetect.core.io import InputError
from dfdetect.training.distributed import context_from_env
from dfdetect.training.inputs import from_images, is_image_folder, manifest_path
from dfdetect.training.loop import NothingToTrainError, train
from models import WeightsUnavailableError

log = logging.getLogger(__name__)

_DEPRECATED_DEST = "deprecated_flags"


class _DeprecatedAlias(argparse.Action):
    """Stores like the new flag and notes the old name, so :func:`main` can warn once logging is set up."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)
        setattr(namespace, _DEPRECATED_DEST, (*getattr(namespace, _DEPRECATED_DEST, ()), option_string))


def get_args_parser() -> argparse.ArgumentParser:
    """The ``train.py`` parser: inputs, config overrides (dotted ``dest`` = config key), run control.

    Example:
        >>> args = get_args_parser().parse_args(["--data", "crops.csv", "--clip-len", "6", "--no-augment"])
        >>> overrides_from_args(args)
        {'data.frames': 6, 'data.augment': False}
    """
    p = argparse.ArgumentParser(
        prog="train.py", description="Train the deepfake clip model on a face-crop manifest (crops.csv)."
    )
    p.set_defaults(**{_DEPRECATED_DEST: ()})
    p.add_argument("--data", required=True, help="training crops manifest (crops.csv from python -m face_crop), or a "
                   "folder of images (with --labels)")
    p.add_argument("--val", help="a separate validation crops manifest, or a folder of images")
    p.add_argument("--labels", help="labels CSV img_name,target (1 = fake) of a folder of images")
    p.add_argument("--split", help="split file video_name,split (train|val|test) applied to --data")
    p.add_argument("--videos", help="folder of the source videos of --data (their sound, for --modalities audio|av)")
    p.add_argument("--out", help="run folder (default runs/run-YYYYmmdd-HHMMSS)")
    p.add_argument("--config", help="YAML config holding differences from the defaults (unknown keys are errors)")
    g = p.add_argument_group("overrides (take precedence over --config)")
    add_override(g, "--epochs", "train.epochs", "passes over the training clips", type=int, metavar="N")
    add_override(g, "--batch-size", "train.batch_size", "clips per step", type=int, metavar="B")
    add_override(g, "--lr", "train.lr", "Adam learning rate", type=float, metavar="LR")
    add_override(g, "--clip-len", "data.frames", "timesteps T per clip", type=int, metavar="T")
    g.add_argument("--frames", dest="data.frames", type=int, action=_DeprecatedAlias, help=argparse.SUPPRESS)
    add_override(g, "--size", "data.size", "crop side fed to the model, pixels", type=int, metavar="PX")
    add_override(g, "--kind", "model.kind", "video (clips: frame mean or ConvLSTM) | frame (one image, pooled head; "
                 "the default for a folder of images)", choices=MODEL_KINDS)
    add_override(g, "--modalities", "model.modalities", "video | audio (the clip's log-mel) | av (both, fused; "
                 "needs --videos)", choices=MODALITIES)
    add_override(g, "--temporal", "model.temporal", "mean (the frame mean) | convlstm | two-stream (both); what "
                 "happens over a clip's frames", choices=TEMPORAL_MODELS)
    add_override(g, "--landmarks", "model.landmarks", "add the landmark stream (how the face's landmarks move), "
                 "fitted after training on the recipe's time-only fakes", action="store_const", const=True)
    add_override(g, "--no-landmarks", "model.landmarks", "no landmark stream", action="store_const", const=False)
    add_override(g, "--landmark-frames", "model.landmark_frames", "consecutive crops of a clip's window the landmark "
                 "stream reads, centred on the clip (0: the clip's own)", type=int, metavar="N")
    add_override(g, "--no-landmark-unusual", "model.landmark_unusual", "the landmark stream without its one-class "
                 "cue (how far a clip's motion lies from the training reals')", action="store_const", const=False)
    add_override(g, "--backbone", "model.backbone", "efficientnet-b0 | efficientnet-lite0", metavar="NAME")
    add_override(g, "--no-pretrained", "model.pretrained", "random backbone initialisation", action="store_const",
                 const=False)
    add_override(g, "--weights", "model.weights", "backbone weights file instead of a download", metavar="PATH")
    add_override(g, "--freeze-encoder", "train.freeze_encoder", "train only the temporal model and head",
                 action="store_const", const=True)
    add_override(g, "--freeze-blocks", "train.freeze_blocks", "freeze the encoder stem and its first K blocks",
                 type=int, metavar="K")
    add_override(g, "--synth-fakes", "train.synth_fakes",
                 "probability that a real training clip gets a self-blended twin labelled fake", type=float,
                 metavar="P")
    add_override(g, "--synth-methods", "train.synth_methods",
                 "generators of those twins and their mix, e.g. sbi:2,temporal:1", metavar="MIX")
    add_override(g, "--balance", "data.balance", "per-epoch real/fake balance", choices=BALANCE_MODES)
    add_override(g, "--no-augment", "data.augment", "no training augmentation", action="store_const", const=False)
    add_override(g, "--val-clips", "train.val_clips", "fixed clip windows per validation video", type=int,
                 metavar="K")
    add_override(g, "--device", "train.device", "auto | cpu | cuda[:N]", metavar="DEVICE")
    add_override(g, "--workers", "data.workers", "DataLoader workers", type=int, metavar="N")
    add_override(g, "--seed", "train.seed", "seeds initialisation, clip plans and augmentation", type=int,
                 metavar="N")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
    p.add_argument(
        "--show-augmentations", type=int, default=0, metavar="N",
        help="write N augmented training clips to OUT/augmentations.png, then train (--epochs 0: picture only)",
    )
    add_verbose(p)
    return p


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: 0 done, 1 when training could not run, 2 for malformed input (one-line message)."""
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    """The body of :func:`main` (after the arguments and the logging setup); an InputError (a CheckpointError
    included) -> exit 2."""
    if not context_from_env().main:  # torchrun: rank 0 logs; the others say only what goes wrong
        logging.getLogger().setLevel(logging.WARNING)
    if "--frames" in getattr(args, _DEPRECATED_DEST):
        log.warning("--frames is deprecated, use --clip-len (timesteps T per clip; frame_extraction's --frames is "
                    "the number of frames sampled per video)")
    try:
        overrides = overrides_from_args(args)
        if "model.kind" not in overrides and (is_image_folder(args.data) or from_images(manifest_path(args.data))):
            log.info("%s holds single images: training a frame model (model.kind frame)", args.data)
            overrides["model.kind"] = "frame"
        cfg = load_config(args.config, overrides)
        if args.resume and not args.out:
            raise InputError("--resume needs --out (the run folder to continue)")
        out = Path(args.out) if args.out else Path("runs") / time.strftime("run-%Y%m%d-%H%M%S")
        summary = train(
            cfg, args.data, out, val=args.val, split=args.split, resume=args.resume,
            show_augmentations=args.show_augmentations, labels=args.labels, videos=args.videos,
        )
    except NothingToTrainError as e:
        log.error("%s", e)
        return 1
    except WeightsUnavailableError as e:
        log.error("backbone weights unavailable: %s", str(e).splitlines()[0] if str(e) else type(e).__name__)
        return 1
    except OSError as e:  # e.g. an unreadable crop image: the message names the file
        log.error("%s", e)
        return 1
    except KeyboardInterrupt:
        log.error("interrupted: continue with --resume --out %s", args.out or "RUN")
        return 1
    best = summary.get("best") or {}
    log.info(
        "done: %s (best epoch %s, val AUC %s)", out, summary.get("best_epoch"),
        "n/a" if best.get("val_auc") is None or not np.isfinite(best.get("val_auc")) else f"{best['val_auc']:.4f}",
    )
    return 0
