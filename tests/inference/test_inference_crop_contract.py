"""One crop contract (issue 21, points 1 and 2): the face detector's settings a user chose at crop time travel with the
crops into training and the checkpoint, and scoring cuts, from the same frames, the very crops preprocessing wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dfdetect.core.checkpoint import save_checkpoint
from dfdetect.core.config import ModelConfig, load_config
from dfdetect.core.io import load_image, read_csv, save_image, write_csv
from dfdetect.core.schemas import FRAMES_COLUMNS, SETTINGS_FILE, ScoreStatus
from dfdetect.inference import Detector
from dfdetect.training.loop import adopt_preprocessing
from face_crop.cli import main as crop_main
from frame_extraction.decode import read_frames
from frame_extraction.sampling import eval_windows
from models.build import build_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # a shared 2-core machine: see tests/conftest.py

# Every crop and detector setting away from its default.
CROP_FLAGS = ["--max-side", "320", "--key-step", "3", "--thresholds", "0.5", "0.6", "0.65", "--factor", "0.6",
              "--detect-min-size", "16", "--retry-max-side", "640", "--batch", "4", "--margin", "0.2", "--size", "48",
              "--min-faces", "5", "--min-face-size", "30", "--box-smoothing", "2.5"]


@pytest.fixture(scope="module")
def cropped(face_video: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``python -m face_crop`` with :data:`CROP_FLAGS` on the frames scoring samples from single_face.mp4 (its one
    evaluation window, decoded as scoring decodes it), then a checkpoint trained on those crops' settings."""
    root = tmp_path_factory.mktemp("contract")
    d = load_config(None).data
    (window,) = eval_windows(72, 1, d.sample_frames, d.stride)
    frames = read_frames(face_video, window)  # {index: RGB (H, W, 3) uint8}
    rows = []
    for i, frame in frames.items():
        rel = f"{face_video.name}/{i:06d}.png"
        save_image(root / "frames" / rel, frame)  # PNG: lossless, preprocessing reads back the same pixels
        rows.append({"video": face_video.name, "label": "0", "frame": i, "path": rel, "width": frame.shape[1],
                     "height": frame.shape[0]})
    write_csv(root / "frames" / "frames.csv", rows, FRAMES_COLUMNS)
    assert crop_main([str(root / "frames"), str(root / "crops"), *CROP_FLAGS]) == 0
    # What train.py does with them: adopt the crop settings whole, store the config in the checkpoint.
    cfg = adopt_preprocessing(load_config(None, {"data.frames": 4, "data.size": 48}), root / "crops" / "crops.csv")
    cfg.model = ModelConfig(backbone="efficientnet-lite0", pretrained=False)
    save_checkpoint(root / "best.pt", build_model(cfg.model), cfg)
    return root / "crops", root / "best.pt"


def test_the_detector_settings_chosen_at_crop_time_are_the_ones_scoring_uses(cropped: tuple[Path, Path]) -> None:
    crops, weights = cropped
    written = json.loads((crops / SETTINGS_FILE).read_text())
    assert written["detector"]["max_side"] == 320 and written["min_face_size"] == 30  # written whole
    assert written["box_smoothing"] == 2.5
    det = Detector.load(weights)
    fd = det.face_detector
    assert (fd.max_side, fd.key_step, fd.thresholds, fd.factor, fd.min_face_size, fd.retry_max_side,
            fd.batch_size) == (320, 3, (0.5, 0.6, 0.65), 0.6, 16, 640, 4)
    assert (det.cfg.data.margin, det.cfg.data.size, det.cfg.data.min_faces, det.cfg.data.min_face_size,
            det.cfg.data.box_smoothing) == (0.2, 48, 5, 30, 2.5)


def test_scoring_cuts_the_crops_preprocessing_wrote_byte_for_byte(cropped: tuple[Path, Path],
                                                                  face_video: Path) -> None:
    crops, weights = cropped
    written = {int(r["frame"]): load_image(crops / r["path"]) for r in read_csv(crops / "crops.csv")}
    prep = Detector.load(weights).prepare(face_video)
    assert prep.status == ScoreStatus.OK, prep.reason
    assert len(written) >= 10 and sorted(prep.crops) == sorted(written)
    for i, crop in prep.crops.items():
        assert crop.shape == (48, 48, 3) and crop.tobytes() == written[i].tobytes(), f"frame {i}"
