"""A partial fake is found (issue 26, point 3): 30 s of real footage (the first 30 s of franck.mp4) with one 4 s
stretch whose face is replaced by a self-made fake (``synth`` ``resample``: the face re-rendered through a lossy path,
landmark-free), scored through THE scoring path (:class:`dfdetect.inference.Detector`: windows over the whole video
by default, face detection, crops, per-window scores, ``fake_segments``).

The model is a stand-in that measures something real: the sharpness of the face in the crop (the log-variance of the
Laplacian of the crop's central part, the face without the margin's hair and background, which ``resample`` leaves
alone: generators render faces at a low resolution and paste them back), turned into P(fake) by a
one-dimensional logistic fitted IN the test on other footage of the same video (real crops from 150-160 s against
``resample`` fakes of them, through the same encoder and crop): nothing in it knows where the stretch is.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from dfdetect.core.config import Config, DataConfig
from dfdetect.core.schemas import ScoreStatus
from dfdetect.inference import Detector
from dfdetect.inference.aggregate import aggregate_scores
from dfdetect.synth.encode import encode_video
from dfdetect.synth.registry import generate
from face_crop.detect import FaceDetector
from face_crop.pipeline import crop_faces
from frame_extraction.decode import read_frames

FPS = 24.0
SECONDS = 30
FAKE_FROM_S, FAKE_TO_S = 12.0, 16.0  # the manipulated stretch
WINDOW_EVERY_S = 2.0
SIZE = 112  # crop side (smaller than the default 224: the test's speed; the statistic does not need more)


FACE = (0.3, 0.7)
"""The part of the crop's side measured: the face's middle (the crop adds a 0.3 margin on each side of the box)."""


def laplacian_log_var(clips: torch.Tensor) -> torch.Tensor:
    """Sharpness of the face in each clip: log of the variance of the Laplacian of the grey crops' central part
    (:data:`FACE`), averaged over T.

    Args:
        clips: (B, T, 3, H, W) floats in [0, 1].

    Returns:
        (B,) float.
    """
    h, w = clips.shape[-2:]
    clips = clips[..., int(h * FACE[0]) : int(h * FACE[1]), int(w * FACE[0]) : int(w * FACE[1])]  # the face
    grey = clips.mean(dim=2).flatten(0, 1).unsqueeze(1)  # (B*T, 1, h, w)
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3)
    lap = torch.nn.functional.conv2d(grey, kernel)  # (B*T, 1, H-2, W-2)
    var = lap.flatten(1).var(dim=1).clamp_min(1e-12)  # (B*T,)
    return var.log().unflatten(0, clips.shape[:2]).mean(dim=1)  # (B,)


class SharpnessScorer(torch.nn.Module):
    """P(fake) = sigmoid(gain * (centre - sharpness)): a 1-D logistic on :func:`laplacian_log_var`, with the
    interface :class:`~dfdetect.inference.Detector` runs (``mean``/``std`` of the input normalisation, ``kind``,
    ``probability``)."""

    kind = "video"
    modalities = "video"
    mean = (0.0, 0.0, 0.0)  # the clip tensor stays in [0, 1]
    std = (1.0, 1.0, 1.0)

    def __init__(self, centre: float, gain: float) -> None:
        super().__init__()
        self.centre, self.gain = centre, gain

    def forward(self, clips: torch.Tensor) -> torch.Tensor:  # (B, T, 3, H, W) -> (B,) logits
        return self.gain * (self.centre - laplacian_log_var(clips))

    def probability(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits)


def _boxes(detector: FaceDetector, frames: list[np.ndarray]) -> list:
    """A face per frame for the generator: the main face found every 8th frame, the nearest one in between."""
    keys = list(range(0, len(frames), 8))
    found = detector.detect_all([frames[k] for k in keys])
    boxes = {k: (np.asarray(f[0].box, np.float64), None) for k, f in zip(keys, found) if f}
    assert boxes, "no face found in the footage"
    return [boxes[min(boxes, key=lambda k: abs(k - t))] for t in range(len(frames))]


def _fake(detector: FaceDetector, frames: list[np.ndarray], seed: int) -> list[np.ndarray]:
    out = generate("resample", frames, _boxes(detector, frames), np.random.default_rng(seed))
    assert all(out.manipulated)
    return out.frames


def _encoded(frames: list[np.ndarray], path: Path) -> list[np.ndarray]:
    """The frames after THE video writer and a decode (the compression the scored video goes through)."""
    encode_video(path, frames, FPS)
    return list(read_frames(path, range(len(frames))).values())


def _fit(detector: FaceDetector, footage: list[np.ndarray], d: DataConfig, tmp: Path) -> SharpnessScorer:
    """The 1-D logistic fitted on real crops of ``footage`` against resample fakes of them (same encoder, same crop):
    centre halfway between the two classes' mean sharpness, gain so that their means sit at P = 0.1 and 0.9."""
    real = _encoded(footage, tmp / "fit_real.mp4")
    fake = _encoded(_fake(detector, footage, seed=1), tmp / "fit_fake.mp4")
    stats = []
    for frames in (real, fake):
        crops = [c for c, _ in crop_faces(frames, detector, d.margin, d.size) if c is not None]
        x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float().div(255).unsqueeze(1)  # (N, 1, 3, S, S)
        stats.append(laplacian_log_var(x).mean().item())
    s_real, s_fake = stats
    assert s_real > s_fake + 0.3, f"resample must lower the sharpness: real {s_real:.2f}, fake {s_fake:.2f}"
    return SharpnessScorer(centre=(s_real + s_fake) / 2, gain=2 * math.log(9) / (s_real - s_fake))


