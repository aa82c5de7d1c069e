"""Training data, from the face-crop manifest to batches of clips ``(B, T, C, H, W)``.

Modules, lowest first: :mod:`~dfdetect.data.manifests` (``crops.csv`` and split files), :mod:`~dfdetect.data.splits`
(train/val by video), :mod:`~dfdetect.data.transforms` (a stored crop read back), :mod:`~dfdetect.data.augmentation` (clip-consistent training augmentation),
:mod:`~dfdetect.data.dataset` (the seeded epoch plan and the dataset that executes it) and :mod:`~dfdetect.data.grid`
(pictures of what the model sees). Which crops form a clip and THE eval-time transform are
:mod:`dfdetect.clips`'s, shared with scoring (handed on here).
"""

from dfdetect.clips.transforms import TTA_VIEWS, from_tensor_clip, to_tensor_clip, view_transform
from dfdetect.clips.windows import clip_windows, random_window
from dfdetect.data.augmentation import augment_clip, build_clip_augmentation, seed_augmentation
from dfdetect.data.dataset import (
    SINGLE_IMAGE_GENERATORS,
    ClipDataset,
    ClipSpec,
    check_frame_methods,
    clip_geometry,
    draws_labelled_fakes,
    epoch_plan,
    rank_batches,
    val_plan,
    video_scores,
)
from dfdetect.data.grid import CELL_INCHES, DPI, TITLE_INCHES, clip_title, render_clips, save_clip_grid, training_clips
from dfdetect.data.manifests import VideoCrops, crops_source, from_images, read_crops_manifest, read_split
from dfdetect.data.shards import SHARDS_INDEX, TarMember, is_shards, read_training_crops, write_crop_shards
from dfdetect.data.splits import DataSplit, prepare_data, split_videos
from dfdetect.data.transforms import load_crop

__all__ = [
    "SINGLE_IMAGE_GENERATORS", "TTA_VIEWS", "check_frame_methods", "crops_source", "from_images", "view_transform",
    "CELL_INCHES", "DPI", "TITLE_INCHES", "ClipDataset", "ClipSpec", "DataSplit", "VideoCrops", "augment_clip",
    "build_clip_augmentation", "clip_geometry", "clip_title", "draws_labelled_fakes", "clip_windows", "epoch_plan",
    "from_tensor_clip",
    "load_crop", "prepare_data", "random_window", "read_crops_manifest", "read_split", "render_clips",
    "save_clip_grid", "seed_augmentation", "split_videos", "to_tensor_clip", "training_clips", "val_plan",
    "video_scores", "rank_batches", "SHARDS_INDEX", "TarMember", "is_shards", "read_training_crops",
    "write_crop_shards",
]
