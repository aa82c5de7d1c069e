"""Training the clip model: ``python train.py`` (:mod:`~dfdetect.training.cli`).

Modules, lowest first: :mod:`~dfdetect.training.build` (model, freezing, optimiser, schedule, precision, resume),
:mod:`~dfdetect.training.step` (THE training step and clip prediction), :mod:`~dfdetect.training.loop` (the run:
plan -> train -> validate -> record) and :mod:`~dfdetect.training.cli`. Nothing here imports inference.
"""

from dfdetect.training.build import (
    BEST_CHECKPOINT,
    LAST_CHECKPOINT,
    RESUME_FREE_KEYS,
    TrainingState,
    build_training,
    restore_training,
    resume_checkpoint,
    training_extras,
)
from dfdetect.training.cli import get_args_parser, main
from dfdetect.training.loop import (
    AUGMENTATIONS_FILE,
    NothingToTrainError,
    RunFolder,
    adopt_preprocessing,
    selection_key,
    train,
    train_epoch,
    validate,
)
from dfdetect.training.step import predict_batch, predict_clips, train_step

__all__ = [
    "AUGMENTATIONS_FILE", "BEST_CHECKPOINT", "LAST_CHECKPOINT", "RESUME_FREE_KEYS", "NothingToTrainError", "RunFolder",
    "TrainingState", "adopt_preprocessing", "build_training", "get_args_parser", "main", "predict_batch",
    "predict_clips", "restore_training", "resume_checkpoint", "selection_key", "train", "train_epoch",
    "train_step", "training_extras", "validate",
]
