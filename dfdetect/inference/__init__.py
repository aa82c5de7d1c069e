"""Scoring: a raw input to face clips (``prepare``), clips to a score with TTA (``detector``), clip scores to a video
score (``aggregate``), ``eval.py`` (``evaluate``), ``python -m dfdetect score`` (``score_cli``) and the plots.

The path of one input reads top to bottom: ``evaluate -> prepare -> (decode, detect, crop) -> detector -> aggregate``.
"""

from dfdetect.inference.detector import NEUTRAL_SCORE, Detector, PersonScore, VideoScore
from dfdetect.inference.prepare import PreparedVideo

__all__ = ["NEUTRAL_SCORE", "Detector", "PersonScore", "PreparedVideo", "VideoScore"]
