"""dfdetect.data.dataset: the seeded epoch plan (balance, windows, self-blended twins), the validation plan, the
dataset that executes them, face geometry for blending, and video scores."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from dfdetect.core.io import load_image
from dfdetect.data import (
    ClipDataset,
    ClipSpec,
    VideoCrops,
    build_clip_augmentation,
    clip_geometry,
    clip_windows,
    epoch_plan,
    read_crops_manifest,
    to_tensor_clip,
    val_plan,
    video_scores,
)
from dfdetect.synth import GENERATORS
from models import backbone_normalization

MEAN, STD = backbone_normalization("efficientnet-lite0")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def videos(sample_crops: Path) -> dict[str, VideoCrops]:
    return read_crops_manifest(sample_crops)


def _copies(one: VideoCrops, labels: list[int]) -> list[VideoCrops]:
    """Videos with the given labels, all with ``one``'s crops."""
    return [VideoCrops(f"v{i:02d}.mp4", label, one.frames, one.paths, one.boxes, one.landmarks)
            for i, label in enumerate(labels)]


# --- dataset ------------------------------------------------------------------------------------------------------
def test_clip_dataset_shapes_and_batching(videos: dict) -> None:
    vids = [v for v in videos.values() if v.label is not None]
    specs, counts = epoch_plan(vids, epoch=0, seed=0, t=4, balance="none")
    ds = ClipDataset(vids, specs, size=48, mean=MEAN, std=STD, augment=build_clip_augmentation(48))
    item = ds[0]
    assert item["clip"].shape == (4, 3, 48, 48) and item["clip"].dtype == torch.float32  # crops resized 64 -> 48
    assert item["label"].dtype == torch.float32 and item["label"].item() == vids[specs[0].video].label
    batch = next(iter(DataLoader(ds, batch_size=2)))
    assert batch["clip"].shape == (2, 4, 3, 48, 48) and batch["label"].shape == (2,)  # (B, T, C, H, W)
    assert counts["n_videos"] == len(ds) == len(vids) and counts["n_real"] + counts["n_fake"] == len(ds)


def test_validation_items_are_the_eval_transform_of_fixed_windows(videos: dict) -> None:
    vids = list(videos.values())
    specs = val_plan(vids, t=4, k=2)
    assert [s.window for s in specs] == [tuple(w) for v in vids for w in clip_windows(len(v), 4, 2)]
    ds = ClipDataset(vids, specs, size=64, mean=MEAN, std=STD, augment=None)
    for i in (0, len(ds) - 1):
        v, spec = vids[specs[i].video], specs[i]
        expected = to_tensor_clip(np.stack([load_image(v.paths[j]) for j in spec.window]), MEAN, STD)
        assert torch.equal(ds[i]["clip"], expected)  # no augmentation, exactly THE eval transform


def test_training_windows_are_random_consecutive_and_seeded(videos: dict) -> None:
    v = max(videos.values(), key=len)
    starts = set()
    for epoch in range(20):
        (spec,), _ = epoch_plan([v], epoch=epoch, seed=3, t=4, balance="none")
        assert list(spec.window) == list(range(spec.window[0], spec.window[0] + 4))
        starts.add(spec.window[0])
    assert starts == set(range(len(v) - 3))  # every start reachable, from 0 to the last possible one
    assert epoch_plan([v], 5, 3, 4) == epoch_plan([v], 5, 3, 4)


def test_video_scores_mean_over_windows() -> None:
    specs = [ClipSpec(0, (0,)), ClipSpec(1, (0,)), ClipSpec(0, (1,))]
    scores = video_scores(specs, [0.2, 0.9, 0.6], 3)
    assert scores[:2] == pytest.approx([0.4, 0.9]) and np.isnan(scores[2])


# --- balance ------------------------------------------------------------------------------------------------------
def test_balance_undersample_counts_and_determinism(videos: dict) -> None:
    vids = _copies(next(iter(videos.values())), [0] * 10 + [1] * 3)
    drawn = [sorted(s.video for s in epoch_plan(vids, e, seed=0, t=4)[0]) for e in range(6)]
    for d in drawn:
        assert len(d) == len(set(d)) == 6 and set(range(10, 13)) <= set(d)  # every fake, 3 of the 10 reals
    assert len({tuple(d) for d in drawn}) > 1  # a new real subset each epoch, nothing deleted
    assert epoch_plan(vids, 2, seed=0, t=4)[0] == epoch_plan(vids, 2, seed=0, t=4)[0]  # (seed, epoch) decides
    assert sorted(s.video for s in epoch_plan(vids, 0, 0, 4, balance="none")[0]) == list(range(13))
    assert len(epoch_plan(vids[:10], 0, 0, 4)[0]) == 10  # one class: nothing to balance against
    with pytest.raises(ValueError):
        epoch_plan(vids, 0, 0, 4, balance="oversample")


