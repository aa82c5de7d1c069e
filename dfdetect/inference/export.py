"""Export a checkpoint to ONNX or TorchScript, and run an ONNX file as the Detector's model (:class:`OnnxClassifier`).

``python -m dfdetect export CHECKPOINT --format onnx|torchscript --out FILE``

What is exported is the classifier's ``forward``: normalised clips ``(B, T, 3, S, S)`` float32 -> ``(B,)`` raw logits.
The clip length ``T`` (``cfg.data.frames``; 1 for a frame model) and the crop side ``S`` (``cfg.data.size``) are
**fixed at export**; the batch ``B`` is dynamic. The calibration (``model.logit_scale``/``logit_bias``) and the
preprocessing settings are configuration, not weights: the whole resolved config travels inside the file (ONNX
``metadata_props["dfdetect_config"]``, TorchScript ``_extra_files["dfdetect_config.json"]``), and so do the landmark
stream's numbers of a ``model.landmarks`` model (:data:`LANDMARK_KEY`: applied after ``forward``, not in the graph), so
``Detector.load("model.onnx")`` crops, samples and calibrates exactly as ``Detector.load("best.pt")`` does and gives the
same scores (within 1e-4; measured ~1e-8 on CPU).

ONNX is written by ``torch.onnx.export(dynamo=True)`` (torch.export, then onnxscript; the ConvLSTM's time loop is
unrolled, which is why T is fixed); TorchScript by ``torch.jit.trace`` (a traced graph: T and S fixed the same way).

Example:
    >>> import tempfile
    >>> from dfdetect.core.checkpoint import save_checkpoint
    >>> from dfdetect.core.config import Config, DataConfig, ModelConfig
    >>> from models.build import build_model
    >>> cfg = Config(model=ModelConfig(kind="frame", backbone="efficientnet-lite0", pretrained=False),
    ...              data=DataConfig(size=32, frames=1))
    >>> folder = Path(tempfile.mkdtemp())
    >>> save_checkpoint(folder / "m.pt", build_model(cfg.model), cfg)
    >>> onnx_file = export_model(folder / "m.pt", "onnx", folder / "m.onnx")
    >>> model, loaded = load_onnx(onnx_file)
    >>> model.kind, model.input_shape, loaded.data.size
    ('frame', (1, 3, 32, 32), 32)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from dfdetect.core.checkpoint import CheckpointError
from dfdetect.core.cli import add_verbose, run_cli
from dfdetect.core.config import Config, config_from_dict, config_to_dict
from dfdetect.core.io import InputError, write_bytes_atomic
from models.build import load_model
from models.classifier import Classifier
from models.encoder import backbone_normalization
from models.landmarks import LandmarkHead

log = logging.getLogger(__name__)

FORMATS = ("onnx", "torchscript")
CONFIG_KEY = "dfdetect_config"
"""ONNX metadata key (and, + ``.json``, the TorchScript extra file) holding the resolved config as JSON."""
LANDMARK_KEY = "dfdetect_landmark_head"
"""ONNX metadata key (and, + ``.json``, the TorchScript extra file) holding the landmark stream's buffers
(:class:`models.landmarks.LandmarkHead`, not part of ``forward``) as JSON lists, for a ``model.landmarks`` model."""
INPUT_NAME, OUTPUT_NAME = "clips", "logit"
QUIET_LOGGERS = ("onnx_ir", "onnxscript", "torch.onnx", "torch.export")
"""Loggers of the exporter's internals (about 70 INFO lines per export), held at WARNING while it runs."""
OPSET = 18
"""The ONNX opset written (the dynamo exporter's; onnxruntime 1.32 runs it)."""


def export_input(cfg: Config, batch: int = 2) -> torch.Tensor:
    """A dummy input of the exported shape: ``(batch, T, 3, S, S)`` zeros (T = ``cfg.data.frames``, 1 for a frame
    model; S = ``cfg.data.size``).

    Example:
        >>> export_input(Config()).shape
        torch.Size([2, 10, 3, 224, 224])
    """
    t = 1 if cfg.model.kind == "frame" else cfg.data.frames
    return torch.zeros(batch, t, 3, cfg.data.size, cfg.data.size)


