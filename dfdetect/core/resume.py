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

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from dfdetect.core.io import write_json

HEAD_BYTES = 1 << 20
"""Bytes hashed at the head of a file for its identity (:func:`file_identity`): 1 MiB, a few ms."""

MARKER_VERSION = 3
"""Bumped when what a marker vouches for changes: every older marker is then ignored."""


def _plain(obj: Any) -> Any:
    """As JSON gives it back (tuples -> lists), so settings compare equal to what a marker stored."""
    return json.loads(json.dumps(obj))


def write_marker(path: str | os.PathLike, settings: Any, payload: dict[str, Any]) -> None:
    """Write ``{"version", "settings", "payload"}`` atomically (call it LAST, after the item's outputs), as compact
    JSON: a marker is read by the program, and json's C encoder writes only unindented JSON (the demo's plan, 2.8 MB
    indented and rewritten after each source video, is written about twice as fast)."""
    write_json(path, {"version": MARKER_VERSION, "settings": _plain(settings), "payload": payload}, indent=None)


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


def file_identity(path: str | os.PathLike) -> str | None:
    """What tells this file apart from another one later put under the same name: its size, modification time (ns)
    and the SHA-256 of its first :data:`HEAD_BYTES` (``"size:mtime_ns:sha256-prefix"``); None when it cannot be read.

    A resumed run reuses an item's result only when the identity it recorded is the file's identity now, so a video
    replaced under the same name (copied over, re-exported) is processed again, even when the copy kept its time.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "v.mp4"
        >>> _ = p.write_bytes(b"one")
        >>> a = file_identity(p)
        >>> _ = p.write_bytes(b"two")
        >>> os.utime(p, ns=(int(a.split(":")[1]),) * 2)  # the same size and time: the content still tells them apart
        >>> a.split(":")[0], a == file_identity(p), file_identity(p.with_name("missing.mp4"))
        ('3', False, None)
    """
    try:
        st = os.stat(path)
        with open(path, "rb") as f:
            head = hashlib.sha256(f.read(HEAD_BYTES)).hexdigest()[:16]
    except OSError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}:{head}"
