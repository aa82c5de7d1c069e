"""Training crops in WebDataset tar shards, beside the PNG layout: one sample per video, read back with random access.

1.8M small PNG files (DFDC at 15 crops per video) strain file systems and copies; ``python -m dfdetect pack-shards
CROPS/crops.csv SHARDS/`` writes the same crops into ``SHARDS/crops-000000.tar``... (webdataset's ``ShardWriter``,
``--videos-per-shard`` samples each) plus ``SHARDS/shards.json`` (the index, written last) and a copy of the crops'
``settings.json``. A sample is one video's clip material, in WebDataset's format (members sharing a key, here the
sample's number): ``KEY.json`` (``video``, ``label``, ``frames``, ``boxes``, ``landmarks``, ``regions``, ``width``,
``height``: what ``crops.csv`` says) and ``KEY.fNNNNNN.png`` per crop (the PNG bytes as they are: nothing is
re-encoded).

``train.py --data SHARDS/`` reads either layout: :func:`read_training_crops` gives the same
:class:`~dfdetect.data.manifests.VideoCrops` for both, with each crop a :class:`TarMember` (file, offset, size) read by
one seek, so the seeded epoch plan picks any clip and the same seed gives the same batches from both layouts.

Example:
    >>> import tempfile
    >>> from dfdetect.core.io import save_image, write_csv
    >>> from dfdetect.core.schemas import CROPS_COLUMNS
    >>> root = Path(tempfile.mkdtemp())
    >>> save_image(root / "a.mp4" / "000003.png", np.full((8, 8, 3), 9, np.uint8))
    >>> write_csv(root / "crops.csv", [{"video": "a.mp4", "label": 1, "frame": 3, "path": "a.mp4/000003.png",
    ...           "x1": 0, "y1": 0, "x2": 4, "y2": 4, "prob": 1, "landmarks": ""}], CROPS_COLUMNS)
    >>> write_crop_shards(root / "crops.csv", root / "shards")
    1
    >>> video = read_training_crops(root / "shards")["a.mp4"]
    >>> video.label, video.frames, load_member(video.paths[0])[0, 0].tolist()
    (1, [3], [9, 9, 9])
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import webdataset
from tqdm import tqdm

from dfdetect.core.cli import add_verbose, run_cli
from dfdetect.core.io import InputError, decode_image, write_json
from dfdetect.core.schemas import SETTINGS_FILE
from dfdetect.data.manifests import VideoCrops, read_crops_manifest

log = logging.getLogger(__name__)

SHARDS_INDEX = "shards.json"
"""The index of a shards folder (tar files, sample and crop counts): written last, it vouches for the tar files."""
SHARD_PATTERN = "crops-%06d.tar"
VIDEOS_PER_SHARD = 1000
"""Samples (videos) per tar file: 15 crops of 224 px are about 1.5 MB, so about 1.5 GB a shard."""


@dataclass(frozen=True)
class TarMember:
    """One crop inside a tar shard: read with one seek (``load_member``), so any clip can be taken in any order."""

    tar: Path
    offset: int
    size: int
    name: str

    def __str__(self) -> str:
        return f"{self.tar}::{self.name}"

    def read_bytes(self) -> bytes:
        """The member's bytes (the PNG file as written)."""
        with open(self.tar, "rb") as f:
            f.seek(self.offset)
            data = f.read(self.size)
        if len(data) != self.size:
            raise OSError(f"{self}: truncated tar shard")
        return data


def load_member(member: TarMember) -> np.ndarray:
    """A crop of a tar shard as RGB uint8 (H, W, 3); ``OSError`` naming the shard and member when unreadable."""
    return decode_image(member.read_bytes(), str(member))


def _meta(video: VideoCrops) -> dict[str, Any]:
    """The ``KEY.json`` of a video's sample: what its rows of ``crops.csv`` say (NaN as null)."""

    def plain(a: np.ndarray | None) -> Any:
        return None if a is None else np.where(np.isfinite(a), a, np.nan).tolist()

    return {"video": video.video, "label": video.label, "frames": video.frames, "boxes": plain(video.boxes),
            "landmarks": plain(video.landmarks), "regions": plain(video.regions), "width": video.width,
            "height": video.height}


