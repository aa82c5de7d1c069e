"""The clip classifier: EfficientNet encoder per frame -> ConvLSTM over time (or a mean over frames) -> one logit.

Example:
    >>> model = VideoClassifier(Encoder("efficientnet-lite0", pretrained=False)).eval()
    >>> x = torch.zeros(2, 4, 3, 64, 64)  # (B, T, C, H, W), normalised with model.mean / model.std
    >>> torch.sigmoid(model(x)).shape  # P(fake) per clip
    torch.Size([2])
"""

from __future__ import annotations

import torch
from torch import nn

from dfdetect.core.config import TEMPORAL_MODELS
from dfdetect.core.io import InputError
from models.convlstm import ConvLSTM
from models.encoder import Encoder


class VideoClassifier(nn.Module):
    """Clip classifier: (B, T, C, H, W) normalised frames -> (B,) logits; ``sigmoid(logit)`` = P(fake).

    ``temporal="convlstm"``: the encoder's (B*T, 1280, h, w) maps are reduced by a 1x1 conv, run through a ConvLSTM,
    and the last hidden state is average-pooled. ``temporal="mean"``: each frame's map is pooled and the frame vectors
    are averaged over time (the baseline the ConvLSTM must beat). Both end in the same head: dense, ReLU, dropout,
    dense -> 1 logit.

    Attributes:
        mean, std: the per-channel input normalisation the encoder expects (for inputs scaled to [0, 1]).

    Example:
        >>> model = VideoClassifier(Encoder("efficientnet-lite0", pretrained=False), temporal="mean")
        >>> model.eval()(torch.zeros(1, 4, 3, 64, 64)).shape
        torch.Size([1])
    """

    def __init__(
        self,
        encoder: Encoder,
        temporal: str = "convlstm",
        reduce_channels: int = 256,
        hidden: int = 256,
        kernel_size: int = 3,
        num_layers: int = 1,
        fc_hidden: int = 256,
        dropout: float = 0.5,
        logit_scale: float = 1.0,
        logit_bias: float = 0.0,
    ) -> None:
        super().__init__()
        if temporal not in TEMPORAL_MODELS:
            raise InputError(f"unknown temporal model {temporal!r} (choose from {', '.join(TEMPORAL_MODELS)})")
        if reduce_channels < 0 or hidden < 1 or kernel_size < 1 or num_layers < 1 or fc_hidden < 1:
            raise InputError(
                "model sizes must be positive (reduce_channels may be 0): "
                f"reduce_channels={reduce_channels}, hidden={hidden}, kernel_size={kernel_size}, "
                f"num_layers={num_layers}, fc_hidden={fc_hidden}"
            )
        if not 0.0 <= dropout < 1.0:
            raise InputError(f"dropout must be in [0, 1), got {dropout}")
        self.encoder = encoder
        self.logit_scale, self.logit_bias = float(logit_scale), float(logit_bias)
        self.temporal = temporal
        self.mean, self.std = encoder.mean, encoder.std
        channels = encoder.out_channels
        self.reduce: nn.Module | None = None
        self.convlstm: ConvLSTM | None = None
        if temporal == "convlstm":
            if reduce_channels:
                # A 3x3 ConvLSTM on the raw 1280 channels would hold 14M parameters; 1x1 down to 256 first.
                self.reduce = nn.Sequential(
                    nn.Conv2d(channels, reduce_channels, 1, bias=False),
                    nn.BatchNorm2d(reduce_channels),
                    nn.ReLU(inplace=True),
                )
                channels = reduce_channels
            self.convlstm = ConvLSTM(channels, hidden, kernel_size, num_layers=num_layers, batch_first=True)
            channels = hidden
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(
            nn.Linear(channels, fc_hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(fc_hidden, 1),
        )

    def probability(self, logits: torch.Tensor) -> torch.Tensor:
        """P(fake) from :meth:`forward`'s logits, calibrated: ``sigmoid(logit_scale * logit + logit_bias)`` (B,).

        The calibration is configuration, not a weight (``model.logit_scale``/``logit_bias``, fitted after training
        by ``train.calibrate``): training's loss and the state dict see the raw logit.

        Example:
            >>> model = VideoClassifier(Encoder("efficientnet-lite0", pretrained=False), logit_scale=2.0,
            ...                         logit_bias=-1.0)
            >>> model.probability(torch.tensor([0.0, 0.5]))
            tensor([0.2689, 0.5000])
        """
        return torch.sigmoid(self.logit_scale * logits.float() + self.logit_bias)

    def freeze_encoder(self, blocks: int | None = None) -> None:
        """Freeze the whole encoder (``None``) or its stem and first ``blocks`` blocks; see :meth:`Encoder.freeze`."""
        self.encoder.freeze(blocks)

    def unfreeze_encoder(self) -> None:
        """Make the whole encoder trainable again."""
        self.encoder.unfreeze()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C, H, W) normalised frames -> (B,) logits."""
        if x.ndim != 5 or x.shape[2] != 3:
            raise ValueError(f"expected (B, T, 3, H, W) frames, got shape {tuple(x.shape)}")
        b, t = x.shape[:2]
        frames = x.flatten(0, 1)  # (B*T, C, H, W): every frame of every clip in ONE encoder call
        if self.encoder.net._conv_stem.weight.is_contiguous(memory_format=torch.channels_last):
            frames = frames.contiguous(memory_format=torch.channels_last)  # model.to(channels_last) was asked for
        feats = self.encoder(frames)  # (B*T, 1280, h, w)
        if self.convlstm is None:
            pooled = self.pool(feats).flatten(1)  # (B*T, 1280)
            clip = pooled.unflatten(0, (b, t)).mean(dim=1)  # (B, 1280)
        else:
            if self.reduce is not None:
                feats = self.reduce(feats)  # (B*T, R, h, w)
            _, states = self.convlstm(feats.unflatten(0, (b, t)))  # input (B, T, R, h, w)
            last_h = states[-1][0]  # (B, hidden, h, w): the last layer's hidden state after the last frame
            clip = self.pool(last_h).flatten(1)  # (B, hidden)
        return self.head(clip).squeeze(-1)  # (B,)
