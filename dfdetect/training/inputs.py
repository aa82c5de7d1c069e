"""What ``train.py`` trains on: a face-crop manifest as it is, or a folder of images (the image track), cropped first
into the run folder by :func:`face_crop.images.run_image_crops` (THE image crop, the one inference uses).

``--data`` (and ``--val``) may be:

- a ``crops.csv`` (or a folder holding one) written by ``python -m face_crop``, from videos' frames or from images;
- a folder of images (no ``crops.csv``, no ``frames.csv`` in it) with ``--labels img_name,target``: its faces are
  cropped into ``OUT/crops/`` (``OUT/val_crops/`` for ``--val``), resumably, with the config's margin, size and
  minimum face size, and training reads ``OUT/crops/crops.csv``; ``OUT/crops/images.csv`` names every image and why
  one was left out.

Crops made from images train a frame model only (``model.kind: frame``); :func:`dfdetect.data.from_images` tells them
apart by the ``settings.json`` beside the manifest.

Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> is_image_folder(folder), crops_source(folder / "crops.csv")
    (True, 'videos')
"""

from __future__ import annotations

import logging
from pathlib import Path

from dfdetect.core.config import Config
from dfdetect.core.io import InputError, collect_files, read_labels
from dfdetect.core.runtime import resolve_device
from dfdetect.data import SHARDS_INDEX, crops_source, from_images, is_shards
from face_crop.detect import FaceDetector
from face_crop.images import CROPS_FILE, run_image_crops

log = logging.getLogger(__name__)

IMAGE_CROPS_DIR = "crops"
"""Where a run folder keeps the crops of a ``--data`` folder of images."""
IMAGE_VAL_CROPS_DIR = "val_crops"
"""... and those of a ``--val`` folder of images."""


def is_image_folder(path: str | Path) -> bool:
    """A folder that is neither a crops folder (``crops.csv``) nor frame_extraction's output (``frames.csv``)."""
    p = Path(path)
    return p.is_dir() and not (p / CROPS_FILE).is_file() and not (p / "frames.csv").is_file() and not is_shards(p)


def manifest_path(path: str | Path) -> Path:
    """``crops.csv`` itself, the ``crops.csv`` of a crops folder, or the ``shards.json`` of a shards folder
    (:mod:`dfdetect.data.shards`).

    Example:
        >>> manifest_path("runs/x/crops.csv").as_posix()
        'runs/x/crops.csv'
    """
    p = Path(path)
    if p.is_dir() and is_shards(p):
        return p / SHARDS_INDEX
    return p / CROPS_FILE if p.is_dir() else p


def _crop_folder(folder: Path, labels: dict[str, int], crops_dir: Path, cfg: Config) -> Path:
    detector = FaceDetector.from_config(cfg.data.detector, device=str(resolve_device(cfg.train.device)))
    names = {f.name for f in collect_files([folder])}
    summary = run_image_crops(folder, crops_dir, detector, labels={n: y for n, y in labels.items() if n in names},
                              margin=cfg.data.margin, size=cfg.data.size, min_face_size=cfg.data.min_face_size)
    if summary.ok == 0:
        raise InputError(f"{folder}: no image gave a face crop (reasons in {crops_dir / 'images.csv'})")
    return crops_dir / CROPS_FILE


def training_inputs(cfg: Config, data: str | Path, val: str | Path | None, labels: str | Path | None,
                    out: str | Path) -> tuple[Path, Path | None]:
    """The crops manifests training reads: given ones as they are, folders of images cropped into ``out`` first.

    Args:
        cfg: the resolved config (``data.margin``, ``data.size``, ``data.min_face_size`` for image crops).
        data: a crops manifest or crops folder, or a folder of images.
        val: the same for a separate validation set, or None.
        labels: ``img_name,target`` labels of the image folders (required for them; not used for manifests).
        out: the run folder.

    Returns:
        ``(training manifest, validation manifest or None)``.

    Raises:
        InputError: a folder of images without ``labels``, ``labels`` with crop manifests only, a folder where no
            image gave a face crop.
    """
    out = Path(out)
    folders = [p for p in (data, val) if p is not None and is_image_folder(p)]
    if folders and labels is None:
        raise InputError(f"{folders[0]} is a folder of images: give its labels with --labels (img_name,target)")
    if labels is not None and not folders:
        raise InputError("--labels is for a folder of images; a crops manifest carries its labels")
    names = read_labels(labels) if labels is not None else {}
    listed = {f.name for folder in folders for f in collect_files([folder])}
    unmatched = sorted(set(names) - listed)
    if unmatched:
        log.warning("%d labelled name(s) match no image of %s and are ignored, e.g. %r", len(unmatched),
                    " or ".join(str(f) for f in folders), unmatched[0])
    manifests = []
    for path, sub in ((data, IMAGE_CROPS_DIR), (val, IMAGE_VAL_CROPS_DIR)):
        if path is None:
            manifests.append(None)
        elif is_image_folder(path):
            log.info("%s: a folder of images; cropping its faces into %s", path, out / sub)
            manifests.append(_crop_folder(Path(path), names, out / sub, cfg))
        else:
            manifests.append(manifest_path(path))
    return manifests[0], manifests[1]


__all__ = ["IMAGE_CROPS_DIR", "IMAGE_VAL_CROPS_DIR", "crops_source", "from_images", "is_image_folder", "manifest_path",
           "training_inputs"]