def test_a_short_fake_stretch_in_a_long_real_video_is_found(samples_dir: Path, tmp_path: Path,
                                                            one_torch_thread: None) -> None:
    source = samples_dir / "franck.mp4"  # 200 s at 24 fps, one face
    n = int(SECONDS * FPS)
    frames = list(read_frames(source, range(n)).values())  # the first 30 s, RGB (288, 360, 3)
    assert len(frames) == n
    cfg = Config()
    cfg.data.size = SIZE
    detector = FaceDetector.from_config(cfg.data.detector, device="cpu")

    # THE VIDEO: real footage, the stretch [12 s, 16 s) replaced by its resample fake, through THE video writer.
    a, b = int(FAKE_FROM_S * FPS), int(FAKE_TO_S * FPS)
    frames[a:b] = _fake(detector, frames[a:b], seed=0)
    video = encode_video(tmp_path / "partial_fake.mp4", frames, FPS)
    del frames

    # THE MODEL: fitted on other footage of the video (150-160 s, every 4th frame), never on the scored clip.
    footage = list(read_frames(source, range(int(150 * FPS), int(160 * FPS), 4)).values())
    model = _fit(detector, footage, cfg.data, tmp_path)

    det = Detector(model, cfg, face_detector=detector, window_every=WINDOW_EVERY_S)  # clips not given: coverage
    (r,) = det.predict([video])
    assert r.status == ScoreStatus.OK, r.reason

    # Coverage: the whole video, one window every ~2 s (not today's one window at its start).
    assert r.duration_s == pytest.approx(SECONDS, abs=0.1)
    assert r.windows == math.ceil(SECONDS / WINDOW_EVERY_S) == len(r.window_times)
    assert r.window_times[0][0] == 0.0 and r.window_times[-1][1] == pytest.approx(SECONDS, abs=0.1)
    assert 0 < r.covered_s < r.duration_s

    # Where: the windows inside the stretch score above every window outside it.
    inside = [s for (s0, s1), s in zip(r.window_times, r.window_scores) if s0 >= FAKE_FROM_S and s1 <= FAKE_TO_S]
    outside = [s for (s0, s1), s in zip(r.window_times, r.window_scores) if s1 <= FAKE_FROM_S or s0 >= FAKE_TO_S]
    assert len(inside) >= 1 and len(inside) + len(outside) >= r.windows - 2
    assert min(inside) > max(outside), (r.window_times, r.window_scores)
    # ... and fake_segments (windows at or above the 0.5 threshold, merged) overlap the stretch.
    assert r.fake_segments and any(s0 < FAKE_TO_S and s1 > FAKE_FROM_S for s0, s1, _ in r.fake_segments)
    assert all(peak >= 0.5 for _, _, peak in r.fake_segments)
    (peak,) = [p for s0, s1, p in r.fake_segments if s0 < FAKE_TO_S and s1 > FAKE_FROM_S]
    assert peak == max(inside)  # the segment's peak is in the stretch

    # The aggregations measured on this video (what the README reports): the mean drowns the stretch, the top-k
    # windows (the default) do not.
    mean, topk = aggregate_scores(r.clip_scores, "mean"), aggregate_scores(r.clip_scores, "topk")
    confident = aggregate_scores(r.clip_scores, "confident")
    print(f"partial fake ({len(inside)} of {r.windows} windows in the stretch): mean {mean:.3f}, topk {topk:.3f}, "
          f"confident {confident:.3f}; inside {np.round(inside, 3).tolist()}, outside max {max(outside):.3f}")
    assert r.score == pytest.approx(topk)  # the default aggregation: the top 3 windows
    assert topk > mean
