"""Small I/O helpers shared by every stage: atomic writes, labels CSV, video discovery, logging.

Every output the project writes goes through :func:`atomic_write` (write to a temporary file in the same folder, then
``os.replace``), so an interrupted job never leaves a half-written file that a resumed job would trust.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import math
import os
import shutil
import socket
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np
from PIL import Image, ImageOps

from dfdetect.core.schemas import IMAGE_LABELS_COLUMNS, LABELS_COLUMNS, METHOD_COLUMN

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
SIDE_FILE_EXTENSIONS = frozenset({".csv", ".json"})
"""Files that lie beside the media (labels, manifests, predictions, settings, markers): never inputs of a folder."""
_UMASK = os.umask(0)
os.umask(_UMASK)


class InputError(ValueError):
    """Malformed user input (bad labels CSV, missing folder...). CLIs turn it into a one-line message and exit 2."""


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file beside ``path`` and move it into place only if the block succeeds.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the final file the usual permissions
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class LockedError(InputError):
    """Another live process holds the output folder's lock (:func:`output_lock`)."""


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (signal 0 checks without signalling)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


@contextlib.contextmanager
def output_lock(path: str | os.PathLike, what: str = "outputs") -> Iterator[Path]:
    """Hold ``path`` as a lock file (``pid host``, created exclusively) while the block runs; removed after.

    Two runs writing the same outputs would silently lose one's results: the second one is refused instead. A lock
    left by a process that no longer runs (killed, machine restarted) is taken over with a warning.

    Args:
        path: the lock file (hidden, beside the outputs it guards, e.g. ``OUT/.predictions.lock``).
        what: what it guards, for the message.

    Raises:
        LockedError: a live process on this machine holds it (the message names its pid and the lock file).

    Example:
        >>> import tempfile
        >>> lock = Path(tempfile.mkdtemp()) / ".out.lock"
        >>> with output_lock(lock):
        ...     try:
        ...         with output_lock(lock):
        ...             pass
        ...     except LockedError as e:
        ...         print(str(e).split(" (")[0])
        another run is writing these outputs
        >>> lock.exists()
        False
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    host = socket.gethostname()
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid_text, _, owner = path.read_text().strip().partition(" ")
                pid = int(pid_text)
            except (OSError, ValueError):
                pid, owner = -1, ""
            if pid > 0 and (owner not in ("", host) or _alive(pid)):
                raise LockedError(f"another run is writing these {what} (pid {pid} on {owner or host}; lock file "
                                  f"{path}): wait for it to end, or give another --out") from None
            log.warning("%s: taking over the lock of a run that no longer runs (pid %s)", path, pid_text or "?")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()} {host}\n")
        break
    else:
        raise LockedError(f"could not take the lock {path}: another run keeps taking it")
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


@contextlib.contextmanager
def staged_outputs(finals: Sequence[str | os.PathLike]) -> Iterator[dict[Path, Path]]:
    """Write a run's outputs into a hidden staging folder, then move them all into place together.

    The block gets ``{final path: staged path}`` and writes the staged paths. When it succeeds, each staged file
    that was written replaces its final path, and a final path the block did not write (an earlier run's
    ``metrics.json`` when this run has no labels) is removed, so the folder never holds two runs' outputs side by
    side. When it fails (disk full...), the staging folder is removed and the final paths are left as they were.

    Example:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp())
        >>> _ = (out / "metrics.json").write_text("{}")  # an earlier run's
        >>> with staged_outputs([out / "predictions.csv", out / "metrics.json"]) as staged:
        ...     _ = staged[out / "predictions.csv"].write_text("video_name,score\\n")
        >>> sorted(p.name for p in out.iterdir())
        ['predictions.csv']
    """
    finals = [Path(f) for f in finals]
    folder = finals[0].parent
    folder.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".staged-", dir=folder))
    try:
        staged = {f: stage / f"{i}-{f.name}" for i, f in enumerate(finals)}
        yield staged
        for final, tmp in staged.items():
            if tmp.exists():
                os.replace(tmp, final)
            elif final.exists():
                log.info("%s: removed, an earlier run's (this run does not write it)", final)
                final.unlink()
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as f:
        f.write(data)


def write_csv(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]], fieldnames: Sequence[str]) -> None:
    """Write dict rows as CSV atomically (missing keys are written empty).

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "preds.csv"
        >>> write_csv(path, [{"video_name": "a.mp4", "score": 0.9}], ["video_name", "score"])
        >>> read_csv(path)
        [{'video_name': 'a.mp4', 'score': '0.9'}]
    """
    with atomic_write(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(fieldnames), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def read_csv(path: str | os.PathLike) -> list[dict[str, str]]:
    """Read a CSV with a header into a list of dicts (values are strings)."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def save_image(path: str | os.PathLike, rgb: np.ndarray, jpeg_quality: int = 95) -> None:
    """Encode an RGB uint8 image (PNG, or JPEG by extension) and write it atomically."""
    path = Path(path)
    ext = path.suffix.lower()
    params: list[int] = []
    if ext in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
    elif ext == ".png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, 1]  # lossless either way; level 1 is ~5x faster than the default 3
    ok, buf = cv2.imencode(ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise OSError(f"could not encode image {path}")
    write_bytes_atomic(path, buf.tobytes())


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as RGB uint8 (H, W, 3); raises ``OSError`` with the path if it cannot be decoded."""
    return decode_image(np.fromfile(str(path), dtype=np.uint8), str(path))


def decode_image(data: bytes | np.ndarray, where: str) -> np.ndarray:
    """Decode an encoded image (PNG, JPEG...) as RGB uint8 (H, W, 3); ``OSError`` naming ``where`` if it cannot be."""
    buf = np.frombuffer(data, dtype=np.uint8) if isinstance(data, (bytes, bytearray)) else data
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size else None
    if bgr is None:
        raise OSError(f"cannot decode image: {where}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


ALPHA_BACKGROUND = (255, 255, 255)
"""What a transparent pixel of an input image shows: white, as a browser shows the image on a white page."""
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read a user's image as the viewer sees it: RGB uint8 (H, W, 3), whatever its encoding (Pillow).

    THE reader of input images (training from a folder of images, ``eval.py``, ``Detector.score``); the project's
    own crops are read with the faster :func:`load_image`.

    - EXIF orientation is applied (a phone photo stored sideways comes out upright);
    - grayscale (and 1-bit, palette) images are converted to three equal channels;
    - an alpha channel (RGBA, LA, palette transparency) is composited over :data:`ALPHA_BACKGROUND`, not dropped:
      dropping it would show whatever colour the transparent pixels happen to store;
    - 16-bit images are scaled to 8 bits (``round(v / 257)``): Pillow opens 16-bit RGB PNGs as 8-bit RGB itself, and
      16-bit grayscale is scaled here (Pillow's own conversion clips every value above 255 to white);
    - CMYK JPEGs (Adobe's inverted ones included) are converted to RGB by Pillow;
    - animated files: the first frame.

    Args:
        path: an image file.

    Returns:
        uint8 (H, W, 3) RGB.

    Raises:
        OSError: unreadable, truncated or not an image; the message names the file and the cause in one line.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> path = Path(tempfile.mkdtemp()) / "gray16.png"
        >>> Image.fromarray(np.full((4, 6), 65535, np.uint16)).save(path)
        >>> img = read_image(path)
        >>> img.shape, img.dtype, int(img.max())
        ((4, 6, 3), dtype('uint8'), 255)
    """
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)  # a copy, upright
            if im.mode in _SIXTEEN_BIT_MODES:
                values = np.asarray(im, dtype=np.float64)  # (H, W)
                scale = 257.0 if im.mode != "I" or values.max() > 255 else 1.0
                gray = np.clip(np.round(values / scale), 0, 255).astype(np.uint8)  # (H, W)
                return np.repeat(gray[:, :, None], 3, axis=2)  # (H, W, 3)
            if im.mode == "F":
                gray = np.clip(np.round(np.asarray(im, dtype=np.float64)), 0, 255).astype(np.uint8)
                return np.repeat(gray[:, :, None], 3, axis=2)
            has_alpha = "A" in im.mode or im.mode in ("RGBa", "La") or "transparency" in im.info
            if has_alpha:
                rgba = im.convert("RGBA")
                canvas = Image.new("RGBA", rgba.size, (*ALPHA_BACKGROUND, 255))
                return np.asarray(Image.alpha_composite(canvas, rgba).convert("RGB"), dtype=np.uint8).copy()
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()  # (H, W, 3)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise OSError(f"cannot read image {path}: {reason}") from None


