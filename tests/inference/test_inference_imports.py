"""Scoring owns no training code: ``from dfdetect import Detector`` and scoring a video load no fake generator, no
training loop and no training data set (issue 21, point 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_scoring_a_video_imports_no_training_code(untrained_checkpoints: dict[str, Path], face_video: Path) -> None:
    code = (
        "import json, sys\n"
        "from dfdetect import Detector\n"
        f"score = Detector.load({str(untrained_checkpoints['video'])!r}).score({str(face_video)!r})\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('dfdetect.synth', 'dfdetect.training'))\n"
        "                or m in ('dfdetect.data', 'dfdetect.data.dataset'))\n"
        "print(json.dumps({'score': score, 'loaded': loaded}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "NO_ALBUMENTATIONS_UPDATE": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert 0.0 < result["score"] < 1.0 and result["score"] != 0.5  # the video was scored, not skipped
    assert result["loaded"] == []
