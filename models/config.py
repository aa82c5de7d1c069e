"""The model's configuration: a typed dataclass of plain values, saved inside every checkpoint."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ModelConfig:
    """Everything needed to rebuild the network; ``build_model(cfg)`` turns it into a module.

    Attributes:
        backbone: ``"efficientnet-b0"`` (default, efficientnet-pytorch) or ``"efficientnet-lite0"`` (offline weights).
        pretrained: load ImageNet weights for the backbone (an error, never a silent fallback, when unavailable).
        weights: path to a backbone weights file (e.g. ``efficientnet-b0-355c32eb.pth``) used instead of a download.
        temporal: ``"convlstm"`` (the detector) or ``"mean"`` (the same encoder averaged over frames: the baseline the
            temporal model must beat).
        reduce_channels: 1x1 conv from the encoder's 1280 channels down to this before the ConvLSTM (0 = no reduction).
        hidden: ConvLSTM hidden channels (256 as in the seed).
        kernel_size: ConvLSTM kernel size.
        num_layers: stacked ConvLSTM layers.
        fc_hidden: width of the first of the two dense layers.
        dropout: dropout between the two dense layers.
        max_params: parameter-count cap checked by ``build_model`` (the challenge allows 200M).
    """

    backbone: str = "efficientnet-b0"
    pretrained: bool = True
    weights: str | None = None
    temporal: str = "convlstm"
    reduce_channels: int = 256
    hidden: int = 256
    kernel_size: int = 3
    num_layers: int = 1
    fc_hidden: int = 256
    dropout: float = 0.5
    max_params: int = 200_000_000
