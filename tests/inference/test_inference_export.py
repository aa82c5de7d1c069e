"""Export: an ONNX file run by onnxruntime (and a TorchScript file) gives the torch checkpoint's scores within 1e-4 on
the sample videos and a face still, with a dynamic batch; T is fixed at export and an input that needs another T
gets its reason; the config (preprocessing, calibration) travels inside the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from dfdetect.core.checkpoint import CheckpointError, save_checkpoint
from dfdetect.core.config import Config, DataConfig, ModelConfig
from dfdetect.core.schemas import ScoreStatus
from dfdetect.inference import Detector
from dfdetect.inference.export import CONFIG_KEY, export_input, export_model, load_onnx, main
from models.build import build_model, load_model
from tests.fixtures import UNTRAINED_CALIBRATION

TOL = 1e-4
VIDEOS = ("single_face.mp4", "carphone_pristine.mp4")


def _export(weights: Path, fmt: str, out: Path, cli: bool = False) -> Path:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if cli:
            assert main([str(weights), "--format", fmt, "--out", str(out)]) == 0
        else:
            export_model(weights, fmt, out)
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.fixture(scope="module")
def exported(untrained_checkpoints: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The video checkpoint as ONNX (through the CLI) and TorchScript (about 10 s on a busy 2-core machine)."""
    out = tmp_path_factory.mktemp("exported")
    return {"video": _export(untrained_checkpoints["video"], "onnx", out / "video.onnx", cli=True),
            "torchscript": _export(untrained_checkpoints["video"], "torchscript", out / "video.ts")}


@pytest.fixture(scope="module")
def exported_frame(untrained_checkpoints: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _export(untrained_checkpoints["frame"], "onnx", tmp_path_factory.mktemp("exported") / "frame.onnx")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["video", "frame"])
def test_onnx_detector_gives_the_torch_scores_on_the_sample_media(
    kind: str, untrained_checkpoints: dict[str, Path], request: pytest.FixtureRequest, samples_dir: Path,
    stills_dir: Path, one_torch_thread: None,
) -> None:
    onnx_file = request.getfixturevalue("exported")["video"] if kind == "video" else request.getfixturevalue(
        "exported_frame")
    torch_det = Detector.load(untrained_checkpoints[kind], device="cpu", tta=2)
    onnx_det = Detector.load(onnx_file, tta=2)
    assert type(onnx_det.model).__name__ == "OnnxClassifier" and onnx_det.kind == kind
    inputs = [samples_dir / v for v in VIDEOS]
    if kind == "frame":
        inputs.append(stills_dir / "0-f1-su-ph.jpg")
    prepared = [torch_det.prepare(p) for p in inputs]  # the same crops for both: only the model differs
    ours, theirs = list(torch_det.predict(prepared)), list(onnx_det.predict(prepared))
    for a, b in zip(ours, theirs):
        assert a.status == b.status == ScoreStatus.OK, (a.name, a.reason, b.reason)
        assert abs(a.score - b.score) < TOL
        assert a.clip_frames == b.clip_frames
        np.testing.assert_allclose(a.clip_scores, b.clip_scores, atol=TOL)
    scores = [r.score for r in ours]
    assert max(scores) - min(scores) > 10 * TOL  # the inputs really score differently: the match is not trivial
    # The raw path from a file name, decoding and all, gives the same number.
    assert abs(onnx_det.score(inputs[0]) - ours[0].score) < TOL


