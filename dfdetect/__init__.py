"""dfdetect: a deepfake video detector (frame sampling, MTCNN face crops, EfficientNet + ConvLSTM).

The scoring API is ``from dfdetect import Detector``; it is imported lazily so that ``import dfdetect`` stays cheap.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Detector", "__version__"]


def __getattr__(name: str):
    if name == "Detector":
        from dfdetect.inference.detector import Detector

        return Detector
    raise AttributeError(name)
