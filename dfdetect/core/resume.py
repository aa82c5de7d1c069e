"""THE resume-marker scheme: a small JSON file written atomically after an item's outputs, trusted only when it was
written by this version of the scheme with the same settings.

Each stage writes one marker per finished item (a video's frames, crops, a synthesised video...) and, on a resumed
run, reuses the item only when :func:`read_marker` returns its payload; a marker from other settings, another marker
version, or a half-written file reads as ``None`` and the item is done again.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.json"
    >>> write_marker(p, {"size": 224}, {"faces": 15})
    >>> read_marker(p, {"size": 224}), read_marker(p, {"size": 112})
    ({'faces': 15}, None)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dfdetect.core.io import write_json

MARKER_VERSION = 3
"""Bumped when what a marker vouches for changes: every older marker is then ignored."""


def _plain(obj: Any) -> Any:
    """As JSON gives it back (tuples -> lists), so settings compare equal to what a marker stored."""
    return json.loads(json.dumps(obj))


def write_marker(path: str | os.PathLike, settings: Any, payload: dict[str, Any]) -> None:
    """Write ``{"version", "settings", "payload"}`` atomically (call it LAST, after the item's outputs)."""
    write_json(path, {"version": MARKER_VERSION, "settings": _plain(settings), "payload": payload})


def read_marker(path: str | os.PathLike, settings: Any) -> dict[str, Any] | None:
    """The payload of a marker written with these ``settings`` by this marker version, else ``None``."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != MARKER_VERSION or data.get("settings") != _plain(settings):
        return None
    payload = data.get("payload")
    return payload if isinstance(payload, dict) else None