@contextlib.contextmanager
def _quiet(names: tuple[str, ...]) -> Iterator[None]:
    """Hold the named loggers at WARNING inside the block (their levels are restored after)."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def export_model(weights: str | Path, fmt: str, out: str | Path) -> Path:
    """Export a checkpoint's classifier (see the module docstring for what is fixed and what travels with it).

    Args:
        weights: a checkpoint written by ``train.py``.
        fmt: ``"onnx"`` or ``"torchscript"``.
        out: the file to write (atomically: a failed export leaves nothing).

    Returns:
        ``out`` as a Path.

    Raises:
        InputError: an unknown format, or an audio or ``av`` model.
        CheckpointError: an unusable checkpoint.
    """
    if fmt not in FORMATS:
        raise InputError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    out = Path(out)
    model, cfg = load_model(weights, device="cpu")
    if cfg.model.modalities != "video":
        raise InputError(f"export takes video and frame models (one clip input); this is a "
                         f"{cfg.model.modalities!r} model (model.modalities), whose export is not built yet")
    x = export_input(cfg)  # (2, T, 3, S, S)
    props = {CONFIG_KEY: json.dumps(config_to_dict(cfg))}
    head = getattr(model, "landmark_head", None)
    if head is not None:  # the landmark stream is applied by the Detector after forward(): its buffers travel too
        props[LANDMARK_KEY] = json.dumps({k: v.tolist() for k, v in head.state_dict().items()})
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".export-") as tmp:
        staged = Path(tmp) / out.name
        with warnings.catch_warnings(), _quiet(QUIET_LOGGERS):  # the exporters' notes are about their internals
            warnings.simplefilter("ignore")
            if fmt == "onnx":
                batch = torch.export.Dim("batch", min=1, max=4096)
                torch.onnx.export(model, (x,), str(staged), dynamo=True, input_names=[INPUT_NAME],
                                  output_names=[OUTPUT_NAME], dynamic_shapes=({0: batch},), opset_version=OPSET,
                                  external_data=False, verbose=False)
                proto = onnx.load(str(staged))
                onnx.helper.set_model_props(proto, props)
                data = proto.SerializeToString()
            else:
                with torch.no_grad():
                    traced = torch.jit.trace(model, (x,))
                traced.save(str(staged), _extra_files={f"{k}.json": v for k, v in props.items()})
                data = staged.read_bytes()
    write_bytes_atomic(out, data)
    log.info("wrote %s (%s, input (batch, %d, 3, %d, %d), %.1f MB)", out, fmt, x.shape[1], x.shape[3], x.shape[4],
             len(data) / 1e6)
    return out


class OnnxClassifier:
    """An exported ONNX classifier run by onnxruntime behind the interface :class:`~dfdetect.inference.Detector` uses
    (``kind``, ``mean``, ``std``, ``to``, ``eval``, ``__call__`` -> logits, ``probability``).

    Args:
        path: an ONNX file written by :func:`export_model`.
        cfg: its config (from the file's metadata; :func:`load_onnx`).
        threads: onnxruntime intra-op threads (0 = as many as torch uses, ``torch.get_num_threads()``).
        landmark_head: the checkpoint's landmark stream (from the file's metadata; None without one).

    Attributes:
        input_shape: ``(T, 3, S, S)``: what one clip must be (fixed at export).
        logit_scale, logit_bias: the Platt calibration of the checkpoint.
    """

    def __init__(self, path: str | Path, cfg: Config, threads: int = 0, landmark_head: LandmarkHead | None = None
                 ) -> None:
        self.landmark_head = landmark_head
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads) or torch.get_num_threads()
        # No busy-waiting between runs: spinning onnxruntime threads slowed the torch face detector beside them ~10x
        # on 2 cores (bench/score.py).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # errors only
        self.session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        self.path, self.cfg = Path(path), cfg
        self.kind = cfg.model.kind
        self.input_shape = tuple(int(d) for d in self.session.get_inputs()[0].shape[1:])  # (T, 3, S, S)
        self.logit_scale, self.logit_bias = float(cfg.model.logit_scale), float(cfg.model.logit_bias)
        self.mean, self.std = backbone_normalization(cfg.model.backbone)  # the encoder's, as the torch model has

    def to(self, device: str | torch.device) -> OnnxClassifier:
        """Nothing to move: onnxruntime runs on the CPU here (``device`` other than cpu is refused)."""
        if torch.device(device).type != "cpu":
            raise InputError(f"{self.path.name}: an ONNX model runs on the CPU here (asked for {device})")
        return self

    def eval(self) -> OnnxClassifier:
        return self

    def __call__(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, S, S) normalised clips -> (B,) logits.

        Raises:
            ValueError: a clip of another shape than the exported one (T and S are fixed at export).
        """
        if tuple(clips.shape[1:]) != self.input_shape:
            raise ValueError(f"{self.path.name} takes clips of shape (batch, {', '.join(map(str, self.input_shape))}) "
                             f"(T and size fixed at export), got {tuple(clips.shape)}")
        x = np.ascontiguousarray(clips.detach().cpu().numpy(), dtype=np.float32)  # (B, T, 3, S, S)
        (logits,) = self.session.run([OUTPUT_NAME], {INPUT_NAME: x})  # (B,)
        return torch.from_numpy(logits)

    def probability(self, logits: torch.Tensor) -> torch.Tensor:
        """Calibrated P(fake) (B,): THE formula of :meth:`models.classifier.Classifier.probability`."""
        return Classifier.probability(self, logits)  # type: ignore[arg-type]  # reads only logit_scale/logit_bias