def test_epoch_plan_synth_fakes_are_balanced_twins(videos: dict) -> None:
    vids = [v for v in videos.values() if v.label == 0]
    assert len(vids) >= 3
    twinned = np.zeros(len(vids))
    for epoch in range(40):
        specs, counts = epoch_plan(vids, epoch, seed=0, t=4, balance="undersample", synth_fakes=0.5)
        assert counts["n_synth"] == sum(s.synth for s in specs) == counts["n_fake"] == counts["n_real"]  # 1:1
        assert abs(counts["n_synth"] - 0.5 * len(vids)) <= 0.5  # round(P * n_real): the ratio does not drift
        # every blended clip is the twin of a real clip on the same window in the same epoch
        real_windows = {(s.video, s.window) for s in specs if not s.synth}
        assert all((s.video, s.window) in real_windows for s in specs if s.synth)
        for s in specs:
            twinned[s.video] += s.synth
    assert (twinned > 5).all() and (twinned < 35).all()  # every real video gets a twin sometimes, not always
    none = epoch_plan(vids, 0, 0, 4, balance="none", synth_fakes=0.5)[1]
    assert none["n_real"] == len(vids) and none["n_synth"] == none["n_fake"] >= 1  # no balancing: twins are extra
    assert epoch_plan(vids, 0, 0, 4, synth_fakes=0.0)[1]["n_synth"] == 0
    pairs = epoch_plan(vids, 0, 0, 4, synth_fakes=1.0)[1]
    assert pairs["n_synth"] == pairs["n_real"] == len(vids)  # P = 1: every real with its blend (the SBI recipe)
    fakes_only = [v for v in videos.values() if v.label == 1]
    assert epoch_plan(fakes_only, 0, 0, 4, synth_fakes=1.0)[1]["n_synth"] == 0  # only real clips are blended


def test_epoch_plan_twins_with_labelled_fakes(videos: dict) -> None:
    mixed = _copies(next(iter(videos.values())), [0] * 6 + [1] * 6)
    for p in (0.0, 0.5, 1.0):
        specs, c = epoch_plan(mixed, 0, seed=1, t=4, synth_fakes=p)
        assert c["n_real"] == c["n_fake"] == 6 and c["n_synth"] == round(p * 6)  # 6 reals, fakes topped up by twins
        labelled = sum(not s.synth and mixed[s.video].label == 1 for s in specs)
        assert labelled == 6 - c["n_synth"]


# --- self-blended fakes on the fly --------------------------------------------------------------------------------
def test_clip_geometry_maps_faces_into_the_crop(videos: dict) -> None:
    for v in videos.values():
        boxes, landmarks = clip_geometry(v, range(len(v)), margin=0.3, size=64)
        assert boxes.shape == (len(v), 4) and landmarks is not None and landmarks.shape == (len(v), 5, 2)
        # The box lies inside the crop, its longer side 1 / (1 + 2 * 0.3) of the crop; landmarks inside the box.
        assert (boxes >= -0.5).all() and (boxes <= 64.5).all()
        longer = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        assert longer == pytest.approx(np.full(len(v), 64 / 1.6), abs=1.5)
        assert (landmarks[..., 0] > boxes[:, None, 0]).all() and (landmarks[..., 0] < boxes[:, None, 2]).all()
        assert (landmarks[..., 1] > boxes[:, None, 1]).all() and (landmarks[..., 1] < boxes[:, None, 3]).all()


def test_synth_spec_becomes_a_blended_fake(videos: dict) -> None:
    v = next(v for v in videos.values() if v.label == 0 and len(v) >= 4)
    window = tuple(range(4))
    ds = ClipDataset([v], [ClipSpec(0, window, synth=False, seed=7), ClipSpec(0, window, synth=True, seed=7)],
                     size=64, mean=MEAN, std=STD, augment=None)
    real, fake = ds[0], ds[1]
    assert real["label"].item() == 0 and fake["label"].item() == 1 and fake["synth"]
    diff = (real["clip"] - fake["clip"]).abs()  # (T, C, H, W)
    assert diff.amax() > 0.05 and torch.equal(ds[1]["clip"], fake["clip"])  # blended, and seeded


