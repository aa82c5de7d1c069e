"""The network: EfficientNet encoder (B0 or Lite0) per frame, ConvLSTM over time, a small head -> one logit.

Only :class:`ModelConfig` is imported eagerly; everything else is loaded on first use, so ``import dfdetect.config``
(which needs ``models.config``) does not pay for importing torch.

Example:
    >>> from models import ModelConfig, build_model
    >>> model = build_model(ModelConfig(backbone="efficientnet-lite0"))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from models.config import ModelConfig

if TYPE_CHECKING:
    from models.convlstm import ConvLSTM, ConvLSTMCell
    from models.detector import VideoDetector, build_model, count_parameters
    from models.encoder import (
        BACKBONES,
        Encoder,
        WeightsUnavailableError,
        backbone_normalization,
        create_efficientnet,
    )

_LAZY = {
    "ConvLSTM": "models.convlstm",
    "ConvLSTMCell": "models.convlstm",
    "VideoDetector": "models.detector",
    "build_model": "models.detector",
    "count_parameters": "models.detector",
    "BACKBONES": "models.encoder",
    "Encoder": "models.encoder",
    "WeightsUnavailableError": "models.encoder",
    "backbone_normalization": "models.encoder",
    "create_efficientnet": "models.encoder",
}

__all__ = [
    "BACKBONES",
    "ConvLSTM",
    "ConvLSTMCell",
    "Encoder",
    "ModelConfig",
    "VideoDetector",
    "WeightsUnavailableError",
    "backbone_normalization",
    "build_model",
    "count_parameters",
    "create_efficientnet",
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'models' has no attribute {name!r}")
