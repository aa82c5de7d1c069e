"""Frame extraction: sample frames from videos and decode only those, in one sequential pass.

``sampling``: which frame indices (training clips, linspace, evaluation windows); ``decode``: scan and decode
(PyAV); ``extract``: the batch work (``OUT/<video>/<frame>.png``, ``frames.csv``, ``videos.csv``, resume);
``cli``: ``python -m frame_extraction VIDEOS... OUT``; ``audio``: a file's audio track, mono at a fixed rate on the
container's clock, and the audio window of a clip of frames; ``melspec``: THE log-mel spectrogram (``torch.stft``).
"""

from frame_extraction.audio import Audio, AudioError, clip_window, decode_audio, frame_times, has_audio
from frame_extraction.decode import (
    SampledVideo,
    VideoError,
    VideoInfo,
    VideoScan,
    probe_video,
    read_all_frames,
    read_frames,
    sample_video,
    scan_video,
)
from frame_extraction.extract import ExtractOptions, ExtractResult, extract_videos
from frame_extraction.melspec import data_log_mel, log_mel, mel_filterbank
from frame_extraction.sampling import MODES, eval_windows, evenly_spaced, sample_indices, video_rng

__all__ = [
    "MODES",
    "Audio",
    "AudioError",
    "clip_window",
    "data_log_mel",
    "decode_audio",
    "frame_times",
    "has_audio",
    "log_mel",
    "mel_filterbank",
    "ExtractOptions",
    "ExtractResult",
    "SampledVideo",
    "VideoError",
    "VideoInfo",
    "VideoScan",
    "eval_windows",
    "evenly_spaced",
    "extract_videos",
    "probe_video",
    "read_all_frames",
    "read_frames",
    "sample_indices",
    "sample_video",
    "scan_video",
    "video_rng",
]
