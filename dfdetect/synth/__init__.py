"""Self-made fakes: a family of identity-preserving fake generators made from real videos alone.

Generators (:data:`GENERATORS`, :mod:`~dfdetect.synth.registry`): ``sbi`` (self-blended images, SBI's magnitudes,
dense-landmark masks), ``temporal`` (blend parameters drifting per frame), ``resample`` (a lossy re-rendering of the
face), ``selfswap`` (the same person's face from another moment), and five fakes that exist only in time
(:mod:`~dfdetect.synth.motion`): ``mouthretime`` (lip-sync: the mouth from other frames), ``eyefreeze`` (no blinking),
``facejitter`` (the face shaking against the head), ``facewarp`` (the features boiling from frame to frame, no
seam), ``timeblend`` (the generic one: a random region retimed, moved or bent per frame). Modules, lowest first:
:mod:`~dfdetect.synth.track`
(per-frame detections -> a steady face track), :mod:`~dfdetect.synth.base` (the generators' inputs and outputs),
:mod:`~dfdetect.synth.landmarks` (468 dense landmarks, five-point fallback),
:mod:`~dfdetect.synth.sbi` (blend parameters, the mask, one blended frame), :mod:`~dfdetect.synth.temporal`,
:mod:`~dfdetect.synth.resample`, :mod:`~dfdetect.synth.selfswap`, :mod:`~dfdetect.synth.registry` (THE entry point:
``generate(name, images, faces, rng)`` on a clip of full frames or of face crops alike),
:mod:`~dfdetect.synth.encode` (THE video writer) and :mod:`~dfdetect.synth.cli` (``python -m dfdetect synth``).
Audio-visual fakes (:data:`AUDIO_GENERATORS`, :mod:`~dfdetect.synth.audio`): ``avshift``, ``avmoment``, ``splice``,
``vocoder`` replace a clip's audio by the same person's (``generate_audio``); a visual generator's twin keeps its real
audio. :data:`SOUND_GENERATORS` (``splice``, ``vocoder``) are fakes by their sound alone.
"""

from dfdetect.synth.audio import AUDIO_GENERATORS, SOUND_GENERATORS, AudioGenerator, GeneratedAudio, generate_audio
from dfdetect.synth.base import Clip, Donors, Edit, Face, Generated, Plan, clip_faces
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
from dfdetect.synth.landmarks import LandmarkModelError, dense_faces, load_landmarker
from dfdetect.synth.registry import (
    GENERATORS,
    SINGLE_IMAGE_GENERATORS,
    TIME_ONLY,
    Generator,
    draw_method,
    generate,
    parse_mix,
)
from dfdetect.synth.sbi import (
    BLEND_RATIOS,
    CANVAS,
    BlendParams,
    blend_mask,
    blend_region,
    blend_with_mask,
    canvas_mask,
    sample_blend_params,
    self_blend,
)
from dfdetect.synth.track import MAX_GAP, TRACK_SIGMA, FaceLike, FaceTrack, face_arrays, track_faces, true_runs

__all__ = [
    "AUDIO_GENERATORS",
    "SOUND_GENERATORS",
    "AudioGenerator",
    "GeneratedAudio",
    "generate_audio",
    "GENERATORS", "SINGLE_IMAGE_GENERATORS", "TIME_ONLY", "Clip", "Donors", "Edit", "Face", "Generated", "Generator",
    "LandmarkModelError", "Plan", "blend_region", "blend_with_mask", "clip_faces",
    "dense_faces", "draw_method", "generate", "load_landmarker", "parse_mix",
    "BITS_PER_PIXEL", "BLEND_RATIOS", "CANVAS", "ENCODER", "ENCODER_PRESET", "MAX_GAP", "META_COLUMNS", "MIN_BITRATE",
    "NAME_PATTERN", "PIX_FMT", "TRACK_SIGMA", "BlendParams", "FaceLike", "FaceTrack", "assign_names", "blend_mask",
    "canvas_mask", "encode_video", "encoder_options", "face_arrays", "main", "sample_blend_params", "self_blend",
    "track_faces", "true_runs",
]
