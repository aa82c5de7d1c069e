"""What the project's files look like: every CSV's columns, the side-file names, and the status vocabularies.

One place, so a writer and its readers cannot disagree (``face_crop`` writes ``crops.csv``, ``train.py`` and
``eval.py`` read it). Statuses are ``str`` enums: they compare equal to their text and are written to CSV and JSON
as their value.

Example:
    >>> VideoStatus.OK == "ok", ScoreStatus("no_face").value
    (True, 'no_face')
"""

from __future__ import annotations

from enum import Enum

# --- user-facing CSVs --------------------------------------------------------------------------------------------
LABELS_COLUMNS = ("video_name", "target")
"""Labels: ``video_name,target`` (1 = fake)."""
IMAGE_LABELS_COLUMNS = ("img_name", "target")
"""Labels of the image track (the challenge's FFDI format): ``img_name,target`` (1 = fake). Every reader of labels and
split files takes either name column."""
METHOD_COLUMN = "method"
"""Optional labels column naming each fake's manipulation method (``Deepfakes``, ``sbi``...; empty for reals):
``eval.py`` then reports the metrics of every method against all the reals."""
SPLIT_COLUMNS = ("video_name", "split")
"""Split file: ``video_name,split`` with split in :data:`SPLITS`."""
SPLITS = ("train", "val", "test")
DATASET_LABELS_COLUMNS = (*LABELS_COLUMNS, METHOD_COLUMN, "source", "original", "group")
"""Labels written by ``python -m dfdetect dataset``: ``video_name`` (a unique name: the symlink in ``OUT/<split>/``),
``target``, ``method`` (the fake's manipulation method; empty for reals), ``source`` (the file, relative to the data
set's root), ``original`` (for a fake, the ``video_name`` of the real video it was made from, when the data set says),
``group`` (the identity group the split keeps together). Readers of labels ignore the extra columns."""
DATASET_SUMMARY_FILE = "summary.json"
"""Beside the labels written by ``python -m dfdetect dataset``: counts per class, method and split, and every file
of the data set that could not be placed, with the reason."""
IMAGE_SPLIT_COLUMNS = ("img_name", "split")
"""Split file of the image track: ``img_name,split``."""
PREDICTION_COLUMNS = ("video_name", "score")
"""``predictions.csv`` (the challenge format): score = P(fake)."""
IMAGE_PREDICTION_COLUMNS = ("img_name", "score")
"""``predictions.csv`` of the image track (the challenge's FFDI format): score = P(fake)."""
STATUS_COLUMNS = ("video_name", "score", "status", "reason", "faces", "sampled", "clip_scores", "source", "windows",
                  "covered_s", "duration_s", "fake_segments", "window_scores", "persons", "person_scores",
                  "person_boxes")
"""``predictions_status.csv``: why a video got its score, and eval's resume state; how much of it was looked at
(``windows`` scored, spanning ``covered_s`` of its ``duration_s`` seconds) and where it looks fake
(``fake_segments``: ``"START-END:PEAK"`` per run of windows at or above the threshold, space-separated;
``window_scores``: ``"START-END:SCORE"`` per window, the rows of ``predictions_windows.csv``; seconds, see
:func:`format_spans`); every person scored (``persons``: how many; ``person_scores``: ``"START-END:SCORE"`` per
person, in person order, the score being the highest of them; ``person_boxes``: each one's mean face box,
:func:`format_boxes`). The clip, window and segment columns are those of the person with the highest score."""
WINDOW_COLUMNS = ("video_name", "window", "start_s", "end_s", "score")
"""``predictions_windows.csv`` (beside ``predictions_status.csv``): each scored window of each video, its start and
end in seconds and its P(fake) (the mean of its clips); ``img_name`` first for the image track."""


def format_spans(spans: list[tuple[float, float, float]] | list[tuple[float, float]], scores: list[float] | None = None,
                 ) -> str:
    """Time spans with a score as one CSV cell: ``"START-END:SCORE"`` (seconds to 3 decimals, the score to 6),
    space-separated; :func:`parse_spans` reads it back.

    Args:
        spans: ``(start_s, end_s, score)`` triples, or ``(start_s, end_s)`` pairs with ``scores`` beside.
        scores: the scores of pairs.

    Example:
        >>> format_spans([(4.0, 9.5, 0.9)]), format_spans([(0, 1), (2, 3)], [0.25, 0.5])
        ('4.000-9.500:0.900000', '0.000-1.000:0.250000 2.000-3.000:0.500000')
    """
    triples = [(a, b, s) for (a, b), s in zip(spans, scores)] if scores is not None else spans
    return " ".join(f"{a:.3f}-{b:.3f}:{s:.6f}" for a, b, s in triples)


def parse_spans(text: str) -> list[tuple[float, float, float]]:
    """The ``(start_s, end_s, score)`` triples of a :func:`format_spans` cell ("" gives none).

    Example:
        >>> parse_spans("4.000-9.500:0.900000 10.000-11.000:0.700000")
        [(4.0, 9.5, 0.9), (10.0, 11.0, 0.7)]
    """
    out = []
    for token in (text or "").split():
        span, score = token.rsplit(":", 1)
        start, end = span.split("-", 1)
        out.append((float(start), float(end), float(score)))
    return out