def write_crop_shards(manifest: str | Path, out: str | Path, videos_per_shard: int = VIDEOS_PER_SHARD) -> int:
    """Write a crops manifest's videos into WebDataset tar shards in ``out`` (see the module docstring).

    Args:
        manifest: ``crops.csv`` written by ``python -m face_crop`` (crop files that are missing are left out, as
            training leaves them out).
        out: the shards folder (created; must not hold shards already).
        videos_per_shard: samples per tar file.

    Returns:
        The number of videos written.

    Raises:
        InputError: a malformed manifest, ``videos_per_shard`` < 1, or ``out`` holding shards already.
    """
    if videos_per_shard < 1:
        raise InputError(f"--videos-per-shard must be >= 1, got {videos_per_shard}")
    out = Path(out)
    if (out / SHARDS_INDEX).exists() or any(out.glob("crops-*.tar")):
        raise InputError(f"{out} holds shards already: write them to another folder")
    videos = read_crops_manifest(manifest)
    out.mkdir(parents=True, exist_ok=True)
    n_crops = 0
    with webdataset.ShardWriter(str(out / SHARD_PATTERN), maxcount=videos_per_shard, verbose=0) as sink:
        for i, video in enumerate(tqdm(videos.values(), desc="packing", unit="video")):
            sample: dict[str, Any] = {"__key__": f"{i:08d}", "json": json.dumps(_meta(video)).encode()}
            for frame, path in zip(video.frames, video.paths):
                sample[f"f{frame:06d}.png"] = Path(path).read_bytes()
            n_crops += len(video.frames)
            sink.write(sample)
    settings = Path(manifest).parent / SETTINGS_FILE
    if settings.is_file():  # the preprocessing settings travel with the data (training.loop.adopt_preprocessing)
        shutil.copyfile(settings, out / SETTINGS_FILE)
    tars = sorted(p.name for p in out.glob("crops-*.tar"))
    write_json(out / SHARDS_INDEX, {"format": "webdataset", "shards": tars, "videos": len(videos), "crops": n_crops,
                                    "source": str(Path(manifest).resolve())}, indent=1)
    log.info("wrote %d videos (%d crops) into %d shard(s) in %s", len(videos), n_crops, len(tars), out)
    return len(videos)


def _array(values: Any, shape: tuple[int, ...]) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in np.ravel(x).tolist()] for x in values] if len(values)
                    else np.zeros((0, *shape[1:])), np.float32).reshape(shape)


def read_crop_shards(folder: str | Path) -> dict[str, VideoCrops]:
    """The videos of a shards folder, as :func:`~dfdetect.data.manifests.read_crops_manifest` gives them for PNGs.

    Args:
        folder: a folder written by :func:`write_crop_shards` (or its ``shards.json``).

    Returns:
        ``{video: VideoCrops}`` sorted by video name, each crop a :class:`TarMember`.

    Raises:
        InputError: no index, a shard file listed and missing, a sample without its JSON.
    """
    folder = Path(folder)
    folder = folder.parent if folder.name == SHARDS_INDEX else folder
    try:
        index = json.loads((folder / SHARDS_INDEX).read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"{folder}: not a shards folder ({SHARDS_INDEX}: {e})") from None
    videos: dict[str, VideoCrops] = {}
    for name in index["shards"]:
        path = folder / name
        samples: dict[str, dict[str, Any]] = {}
        try:
            with tarfile.open(path) as tar:
                for m in tar:
                    if not m.isfile():
                        continue
                    key, _, ext = m.name.partition(".")
                    entry = samples.setdefault(key, {"crops": {}})
                    if ext == "json":
                        entry["meta"] = json.loads(tar.extractfile(m).read())
                    elif ext.startswith("f"):
                        entry["crops"][int(ext[1:].split(".")[0])] = TarMember(path, m.offset_data, m.size, m.name)
        except (OSError, tarfile.TarError) as e:
            raise InputError(f"{path}: unreadable shard ({e})") from None
        for key, entry in samples.items():
            meta = entry.get("meta")
            if meta is None:
                raise InputError(f"{path}: sample {key} has no {key}.json")
            frames = [int(f) for f in meta["frames"]]
            n = len(frames)
            regions = _array(meta["regions"], (n, 4)) if meta.get("regions") is not None else None
            videos[meta["video"]] = VideoCrops(
                video=meta["video"], label=meta["label"], frames=frames,
                paths=[entry["crops"][f] for f in frames],
                boxes=_array(meta["boxes"], (n, 4)), landmarks=_array(meta["landmarks"], (n, 5, 2)),
                width=meta.get("width"), height=meta.get("height"), regions=regions)
    return {v: videos[v] for v in sorted(videos)}


def is_shards(path: str | Path) -> bool:
    """``path`` is a shards folder or its ``shards.json``."""
    p = Path(path)
    return (p / SHARDS_INDEX).is_file() or (p.name == SHARDS_INDEX and p.is_file())


def read_training_crops(path: str | Path) -> dict[str, VideoCrops]:
    """The training videos of either layout: a shards folder (:func:`read_crop_shards`) or a ``crops.csv``."""
    return read_crop_shards(path) if is_shards(path) else read_crops_manifest(path)


def get_args_parser() -> argparse.ArgumentParser:
    """The ``pack-shards`` command line."""
    p = argparse.ArgumentParser(prog="python -m dfdetect pack-shards",
                                description="Write a crops manifest's face crops into WebDataset tar shards "
                                "(one sample per video) that train.py --data reads like the PNG folder.")
    p.add_argument("manifest", help="crops.csv written by python -m face_crop")
    p.add_argument("out", help="shards folder (crops-000000.tar..., shards.json)")
    p.add_argument("--videos-per-shard", type=int, default=VIDEOS_PER_SHARD,
                   help=f"samples per tar file (default {VIDEOS_PER_SHARD})")
    add_verbose(p)
    return p


def main(argv: list[str] | None = None) -> int:
    """CLI: 0 written, 2 malformed input (one-line message)."""
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    """The body of :func:`main` (after the arguments and the logging setup)."""
    write_crop_shards(args.manifest, args.out, args.videos_per_shard)
    return 0
