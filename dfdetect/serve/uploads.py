"""Receiving one uploaded file safely: streamed to a private folder, size-limited while it streams, content sniffed.

:func:`receive_upload` reads a ``multipart/form-data`` body chunk by chunk (python-multipart's streaming parser, the one
Starlette uses), writes the ``file`` field to ``folder/upload.part`` and stops writing the moment it passes the
limit (a declared ``Content-Length`` over the limit is refused before a byte is read). The request's file name is
kept for display only (:func:`display_name`); the file on disk is always ``upload`` plus the extension its *content*
says (:func:`sniff`), never a name or a ``Content-Type`` from the request.

Why an own signature table instead of a library: the scoring path reads videos with PyAV and images with Pillow, and
dispatches on the extension; the table below names exactly the containers those read, in 15 lines (libmagic would
add a system dependency, and the pure-Python sniffers either lag behind or know far more formats than we accept).
A file that passes the sniff and still cannot be decoded gets status ``unreadable`` from the scoring path itself.

Example:
    >>> sniff(b"\\x00\\x00\\x00\\x18ftypmp42"), sniff(b"\\xff\\xd8\\xff\\xe0"), sniff(b"%PDF-1.7")
    ('.mp4', '.jpg', None)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

FIELD = "file"
"""The form field holding the upload."""
SNIFF_BYTES = 32
DRAIN_BYTES = 16 * 2**20
"""After the limit is passed, up to this much more of the body is read and dropped (never stored) so the client gets
the 413 answer instead of a broken connection; a longer body is cut off."""

_FTYP_QUICKTIME = (b"qt  ",)
_QUICKTIME_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
"""What :func:`sniff` names for sound alone: accepted only by a server running an audio model."""


def sniff(head: bytes) -> str | None:
    """The file extension the content's first bytes announce, or None when it is not a video, image or sound we read.

    Args:
        head: the first :data:`SNIFF_BYTES` bytes (or fewer).

    Returns:
        One of ``.mp4 .mov .mkv .avi .mpg .flv .wmv`` (videos), ``.jpg .png .bmp .webp`` (images) or
        :data:`AUDIO_EXTENSIONS` (sound), or None.

    Example:
        >>> sniff(b"\\x89PNG\\r\\n\\x1a\\n"), sniff(b"RIFF\\x00\\x00\\x00\\x00WEBPVP8 "), sniff(b"\\x1aE\\xdf\\xa3")
        ('.png', '.webp', '.mkv')
        >>> sniff(b"RIFF\\x00\\x00\\x00\\x00WAVEfmt "), sniff(b"fLaC\\x00"), sniff(b"ID3\\x04")
        ('.wav', '.flac', '.mp3')
    """
    box = head[4:8]
    if box == b"ftyp":
        return ".mov" if head[8:12] in _FTYP_QUICKTIME else ".mp4"
    if box in _QUICKTIME_ATOMS:
        return ".mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ".mkv"  # Matroska / WebM (EBML)
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return ".avi"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return ".webp"
    if head.startswith((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):
        return ".mpg"
    if head.startswith(b"FLV\x01"):
        return ".flv"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return ".wmv"  # ASF
    if head.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if head.startswith(b"BM") and len(head) >= 14:
        return ".bmp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return ".wav"
    if head.startswith(b"fLaC"):
        return ".flac"
    if head.startswith(b"OggS"):
        return ".ogg"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return ".mp3"  # an ID3 tag or an MPEG-1/2 layer III frame header
    return None


def display_name(name: str | None) -> str:
    """The client's file name reduced to something safe to show (its last path part, plain characters, 100 at most);
    never used as a path.

    Example:
        >>> display_name("../../etc/passwd"), display_name("C:\\\\clips\\\\my clip (1).mp4"), display_name(None)
        ('passwd', 'my clip (1).mp4', 'upload')
    """
    base = re.split(r"[\\/]", name or "")[-1]
    clean = re.sub(r"[^\w .()+-]", "_", base).strip(" .")[:100]
    return clean or "upload"


class UploadError(Exception):
    """An upload that is refused, with the HTTP status to answer and the status/reason of the score JSON.

    Attributes:
        http_status: 400 (no file, empty), 413 (too large), 415 (not multipart, not a video or image).
        status: the score JSON's status (``unreadable`` or ``too_large``).
    """

    def __init__(self, http_status: int, reason: str, status: str = "unreadable") -> None:
        super().__init__(reason)
        self.http_status, self.reason, self.status = http_status, reason, status


@dataclass
class Upload:
    """A received upload: where it lies (``folder/upload<ext>``), the client's name (display only), its size."""

    path: Path
    name: str
    size: int