def test_onnx_batch_is_dynamic_and_calibration_travels(untrained_checkpoints: dict[str, Path],
                                                       exported: dict[str, Path], one_torch_thread: None) -> None:
    model, cfg = load_model(untrained_checkpoints["video"])
    onnx_model, onnx_cfg = load_onnx(exported["video"])
    assert onnx_cfg == cfg  # the whole config, preprocessing and calibration, read back from the file
    assert (onnx_model.logit_scale, onnx_model.logit_bias) == UNTRAINED_CALIBRATION
    assert onnx_model.input_shape == tuple(export_input(cfg).shape[1:]) == (4, 3, 64, 64)
    torch.manual_seed(1)
    for batch in (1, 3):  # exported with a batch of 2
        x = torch.randn(batch, 4, 3, 64, 64)
        with torch.no_grad():
            want = model.probability(model(x))
        got = onnx_model.probability(onnx_model(x))
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=TOL)
    with pytest.raises(ValueError, match="fixed at export"):
        onnx_model(torch.zeros(1, 2, 3, 64, 64))


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_gives_the_torch_logits_with_another_batch(
    untrained_checkpoints: dict[str, Path], exported: dict[str, Path], one_torch_thread: None
) -> None:
    model, _ = load_model(untrained_checkpoints["video"])
    files = {f"{CONFIG_KEY}.json": ""}
    traced = torch.jit.load(str(exported["torchscript"]), _extra_files=files)
    assert json.loads(files[f"{CONFIG_KEY}.json"])["model"]["logit_scale"] == UNTRAINED_CALIBRATION[0]
    x = torch.randn(3, 4, 3, 64, 64)
    with torch.no_grad():
        np.testing.assert_allclose(traced(x).numpy(), model(x).numpy(), atol=TOL)


def test_an_input_needing_another_clip_length_gets_its_reason(exported: dict[str, Path], stills_dir: Path,
                                                              face_video: Path) -> None:
    det = Detector.load(exported["video"])
    (result,) = det.predict([stills_dir / "0-f1-su-ph.jpg"])  # an image is a one-frame clip; the export takes T = 4
    assert result.status == ScoreStatus.ERROR and "fixed at export" in result.reason and result.score == 0.5
    assert det.frame_scores(face_video) == {}  # per-frame scores are one-frame clips too


def test_bad_files_and_formats_are_one_line_errors(tmp_path: Path, untrained_checkpoints: dict[str, Path]) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not onnx")
    with pytest.raises(CheckpointError, match="not a readable ONNX model"):
        Detector.load(junk)
    with pytest.raises(CheckpointError, match="no such ONNX file"):
        Detector.load(tmp_path / "missing.onnx")
    assert main([str(tmp_path / "missing.pt"), "--out", str(tmp_path / "x.onnx")]) == 2
    assert not (tmp_path / "x.onnx").exists()
    with pytest.raises(SystemExit):  # argparse: an unknown format
        main([str(untrained_checkpoints["video"]), "--format", "tflite", "--out", str(tmp_path / "x.tflite")])


def test_onnx_export_of_every_temporal_stream_gives_the_torch_probabilities(tmp_path: Path,
                                                                           one_torch_thread: None) -> None:
    """The optional streams (off by default) export too: the pixel stream (a 1x1 ConvLSTM over input-frame
    differences), the motion stream and the two-stream head, all in one model (one export: the dynamo exporter
    takes about 15 s a model on 2 cores), within 1e-4 of torch at another batch than exported."""
    streams = {"pixel_hidden": 4, "motion_hidden": 4, "temporal": "two-stream"}
    cfg = Config(model=ModelConfig(backbone="efficientnet-lite0", pretrained=False, **streams),
                 data=DataConfig(size=64, frames=4, sample_frames=8, min_faces=2))
    torch.manual_seed(0)
    model = build_model(cfg.model).eval()
    save_checkpoint(tmp_path / "m.pt", model, cfg)
    onnx_model, onnx_cfg = load_onnx(_export(tmp_path / "m.pt", "onnx", tmp_path / "m.onnx"))
    assert {k: getattr(onnx_cfg.model, k) for k in streams} == streams
    x = torch.rand(3, 4, 3, 64, 64)
    with torch.no_grad():
        want = model.probability(model(x))
    np.testing.assert_allclose(onnx_model.probability(onnx_model(x)).numpy(), want.numpy(), atol=TOL)
