"""Frame extraction: sample frames from videos and decode only those, in one sequential pass.

``sampling``: which frame indices; ``decode``: probe and decode (PyAV); ``extract``: the batch CLI
(``python -m frame_extraction VIDEOS... OUT``).
"""

from frame_extraction.decode import (
    SampledVideo,
    VideoError,
    VideoInfo,
    probe_video,
    read_all_frames,
    read_frames,
    sample_video,
)
from frame_extraction.sampling import sample_indices, video_rng

__all__ = [
    "SampledVideo",
    "VideoError",
    "VideoInfo",
    "probe_video",
    "read_all_frames",
    "read_frames",
    "sample_indices",
    "sample_video",
    "video_rng",
]
