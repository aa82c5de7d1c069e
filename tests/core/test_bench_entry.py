"""The benchmark scripts start as a user starts them (``python bench/NAME.py``): Python then puts ``bench/`` first on
the path, where ``bench/av.py`` would stand in for PyAV (``import av``) in every script that decodes a video."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """import runpy, sys
sys.path.insert(0, sys.argv[1])  # what `python bench/NAME.py` does before the script's first line
runpy.run_path(sys.argv[2], run_name="bench_script")  # the script's imports, not its main()
import av
print("PYAV", av.__file__)
"""


@pytest.mark.parametrize("script", ["av.py", "generalise.py"])
def test_a_bench_script_imports_pyav_not_its_neighbour(script: str) -> None:
    done = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / "bench"), str(ROOT / "bench" / script)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    pyav = Path(done.stdout.rsplit("PYAV ", 1)[1].strip())
    assert pyav.parent.name == "av" and pyav.parent.parent.name == "site-packages", pyav