NAME_COLUMNS = (LABELS_COLUMNS[0], IMAGE_LABELS_COLUMNS[0])
"""The name column of a labels or split file: ``video_name`` (videos) or ``img_name`` (the image track)."""


def name_column(columns: Sequence[str], path: str | os.PathLike, other: str = LABELS_COLUMNS[1]) -> str:
    """The one name column of :data:`NAME_COLUMNS` in a header that also has the column ``other``.

    Raises:
        InputError: neither or both name columns, or no ``other`` column, naming the file.

    Example:
        >>> name_column(["img_name", "target"], "labels.csv")
        'img_name'
    """
    found = [c for c in NAME_COLUMNS if c in columns]
    if len(found) != 1 or other not in columns:
        raise InputError(f"{path}: header must have the columns 'video_name,{other}' (or 'img_name,{other}' for "
                         f"images; others are ignored), got {','.join(columns)!r}")
    return found[0]


def _binary_target(text: str) -> int | None:
    """0 or 1 from a target cell: ``0``/``1``, or the floats pandas writes for them (``0.0``, ``1.0``); else None.

    Example:
        >>> _binary_target("1.0"), _binary_target("0"), _binary_target("0.5"), _binary_target("nan")
        (1, 0, None, None)
    """
    if text in ("0", "1"):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value in (0.0, 1.0) else None


