"""dfdetect: a deepfake video detector (frame sampling, MTCNN face crops, EfficientNet clips: frame mean or ConvLSTM).

The scoring API is ``from dfdetect import Detector`` (see :mod:`dfdetect.inference.detector`). It is handed out lazily
(PEP 562) so that ``import dfdetect.core`` (which every stage does) does not import the inference stack and torch.
The layers are described in ``docs/ARCHITECTURE.md``.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Detector", "__version__"]


def __getattr__(name: str):
    if name == "Detector":
        from dfdetect.inference import Detector  # the one lazy import: this package face is the top layer

        return Detector
    raise AttributeError(f"module 'dfdetect' has no attribute {name!r}")