def load_onnx(path: str | Path, threads: int = 0) -> tuple[OnnxClassifier, Config]:
    """Open an ONNX file written by :func:`export_model`: ``(model, cfg)``, as :func:`models.build.load_model` does for
    a checkpoint.

    Raises:
        CheckpointError: a missing or unreadable file, or one without the config (not written by this project).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such ONNX file")
    try:
        meta = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta()
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types for a bad file
        raise CheckpointError(f"{path}: not a readable ONNX model ({type(e).__name__}: {e})") from e
    if CONFIG_KEY not in meta.custom_metadata_map:
        raise CheckpointError(f"{path}: no {CONFIG_KEY} metadata (export it with python -m dfdetect export)")
    cfg = config_from_dict(json.loads(meta.custom_metadata_map[CONFIG_KEY]))
    head = None
    if cfg.model.landmark_stream:
        if LANDMARK_KEY not in meta.custom_metadata_map:
            raise CheckpointError(f"{path}: its model has the landmark stream but the file has no {LANDMARK_KEY} "
                                  "metadata")
        head = LandmarkHead(unusual=cfg.model.landmark_unusual)
        state = {k: torch.tensor(v, dtype=head.state_dict()[k].dtype)
                 for k, v in json.loads(meta.custom_metadata_map[LANDMARK_KEY]).items()}
        head.load_state_dict(state, strict=True)
    return OnnxClassifier(path, cfg, threads=threads, landmark_head=head), cfg


def get_args_parser() -> argparse.ArgumentParser:
    """The ``python -m dfdetect export`` command line."""
    p = argparse.ArgumentParser(prog="python -m dfdetect export", description=(
        "Export a checkpoint to ONNX or TorchScript: (batch, T, 3, S, S) normalised clips -> (batch,) logits, T and S "
        "fixed at export, batch dynamic; the config (preprocessing, calibration) travels inside the file."))
    p.add_argument("weights", help="checkpoint (.pt) written by train.py")
    p.add_argument("--format", choices=FORMATS, default="onnx", help="onnx (default) or torchscript")
    p.add_argument("--out", required=True, help="file to write (.onnx or .pt)")
    add_verbose(p)
    return p


def main(argv: list[str] | None = None) -> int:
    """``python -m dfdetect export``: exit status 0 when written, 2 for a bad checkpoint or setting."""
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    """The body of :func:`main` (after the arguments and the logging setup)."""
    export_model(args.weights, args.format, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
