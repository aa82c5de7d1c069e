"""dfdetect.training.calibration and its use: Platt scaling fitted after training, stored in best.pt's config."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dfdetect.core.checkpoint import config_from_checkpoint, load_checkpoint
from dfdetect.training.calibration import fit_platt
from models.build import load_model


def test_fit_platt_recovers_a_known_logistic_model() -> None:
    rng = np.random.default_rng(0)
    z = rng.uniform(-4, 4, 20000)
    y = (rng.random(z.size) < 1 / (1 + np.exp(-(2.0 * z - 1.0)))).astype(int)  # true scale 2, bias -1
    scale, bias = fit_platt(z, y, l2=0.0)
    assert scale == pytest.approx(2.0, abs=0.1) and bias == pytest.approx(-1.0, abs=0.1)


def test_fit_platt_moves_a_shifted_model_across_the_threshold_and_stays_finite_when_separable() -> None:
    z = np.array([-3.0, -2.8, -2.5, -1.2, -1.0, -0.8])  # every clip below 0.5, fakes ranked above reals
    y = np.array([0, 0, 0, 1, 1, 1])
    scale, bias = fit_platt(z, y)
    p = 1 / (1 + np.exp(-(scale * z + bias)))
    assert np.isfinite([scale, bias]).all() and scale > 0
    assert (p[:3] < 0.5).all() and (p[3:] > 0.5).all()
    with pytest.raises(ValueError, match="both classes"):
        fit_platt(z, np.zeros(6))


def test_best_checkpoint_carries_its_calibration(tiny_checkpoint: Path) -> None:
    """The tiny run validates on one real and one fake video: best.pt is calibrated, run.json says how."""
    summary = json.loads((tiny_checkpoint / "run.json").read_text())
    record = summary["calibration"]
    ckpt = load_checkpoint(tiny_checkpoint / "best.pt")
    cfg = config_from_checkpoint(ckpt)
    assert record is not None and record["scale"] > 0
    assert (cfg.model.logit_scale, cfg.model.logit_bias) == (record["scale"], record["bias"])
    assert ckpt["calibration"] == record
    assert record["val_log_loss_after"] <= record["val_log_loss_before"] + 1e-9  # fitted on these very clips
    # last.pt (the resume state) keeps the raw model; the rebuilt best model applies the calibration
    last = config_from_checkpoint(load_checkpoint(tiny_checkpoint / "last.pt"))
    assert (last.model.logit_scale, last.model.logit_bias) == (1.0, 0.0)
    model, _ = load_model(tiny_checkpoint / "best.pt")
    assert (model.logit_scale, model.logit_bias) == (record["scale"], record["bias"])