def read_labels(path: str | os.PathLike) -> dict[str, int]:
    """Read a labels CSV with the columns ``video_name,target`` or ``img_name,target`` (1 = fake) and validate it.

    Other columns (``split``, ``notes``...) may be present, in any order, and are ignored.

    Raises:
        InputError: missing file, a header without a name column (:data:`NAME_COLUMNS`) and ``target``, no row, a
            target outside {0, 1} (``0.0``/``1.0``, as pandas writes them, count as 0/1), an empty or duplicated name.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "labels.csv"
        >>> _ = path.write_text("video_name,target,notes\\nv0001.mp4,0,\\nv0002.mp4,1,blurry\\n")
        >>> read_labels(path)
        {'v0001.mp4': 0, 'v0002.mp4': 1}
        >>> _ = path.write_text("img_name,target\\nface1.jpg,1\\n")
        >>> read_labels(path)
        {'face1.jpg': 1}
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"labels file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
    except (UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"{path}: not a readable CSV ({e})") from None
    reader = iter(rows)
    header = next(reader, None)
    columns = [h.strip() for h in header or []]
    name_col, target_col = name_column(columns, path), LABELS_COLUMNS[1]
    for c in (name_col, target_col):
        if columns.count(c) > 1:
            raise InputError(f"{path}: column {c!r} appears {columns.count(c)} times in the header")
    i_name, i_target = columns.index(name_col), columns.index(target_col)
    needed = max(i_name, i_target) + 1
    labels: dict[str, int] = {}
    for lineno, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if not needed <= len(row) <= len(columns):
            raise InputError(f"{path}:{lineno}: expected {len(columns)} columns, got {len(row)}")
        name, target = row[i_name].strip(), row[i_target].strip()
        if not name:
            raise InputError(f"{path}:{lineno}: empty {name_col}")
        value = _binary_target(target)
        if value is None:
            raise InputError(f"{path}:{lineno}: target must be 0 or 1 (1 = fake), got {target!r}")
        if name in labels:
            raise InputError(f"{path}:{lineno}: duplicate {name_col} {name!r}")
        labels[name] = value
    if not labels:
        raise InputError(f"{path}: no rows, only a header: write one '{name_col},target' row per input")
    return labels


def read_label_methods(path: str | os.PathLike, column: str = METHOD_COLUMN) -> dict[str, str]:
    """The ``method`` column of a labels CSV (see :func:`read_labels`), name -> method; ``{}`` without the column.

    Empty cells (reals, usually) are left out. Call it after :func:`read_labels`, which validates the file.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "labels.csv"
        >>> _ = path.write_text("video_name,target,method\\na.mp4,0,\\nb.mp4,1,sbi\\nc.mp4,1,resample\\n")
        >>> read_label_methods(path)
        {'b.mp4': 'sbi', 'c.mp4': 'resample'}
    """
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fields = [h.strip() for h in reader.fieldnames or []]
        if column not in fields:
            return {}
        reader.fieldnames = fields
        name_col = name_column(fields, path, other=column)
        return {r[name_col].strip(): r[column].strip() for r in reader
                if (r.get(name_col) or "").strip() and (r.get(column) or "").strip()}


def collect_files(inputs: Sequence[str | os.PathLike]) -> list[Path]:
    """Expand folders (non-recursively, sorted by name) into every file that may be an input; keep named files as given.

    Nothing is chosen by extension: a ``.ts``, ``.3gp``, ``.gif`` or a file with no extension is an input like an
    ``.mp4``, and the caller's per-input path probes its content and records why it cannot be used (unreadable, no
    video stream...), so no file vanishes without a word. A folder's entries that are left out, and why:

    - hidden files (``.name``): editor, OS and partial-write files (``atomic_write``'s temporaries);
    - :data:`SIDE_FILE_EXTENSIONS` (``.csv``, ``.json``): the labels, manifests, predictions, settings and resume
      markers that lie beside the media; they are logged at INFO with the subfolders (not searched);
    - what is not a regular file (sockets, pipes). A symlink counts as the file it points to, and a broken one is kept
      (its input gets the reason).

    Each path keeps the name it was given (symlinks are not resolved), so a link and its target are two inputs.
    An explicitly named file is kept whatever it is. A named path that does not exist raises :class:`InputError`.
    """
    files: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            left_out: list[str] = []
            for f in sorted(p.iterdir()):
                if f.name.startswith("."):
                    continue
                if f.is_dir():
                    left_out.append(f"{f.name}/")
                elif f.suffix.lower() in SIDE_FILE_EXTENSIONS:
                    left_out.append(f.name)
                elif f.is_file() or (f.is_symlink() and not f.exists()):
                    files.append(f)
            if left_out:
                log.info("%s: left out %d side file(s) and subfolder(s): %s", p, len(left_out),
                         ", ".join(left_out[:10]) + (", ..." if len(left_out) > 10 else ""))
        elif p.is_file():
            files.append(p)
        else:
            raise InputError(f"no such file or folder: {p}")
    return files


def setup_logging(verbose: bool = False) -> None:
    """Configure root logging for the CLIs (library code only calls ``logging.getLogger``)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )


def _json_safe(obj: Any) -> Any:
    """NaN and infinities -> None (strict JSON has no NaN), recursively through dicts, lists and tuples."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> None:
    """Write ``obj`` as strict JSON atomically (NaN and infinities become ``null``).

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "m.json"
        >>> write_json(path, {"auc": float("nan"), "n": [1, 2]}, indent=None)
        >>> path.read_text()
        '{"auc": null, "n": [1, 2]}'
    """
    text = json.dumps(_json_safe(obj), indent=indent)  # dumps, not dump: only it uses the C encoder (indent None)
    with atomic_write(path) as f:
        f.write(text)


def format_table(rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table: the first row is the header, columns left-aligned two spaces apart.

    Example:
        >>> print(format_table([["name", "score"], ["a.mp4", "0.25"]]))
        name   score
        a.mp4  0.25
    """
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)
