"""THE list of fake generators, by name, and the per-generator mix of ``train.synth_methods``.

:func:`generate` is THE entry point, ``generate(name, images, faces, rng, donors=None) -> Generated``
(:mod:`dfdetect.synth.base`): a clip of frames or face crops with one face (box, five landmarks) per image, a seeded
generator, optionally donor images of the same video; only the face region changes and the same generator state gives
the same bytes. It owns what every generator shares: it checks the images against the faces, runs the dense landmarks,
asks the generator's recipe (``plan(clip, rng) -> Plan``) for each image's edit in time order and builds
:class:`~dfdetect.synth.base.Generated` with the per-frame masks. A generator is only its recipe. Training draws one
generator per self-blended twin (:func:`draw_method`, in
:func:`dfdetect.data.epoch_plan`); ``python -m dfdetect synth --method NAME`` writes one kind offline.

Example:
    >>> sorted(GENERATORS)
    ['eyefreeze', 'facejitter', 'facewarp', 'mouthretime', 'resample', 'sbi', 'selfswap', 'temporal', 'timeblend']
    >>> parse_mix("sbi:2,temporal")
    {'sbi': 0.6666666666666666, 'temporal': 0.3333333333333333}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from dfdetect.synth.base import Clip, Donors, Face, Generated, Plan, check_images
from dfdetect.synth.landmarks import dense_faces
from dfdetect.synth.motion import eyefreeze_plan, facejitter_plan, facewarp_plan, mouthretime_plan, timeblend_plan
from dfdetect.synth.resample import resample_plan
from dfdetect.synth.sbi import sbi_plan
from dfdetect.synth.selfswap import selfswap_plan
from dfdetect.synth.temporal import temporal_plan
from dfdetect.synth.track import face_arrays


@dataclass(frozen=True)
class Generator:
    """A named fake generator.

    Attributes:
        name: its name in ``train.synth_methods`` and ``--method``.
        fn: the recipe, ``fn(clip, rng) -> Plan`` (:class:`~dfdetect.synth.base.Clip`,
            :class:`~dfdetect.synth.base.Plan`).
        summary: one line: what it imitates.
        source: where the recipe comes from.
        needs_donors: it uses other moments of the same video (training loads them).
        needs_time: it works across frames (on one image it may leave the face untouched: a real labelled fake).
        dense_landmarks: its clip gets the 468 dense landmarks (where the model runs) instead of the five points.
        time_only: each of its frames is a plausible real frame of that person: the manipulation shows only across
            frames (how the face moves), never in one frame (:data:`TIME_ONLY`).
    """

    name: str
    fn: Callable[[Clip, np.random.Generator], Plan]
    summary: str
    source: str
    needs_donors: bool = False
    needs_time: bool = False
    dense_landmarks: bool = True
    time_only: bool = False


GENERATORS: dict[str, Generator] = {g.name: g for g in (
    Generator("sbi", sbi_plan, "self-blended face: colour, sharpness and alignment mismatch under a soft mask",
              "Shiohara & Yamasaki, CVPR 2022, src/utils/sbi.py"),
    Generator("temporal", temporal_plan, "a self-blend whose mask, colour, sharpness and ratio drift per frame, "
              "possibly over part of the clip only", "FTCN (ICCV 2021), AltFreezing (CVPR 2023): per-frame generation",
              needs_time=True),
    Generator("resample", resample_plan, "the face re-rendered through down-up scaling, blur, JPEG and smoothing",
              "SBI's quality branch; Durall et al. CVPR 2020, Frank et al. ICML 2020 (upsampling traces)"),
    Generator("selfswap", selfswap_plan, "the same person's face from another moment, landmark-aligned and blended",
              "the FaceSwap pipeline of FaceForensics++ (ICCV 2019), donor of the same identity", needs_donors=True),
    Generator("mouthretime", mouthretime_plan, "each frame's mouth is the person's own mouth from another frame "
              "(reversed, shuffled, frozen or lagging): real mouths, wrong speech",
              "lip-sync: Wav2Lip (ACM MM 2020) as LipForensics (CVPR 2021) sees it; Agarwal et al. CVPRW 2020",
              needs_time=True, time_only=True),
    Generator("eyefreeze", eyefreeze_plan, "the eye region held from one frame, or replayed slowly, while the face "
              "moves: no or abnormal blinking", "In Ictu Oculi (Li, Chang & Lyu, WIFS 2018)", needs_time=True,
              time_only=True),
    Generator("facejitter", facejitter_plan, "the inner face re-pasted on its own frame with a small per-frame "
              "shift, rotation and scale: the face shakes against the head",
              "FTCN (Zheng et al., ICCV 2021): temporal incoherence of frame-by-frame swaps", needs_time=True,
              time_only=True),
    Generator("facewarp", facewarp_plan, "each frame's inner face bent by its own smooth displacement field, faded "
              "to zero at its edge: no paste, no seam; the features boil from frame to frame",
              "FTCN (Zheng et al., ICCV 2021), STIL (Gu et al., ACM MM 2021): frame-by-frame generation's flicker",
              needs_time=True, time_only=True),
    Generator("timeblend", timeblend_plan, "a random region of the face retimed, moved and/or bent per frame, with "
              "random strength and smoothness in time: the generic time-only fake (SBI's idea applied to time)",
              "SBI (Shiohara & Yamasaki, CVPR 2022) in time; FakeSTormer (ICCV 2025): self-blended videos",
              needs_time=True, time_only=True),
)}
"""Every generator, by name."""
TIME_ONLY: tuple[str, ...] = tuple(g.name for g in GENERATORS.values() if g.time_only)
"""The generators whose fakes show only across frames (issue 22's temporal-only family).

Example:
    >>> TIME_ONLY
    ('mouthretime', 'eyefreeze', 'facejitter', 'facewarp', 'timeblend')
"""
SINGLE_IMAGE_GENERATORS = tuple(g.name for g in GENERATORS.values() if not (g.needs_time or g.needs_donors))
"""The generators that make a fake from one image alone (a frame model's twins on a folder of images): ``sbi`` and
``resample`` blend a re-rendered copy of the face back into the same image; ``temporal``, ``mouthretime``,
``eyefreeze``, ``facejitter`` and ``facewarp`` need time and ``selfswap`` another moment of the same video (its
donor): an image has neither."""


def parse_mix(spec: str) -> dict[str, float]:
    """``"sbi:2,temporal:1"`` -> ``{"sbi": 2/3, "temporal": 1/3}`` (a name without a weight weighs 1).

    Args:
        spec: comma-separated generator names of :data:`GENERATORS`, each with an optional ``:weight`` (> 0).

    Returns:
        Normalised weights, in the order given.

    Raises:
        ValueError: an unknown or repeated name, a weight that is not a positive number, or an empty mix.

    Example:
        >>> parse_mix("resample")
        {'resample': 1.0}
    """
    weights: dict[str, float] = {}
    for part in (p.strip() for p in str(spec).split(",")):
        if not part:
            continue
        name, _, w = part.partition(":")
        name = name.strip()
        if name not in GENERATORS:
            raise ValueError(f"unknown fake generator {name!r} in {spec!r}; known: {', '.join(GENERATORS)}")
        if name in weights:
            raise ValueError(f"generator {name!r} given twice in {spec!r}")
        try:
            weight = float(w) if w.strip() else 1.0
        except ValueError:
            raise ValueError(f"weight of {name!r} in {spec!r} is not a number") from None
        if not weight > 0 or not np.isfinite(weight):
            raise ValueError(f"weight of {name!r} in {spec!r} must be > 0")
        weights[name] = weight
    if not weights:
        raise ValueError(f"no generator in {spec!r}")
    total = sum(weights.values())
    return {k: v / total for k, v in weights.items()}


def draw_method(mix: dict[str, float], rng: np.random.Generator) -> str:
    """One generator name drawn with the mix's weights (no draw, hence no change of ``rng``, for a single name).

    Example:
        >>> draw_method({"sbi": 1.0}, np.random.default_rng(0))
        'sbi'
    """
    names = list(mix)
    if len(names) == 1:
        return names[0]
    return names[int(rng.choice(len(names), p=np.asarray(list(mix.values()))))]


def generate(method: str, images: list[np.ndarray], faces: list[Face | None], rng: np.random.Generator,
             donors: Donors | None = None, dense: Sequence[tuple[np.ndarray, np.ndarray | None] | None] | None = None,
             ) -> Generated:
    """Run the generator ``method`` (see :data:`GENERATORS`) on a clip.

    Args:
        method: a name of :data:`GENERATORS`.
        images: RGB uint8 (H, W, 3) frames or crops of one clip, in time order.
        faces: per image, (box, five landmarks or None) or None, in its pixels.
        rng: the generator's random state (same state, same bytes).
        donors: other moments of the same video, one per image (``selfswap``), or None.
        dense: ``dense_faces(images, faces)`` when the caller has it (several generators on one clip mesh its faces
            once); None: computed here when the generator needs it.

    Returns:
        :class:`~dfdetect.synth.base.Generated`: per image the frame (the input array itself where it was left
        alone), its record and its mask (None where it was left alone).

    Raises:
        ValueError: an unknown name, bad images, or bad donors.

    Example:
        >>> img = np.full((48, 48, 3), 100, np.uint8)
        >>> out = generate("resample", [img], [(np.array([12.0, 10, 36, 40]), None)], np.random.default_rng(0))
        >>> out.method, out.masks[0].shape, out.manipulated
        ('resample', (48, 48), [True])
    """
    if method not in GENERATORS:
        raise ValueError(f"unknown fake generator {method!r}; known: {', '.join(GENERATORS)}")
    gen = GENERATORS[method]
    images = check_images(images, faces)
    given = list(faces)
    if not gen.dense_landmarks:
        targets = [None if f is None else face_arrays(f) for f in given]
    elif dense is not None:
        if len(dense) != len(images):
            raise ValueError(f"{len(dense)} dense faces for {len(images)} images")
        targets = list(dense)
    else:
        targets = dense_faces(images, given)
    plan = gen.fn(Clip(images, targets, donors, given), rng)
    frames: list[np.ndarray] = []
    masks: list[np.ndarray | None] = []
    records: list[dict | None] = []
    for t, img in enumerate(images):
        edit = plan.edit(t) if targets[t] is not None else None
        if edit is None:
            frames.append(img)
            masks.append(None)
            records.append(None)
            continue
        frames.append(edit.frame)
        masks.append(None if edit.mask is None else np.clip(edit.mask, 0.0, 1.0).astype(np.float32, copy=False))
        records.append(edit.record)
    return Generated(frames, records, method, masks, plan.extra)
