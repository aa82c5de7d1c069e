"""``python -m dfdetect add-landmarks RUN OUT``: give a finished run's model the landmark stream, without training it
again.

The landmark stream (``model.landmarks``, :class:`models.landmarks.LandmarkHead`) holds buffers only and is fitted
after the network's training (:func:`dfdetect.training.loop.fit_landmarks_best`), so a run trained without it has
everything it needs: ``OUT/best.pt`` is ``RUN/best.pt`` with the head added and fitted on the run's own training and
validation videos (``RUN/run.json``'s crops manifest and split), exactly as ``train.py --landmarks`` would have fitted
it (the network's weights are the same either way: the head changes nothing of the training; test
``test_landmark_stream_leaves_training_alone``). ``RUN`` is never written. ``OUT/run.json`` records what was fitted.
A run whose stream is fitted already is refused unless ``--refit`` (fit it again, for example with other
``--landmark-frames`` or ``--no-unusual``: its old head is dropped, the network kept).

Exit codes: 0 written, 1 not fitted (no time-only generator in the run's recipe, no face mesh...), 2 bad input.

Example:
    python -m dfdetect add-landmarks runs/b0 runs/b0-landmarks
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

from dfdetect.core.checkpoint import CheckpointError, config_from_checkpoint, load_checkpoint, save_checkpoint
from dfdetect.core.cli import add_verbose, run_cli
from dfdetect.core.config import default_of, validate_config
from dfdetect.core.io import InputError, write_json
from dfdetect.core.runtime import resolve_device
from dfdetect.data import prepare_data
from dfdetect.training.build import BEST_CHECKPOINT
from dfdetect.training.loop import fit_landmarks_best
from models.build import build_model

log = logging.getLogger(__name__)

RUN_FILE = "run.json"


def add_landmark_stream(run: str | Path, out: str | Path, device: str = default_of("train.device"),
                        landmark_frames: int | None = None, unusual: bool | None = None,
                        refit: bool = False) -> dict[str, Any]:
    """Write ``out/best.pt``: ``run/best.pt`` with its landmark stream added and fitted (module docstring).

    Args:
        run: a finished training run folder (``best.pt``, ``run.json``).
        out: the folder to write (created; must not be ``run``).
        device: where the network runs for the validation logits.
        landmark_frames: ``model.landmark_frames`` of the stream (None: the run's own, or today's default for a run
            saved before the setting existed).
        unusual: ``model.landmark_unusual`` (the one-class cue; None: as ``landmark_frames``).
        refit: fit a stream that is fitted already again (its buffers dropped, the network's weights kept).

    Returns:
        The fit's record (:func:`~dfdetect.training.loop.fit_landmarks_best`), also in ``out/run.json``.

    Raises:
        InputError: ``out`` is ``run``, a run without ``run.json`` or not finished, a model that cannot take the
            stream (an image, audio or av model), a fitted stream without ``refit``.
        CheckpointError: an unreadable ``best.pt``.
    """
    run, out = Path(run), Path(out)
    if out.resolve() == run.resolve():
        raise InputError(f"{out}: write the model with its landmark stream beside the run, not over it")
    if not (run / RUN_FILE).is_file():
        raise InputError(f"{run}: no {RUN_FILE} (not a training run folder)")
    info = json.loads((run / RUN_FILE).read_text())
    if info.get("status") != "done":
        raise InputError(f"{run}: the run is not finished (status {info.get('status')!r}); finish it first")
    ckpt = load_checkpoint(run / BEST_CHECKPOINT)
    cfg = config_from_checkpoint(ckpt, run / BEST_CHECKPOINT)
    if isinstance(ckpt.get("landmarks"), dict) and not ckpt["landmarks"].get("skipped") and not refit:
        raise InputError(f"{run / BEST_CHECKPOINT} has a fitted landmark stream already (--refit fits it again)")
    # a run saved before a setting of the stream existed gets today's default, as train.py would fit it now
    saved = ckpt.get("config", {}).get("model", {}) if isinstance(ckpt.get("config"), dict) else {}
    chosen = {"landmark_frames": landmark_frames, "landmark_unusual": unusual}
    stream = {k: saved.get(k, default_of(f"model.{k}")) if v is None else v for k, v in chosen.items()}
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, landmarks=True, **stream))
    validate_config(cfg)
    if not cfg.model.landmark_stream:
        raise InputError(f"{run / BEST_CHECKPOINT}: a {cfg.model.kind} model of modalities {cfg.model.modalities} "
                         "takes no landmark stream (a video model of modalities video does)")
    model = build_model(dataclasses.replace(cfg.model, pretrained=False, weights=None))
    weights = {k: v for k, v in ckpt["model"].items() if not k.startswith("landmark_head.")}
    state = {**model.state_dict(), **weights}  # the run's weights, the fresh head's buffers
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{run / BEST_CHECKPOINT}: weights do not match its config: {e}") from None
    split = prepare_data(info["data_crops"], val=info.get("val_crops"), split=info.get("split_file"),
                         seed=cfg.train.seed)
    out.mkdir(parents=True, exist_ok=True)
    extra = {k: v for k, v in ckpt.items() if k not in ("model", "config", "landmarks")}
    save_checkpoint(out / BEST_CHECKPOINT, model, cfg, **extra)
    record = fit_landmarks_best(out, cfg, split, resolve_device(device))
    write_json(out / RUN_FILE, {**info, "landmarks": record, "added_to": str(run.resolve())})
    return record or {}


def get_args_parser() -> argparse.ArgumentParser:
    """The ``python -m dfdetect add-landmarks`` command line."""
    p = argparse.ArgumentParser(prog="python -m dfdetect add-landmarks", description=(
        "Give a finished training run's model the landmark stream, fitted on the run's own data, without training "
        "it again: OUT/best.pt and OUT/run.json (RUN is never written). Exit 1 when it cannot be fitted (the reason "
        "is logged)."))
    p.add_argument("run", help="a finished training run folder (best.pt, run.json)")
    p.add_argument("out", help="the folder to write best.pt (with the landmark stream) and run.json into")
    p.add_argument("--device", default=default_of("train.device"), help="auto | cpu | cuda[:N] (default %(default)s)")
    p.add_argument("--landmark-frames", type=int, default=None, metavar="N",
                   help="crops of a clip's window the stream reads (config model.landmark_frames; default: the run's "
                        f"own, or {default_of('model.landmark_frames')} for a run saved before the setting existed)")
    p.add_argument("--unusual", action=argparse.BooleanOptionalAction, default=None,
                   help="the stream's one-class cue, the distance from the training reals (config "
                        "model.landmark_unusual; default: the run's own, or "
                        f"{str(default_of('model.landmark_unusual')).lower()} for a run saved before the setting "
                        "existed)")
    p.add_argument("--refit", action="store_true", help="fit a stream that is fitted already again")
    add_verbose(p)
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m dfdetect add-landmarks``: 0 written, 1 not fitted, 2 bad input."""
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    record = add_landmark_stream(args.run, args.out, args.device, args.landmark_frames, args.unusual, args.refit)
    return 1 if record.get("skipped") else 0
