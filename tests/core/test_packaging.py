"""How the project installs: pyproject's dependencies and extras, constraints.txt (the exact tested set), and the wheel
installed into a fresh virtual environment with a working ``dfdetect`` command."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from dfdetect.core.extras import NODEPS

tomllib = pytest.importorskip("tomllib")  # Python 3.11+ (3.10 skips these checks)

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
REQUIREMENT_FILES = ("requirements.txt", "requirements-dev.txt", "requirements-nodeps.txt")


def _norm(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    """``{normalised name: version}`` of the ``name==version`` lines of a requirements or constraints file."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"{path.name}: not pinned with ==: {line!r}"
            pins[_norm(name)] = version.strip()
    return pins


CONSTRAINTS = _pins(ROOT / "constraints.txt")


def _declared() -> list[Requirement]:
    """Every requirement of pyproject.toml: the core dependencies and those of each extra."""
    reqs = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    return reqs + [Requirement(r) for extra in PYPROJECT["project"]["optional-dependencies"].values() for r in extra]


def test_the_constraints_cover_every_requirement_file_with_the_same_pins() -> None:
    for name in REQUIREMENT_FILES:
        for dist, version in _pins(ROOT / name).items():
            assert CONSTRAINTS.get(dist) == version, f"{name} pins {dist}=={version}, constraints.txt has " \
                f"{CONSTRAINTS.get(dist)} (run `make constraints`)"


def test_every_installed_distribution_is_the_one_the_constraints_pin() -> None:
    """The running environment is the tested one: a package that moved (or one installed by hand) shows here."""
    bad = []
    for dist in importlib.metadata.distributions():
        name = _norm(dist.metadata["Name"] or "")
        if name == "dfdetect":
            continue  # the project itself (editable)
        if CONSTRAINTS.get(name) != dist.version:
            bad.append(f"{name} {dist.version} installed, constraints.txt: {CONSTRAINTS.get(name, 'absent')}")
    assert not bad, "environment differs from constraints.txt (make install, or make constraints):\n" + "\n".join(bad)


def test_pyproject_declares_what_the_requirements_pin_with_ranges_that_hold_the_pins() -> None:
    declared = {_norm(r.name): r for r in _declared()}
    for name in ("requirements.txt", "requirements-dev.txt"):
        for dist, version in _pins(ROOT / name).items():
            assert dist in declared, f"{dist} ({name}) is not declared in pyproject.toml"
            assert declared[dist].specifier.contains(version), f"{declared[dist]} excludes the tested {version}"
    for req in declared.values():  # every range holds the version CI tests
        assert req.specifier.contains(CONSTRAINTS[_norm(req.name)]), f"{req} excludes {CONSTRAINTS[_norm(req.name)]}"
    # The --no-deps packages cannot be dependencies (their metadata caps torch<2.3...); their pins agree everywhere.
    nodeps = _pins(ROOT / "requirements-nodeps.txt")
    assert {_norm(n.split("==")[0]): n.split("==")[1] for n in NODEPS} == nodeps
    assert not set(nodeps) & set(declared)


def test_the_console_command_is_the_module_entry_point() -> None:
    assert PYPROJECT["project"]["scripts"] == {"dfdetect": "dfdetect.__main__:main"}
    assert set(PYPROJECT["project"]["optional-dependencies"]) == {"serve", "export", "audio", "dev"}


def _copy_sources(dest: Path) -> Path:
    """The files a wheel is built from (pyproject's packages and modules), copied so the build leaves no trace here."""
    tool = PYPROJECT["tool"]["setuptools"]
    for top in sorted({p.split(".")[0] for p in tool["packages"]} | set(tool.get("package-dir", {}).values())):
        shutil.copytree(ROOT / top, dest / top, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ["pyproject.toml", PYPROJECT["project"]["readme"], *(f"{m}.py" for m in tool["py-modules"])]:
        shutil.copy2(ROOT / name, dest / name)
    return dest


CHECK_REQUIREMENTS = """
import importlib.metadata as m, sys
from packaging.requirements import Requirement
dist = m.distribution("dfdetect")
bad = []
for text in dist.requires:
    r = Requirement(text)
    try:
        version = m.version(r.name)
    except m.PackageNotFoundError:
        version = None
    if version is None or not r.specifier.contains(version):
        bad.append(f"{text}: {version}")
print(*bad, sep="\\n")
sys.exit(1 if bad else 0)
"""


@pytest.mark.slow
def test_the_wheel_installs_into_a_fresh_venv_and_dfdetect_scores(tmp_path: Path, face_video: Path,
                                                                   untrained_checkpoints: dict[str, Path]) -> None:
    """Build the wheel, install it into a new virtual environment, run ``dfdetect --help`` and ``dfdetect score``.

    Offline and quick: the venv sees this environment's site-packages (torch & co., the --no-deps packages) through a
    ``.pth`` file instead of downloading them, and the wheel goes in with ``--no-deps``; the check below then verifies
    that every requirement the wheel declares (core and extras) is satisfied by what is installed. A truly fresh
    ``pip install .`` (all from PyPI) is the README's install step.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}  # the wheel's code only
    env.update(NO_ALBUMENTATIONS_UPDATE="1", OMP_NUM_THREADS="1", PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")

    def run(*cmd: str | Path) -> subprocess.CompletedProcess:
        return subprocess.run([str(c) for c in cmd], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600)

    src = _copy_sources(tmp_path / "src")
    r = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist", src)
    assert r.returncode == 0, r.stderr
    (wheel,) = (tmp_path / "dist").glob("dfdetect-*.whl")
    venv = tmp_path / "venv"
    r = run(getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip", venv)
    assert r.returncode == 0, r.stderr
    py = venv / "bin" / "python"
    venv_site = Path(run(py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip())
    (venv_site / "_dfdetect_test_base.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    # --force-reinstall: this environment's editable dfdetect is visible too; pip leaves it alone (outside the venv)
    r = run(sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--force-reinstall", wheel)
    assert r.returncode == 0, r.stderr
    r = run(py, "-c", "import dfdetect; print(dfdetect.__file__)")
    assert r.stdout.strip().startswith(str(venv_site)), r.stdout + r.stderr  # the wheel's copy, not this checkout
    r = run(py, "-c", "from dfdetect.demo.run import DEFAULT_CONFIG as c; print(c.is_file(), c)")
    assert r.stdout.split() == ["True", str(venv_site / "dfdetect" / "configs" / "demo.yaml")], r.stderr  # the recipe
    r = run(py, "-c", CHECK_REQUIREMENTS)
    assert r.returncode == 0, f"requirements of the wheel not met:\n{r.stdout}{r.stderr}"

    r = run(venv / "bin" / "dfdetect", "--help")
    assert r.returncode == 0, r.stderr
    commands = {line.split()[0] for line in r.stdout.splitlines() if line.startswith("  ")}
    assert {"score", "eval", "train", "serve", "explain", "export", "synth", "dataset", "model"} <= commands
    r = run(venv / "bin" / "dfdetect", "score", face_video, "--weights", untrained_checkpoints["video"],
            "--device", "cpu")
    assert r.returncode == 0, r.stderr
    name, score, _, status = r.stdout.splitlines()[1].split()[:4]
    assert (name, status) == ("single_face.mp4", "ok") and 0.0 <= float(score) <= 1.0
    assert importlib.metadata.version("dfdetect")  # this environment's own install is still there