# --- the generator mix ------------------------------------------------------------------------------------------------
def test_epoch_plan_draws_a_generator_per_twin(videos: dict) -> None:
    vids = _copies(max(videos.values(), key=len), [0] * 12)
    default = epoch_plan(vids, 0, seed=0, t=4, synth_fakes=1.0)
    assert default == epoch_plan(vids, 0, seed=0, t=4, synth_fakes=1.0, synth_methods="sbi")
    assert {s.method for s in default[0] if s.synth} == {"sbi"} and default[1]["n_synth_sbi"] == 12
    mix = "sbi:1,temporal:1,resample:1,selfswap:1"
    specs, counts = epoch_plan(vids, 0, seed=0, t=4, synth_fakes=1.0, synth_methods=mix)
    assert specs == epoch_plan(vids, 0, seed=0, t=4, synth_fakes=1.0, synth_methods=mix)[0]  # seeded
    per = {m: counts[f"n_synth_{m}"] for m in ("sbi", "temporal", "resample", "selfswap")}
    assert sum(per.values()) == counts["n_synth"] == 12 and min(per.values()) >= 1
    for s in specs:
        if s.synth and s.method == "selfswap":  # a donor window of the same length, away from the clip's
            w, last = s.window[0], len(vids[s.video]) - 4  # the last start: as far as the video allows
            assert len(s.donor) == 4 and abs(s.donor[0] - w) >= min(4, max(w, last - w))
        else:
            assert s.donor == ()
    with pytest.raises(ValueError):
        epoch_plan(vids, 0, 0, 4, synth_fakes=1.0, synth_methods="sbi,deepfacelab")


def test_a_video_with_fewer_crops_than_t_gets_a_selfswap_twin(videos: dict) -> None:
    """T longer than a video's crops (T = 15 and a video with 11 faces): the clip is padded, and the donor window
    stays inside the video's crops (it was range(T): an IndexError in training), other moments where it can."""
    v = max((v for v in videos.values() if v.label == 0), key=len)
    t = len(v) + 3
    specs, _ = epoch_plan([v], 0, seed=0, t=t, synth_fakes=1.0, synth_methods="selfswap", balance="none")
    (twin,) = [s for s in specs if s.synth]
    assert twin.method == "selfswap" and len(twin.donor) == t and max(twin.donor) == len(v) - 1
    assert sum(a != b for a, b in zip(twin.window, twin.donor)) >= len(v) - 1  # another moment for most frames
    item = ClipDataset([v], [twin], size=64, mean=MEAN, std=STD, augment=None)[0]
    assert item["clip"].shape == (t, 3, 64, 64) and item["label"].item() == 1


@pytest.mark.parametrize("method", sorted(GENERATORS))
def test_clip_dataset_executes_every_generator(videos: dict, method: str) -> None:
    v = max((v for v in videos.values() if v.label == 0), key=len)
    window, donor = tuple(range(4)), tuple(range(len(v) - 4, len(v))) if GENERATORS[method].needs_donors else ()
    specs = [ClipSpec(0, window, seed=7), ClipSpec(0, window, synth=True, seed=7, method=method, donor=donor)]
    ds = ClipDataset([v], specs, size=64, mean=MEAN, std=STD, augment=None)
    real, fake = ds[0], ds[1]
    assert fake["label"].item() == 1 and fake["method"] == method and real["method"] == ""
    assert (real["clip"] - fake["clip"]).abs().amax() > 0.05 and torch.equal(ds[1]["clip"], fake["clip"])


@pytest.mark.parametrize("method", ["sbi", "facejitter"])
def test_localisation_targets_follow_the_blend_through_augmentation(videos: dict, method: str) -> None:
    """A twin's ``mask`` target sits where the twin differs from its real clip after the SAME augmentation (flip,
    affine): the cells the mask covers differ far more than the cells it leaves out; a real clip's targets are
    zeros and known; a fake video from disk is not known."""
    v = max((v for v in videos.values() if v.label == 0), key=len)
    window = tuple(range(6))
    specs = [ClipSpec(0, window, seed=s) for s in (3, 4)] + [
        ClipSpec(0, window, synth=True, seed=s, method=method) for s in (3, 4)]
    ds = ClipDataset([v], specs, size=64, mean=MEAN, std=STD, augment=build_clip_augmentation(64), aux_targets=True)
    for k in (0, 1):
        real, fake = ds[k], ds[k + 2]
        assert bool(real["aux_known"]) and real["mask"].abs().sum() == 0 and real["frame_target"].sum() == 0
        assert bool(fake["aux_known"]) and fake["mask"].shape == (6, 8, 8) and fake["frame_target"].sum() >= 2
        diff = (real["clip"] - fake["clip"]).abs().mean(dim=1)  # (T, H, W)
        cells = torch.nn.functional.adaptive_avg_pool2d(diff, 8)  # (T, 8, 8): the targets' grid
        m = fake["mask"]  # SBI's blend ratio may be 0.25: the cells of at least half the clip's largest value
        assert m.max() > 0.1
        inside, outside = cells[m >= 0.5 * m.max()], cells[m == 0]
        assert inside.numel() > 0 and inside.mean() > 3 * outside.mean(), (inside.mean(), outside.mean())
    disk_fake = dataclasses.replace(v, label=1)
    item = ClipDataset([disk_fake], [ClipSpec(0, window, seed=1)], size=64, mean=MEAN, std=STD,
                       augment=build_clip_augmentation(64), aux_targets=True)[0]
    assert not bool(item["aux_known"])
