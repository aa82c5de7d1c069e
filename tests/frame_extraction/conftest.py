"""Fixtures shared by the frame_extraction tests: full reference decodes and real broken files."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from frame_extraction.decode import read_all_frames


@pytest.fixture(scope="module")
def all_frames(samples_dir: Path) -> dict[str, list[np.ndarray]]:
    """Full sequential decodes, the reference for exactness (module scope: decoded once)."""
    return {name: read_all_frames(samples_dir / name) for name in ("single_face.mp4", "face_noface.mov")}


@pytest.fixture(scope="module")
def bad_dir(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real broken files made from the samples."""
    d = tmp_path_factory.mktemp("bad")
    face = (samples_dir / "single_face.mp4").read_bytes()
    pexels = (samples_dir / "WolfgangLanger_Pexels.mp4").read_bytes()  # its header (moov) comes first
    (d / "truncated.mp4").write_bytes(face[:20_000])  # header at the end: cut off
    (d / "half.mp4").write_bytes(pexels[:800_000])  # header kept, half the frames
    (d / "header_only.mp4").write_bytes(pexels[:11_400])  # says 472 frames, holds none
    (d / "text.mp4").write_text("this is not a video\n")
    with av.open(str(d / "no_stream.mp4"), mode="w") as out:  # the encoder got no frame: no video track at all
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        out.start_encoding()
    return d
