"""The network: EfficientNet encoder (B0 or Lite0) per frame, ConvLSTM over time, a small head -> one logit.

``encoder``: backbones and their ImageNet weights; ``convlstm``: the ConvLSTM; ``classifier``: the clip classifier;
``build``: build it from a :class:`~dfdetect.core.config.ModelConfig`, count parameters, load a checkpoint.
"""

from models.build import build_model, count_parameters, load_model
from models.classifier import VideoClassifier
from models.convlstm import ConvLSTM, ConvLSTMCell
from models.encoder import BACKBONES, Encoder, WeightsUnavailableError, backbone_normalization, create_efficientnet

__all__ = [
    "BACKBONES",
    "ConvLSTM",
    "ConvLSTMCell",
    "Encoder",
    "VideoClassifier",
    "WeightsUnavailableError",
    "backbone_normalization",
    "build_model",
    "count_parameters",
    "create_efficientnet",
    "load_model",
]
