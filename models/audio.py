"""The audio branch (``model.modalities: audio``) and the fused audio-video model (``av``).

A clip's audio comes in as its log-mel spectrogram in dB, ``(B, M, L)`` (``M`` mel bands, ``L`` frames of
``data.hop`` samples; :func:`frame_extraction.melspec.data_log_mel`). Two branches turn it into a vector:

* ``cnn`` (:class:`AudioCNN`): four conv-BN-ReLU-maxpool blocks on the (M, L) picture, average-pooled; ~0.1M
  parameters at the default width.
* ``image`` (:class:`MelImageEncoder`): the FFDV baseline's recipe, the dB spectrogram scaled to [0, 1] per clip, drawn
  as a square picture and fed to the image backbone (ImageNet weights when ``model.pretrained``), average-pooled.

:class:`AVClassifier` keeps the video classifier of ``model.kind`` whole (its head scores the picture alone), adds the
audio branch with its own head, and a fusion head on the two vectors concatenated (late fusion, as the ranked FFDV
teams with public code did). It returns the three logits ``[fused, video, audio]``; each is trained with its own loss
(:func:`dfdetect.training.step.train_step`), so each branch can be read alone and a clip without audio is scored by the
video head.

Example:
    >>> audio = AudioClassifier(AudioCNN(channels=4)).eval()
    >>> audio(torch.zeros(2, 64, 81)).shape  # (B, M, L) log-mel in dB -> (B,) logits
    torch.Size([2])
    >>> av = AVClassifier(FrameClassifier(Encoder("efficientnet-lite0", pretrained=False), fc_hidden=8),
    ...                   AudioCNN(channels=4), fc_hidden=8).eval()
    >>> av(torch.zeros(2, 1, 3, 64, 64), torch.zeros(2, 64, 81)).shape  # [fused, video, audio] per clip
    torch.Size([2, 3])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.classifier import Classifier, FrameClassifier, calibrated, dense_head  # noqa: F401 (FrameClassifier: example)
from models.encoder import Encoder

MEL_IMAGE_SIZE = 224
"""Side (pixels) of the mel picture :class:`MelImageEncoder` feeds the image backbone (the FFDV baseline: 256 into a
ResNet18; 224 is the backbones' ImageNet size here)."""
HEADS = ("fused", "video", "audio")
"""The columns of :class:`AVClassifier`'s output, in order."""


class AudioCNN(nn.Module):
    """A small CNN on the log-mel: (B, M, L) dB -> (B, 8 * channels).

    The input is standardised by a learned BatchNorm (dB values span about -100 to +20), then four blocks of conv 3x3,
    BatchNorm, ReLU and 2x2 max-pooling (widths ``c, 2c, 4c, 8c``), then an average over what is left of bands and
    time: any M, L >= 16 works.

    Args:
        channels: width of the first block (``model.audio_channels``).
    """

    def __init__(self, channels: int = 16) -> None:
        super().__init__()
        if channels < 1:
            raise ValueError(f"model.audio_channels must be >= 1, got {channels}")
        self.norm = nn.BatchNorm2d(1)
        blocks, c_in = [], 1
        for k in range(4):
            c_out = channels * 2**k
            blocks += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.out_dim = c_in

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, M, L) log-mel dB -> (B, out_dim)."""
        x = self.norm(mel.unsqueeze(1))  # (B, 1, M, L)
        x = self.blocks(x)  # (B, 8c, M/16, L/16)
        return x.mean(dim=(2, 3))  # (B, 8c)


class MelImageEncoder(nn.Module):
    """The log-mel as a picture through the image backbone: (B, M, L) dB -> (B, 1280).

    Each clip's dB values are scaled to [0, 1] by its own minimum and maximum (the baseline's 0-255), the picture
    resized to ``size`` x ``size`` (bilinear), repeated over three channels and normalised as the backbone expects.

    Args:
        encoder: the image backbone (:class:`~models.encoder.Encoder`).
        size: picture side in pixels.
    """

    def __init__(self, encoder: Encoder, size: int = MEL_IMAGE_SIZE) -> None:
        super().__init__()
        self.encoder, self.size, self.out_dim = encoder, int(size), encoder.out_channels
        self.register_buffer("mean", torch.tensor(encoder.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(encoder.std).view(1, 3, 1, 1), persistent=False)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, M, L) log-mel dB -> (B, 1280)."""
        lo = mel.amin(dim=(1, 2), keepdim=True)  # (B, 1, 1)
        hi = mel.amax(dim=(1, 2), keepdim=True)  # (B, 1, 1)
        img = ((mel - lo) / (hi - lo).clamp(min=1e-6)).flip(1).unsqueeze(1)  # (B, 1, M, L), low bands at the bottom
        img = F.interpolate(img, size=(self.size, self.size), mode="bilinear", align_corners=False)  # (B, 1, S, S)
        img = (img.expand(-1, 3, -1, -1) - self.mean) / self.std  # (B, 3, S, S)
        return self.encoder(img).mean(dim=(2, 3))  # (B, 1280, s, s) -> (B, 1280)


