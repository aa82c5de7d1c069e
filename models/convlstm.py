"""A convolutional LSTM (Shi et al., 2015) over sequences of feature maps, written for this project.

It avoids the known faults of the widely copied ConvLSTM_pytorch: an int kernel size works; an even kernel keeps the
spatial size (asymmetric "same" padding); a given initial state is used; the zero state follows the input's dtype and
device (bf16, autocast, CUDA); ``batch_first=False`` means time-first for the input AND the outputs.

The input-to-gates convolution does not depend on the recurrent state, so it runs once over all T timesteps (one
batched conv of B*T maps); only the hidden-to-gates convolution runs inside the time loop. The sum of the two equals
the usual convolution of the concatenation ``[x_t, h_{t-1}]``.

Example:
    >>> lstm = ConvLSTM(input_dim=8, hidden_dim=16, kernel_size=3)
    >>> outputs, states = lstm(torch.zeros(2, 5, 8, 7, 7))  # (B, T, C, H, W)
    >>> outputs[-1].shape, states[-1][0].shape
    (torch.Size([2, 5, 16, 7, 7]), torch.Size([2, 16, 7, 7]))
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

State = tuple[torch.Tensor, torch.Tensor]  # (h, c), each (B, hidden, H, W)


def _pair(kernel_size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(kernel_size, int):
        kh = kw = kernel_size
    else:
        kh, kw = (int(k) for k in kernel_size)
    if kh < 1 or kw < 1:
        raise ValueError(f"kernel size must be positive, got {kernel_size}")
    return kh, kw


class ConvLSTMCell(nn.Module):
    """One ConvLSTM layer's step: gates i, f, o, g from convolutions of the input and the previous hidden state.

    Args:
        input_dim: channels of the input maps.
        hidden_dim: channels of the hidden and cell states.
        kernel_size: int or (kh, kw); even sizes are padded asymmetrically so H and W never change.
        bias: add a bias to the gates (the forget gate's bias starts at 1 so early training remembers).

    Example:
        >>> cell = ConvLSTMCell(8, 16, kernel_size=2)
        >>> h, c = cell(torch.zeros(2, 8, 7, 7))
        >>> h.shape
        torch.Size([2, 16, 7, 7])
    """

    def __init__(
        self, input_dim: int, hidden_dim: int, kernel_size: int | Sequence[int] = 3, bias: bool = True
    ) -> None:
        super().__init__()
        if input_dim < 1 or hidden_dim < 1:
            raise ValueError(f"input_dim and hidden_dim must be positive, got {input_dim}, {hidden_dim}")
        self.input_dim, self.hidden_dim = input_dim, hidden_dim
        self.kernel_size = _pair(kernel_size)
        kh, kw = self.kernel_size
        if kh % 2 and kw % 2:
            padding, self._pad = (kh // 2, kw // 2), None
        else:
            # F.pad order is (left, right, top, bottom); the extra pixel of an even kernel goes right/bottom.
            padding, self._pad = 0, ((kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2)
        self.input_conv = nn.Conv2d(input_dim, 4 * hidden_dim, self.kernel_size, padding=padding, bias=bias)
        self.hidden_conv = nn.Conv2d(hidden_dim, 4 * hidden_dim, self.kernel_size, padding=padding, bias=False)
        if bias:
            with torch.no_grad():
                self.input_conv.bias.zero_()
                self.input_conv.bias[hidden_dim : 2 * hidden_dim].fill_(1.0)  # forget gate

    def _conv(self, conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
        return conv(F.pad(x, self._pad) if self._pad is not None else x)

    def init_state(self, x: torch.Tensor) -> State:
        """Zero (h, c) shaped for the input map ``x`` (B, C, H, W), with its dtype and device."""
        b, _, h, w = x.shape
        zeros = x.new_zeros(b, self.hidden_dim, h, w)
        return zeros, zeros.clone()

    def input_gates(self, x: torch.Tensor) -> torch.Tensor:
        """Input part of the gates: (N, input_dim, H, W) -> (N, 4 * hidden, H, W); N may be B*T (all steps at once)."""
        return self._conv(self.input_conv, x)

    def step(self, gates_x: torch.Tensor, state: State) -> State:
        """Advance one timestep from precomputed input gates (B, 4 * hidden, H, W) and the state (h, c)."""
        h, c = state
        gates = gates_x + self._conv(self.hidden_conv, h)
        i, f, o, g = torch.chunk(gates, 4, dim=1)  # each (B, hidden, H, W)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c

    def forward(self, x: torch.Tensor, state: State | None = None) -> State:
        """One step: input (B, input_dim, H, W), state (h, c) or None (zeros) -> new (h, c)."""
        return self.step(self.input_gates(x), self.init_state(x) if state is None else state)


class ConvLSTM(nn.Module):
    """Stacked ConvLSTM layers over a sequence of feature maps.

    Args:
        input_dim: channels of the input maps.
        hidden_dim: hidden channels, one int for every layer or a list with one per layer.
        kernel_size: int, (kh, kw) for every layer, or a list with one per layer.
        num_layers: stacked layers (each feeds its hidden sequence to the next).
        batch_first: input and outputs are (B, T, C, H, W); with False both are (T, B, C, H, W).
        bias: gate biases.
        return_all_layers: return every layer's outputs and states instead of only the last layer's.

    Returns (from ``forward``):
        ``(outputs, states)``: ``outputs`` a list (one per returned layer) of (B, T, hidden, H, W) hidden sequences
        (time-first when ``batch_first=False``); ``states`` a list of the last (h, c), each (B, hidden, H, W).

    Example:
        >>> lstm = ConvLSTM(8, [16, 32], kernel_size=3, num_layers=2, return_all_layers=True)
        >>> outputs, states = lstm(torch.zeros(2, 5, 8, 7, 7))
        >>> [o.shape[2] for o in outputs]
        [16, 32]
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int | Sequence[int],
        kernel_size: int | tuple[int, int] | Sequence[int | tuple[int, int]] = 3,
        num_layers: int = 1,
        batch_first: bool = True,
        bias: bool = True,
        return_all_layers: bool = False,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        hidden_dims = self._per_layer(hidden_dim, num_layers, "hidden_dim")
        # A tuple of two ints is one (kh, kw) kernel for every layer; per-layer kernels come as a list.
        one_kernel = isinstance(kernel_size, tuple) and all(isinstance(k, int) for k in kernel_size)
        if isinstance(kernel_size, int) or one_kernel:
            kernels = [kernel_size] * num_layers
        else:
            kernels = self._per_layer(kernel_size, num_layers, "kernel_size")
        self.input_dim, self.hidden_dims, self.num_layers = input_dim, hidden_dims, num_layers
        self.batch_first, self.return_all_layers = batch_first, return_all_layers
        self.cells = nn.ModuleList(
            ConvLSTMCell(input_dim if i == 0 else hidden_dims[i - 1], hidden_dims[i], kernels[i], bias)
            for i in range(num_layers)
        )

    @staticmethod
    def _per_layer(value: object, num_layers: int, what: str) -> list:
        if isinstance(value, int):
            return [value] * num_layers
        values = list(value)  # type: ignore[call-overload]
        if len(values) != num_layers:
            raise ValueError(f"{what} has {len(values)} entries for {num_layers} layers")
        return values

    def forward(
        self, x: torch.Tensor, hidden_state: Sequence[State] | None = None
    ) -> tuple[list[torch.Tensor], list[State]]:
        """Run the sequence; ``hidden_state`` is an optional initial (h, c) per layer (zeros when None)."""
        if x.ndim != 5:
            raise ValueError(f"ConvLSTM expects a 5-D input, got shape {tuple(x.shape)}")
        if not self.batch_first:
            x = x.transpose(0, 1)  # (T, B, C, H, W) -> (B, T, C, H, W)
        b, t, c, h, w = x.shape
        if c != self.input_dim:
            raise ValueError(f"ConvLSTM expects {self.input_dim} input channels, got {c}")
        if hidden_state is not None and len(hidden_state) != self.num_layers:
            raise ValueError(f"hidden_state has {len(hidden_state)} entries for {self.num_layers} layers")

        outputs: list[torch.Tensor] = []
        states: list[State] = []
        layer_input = x
        for i, cell in enumerate(self.cells):
            # Input gates for all T steps in one conv: (B*T, C, H, W) -> (B, T, 4*hidden, H, W)
            gates_x = cell.input_gates(layer_input.flatten(0, 1)).unflatten(0, (b, t))
            if hidden_state is None:
                state = cell.init_state(layer_input[:, 0])
            else:
                state = tuple(hidden_state[i])  # type: ignore[assignment]
                expected = (b, cell.hidden_dim, h, w)
                if len(state) != 2 or any(tuple(s.shape) != expected for s in state):
                    shapes = [tuple(s.shape) for s in state]
                    raise ValueError(f"layer {i} initial state must be (h, c), each of shape {expected}, got {shapes}")
            steps = []
            for step in range(t):
                state = cell.step(gates_x[:, step], state)
                steps.append(state[0])
            layer_input = torch.stack(steps, dim=1)  # (B, T, hidden, H, W)
            outputs.append(layer_input)
            states.append(state)

        if not self.batch_first:
            outputs = [o.transpose(0, 1) for o in outputs]  # back to (T, B, hidden, H, W)
        if not self.return_all_layers:
            outputs, states = outputs[-1:], states[-1:]
        return outputs, states
