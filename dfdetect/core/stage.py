"""THE resumable batch stage: what frame extraction, face cropping (videos and images), synthesis and evaluation share.

A batch stage runs over named items (videos, images...) and is resumable and shardable in one way:

1. its part of the inputs: :func:`shard_part` (``--shard K/N``, by a stable hash of the name,
   :mod:`dfdetect.core.shards`);
2. what is done already: :func:`split_done` over a per-item loader, typically :meth:`ItemMarkers.read` (a
   :mod:`dfdetect.core.resume` marker per item, trusted only with the same settings);
3. the rest is processed, each item's marker written last (:meth:`ItemMarkers.write`);
4. its manifests (:class:`Manifest`: a CSV's file name, columns and row order) written whole at the end,
   ``NAME.shard-K-of-N.csv`` for a shard (:func:`write_manifests`), and joined by :func:`merge_manifests` into what
   one run writes.

Example:
    >>> import tempfile
    >>> markers = ItemMarkers(Path(tempfile.mkdtemp()), ".state/{name}.json")
    >>> markers.write("a.mp4", {"size": 224}, {"faces": 3})
    >>> done, todo = split_done(["a.mp4", "b.mp4"], lambda n: markers.read(n, {"size": 224}))
    >>> done, todo, markers.path("a.mp4").relative_to(markers.root).as_posix()
    ([('a.mp4', {'faces': 3})], ['b.mp4'], '.state/a.mp4.json')
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from dfdetect.core.io import write_csv
from dfdetect.core.resume import read_marker, write_marker
from dfdetect.core.shards import Shard, merge_csv_shards, shard_file

log = logging.getLogger(__name__)

T = TypeVar("T")
P = TypeVar("P")


@dataclass(frozen=True)
class ItemMarkers:
    """Where a stage keeps one resume marker per item, and reading and writing them (:mod:`dfdetect.core.resume`).

    Attributes:
        root: the stage's output folder.
        pattern: the marker's path under ``root``, ``{name}`` the item's name: ``"{name}/_done.json"`` (beside a
            video's frames) or ``".state/{name}.json"`` (a state folder).
    """

    root: Path
    pattern: str

    def path(self, name: str) -> Path:
        """The marker file of the item ``name``."""
        return Path(self.root) / self.pattern.format(name=name)

    def read(self, name: str, settings: Any) -> dict[str, Any] | None:
        """The payload of ``name``'s marker when it was written with these ``settings``, else None."""
        return read_marker(self.path(name), settings)

    def write(self, name: str, settings: Any, payload: dict[str, Any]) -> None:
        """Write ``name``'s marker atomically (LAST, after the item's outputs)."""
        write_marker(self.path(name), settings, payload)

    def exists(self, name: str) -> bool:
        """True when ``name`` has a marker, whatever its settings (a changed or failed item: it is redone)."""
        return self.path(name).exists()

    def forget(self, name: str) -> None:
        """Remove ``name``'s marker (before its old outputs are replaced: it must not vouch for a half-done item)."""
        self.path(name).unlink(missing_ok=True)


def shard_part(items: Iterable[T], shard: Shard | None, name: Callable[[T], str] = str,
               what: str | None = None) -> list[T]:
    """The items of ``shard`` (all without one), in their order; ``name`` gives an item's name (hashed for the shard).

    With ``what`` (``"videos"``...), logs ``shard K/N: COUNT WHAT``.

    Example:
        >>> shard_part(["a.mp4", "b.mp4", "c.mp4"], Shard(3, 3)), shard_part(["a.mp4"], None)
        (['a.mp4'], ['a.mp4'])
    """
    if shard is None:
        return list(items)
    part = [it for it in items if shard.holds(name(it))]
    if what is not None:
        log.info("shard %d/%d: %d %s", shard.k, shard.n, len(part), what)
    return part


def split_done(items: Iterable[T], load: Callable[[T], P | None],
               what: str | None = None) -> tuple[list[tuple[T, P]], list[T]]:
    """Split ``items`` into the ones finished in an earlier run (``load`` gives their payload) and the ones to do.

    Args:
        items: the stage's items, in order.
        load: an item's payload when it is done with today's settings (e.g. :meth:`ItemMarkers.read`), else None.
        what: with it (``"videos"``...), logs ``DONE of ALL WHAT done in an earlier run (resuming)`` when any is.

    Returns:
        ``([(item, payload)], [item])``, both in the order of ``items``.
    """
    done: list[tuple[T, P]] = []
    todo: list[T] = []
    items = list(items)
    for it in items:
        payload = load(it)
        if payload is None:
            todo.append(it)
        else:
            done.append((it, payload))
    if done and what is not None:
        log.info("%d of %d %s done in an earlier run (resuming)", len(done), len(items), what)
    return done, todo


@dataclass(frozen=True)
class Manifest:
    """One CSV a stage writes at the end: its file name, columns, and the order of its rows (a sort key; None: as
    given). The same order sorts one run's rows and the merged shards' rows, so both write the same file."""

    file: str
    columns: Sequence[str]
    order: Callable[[dict[str, Any]], Any] | None = None


def write_manifests(folder: str | os.PathLike, shard: Shard | None,
                    tables: Iterable[tuple[Manifest, Iterable[dict[str, Any]]]]) -> list[list[dict[str, Any]]]:
    """Write each ``(manifest, rows)`` into ``folder`` atomically, sorted by its order (``NAME.shard-K-of-N.csv`` for a
    ``shard``). Returns the rows written, sorted, per manifest."""
    written = []
    for manifest, rows in tables:
        rows = list(rows) if manifest.order is None else sorted(rows, key=manifest.order)
        write_csv(shard_file(Path(folder) / manifest.file, shard), rows, manifest.columns)
        written.append(rows)
    return written


def merge_manifests(folder: str | os.PathLike, manifests: Iterable[Manifest]) -> list[list[dict[str, str]]]:
    """Join the ``--shard K/N`` files of each manifest in ``folder`` into the file one run writes, in its order.

    Returns:
        The rows written (CSV text values), per manifest.

    Raises:
        InputError: no shard file, or a shard missing (:func:`dfdetect.core.shards.merge_csv_shards`).
    """
    return [merge_csv_shards(Path(folder) / m.file, m.columns, m.order) for m in manifests]
