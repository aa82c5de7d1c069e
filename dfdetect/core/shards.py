"""Work split over machines: ``--shard K/N`` and the merge of the shards' manifests.

Every input lands in exactly one of N shards by a stable hash of its NAME (CRC32 of the UTF-8 file name, never
Python's salted ``hash()``), so the split is the same on every machine, whatever the order or the other inputs. A
sharded stage writes its per-item outputs where one run would, and its manifests as ``NAME.shard-K-of-N.csv``
beside them; :func:`merge_csv_shards` joins the N files into ``NAME.csv`` in the order one run writes.

Example:
    >>> shard = parse_shard("2/3")
    >>> shard, shard.suffix, [shard_of(n, 3) for n in ("a.mp4", "b.mp4", "c.mp4")]
    (Shard(k=2, n=3), 'shard-2-of-3', [3, 2, 1])
    >>> shard_file(Path("out/frames.csv"), shard).name
    'frames.shard-2-of-3.csv'
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dfdetect.core.io import InputError, read_csv, write_csv

_SHARD_TEXT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_SHARD_FILE = re.compile(r"^(?P<stem>.+)\.shard-(?P<k>\d+)-of-(?P<n>\d+)$")


@dataclass(frozen=True)
class Shard:
    """Shard ``k`` of ``n`` (1-based, as Slurm's ``SLURM_ARRAY_TASK_ID`` with ``--array=1-N``)."""

    k: int
    n: int

    @property
    def suffix(self) -> str:
        """``shard-K-of-N``: the tag of this shard's files."""
        return f"shard-{self.k}-of-{self.n}"

    def holds(self, name: str) -> bool:
        """True when the input named ``name`` belongs to this shard."""
        return shard_of(name, self.n) == self.k


def parse_shard(text: str) -> Shard:
    """``"K/N"`` -> :class:`Shard`, with 1 <= K <= N.

    Raises:
        InputError: anything else (one line).

    Example:
        >>> parse_shard("0/2")
        Traceback (most recent call last):
        ...
        dfdetect.core.io.InputError: --shard must be K/N with 1 <= K <= N, got '0/2'
    """
    m = _SHARD_TEXT.match(str(text))
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise InputError(f"--shard must be K/N with 1 <= K <= N, got {text!r}")
    return Shard(int(m.group(1)), int(m.group(2)))


def shard_of(name: str, n: int) -> int:
    """The shard (1..n) of the input named ``name``: CRC32 of its UTF-8 bytes, modulo ``n``, plus one."""
    return zlib.crc32(str(name).encode("utf-8")) % int(n) + 1


def shard_file(path: str | Path, shard: Shard | None) -> Path:
    """``out/frames.csv`` -> ``out/frames.shard-K-of-N.csv`` (``path`` itself without a shard)."""
    path = Path(path)
    return path if shard is None else path.with_name(f"{path.stem}.{shard.suffix}{path.suffix}")


def find_shards(path: str | Path) -> list[Path]:
    """The shard files of ``path`` (``NAME.shard-K-of-N.EXT`` beside it), ordered by K.

    Raises:
        InputError: files of two different N, or a missing shard (each message names what is missing).
    """
    path = Path(path)
    found: dict[int, tuple[int, Path]] = {}
    for p in sorted(path.parent.glob(f"{path.stem}.shard-*-of-*{path.suffix}")):
        m = _SHARD_FILE.match(p.name[: len(p.name) - len(path.suffix)] if path.suffix else p.name)
        if m and m.group("stem") == path.stem:
            found[int(m.group("k"))] = (int(m.group("n")), p)
    if not found:
        return []
    ns = {n for n, _ in found.values()}
    if len(ns) > 1:
        raise InputError(f"{path.parent}: shard files of {path.name} from runs with different N ({sorted(ns)})")
    n = ns.pop()
    missing = [k for k in range(1, n + 1) if k not in found]
    if missing:
        raise InputError(f"{path.parent}: {path.stem} shard(s) {', '.join(f'{k}/{n}' for k in missing)} missing: run "
                         "them first (--shard K/N)")
    return [found[k][1] for k in range(1, n + 1)]


def merge_csv_shards(path: str | Path, columns: Sequence[str], key: Callable[[dict[str, Any]], Any] | None = None,
                     shards: Sequence[Path] | None = None) -> list[dict[str, str]]:
    """Join the shard files of ``path`` into ``path`` (atomically), sorted by ``key`` (stable; ``None``: shard order).

    Args:
        path: the manifest one run writes (``out/frames.csv``).
        columns: its columns, in order.
        key: the order one run writes its rows in (the same function the stage sorts with).
        shards: the shard files (default :func:`find_shards` of ``path``).

    Returns:
        The rows written (CSV text values).

    Raises:
        InputError: no shard file, a missing shard, or an item in two shards.
    """
    shards = find_shards(path) if shards is None else list(shards)
    if not shards:
        raise InputError(f"no shard files of {Path(path).name} in {Path(path).parent}")
    rows = [r for p in shards for r in read_csv(p)]
    if key is not None:
        rows.sort(key=key)
    write_csv(path, rows, columns)
    return rows
