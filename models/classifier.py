"""The classifiers, one per ``model.kind``: the clip classifier (``video``: EfficientNet encoder per frame -> a mean
over frames, a ConvLSTM over time, or both -> one logit) and the frame classifier (``frame``: one image -> encoder ->
pooled head -> one logit; no temporal part). Both share the head, the calibration and the freezing
(:class:`Classifier`).

Example:
    >>> model = VideoClassifier(Encoder("efficientnet-lite0", pretrained=False)).eval()
    >>> x = torch.zeros(2, 4, 3, 64, 64)  # (B, T, C, H, W), normalised with model.mean / model.std
    >>> torch.sigmoid(model(x)).shape  # P(fake) per clip
    torch.Size([2])
    >>> frame = FrameClassifier(Encoder("efficientnet-lite0", pretrained=False)).eval()
    >>> frame(torch.zeros(2, 3, 64, 64)).shape, frame(torch.zeros(2, 1, 3, 64, 64)).shape  # images, or T = 1 clips
    (torch.Size([2]), torch.Size([2]))
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dfdetect.core.config import TEMPORAL_MODELS, ModelConfig
from dfdetect.core.io import InputError
from models.convlstm import ConvLSTM
from models.encoder import Encoder
from models.landmarks import LandmarkHead

_MODEL = ModelConfig()  # the defaults of every classifier argument live once, in the config dataclass
PIXEL_STRIDE = 2
"""The pixel stream sees the frames at 1/PIXEL_STRIDE of the input size (64 x 64 for a 128 px crop): a face that
shakes by 1-3 % of its size still moves by half a pixel to a pixel and a half there (sub-pixel shifts change the
intensities at its edges), and each step costs a few MFLOPs per clip."""


def dense_head(channels: int, fc_hidden: int, dropout: float) -> nn.Sequential:
    """The head of every classifier: dense, ReLU, dropout, dense -> 1 logit.

    Example:
        >>> dense_head(1280, 256, 0.5)(torch.zeros(3, 1280)).shape
        torch.Size([3, 1])
    """
    return nn.Sequential(
        nn.Linear(channels, fc_hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(fc_hidden, 1),
    )


def calibrated(logits: torch.Tensor, scale: float, bias: float) -> torch.Tensor:
    """THE calibrated probability of every model: ``sigmoid(scale * logit + bias)`` in float32 (``train.calibrate``).

    Example:
        >>> calibrated(torch.tensor([0.0, 0.5]), 2.0, -1.0)
        tensor([0.2689, 0.5000])
    """
    return torch.sigmoid(scale * logits.float() + bias)


def _check_head(fc_hidden: int, dropout: float) -> None:
    if fc_hidden < 1:
        raise InputError(f"model.fc_hidden must be positive, got {fc_hidden}")
    if not 0.0 <= dropout < 1.0:
        raise InputError(f"dropout must be in [0, 1), got {dropout}")


class Classifier(nn.Module):
    """What every classifier shares: the encoder, its input normalisation, the calibrated probability, freezing.

    Attributes:
        kind: ``model.kind`` of the subclass (``"video"`` or ``"frame"``).
        mean, std: the per-channel input normalisation the encoder expects (for inputs scaled to [0, 1]).
    """

    kind = ""
    modalities = "video"

    def __init__(self, encoder: Encoder, logit_scale: float = 1.0, logit_bias: float = 0.0) -> None:
        super().__init__()
        self.encoder = encoder
        self.logit_scale, self.logit_bias = float(logit_scale), float(logit_bias)
        self.mean, self.std = encoder.mean, encoder.std

    def probability(self, logits: torch.Tensor) -> torch.Tensor:
        """P(fake) from :meth:`forward`'s logits, calibrated: ``sigmoid(logit_scale * logit + logit_bias)`` (B,).

        The calibration is configuration, not a weight (``model.logit_scale``/``logit_bias``, a temperature fitted
        after training by ``train.calibrate``): training's loss and the state dict see the raw logit.

        Example:
            >>> model = VideoClassifier(Encoder("efficientnet-lite0", pretrained=False), logit_scale=2.0,
            ...                         logit_bias=-1.0)
            >>> model.probability(torch.tensor([0.0, 0.5]))
            tensor([0.2689, 0.5000])
        """
        return calibrated(logits, self.logit_scale, self.logit_bias)

    def freeze_encoder(self, blocks: int | None = None) -> None:
        """Freeze the whole encoder (``None``) or its stem and first ``blocks`` blocks; see :meth:`Encoder.freeze`."""
        self.encoder.freeze(blocks)

    def unfreeze_encoder(self) -> None:
        """Make the whole encoder trainable again."""
        self.encoder.unfreeze()

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) normalised frames -> (N, 1280, H/32, W/32) feature maps, in one encoder call."""
        return self.encoder(self._layout(frames))

    def encode_taps(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, C, H, W) -> :meth:`encode`'s maps and the encoder's maps at 1/8 of the input size
        (N, ``tap_channels``, H/8, W/8), from the same single pass (:meth:`Encoder.forward_taps`)."""
        return self.encoder.forward_taps(self._layout(frames))

    def _layout(self, frames: torch.Tensor) -> torch.Tensor:
        if self.encoder.net._conv_stem.weight.is_contiguous(memory_format=torch.channels_last):
            return frames.contiguous(memory_format=torch.channels_last)  # weights channels-last (to_device)
        return frames


class VideoClassifier(Classifier):
    """Clip classifier: (B, T, C, H, W) normalised frames -> (B,) logits; ``sigmoid(logit)`` = P(fake).

    ``temporal="convlstm"`` (the default, the project's model): the encoder's (B*T, 1280, h, w) maps are reduced by a
    1x1 conv, run through a ConvLSTM, and the last hidden state is average-pooled. ``temporal="mean"`` (the baseline):
    each frame's map is pooled and the frame vectors are averaged over time. ``temporal="two-stream"``: both at once,
    as FTCN (Zheng et al., ICCV 2021) keeps a temporal-only path beside the spatial one: the frame mean (the spatial
    stream, 1280) concatenated with a ConvLSTM that sees only the frame-to-frame DIFFERENCES of the reduced feature
    maps (the temporal stream, ``hidden``: blind to what a single frame looks like, so it can only learn how the face
    changes over time). All end in the same head: dense, ReLU, dropout, dense -> 1 logit.

    ``motion_hidden > 0`` adds a motion stream to any of them: a ConvLSTM over the frame-to-frame differences of the
    encoder's maps at 1/8 of the input size (16 x 16 cells of a 128 px crop, where the mouth and the eyes are a few
    cells each; at 1/32 they share one), batch-normalised, pooled and concatenated to the clip vector. The
    manipulations that show only in time (a retimed mouth, frozen eyes, a face that jitters against the head: the
    ``TIME_ONLY`` generators of :mod:`dfdetect.synth`) change these local differences while every frame stays real.

    ``pixel_hidden > 0`` adds a pixel stream: the frame-to-frame differences of the INPUT frames at 1/``PIXEL_STRIDE``
    size, batch-normalised, through a ConvLSTM with 1x1 kernels, so that each place of the face is followed through
    time on its own and nothing a single frame shows (a texture, a seam) can reach it: FTCN's temporal-only branch
    (spatial kernel 1; Zheng et al., ICCV 2021) on raw pixels, where ImageNet features are built to ignore the small
    shifts a shaking or warped face makes. Its last state is pooled by mean and by max over the face (a frozen eye or
    a retimed mouth is a few places of many) and concatenated to the clip vector (``2 * pixel_hidden``).

    ``landmarks`` adds the landmark stream (``landmark_head``, :class:`~models.landmarks.LandmarkHead`): not part of
    :meth:`forward` (it takes landmark statistics, not pixels), fitted after training and fused with forward()'s logit
    by scoring (:meth:`~models.landmarks.LandmarkHead.fuse`).

    Args default to :class:`~dfdetect.core.config.ModelConfig`'s.

    Attributes:
        mean, std: the per-channel input normalisation the encoder expects (for inputs scaled to [0, 1]).

    Example:
        >>> model = VideoClassifier(Encoder("efficientnet-lite0", pretrained=False), temporal="mean")
        >>> model.eval()(torch.zeros(1, 4, 3, 64, 64)).shape
        torch.Size([1])
    """

    kind = "video"

    def __init__(
        self,
        encoder: Encoder,
        temporal: str = _MODEL.temporal,
        reduce_channels: int = _MODEL.reduce_channels,
        hidden: int = _MODEL.hidden,
        kernel_size: int = _MODEL.kernel_size,
        num_layers: int = _MODEL.num_layers,
        fc_hidden: int = _MODEL.fc_hidden,
        dropout: float = _MODEL.dropout,
        logit_scale: float = _MODEL.logit_scale,
        logit_bias: float = _MODEL.logit_bias,
        aux_heads: bool = _MODEL.aux_heads,
        motion_hidden: int = _MODEL.motion_hidden,
        pixel_hidden: int = _MODEL.pixel_hidden,
        landmarks: bool = _MODEL.landmarks,
        landmark_unusual: bool = _MODEL.landmark_unusual,
    ) -> None:
        super().__init__(encoder, logit_scale, logit_bias)
        if temporal not in TEMPORAL_MODELS:
            raise InputError(f"unknown temporal model {temporal!r} (choose from {', '.join(TEMPORAL_MODELS)})")
        if min(reduce_channels, motion_hidden, pixel_hidden) < 0 or min(hidden, kernel_size, num_layers, fc_hidden) < 1:
            raise InputError(
                "model sizes must be positive (reduce_channels, motion_hidden and pixel_hidden may be 0): "
                f"reduce_channels={reduce_channels}, hidden={hidden}, kernel_size={kernel_size}, "
                f"num_layers={num_layers}, fc_hidden={fc_hidden}, motion_hidden={motion_hidden}, "
                f"pixel_hidden={pixel_hidden}"
            )
        _check_head(fc_hidden, dropout)
        self.temporal = temporal
        channels = encoder.out_channels
        self.reduce: nn.Module | None = None
        self.convlstm: ConvLSTM | None = None
        spatial = channels if temporal == "two-stream" else 0  # the frame mean's width beside the ConvLSTM's
        if temporal in ("convlstm", "two-stream"):
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
        self.motion_norm: nn.Module | None = None
        self.motion: ConvLSTM | None = None
        if motion_hidden:
            # Differences of post-activation maps are small and centred near 0: normalise before the gates.
            self.motion_norm = nn.BatchNorm2d(encoder.tap_channels)
            self.motion = ConvLSTM(encoder.tap_channels, motion_hidden, kernel_size, batch_first=True)
        self.pixel_norm: nn.Module | None = None
        self.pixel: ConvLSTM | None = None
        if pixel_hidden:
            # Pixel differences are a few hundredths of the normalised range: bring them to unit scale for the gates.
            self.pixel_norm = nn.BatchNorm2d(3)
            self.pixel = ConvLSTM(3, pixel_hidden, 1, batch_first=True)  # 1x1: every place through time alone
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = dense_head(spatial + channels + motion_hidden + 2 * pixel_hidden, fc_hidden, dropout)
        # Training-only localisation heads (Face X-ray, Li et al. CVPR 2020; LAA-Net, Nguyen et al. CVPR 2024): where
        # each frame's face was changed (a 1x1 conv on the encoder's maps) and which frames were (a linear layer on
        # each step's ConvLSTM state, or on each frame's pooled features for the frame mean). forward() never runs
        # them: they cost nothing at inference and are not in an export.
        self.mask_head: nn.Module | None = nn.Conv2d(encoder.out_channels, 1, 1) if aux_heads else None
        frame_dim = (channels if self.convlstm is not None else encoder.out_channels) + motion_hidden + 2 * pixel_hidden
        self.frame_head: nn.Module | None = nn.Linear(frame_dim, 1) if aux_heads else None
        # The landmark stream: fitted after training, applied by scoring to forward()'s logits (fuse), never trained
        # by gradient; buffers only.
        self.landmark_head: LandmarkHead | None = LandmarkHead(unusual=landmark_unusual) if landmarks else None

    @property
    def embed_dim(self) -> int:
        """Width of :meth:`embed`'s clip vector (what the head takes)."""
        return self.head[0].in_features

    def forward(self, x: torch.Tensor, aux: bool = False) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """(B, T, C, H, W) normalised frames -> (B,) logits; with ``aux``, :meth:`forward_aux`'s three outputs (a
        flag of ``forward`` so that a DistributedDataParallel wrapper sees the call)."""
        if aux:
            return self.forward_aux(x)
        return self.head(self.embed(x)).squeeze(-1)  # (B,)

    def forward_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The clip logit and the training-only localisation outputs (needs ``aux_heads``).

        Args:
            x: (B, T, C, H, W) normalised frames.

        Returns:
            ``(logits (B,), mask_logits (B, T, h, w), frame_logits (B, T))``: the clip's logit as :meth:`forward`
            gives it; per frame, the logit that each cell of the encoder's h x w map (H/32) was changed, and the logit
            that the frame was manipulated.

        Raises:
            RuntimeError: the model was built without ``aux_heads``.
        """
        if self.mask_head is None or self.frame_head is None:
            raise RuntimeError("this model has no localisation heads (model.aux_heads: false)")
        clip_vec, feats, steps = self._features(x)
        b, t = x.shape[:2]
        masks = self.mask_head(feats).squeeze(1).unflatten(0, (b, t))  # (B*T, 1, h, w) -> (B, T, h, w)
        frames = self.frame_head(steps).squeeze(-1)  # (B, T, D) -> (B, T)
        return self.head(clip_vec).squeeze(-1), masks, frames

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C, H, W) normalised frames -> (B, D) clip vectors (the head's input; fused with audio in ``av``)."""
        return self._features(x)[0]

    def _features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, T, C, H, W) -> the clip vector (B, D), the encoder's maps (B*T, 1280, h, w) and one vector per step
        (B, T, D'): the ConvLSTM's hidden state pooled (the frame-to-frame difference steps padded with a zero step
        in front for two-stream), else each frame's pooled features; the motion stream's steps concatenated."""
        if x.ndim != 5 or x.shape[2] != 3:
            raise ValueError(f"expected (B, T, 3, H, W) frames, got shape {tuple(x.shape)}")
        b, t = x.shape[:2]
        frames = x.flatten(0, 1)  # (B*T, C, H, W)
        # (B*T, 1280, h, w): every frame of every clip in ONE encoder call (and its 1/8 maps for the motion stream)
        feats, taps = self.encode_taps(frames) if self.motion is not None else (self.encode(frames), None)
        pooled = self.pool(feats).flatten(1).unflatten(0, (b, t))  # (B, T, 1280)
        streams, steps = [], pooled
        if self.temporal in ("mean", "two-stream"):
            streams.append(pooled.mean(dim=1))  # (B, 1280)
        if self.convlstm is not None:
            reduced = self.reduce(feats) if self.reduce is not None else feats  # (B*T, R, h, w)
            seq = reduced.unflatten(0, (b, t))  # (B, T, R, h, w)
            if self.temporal == "two-stream":
                # (B, T-1, R, h, w): what changes between frames; a one-frame clip has no change (one zero step)
                seq = seq[:, 1:] - seq[:, :-1] if t > 1 else torch.zeros_like(seq)
            outputs, states = self.convlstm(seq)
            last_h = states[-1][0]  # (B, hidden, h, w): the last layer's hidden state after the last step
            streams.append(self.pool(last_h).flatten(1))  # (B, hidden)
            if self.frame_head is not None:
                steps = self.pool(outputs[-1].flatten(0, 1)).flatten(1).unflatten(0, (b, -1))  # (B, T or T-1, hidden)
                steps = _pad_front(steps, t)  # two-stream: frame 0 has no difference before it
        if self.motion is not None:
            motion = self.motion_norm(taps).unflatten(0, (b, t))  # (B, T, 40, H/8, W/8)
            # (B, T-1, 40, H/8, W/8): how each cell changed since the frame before (one zero step for one frame)
            motion = motion[:, 1:] - motion[:, :-1] if t > 1 else torch.zeros_like(motion)
            m_out, m_states = self.motion(motion)
            streams.append(self.pool(m_states[-1][0]).flatten(1))  # (B, motion_hidden)
            if self.frame_head is not None:
                m_steps = self.pool(m_out[-1].flatten(0, 1)).flatten(1).unflatten(0, (b, -1))  # (B, T-1, motion_hidden)
                steps = torch.cat([steps, _pad_front(m_steps, t)], dim=2)  # (B, T, D' + motion_hidden)
        if self.pixel is not None:
            small = F.avg_pool2d(frames, PIXEL_STRIDE) if PIXEL_STRIDE > 1 else frames  # (B*T, 3, H/2, W/2)
            small = small.unflatten(0, (b, t))  # (B, T, 3, H/2, W/2)
            change = small[:, 1:] - small[:, :-1] if t > 1 else torch.zeros_like(small)  # (B, T-1, 3, H/2, W/2)
            change = self.pixel_norm(change.flatten(0, 1)).unflatten(0, (b, -1))
            p_out, p_states = self.pixel(change)
            streams.append(_mean_max(p_states[-1][0]))  # (B, 2 * pixel_hidden)
            if self.frame_head is not None:
                p_steps = _mean_max(p_out[-1].flatten(0, 1)).unflatten(0, (b, -1))  # (B, T-1, 2 * pixel_hidden)
                steps = torch.cat([steps, _pad_front(p_steps, t)], dim=2)
        clip_vec = torch.cat(streams, dim=1) if len(streams) > 1 else streams[0]  # (B, 1280 + hidden) for two-stream
        return clip_vec, feats, steps


def _mean_max(maps: torch.Tensor) -> torch.Tensor:
    """(N, D, h, w) -> (N, 2D): the mean and the max of each channel over the map."""
    return torch.cat([maps.mean(dim=(2, 3)), maps.amax(dim=(2, 3))], dim=1)


def _pad_front(steps: torch.Tensor, t: int) -> torch.Tensor:
    """(B, S, D) per-step vectors -> (B, t, D), zero steps in front (difference streams have none for frame 0)."""
    if steps.shape[1] >= t:
        return steps
    return torch.cat([steps.new_zeros(steps.shape[0], t - steps.shape[1], steps.shape[2]), steps], dim=1)


class FrameClassifier(Classifier):
    """Frame classifier (``model.kind: frame``): one normalised face image -> encoder -> average pool -> dense head ->
    one logit; ``sigmoid(logit)`` = P(fake). No temporal part, so no ConvLSTM parameter at all.

    The image track's model, and the frame-level baseline a video model is compared with. It takes images
    ``(B, C, H, W)``, or clips ``(B, T, C, H, W)`` (the training loop's T = 1 batches; for T > 1 the per-frame logits
    are averaged).

    Args:
        encoder: the backbone.
        fc_hidden: width of the first dense layer.
        dropout: dropout between the two dense layers, in [0, 1).
        logit_scale, logit_bias: the calibration (see :meth:`Classifier.probability`).

    Raises:
        InputError: a non-positive ``fc_hidden`` or a dropout outside [0, 1).

    Example:
        >>> model = FrameClassifier(Encoder("efficientnet-lite0", pretrained=False), fc_hidden=8).eval()
        >>> sorted({k.split(".")[0] for k in model.state_dict()})
        ['encoder', 'head']
    """

    kind = "frame"

    def __init__(self, encoder: Encoder, fc_hidden: int = _MODEL.fc_hidden, dropout: float = _MODEL.dropout,
                 logit_scale: float = _MODEL.logit_scale, logit_bias: float = _MODEL.logit_bias) -> None:
        super().__init__(encoder, logit_scale, logit_bias)
        _check_head(fc_hidden, dropout)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = dense_head(encoder.out_channels, fc_hidden, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) normalised images, or (B, T, C, H, W) clips -> (B,) logits (the mean over T)."""
        if x.ndim == 4 and x.shape[1] == 3:
            x = x.unsqueeze(1)  # (B, 1, C, H, W)
        if x.ndim != 5 or x.shape[2] != 3:
            raise ValueError(f"expected (B, 3, H, W) images or (B, T, 3, H, W) clips, got shape {tuple(x.shape)}")
        b, t = x.shape[:2]
        feats = self.encode(x.flatten(0, 1))  # (B*T, 1280, h, w)
        logits = self.head(self.pool(feats).flatten(1)).squeeze(-1)  # (B*T,)
        return logits.unflatten(0, (b, t)).mean(dim=1)  # (B,)

    @property
    def embed_dim(self) -> int:
        """Width of :meth:`embed`'s vector."""
        return self.head[0].in_features

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C, H, W) clips or (B, C, H, W) images -> (B, 1280): pooled features averaged over T (``av``'s video
        vector)."""
        if x.ndim == 4 and x.shape[1] == 3:
            x = x.unsqueeze(1)  # (B, 1, C, H, W)
        if x.ndim != 5 or x.shape[2] != 3:
            raise ValueError(f"expected (B, T, 3, H, W) clips, got shape {tuple(x.shape)}")
        b, t = x.shape[:2]
        pooled = self.pool(self.encode(x.flatten(0, 1))).flatten(1)  # (B*T, 1280)
        return pooled.unflatten(0, (b, t)).mean(dim=1)  # (B, 1280)
