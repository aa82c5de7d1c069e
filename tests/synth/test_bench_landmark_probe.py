"""bench/landmark_probe.py's trajectory features on a real clip (24 frames of single_face.mp4): the landmarks of a
face that shakes or boils against its head (facejitter, facewarp) jerk more than the real face's do, once the head's
own motion is removed (LRNet's cue, Sun et al. CVPR 2021)."""

from __future__ import annotations

import numpy as np

from bench.landmark_probe import clip_landmarks
from dfdetect.clips.landmarks import REGIONS, clip_features, trajectory_features
from dfdetect.synth import generate
from face_crop import mesh
from face_crop.crop import crop_face

INNER_JERK = 4 * len(REGIONS) + 1  # the whole inner face's block follows the regions' (speed, jerk, ratio, centre)


def test_a_shaking_or_boiling_face_jerks_more_than_the_real_one(clip):
    frames, faces = clip
    given = [(f.box, f.landmarks) for f in faces]
    width = float(np.mean([f.box[2] - f.box[0] for f in faces]))
    real = trajectory_features(clip_landmarks(frames, given), width)
    assert np.isfinite(real).all()
    for name in ("facejitter", "facewarp"):
        for seed in range(3):
            out = generate(name, frames, given, np.random.default_rng(seed))
            fake = trajectory_features(clip_landmarks(out.frames, given), width)
            # log jerk of the inner face's landmarks: e^0.3 = 1.35x the real clip's at least
            assert fake[INNER_JERK] > real[INNER_JERK] + 0.3, (name, seed, fake[INNER_JERK], real[INNER_JERK])


def test_the_detector_sees_the_same_on_its_face_crops(clip):
    """The landmark stream's own path (dfdetect.clips.landmarks on face crops, the mesh's region the whole crop, as
    training and scoring run it): real 128 px crops of 8-frame clips of the sample (the demo's T) give finite
    features, and a shaking or boiling face made on the clip has its inner-face jerk above the real one's. Each fake
    draws its strength and span at random, so the margin is on the median of 10 draws: e^0.3 = 1.35x (measured: the
    smallest median 0.46, over three windows and both generators; a single weak draw can come out at 0)."""
    frames, faces = clip
    model = mesh.load_landmarker()

    def features(images: list[np.ndarray], window: slice) -> np.ndarray:
        return clip_features([model.on_crop(crop_face(img, f.box, 0.3, 128)) for img, f in zip(images, faces[window])])

    for start in (0, 8, 16):
        window = slice(start, start + 8)
        real = features(frames[window], window)
        assert np.isfinite(real).all()
        for name in ("facejitter", "facewarp"):
            given = [(f.box, f.landmarks) for f in faces[window]]
            fakes = [generate(name, frames[window], given, np.random.default_rng(seed)).frames for seed in range(10)]
            gaps = [features(fake, window)[INNER_JERK] - real[INNER_JERK] for fake in fakes]
            assert np.median(gaps) > 0.3, (name, start, gaps)
