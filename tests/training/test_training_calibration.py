"""dfdetect.training.calibration and its use: temperature scaling fitted after training, stored in best.pt's config."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dfdetect.core.checkpoint import config_from_checkpoint, load_checkpoint
from dfdetect.training.calibration import fit_temperature
from models.build import load_model


def test_fit_temperature_recovers_a_known_temperature_when_free() -> None:
    """Margin: the data come from numpy's PCG64 (the same bits on every platform) and the fit is float64 LBFGS on a
    convex 1-D loss; with 20,000 samples the estimate's sampling error is about 0.01 on 0.5, 0.05 on 2 (asserted:
    0.05 and 0.2)."""
    rng = np.random.default_rng(0)
    z = rng.uniform(-6, 6, 20000)
    y = (rng.random(z.size) < 1 / (1 + np.exp(-z / 2.0))).astype(int)  # true temperature 2
    assert fit_temperature(z, y) == pytest.approx(0.5, abs=0.05)
    y_sharp = (rng.random(z.size) < 1 / (1 + np.exp(-2.0 * z))).astype(int)  # true temperature 0.5
    assert fit_temperature(z, y_sharp, max_scale=float("inf")) == pytest.approx(2.0, abs=0.2)


def test_fit_temperature_never_sharpens_by_default_and_stays_finite_when_separable() -> None:
    z = np.array([-3.0, -2.8, -2.5, 1.2, 1.0, 0.8])  # perfectly separated: the free fit would sharpen without end
    y = np.array([0, 0, 0, 1, 1, 1])
    assert fit_temperature(z, y) == 1.0
    free = fit_temperature(z, y, max_scale=float("inf"))
    assert np.isfinite(free) and free > 1.0
    with pytest.raises(ValueError, match="both classes"):
        fit_temperature(z, np.zeros(6))


def test_best_checkpoint_carries_its_calibration(tiny_checkpoint: Path) -> None:
    """The tiny run validates on one real and one fake video: best.pt is calibrated, run.json says how.

    Nothing here depends on what the tiny model learnt: the scale is at most 1 by construction, and the fitted log
    loss is at most the raw one because the fit starts at scale 1 and only descends a convex loss (a clamp back to 1
    gives the raw loss), on any CPU."""
    summary = json.loads((tiny_checkpoint / "run.json").read_text())
    record = summary["calibration"]
    ckpt = load_checkpoint(tiny_checkpoint / "best.pt")
    cfg = config_from_checkpoint(ckpt)
    assert record is not None and 0 < record["scale"] <= 1  # temperature scaling never sharpens
    assert record["temperature"] == pytest.approx(1 / record["scale"])
    assert (cfg.model.logit_scale, cfg.model.logit_bias) == (record["scale"], 0.0)
    assert ckpt["calibration"] == record
    assert record["val_log_loss_after"] <= record["val_log_loss_before"] + 1e-9  # fitted on these very clips
    # last.pt (the resume state) keeps the raw model; the rebuilt best model applies the calibration
    last = config_from_checkpoint(load_checkpoint(tiny_checkpoint / "last.pt"))
    assert (last.model.logit_scale, last.model.logit_bias) == (1.0, 0.0)
    model, _ = load_model(tiny_checkpoint / "best.pt")
    assert (model.logit_scale, model.logit_bias) == (record["scale"], 0.0)