class _FilePart:
    """python-multipart callbacks writing the :data:`FIELD` part to disk and counting its bytes."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path, self.max_bytes = path, max_bytes
        self.size, self.too_large, self.found = 0, False, False
        self.head = b""
        self.name: str | None = None
        self._headers: dict[str, bytes] = {}
        self._field, self._value = b"", b""
        self._file = None
        self._in_file = False

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._part_begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers, self._field, self._value = {}, b"", b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.decode("latin-1").lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", b""))
        self._in_file = options.get(b"name") == FIELD.encode() and not self.found
        if self._in_file:
            self.found = True
            raw = options.get(b"filename")
            self.name = raw.decode("utf-8", "replace") if raw is not None else None
            self._file = open(self.path, "wb")  # noqa: SIM115 - closed in _part_end / close

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file or self.too_large:
            return
        chunk = data[start:end]
        self.size += len(chunk)
        if self.size > self.max_bytes:
            self.too_large = True
            self.close()
            self.path.unlink(missing_ok=True)  # nothing of an oversize upload stays on disk
            return
        if len(self.head) < SNIFF_BYTES:
            self.head += chunk[: SNIFF_BYTES - len(self.head)]
        self._file.write(chunk)

    def _part_end(self) -> None:
        self._in_file = False
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


async def receive_upload(request: Request, folder: Path, max_bytes: int, accept_audio: bool = False) -> Upload:
    """Stream the request's ``file`` field into ``folder`` (see the module docstring).

    Args:
        request: a ``multipart/form-data`` request with a ``file`` field.
        folder: a private folder of this request (created by the caller, removed by the caller).
        max_bytes: the largest file accepted.
        accept_audio: accept sound alone (:data:`AUDIO_EXTENSIONS`; a server running an audio model).

    Returns:
        The :class:`Upload`, renamed to ``upload`` plus the sniffed extension.

    Raises:
        UploadError: not multipart (415), declared or streamed body too large (413), no ``file`` field or an empty
            file (400), content that is not a video or image we read, or sound alone when ``accept_audio`` is off
            (415).
    """
    ctype, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise UploadError(415, f"send the file as multipart/form-data in a field named {FIELD!r}")
    limit = _megabytes(max_bytes)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + 64 * 1024:  # 64 KiB for the form's own bytes
        raise UploadError(413, f"the upload is {_megabytes(int(declared))}, more than the limit of {limit}",
                          "too_large")
    part = _FilePart(folder / "upload.part", max_bytes)
    parser = MultipartParser(boundary, part.callbacks())
    drained = 0
    try:
        async for chunk in request.stream():
            if part.too_large:
                drained += len(chunk)
                if drained > DRAIN_BYTES:
                    break
                continue
            parser.write(chunk)
        parser.finalize()
    except Exception as e:  # noqa: BLE001 - python-multipart raises its own errors for a malformed body
        if not part.too_large:
            raise UploadError(400, f"malformed multipart body ({type(e).__name__}: {e})") from e
    finally:
        part.close()
    if part.too_large:
        raise UploadError(413, f"the upload is larger than the limit of {limit}", "too_large")
    if not part.found:
        raise UploadError(400, f"no {FIELD!r} field in the form")
    if part.size == 0:
        raise UploadError(400, "the file is empty")
    ext = sniff(part.head)
    if ext is None:
        raise UploadError(415, f"not a video or image we can read (content starts with {part.head[:8].hex(' ')})")
    if ext in AUDIO_EXTENSIONS and not accept_audio:
        raise UploadError(415, f"sound alone ({ext[1:]}): this model scores videos and face images (serve an audio "
                               "model to score sound alone)")
    path = part.path.rename(folder / f"upload{ext}")
    return Upload(path=path, name=display_name(part.name), size=part.size)
