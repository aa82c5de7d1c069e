"""Self-blended fake videos (SBI extended to video): identity-preserving fakes made from real videos alone.

Modules, lowest first: :mod:`~dfdetect.synth.track` (per-frame detections -> a steady face track),
:mod:`~dfdetect.synth.sbi` (blend parameters, the mask, one blended frame), :mod:`~dfdetect.synth.video` (clips of
full frames or face crops, consistent or flickering), :mod:`~dfdetect.synth.encode` (THE video writer) and
:mod:`~dfdetect.synth.cli` (``python -m dfdetect synth``).
"""

from dfdetect.synth.cli import META_COLUMNS, NAME_PATTERN, assign_names, main
from dfdetect.synth.encode import (
    BITS_PER_PIXEL,
    ENCODER,
    ENCODER_PRESET,
    MIN_BITRATE,
    PIX_FMT,
    encode_video,
    encoder_options,
)
from dfdetect.synth.sbi import (
    BLEND_RATIOS,
    CANVAS,
    BlendParams,
    blend_mask,
    canvas_mask,
    sample_blend_params,
    self_blend,
)
from dfdetect.synth.track import MAX_GAP, TRACK_SIGMA, FaceLike, FaceTrack, face_arrays, track_faces, true_runs
from dfdetect.synth.video import SynthResult, blend_clip, blend_track, synth_video

__all__ = [
    "BITS_PER_PIXEL", "BLEND_RATIOS", "CANVAS", "ENCODER", "ENCODER_PRESET", "MAX_GAP", "META_COLUMNS", "MIN_BITRATE",
    "NAME_PATTERN", "PIX_FMT", "TRACK_SIGMA", "BlendParams", "FaceLike", "FaceTrack", "SynthResult", "assign_names",
    "blend_clip", "blend_mask", "blend_track", "canvas_mask", "encode_video", "encoder_options", "face_arrays", "main",
    "sample_blend_params", "self_blend", "synth_video", "track_faces", "true_runs",
]
