"""dfdetect.core.metrics: hand-computed answers on small cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dfdetect.core.metrics import compute_metrics, equal_error_rate, format_metrics, metrics_by_method, tpr_at_fpr


def test_metrics_by_hand() -> None:
    # reals 0.2, 0.6; fakes 0.4, 0.9: of the 4 real/fake pairs, 3 are ordered (0.2<0.4, 0.2<0.9, 0.6<0.9): AUC 0.75.
    m = compute_metrics([0, 0, 1, 1], [0.2, 0.6, 0.4, 0.9])
    assert m["auc"] == pytest.approx(0.75)
    # at 0.5: real 0.2 right, real 0.6 wrong, fake 0.4 wrong, fake 0.9 right
    assert (m["accuracy"], m["acc_real"], m["acc_fake"]) == (0.5, 0.5, 0.5)
    expected_ll = -(math.log(0.8) + math.log(0.4) + math.log(0.4) + math.log(0.9)) / 4
    assert m["log_loss"] == pytest.approx(expected_ll)
    assert m["f1"] == pytest.approx(0.5)  # precision 1/2, recall 1/2
    assert (m["n"], m["n_real"], m["n_fake"]) == (4, 2, 2)


def test_eer_and_tpr_at_fpr_by_hand() -> None:
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.7, 0.6, 0.8, 0.9, 0.95])
    # One real (0.7) scores above one fake (0.6): at threshold 0.65, FPR = FNR = 1/4.
    assert equal_error_rate(y, s) == pytest.approx(0.25)
    assert tpr_at_fpr(y, s, 0.01) == pytest.approx(0.75)  # threshold 0.8 flags 3 fakes, no real
    assert tpr_at_fpr(y, s, 0.25) == pytest.approx(1.0)


def test_metrics_one_class_gives_nan_auc() -> None:
    m = compute_metrics([1, 1], [0.9, 0.2])
    assert np.isnan(m["auc"]) and np.isnan(m["eer"]) and m["acc_fake"] == 0.5


def test_format_metrics_prints_known_values_in_order() -> None:
    lines = format_metrics({"n": 4, "auc": 0.75, "unknown_key": 1.0}).splitlines()
    assert [line.split() for line in lines] == [["metric", "value"], ["auc", "0.7500"], ["n", "4"]]


def test_metrics_by_method_compares_each_method_with_every_real() -> None:
    y = [0, 0, 0, 1, 1, 1, 1]
    s = [0.1, 0.5, 0.3, 0.9, 0.2, 0.6, 0.4]
    by = metrics_by_method(y, s, ["x", "", "", "sbi", "sbi", "temporal", None])
    assert sorted(by) == ["sbi", "temporal", "unknown"]  # a real's method is ignored; a fake without one: unknown
    assert by["sbi"]["n"] == 5 and by["sbi"]["auc"] == pytest.approx(compute_metrics([0, 0, 0, 1, 1],
                                                                                     [0.1, 0.5, 0.3, 0.9, 0.2])["auc"])
    assert by["temporal"]["auc"] == pytest.approx(1.0) and by["unknown"]["auc"] == pytest.approx(2 / 3)
    assert metrics_by_method([0, 1], [0.2, 0.8], ["", ""]) == {}
    with pytest.raises(ValueError, match="length"):
        metrics_by_method([0, 1], [0.2, 0.8], ["a"])
