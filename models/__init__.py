"""The network: EfficientNet encoder (B0 or Lite0) per frame, ConvLSTM over time, a small head -> one logit; or, for
``model.kind: frame``, the encoder and the head on one image.

``encoder``: backbones and their ImageNet weights; ``convlstm``: the ConvLSTM; ``classifier``: the clip and frame
classifiers; ``build``: build one from a :class:`~dfdetect.core.config.ModelConfig`, count parameters (plain and thop),
load a checkpoint.
"""

from models.build import (
    Complexity,
    build_model,
    check_size,
    count_parameters,
    load_model,
    model_complexity,
    to_device,
)
from models.classifier import Classifier, FrameClassifier, VideoClassifier
from models.convlstm import ConvLSTM, ConvLSTMCell
from models.encoder import BACKBONES, Encoder, WeightsUnavailableError, backbone_normalization, create_efficientnet

__all__ = [
    "BACKBONES",
    "Classifier",
    "Complexity",
    "FrameClassifier",
    "check_size",
    "model_complexity",
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
    "to_device",
]
