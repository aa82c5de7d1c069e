"""dfdetect.core.config: defaults, YAML differences, CLI overrides declared once, validation."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from dfdetect.core.config import (
    Config,
    add_override,
    config_from_dict,
    config_to_dict,
    default_of,
    load_config,
    overrides_from_args,
    save_config,
    validate_config,
)
from dfdetect.core.io import InputError


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




def test_overrides_declared_once_reach_the_config() -> None:
    p = argparse.ArgumentParser()
    add_override(p, "--epochs", "train.epochs", "passes", type=int)
    add_override(p, "--no-pretrained", "model.pretrained", "random init", action="store_const", const=False)
    add_override(p, "--margin", "data.margin", "box margin", type=float)
    args = p.parse_args(["--epochs", "3", "--no-pretrained"])
    assert overrides_from_args(args) == {"train.epochs": 3, "model.pretrained": False}  # --margin not given: absent
    cfg = load_config(None, overrides_from_args(args))
    assert (cfg.train.epochs, cfg.model.pretrained, cfg.data.margin) == (3, False, Config().data.margin)
    assert "default 0.3" in p.format_help() and "config data.margin" in p.format_help()


def test_an_override_for_an_unknown_key_fails_when_the_parser_is_built() -> None:
    with pytest.raises(AttributeError):
        add_override(argparse.ArgumentParser(), "--epochz", "train.epochz", "typo")


def test_default_of_reads_the_dataclasses() -> None:
    assert default_of("data.sample_frames") == Config().data.sample_frames == 15
    assert default_of("model.backbone") == "efficientnet-b0"


@pytest.mark.parametrize(("key", "value", "message"), [
    ("train.lr", 0, "train.lr must be > 0"), ("data.stride", 0, "data.stride must be >= 1"),
    ("data.balance", "oversample", "data.balance must be undersample|none"), ("train.device", "tpu", "train.device"),
])
def test_validate_config_names_the_bad_key(key: str, value, message: str) -> None:
    with pytest.raises(InputError, match=message):
        validate_config(load_config(None, {key: value}))
    validate_config(Config())  # the defaults are valid