AudioBranch = AudioCNN | MelImageEncoder


class AudioClassifier(nn.Module):
    """``model.modalities: audio``: the clip's log-mel -> audio branch -> dense head -> one logit.

    Args:
        branch: :class:`AudioCNN` or :class:`MelImageEncoder`.
        fc_hidden: width of the head's first dense layer.
        dropout: dropout in the head.
        logit_scale, logit_bias: the calibration (:func:`~models.classifier.calibrated`).
    """

    kind = "audio"
    modalities = "audio"
    mean = std = (0.5, 0.5, 0.5)  # no picture: what the data layer normalises an (absent) clip with

    def __init__(self, branch: AudioBranch, fc_hidden: int = 256, dropout: float = 0.5, logit_scale: float = 1.0,
                 logit_bias: float = 0.0) -> None:
        super().__init__()
        self.audio = branch
        self.head = dense_head(branch.out_dim, fc_hidden, dropout)
        self.logit_scale, self.logit_bias = float(logit_scale), float(logit_bias)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, M, L) log-mel dB -> (B,) logits."""
        return self.head(self.audio(mel)).squeeze(-1)  # (B,)

    def probability(self, logits: torch.Tensor) -> torch.Tensor:
        """Calibrated P(fake) (B,)."""
        return calibrated(logits, self.logit_scale, self.logit_bias)


class AVClassifier(nn.Module):
    """``model.modalities: av``: the video classifier, the audio branch and a fusion head.

    Args:
        video: the classifier of ``model.kind`` (:class:`~models.classifier.VideoClassifier` or
            :class:`~models.classifier.FrameClassifier`); its own head is the video head.
        audio: the audio branch.
        fc_hidden: width of the audio and fusion heads' first dense layer.
        dropout: dropout in those heads.
        logit_scale, logit_bias: the calibration of the fused logit.
    """

    modalities = "av"

    def __init__(self, video: Classifier, audio: AudioBranch, fc_hidden: int = 256, dropout: float = 0.5,
                 logit_scale: float = 1.0, logit_bias: float = 0.0) -> None:
        super().__init__()
        self.video = video
        self.audio = audio
        self.audio_head = dense_head(audio.out_dim, fc_hidden, dropout)
        self.fusion_head = dense_head(video.embed_dim + audio.out_dim, fc_hidden, dropout)
        self.kind = video.kind
        self.mean, self.std = video.mean, video.std
        self.logit_scale, self.logit_bias = float(logit_scale), float(logit_bias)

    def forward(self, clip: torch.Tensor, mel: torch.Tensor, has_audio: torch.Tensor | None = None) -> torch.Tensor:
        """Clips and their log-mels -> (B, 3) logits ``[fused, video, audio]`` (:data:`HEADS`).

        Args:
            clip: (B, T, C, H, W) normalised frames.
            mel: (B, M, L) log-mel dB (anything, e.g. silence, where ``has_audio`` is False).
            has_audio: (B,) bool; where False the fused logit is the video logit (the audio is not heard). None:
                every clip has audio.
        """
        v = self.video.embed(clip)  # (B, Dv)
        a = self.audio(mel)  # (B, Da)
        video_logit = self.video.head(v).squeeze(-1)  # (B,)
        audio_logit = self.audio_head(a).squeeze(-1)  # (B,)
        fused = self.fusion_head(torch.cat([v, a], dim=1)).squeeze(-1)  # (B,)
        if has_audio is not None:
            fused = torch.where(has_audio.to(fused.device).bool(), fused, video_logit)  # (B,)
        return torch.stack([fused, video_logit, audio_logit], dim=1)  # (B, 3)

    def probability(self, logits: torch.Tensor) -> torch.Tensor:
        """Calibrated P(fake) of the fused logit (B,) (or of a (B,) column already chosen)."""
        if logits.ndim == 2:
            logits = logits[:, 0]
        return calibrated(logits, self.logit_scale, self.logit_bias)

    def freeze_encoder(self, blocks: int | None = None) -> None:
        """Freeze the video encoder (see :meth:`~models.classifier.Classifier.freeze_encoder`)."""
        self.video.freeze_encoder(blocks)

    def unfreeze_encoder(self) -> None:
        """Make the video encoder trainable again."""
        self.video.unfreeze_encoder()