def format_boxes(boxes: list[tuple[float, float, float, float] | None]) -> str:
    """Face boxes as one CSV cell: ``"X1,Y1,X2,Y2"`` (full-frame pixels, rounded) per box, space-separated; ``-`` for
    a box that is not known (an image, crops read from a manifest).

    Example:
        >>> format_boxes([(221.4, 85.0, 371.2, 296.6), None])
        '221,85,371,297 -'
    """
    return " ".join("-" if b is None else ",".join(f"{v:.0f}" for v in b) for b in boxes)


IMAGE_STATUS_COLUMNS = (IMAGE_LABELS_COLUMNS[0], *STATUS_COLUMNS[1:])
"""``predictions_status.csv`` of the image track: the same columns, named by ``img_name``."""

# --- stage manifests ---------------------------------------------------------------------------------------------
FRAMES_COLUMNS = ("video", "label", "frame", "path", "width", "height")
"""``frames.csv`` written by ``frame_extraction``, read by ``face_crop``."""
VIDEOS_COLUMNS = ("video", "label", "status", "reason", "num_frames", "fps", "width", "height", "sampled")
"""``videos.csv`` written by ``frame_extraction``: one row per input."""
CROPS_COLUMNS = (
    "video", "label", "frame", "path", "x1", "y1", "x2", "y2", "prob", "landmarks", "width", "height", "region",
)
"""``crops.csv`` written by ``face_crop`` (for a folder of images: ``video`` is the image's name, ``frame`` 0).
``region`` is the square cut from the frame, ``"x1 y1 x2 y2"`` (integers, x2/y2 exclusive): what
:func:`face_crop.crop.expand_box` gave, or the whole image for an image that is already a face crop."""
CROPS_REQUIRED = CROPS_COLUMNS[:10]
"""The columns a crops manifest must have (``width``/``height``/``region`` are optional, for manifests made by other
tools or before they existed)."""
IMAGES_COLUMNS = ("img_name", "label", "status", "reason", "faces", "tight", "coverage", "width", "height")
"""``images.csv`` written by ``face_crop`` for a folder of images: one row per input image (cropped, used as a face
crop already (``tight``), or skipped with the reason), ``coverage`` = the share of the image the crop region covers."""
REJECTS_COLUMNS = ("video", "label", "faces", "reason")
"""``rejects.csv`` written by ``face_crop``: videos left out (never deleted) and why."""
TRAIN_METRICS_COLUMNS = (
    "epoch", "train_loss", "val_auc", "val_log_loss", "val_accuracy", "seconds", "n_train_real", "n_train_fake",
    "n_train_synth", "lr",
)
"""``metrics.csv`` of a training run: a line per epoch."""
VAL_PREDICTION_COLUMNS = ("video_name", "label", "score")
"""``val_predictions.csv`` of a training run."""

# --- side files ----------------------------------------------------------------------------------------------------
SETTINGS_FILE = "settings.json"
"""Beside ``frames.csv`` and ``crops.csv``: the settings the stage ran with (they travel into the checkpoint)."""
STATE_DIR = ".state"
"""Per-item resume markers of a stage (inside its output folder)."""


class Status(str, Enum):
    """A status written to CSV/JSON as its value (``str`` mixin: ``Status.X == "x"``)."""

    def __str__(self) -> str:
        return self.value

    __format__ = str.__format__


class VideoStatus(Status):
    """A video's row in ``frame_extraction``'s ``videos.csv``."""

    OK = "ok"
    SHORT = "short"  # fewer frames than asked for
    SKIPPED = "skipped"  # unreadable, unlabelled, missing, duplicate name: the reason says which
    EXCLUDED = "excluded"  # left out by --balance


class CropStatus(Status):
    """A video's resume marker in ``face_crop``."""

    OK = "ok"
    REJECTED = "rejected"  # fewer faces than min_faces: recorded in rejects.csv
    ERROR = "error"  # an unexpected failure: recorded in rejects.csv and tried again by the next run


class ScoreStatus(Status):
    """An input's status in ``predictions_status.csv`` (and :class:`dfdetect.inference.VideoScore`)."""

    OK = "ok"
    UNREADABLE = "unreadable"  # not a readable video/image
    NO_FACE = "no_face"
    TOO_FEW_FACES = "too_few_faces"
    REJECTED = "rejected"  # listed in a crop manifest's rejects.csv
    NO_AUDIO = "no_audio"  # an audio model's input without an audio track
    ERROR = "error"  # an unexpected failure on this input (logged); tried again by a resumed run


class RunStatus(Status):
    """A training run's state in ``run.json``."""

    RUNNING = "running"
    DONE = "done"  # every epoch trained
    STOPPED = "stopped"  # stopped early (``stop_after``); continue with --resume


class ItemStatus(Status):
    """A row of the synth and demo-data tables (``meta.csv``, ``sources.csv``)."""

    OK = "ok"
    USED = "used"
    SKIPPED = "skipped"
    EXCLUDED = "excluded"
