"""Training data: crops manifest, split by video, clip windows, clip-consistent augmentation, clip dataset, balance."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from dfdetect.core.io import InputError, load_image, read_csv, write_csv
from dfdetect.data.dataset import (
    ClipDataset,
    ClipSpec,
    augment_clip,
    build_clip_augmentation,
    clip_geometry,
    clip_windows,
    epoch_plan,
    from_tensor_clip,
    load_crop,
    read_crops_manifest,
    read_split,
    seed_augmentation,
    split_videos,
    to_tensor_clip,
    val_plan,
    video_scores,
)
from dfdetect.training.loop import prepare_data
from models import backbone_normalization

MEAN, STD = backbone_normalization("efficientnet-lite0")
HEADER = "video,label,frame,path,x1,y1,x2,y2,prob,landmarks"


@pytest.fixture(scope="module")
def videos(sample_crops: Path) -> dict:
    return read_crops_manifest(sample_crops)


def _real_clip(videos: dict, t: int = 4) -> np.ndarray:
    """(t, H, W, 3) uint8: consecutive real face crops of the first video with at least t crops."""
    v = next(v for v in videos.values() if len(v) >= t)
    return np.stack([load_image(p) for p in v.paths[:t]])



pytestmark = pytest.mark.usefixtures("one_torch_thread")

# --- manifest -----------------------------------------------------------------------------------------------------
def test_read_crops_manifest_on_sample_crops(sample_crops: Path, videos: dict) -> None:
    rows = read_csv(sample_crops)
    assert set(videos) == {r["video"] for r in rows}
    for name, v in videos.items():
        mine = [r for r in rows if r["video"] == name]
        assert len(v) == len(mine) == len(v.paths) == len(v.boxes) == len(v.landmarks)
        assert v.frames == sorted(int(r["frame"]) for r in mine)  # frame order, whatever the row order
        assert all(p.is_absolute() and p.is_file() for p in v.paths)
        assert v.boxes.shape == (len(v), 4) and v.boxes.dtype == np.float32
        assert v.landmarks.shape == (len(v), 5, 2) and not np.isnan(v.landmarks).any()
        assert (v.boxes[:, 2] > v.boxes[:, 0]).all() and (v.boxes[:, 3] > v.boxes[:, 1]).all()
        assert v.label == int(mine[0]["label"])


def _manifest(tmp_path: Path, lines: list[str], header: str = HEADER) -> Path:
    p = tmp_path / "crops.csv"
    p.write_text("\n".join([header, *lines]) + "\n")
    return p


ROW = "a.mp4,{label},{frame},a/{frame}.png,1,2,30,40,0.99,{lm}"
LM = " ".join(["5"] * 10)


@pytest.mark.parametrize(
    ("lines", "header", "message"),
    [
        ([ROW.format(label=0, frame=0, lm=LM)], "video,label,frame,path", "missing column"),
        ([ROW.format(label=2, frame=0, lm=LM)], HEADER, "label must be"),
        ([ROW.format(label=0, frame="x", lm=LM)], HEADER, "frame must be"),
        ([ROW.format(label=0, frame=0, lm="1 2 3")], HEADER, "landmarks must be 10"),
        ([ROW.format(label=0, frame=0, lm=LM), ROW.format(label=1, frame=1, lm=LM)], HEADER, "two different labels"),
        ([ROW.format(label=0, frame=3, lm=LM), ROW.format(label=0, frame=3, lm=LM)], HEADER, "frame listed twice"),
        ([], HEADER, "no crops"),
    ],
)
def test_read_crops_manifest_rejects_malformed(tmp_path: Path, lines: list[str], header: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as exc:
        read_crops_manifest(_manifest(tmp_path, lines, header), check_files=False)
    assert "\n" not in str(exc.value)


def test_read_crops_manifest_skips_missing_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "1.png").write_bytes(b"x")
    lines = [ROW.format(label=0, frame=f, lm=LM) for f in (0, 1)] + ["b.mp4,1,0,b/0.png,1,2,30,40,0.9,"]
    with caplog.at_level(logging.WARNING):
        videos = read_crops_manifest(_manifest(tmp_path, lines))
    assert list(videos) == ["a.mp4"] and videos["a.mp4"].frames == [1]  # missing files dropped, never invented
    assert "1 of 2 crop files missing" in caplog.text and "b.mp4: no crop file" in caplog.text
    unlabelled = read_crops_manifest(_manifest(tmp_path, ["a.mp4,,1,a/1.png,1,2,30,40,0.9,"]))
    assert unlabelled["a.mp4"].label is None and np.isnan(unlabelled["a.mp4"].landmarks).all()
    assert unlabelled["a.mp4"].width is None
    row = "a.mp4,0,1,a/1.png,1,2,30,40,0.9,,640,360"
    sized = read_crops_manifest(_manifest(tmp_path, [row], HEADER + ",width,height"))
    assert (sized["a.mp4"].width, sized["a.mp4"].height) == (640, 360)  # optional frame size columns


# --- windows, tensors ---------------------------------------------------------------------------------------------
def test_clip_windows() -> None:
    assert clip_windows(15, 10, 1) == [list(range(10))]
    assert clip_windows(15, 10, 2) == [list(range(10)), list(range(5, 15))]  # spread to the last crop
    w = clip_windows(100, 10, 4)
    assert [x[0] for x in w] == [0, 30, 60, 90] and all(x == list(range(x[0], x[0] + 10)) for x in w)
    assert clip_windows(11, 10, 5) == [list(range(10)), list(range(1, 11))]  # no duplicated windows
    assert clip_windows(3, 5, 4) == [[0, 1, 2, 2, 2]]  # too few crops: one window, last crop repeated
    assert clip_windows(10, 10, 3) == [list(range(10))]
    with pytest.raises(ValueError):
        clip_windows(0, 10, 1)


def test_to_tensor_clip_is_the_normalisation_and_inverts(videos: dict) -> None:
    clip = _real_clip(videos)  # (T, H, W, 3) uint8
    x = to_tensor_clip(clip, MEAN, STD)
    assert x.shape == (clip.shape[0], 3, *clip.shape[1:3]) and x.dtype == torch.float32 and x.is_contiguous()
    c = 1  # channel 1 at pixel (5, 7) of frame 2, by hand
    assert x[2, c, 5, 7].item() == pytest.approx((clip[2, 5, 7, c] / 255.0 - MEAN[c]) / STD[c], abs=1e-6)
    assert np.array_equal(from_tensor_clip(x, MEAN, STD), clip)
    with pytest.raises(ValueError, match="uint8"):
        to_tensor_clip(clip.astype(np.float32), MEAN, STD)


def test_load_crop_resizes_to_the_model_size(sample_crops: Path, videos: dict) -> None:
    path = next(iter(videos.values())).paths[0]
    stored = load_image(path)
    assert load_crop(path, stored.shape[0]).tobytes() == stored.tobytes()
    assert load_crop(path, 48).shape == (48, 48, 3)


# --- augmentation -------------------------------------------------------------------------------------------------
def test_augmentation_uses_the_same_parameters_for_every_frame(videos: dict) -> None:
    """Frames that are equal before augmentation stay equal after it: one draw of parameters per clip (flip, affine,
    colour, grey, blur and JPEG quality alike). The per-frame control shows the check would catch jitter."""
    a, b = _real_clip(videos, 2)
    clip = np.stack([a, b, a, b])  # (4, H, W, 3)
    aug = build_clip_augmentation(clip.shape[1])
    changed = 0
    for seed in range(12):
        out = augment_clip(aug, clip, seed)
        assert out.shape == clip.shape and out.dtype == np.uint8
        assert np.array_equal(out[0], out[2]) and np.array_equal(out[1], out[3])
        changed += not np.array_equal(out, clip)
    assert changed >= 10  # the augmentation really does something
    per_frame = np.stack([augment_clip(aug, clip[i : i + 1], seed=i)[0] for i in range(4)])
    assert not np.array_equal(per_frame[0], per_frame[2])  # independent draws differ: the check above can fail


def test_augmentation_flip_applies_to_the_whole_clip(videos: dict) -> None:
    """Over seeds, a clip is either mirrored in every frame or in none (frame differences keep their orientation)."""
    import albumentations as A

    clip = _real_clip(videos, 3)
    aug = build_clip_augmentation(clip.shape[1])
    flips = A.Compose(aug.transforms, save_applied_params=True)
    seen = set()
    for seed in range(8):
        seed_augmentation(flips, seed)
        res = flips(images=clip)
        flipped = any(name == "HorizontalFlip" for name, _ in res["applied_transforms"])
        seen.add(flipped)
        # Undo the flip on the input side: the clip's frame differences must point the same way in every frame.
        ref = clip[:, :, ::-1] if flipped else clip
        d_in = ref[1].astype(int) - ref[0].astype(int)
        d_out = res["images"][1].astype(int) - res["images"][0].astype(int)
        mirrored = d_in[:, ::-1]
        assert np.abs(d_out - d_in).mean() < np.abs(d_out - mirrored).mean()
    assert seen == {True, False}


def test_augmentation_decisions_are_independent(videos: dict) -> None:
    """Each transform decides on its own (albumentations' set_random_seed would make them all-or-nothing)."""
    import albumentations as A

    clip = _real_clip(videos, 1)
    aug = A.Compose(build_clip_augmentation(clip.shape[1]).transforms, save_applied_params=True)
    combos, flips, grays = set(), 0, 0
    for seed in range(100):
        seed_augmentation(aug, seed)
        applied = tuple(name for name, _ in aug(images=clip)["applied_transforms"])
        combos.add(applied)
        flips += "HorizontalFlip" in applied
        grays += "ToGray" in applied
    assert len(combos) > 12 and 30 < flips < 70 and 8 < grays < 35  # p = 0.5 and 0.2


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
        assert torch.equal(ds[i]["clip"], ds[i]["clip"])


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
    from dfdetect.data.dataset import VideoCrops

    one = next(iter(videos.values()))
    vids = [VideoCrops(f"v{i:02d}.mp4", int(i >= 10), one.frames, one.paths, one.boxes, one.landmarks)
            for i in range(13)]  # 10 real, 3 fake
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
    from dfdetect.data.dataset import VideoCrops

    one = next(iter(videos.values()))
    mixed = [VideoCrops(f"v{i}.mp4", int(i >= 6), one.frames, one.paths, one.boxes, one.landmarks) for i in range(12)]
    for p in (0.0, 0.5, 1.0):
        specs, c = epoch_plan(mixed, 0, seed=1, t=4, synth_fakes=p)
        assert c["n_real"] == c["n_fake"] == 6 and c["n_synth"] == round(p * 6)  # 6 reals, fakes topped up by twins
        labelled = sum(not s.synth and mixed[s.video].label == 1 for s in specs)
        assert labelled == 6 - c["n_synth"]


# --- split by video -----------------------------------------------------------------------------------------------
def test_split_videos_is_by_video_stratified_and_deterministic(videos: dict) -> None:
    from dfdetect.data.dataset import VideoCrops

    many = {f"v{i:02d}.mp4": VideoCrops(f"v{i:02d}.mp4", int(i % 4 == 0), [0], [Path("x")], np.zeros((1, 4)),
                                         np.zeros((1, 5, 2))) for i in range(40)}
    train, val = split_videos(many, seed=0)
    assert not set(train) & set(val) and sorted(train + val) == sorted(many)
    assert len(val) == 8 and sum(many[n].label for n in val) == 2  # 20% of each class
    assert split_videos(many, seed=0) == (train, val)
    assert split_videos(many, seed=1) != (train, val)
    train, val = split_videos(videos, seed=0)
    assert not set(train) & set(val) and sorted(train + val) == sorted(videos)


def test_prepare_data_with_split_file_and_val_manifest(tmp_path: Path, sample_crops: Path, videos: dict) -> None:
    names = sorted(videos)
    split = tmp_path / "split.csv"
    parts = ["train", "val", "test"] + ["train"] * (len(names) - 3)
    write_csv(split, [{"video_name": n, "split": s} for n, s in zip(names[:-1], parts)], ["video_name", "split"])
    ds = prepare_data(sample_crops, split=split)
    assert [v.video for v in ds.train] == [n for n, s in zip(names, parts[:-1]) if s == "train"]
    assert [v.video for v in ds.val] == [names[1]]
    assert ds.skipped == {names[2]: "test split", names[-1]: "not in the split file"}
    with pytest.raises(InputError, match="both --data and --val"):
        prepare_data(sample_crops, val=sample_crops)
    with pytest.raises(InputError, match="not both"):
        prepare_data(sample_crops, val=sample_crops, split=split)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,split\na.mp4,train\n", "header"),
        ("video_name,split\na.mp4,dev\n", "split must be"),
        ("video_name,split\na.mp4,train\na.mp4,val\n", "duplicate"),
    ],
)
def test_read_split_rejects_malformed(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "split.csv"
    p.write_text(text)
    with pytest.raises(InputError, match=message):
        read_split(p)
    assert read_split(_write(tmp_path / "ok.csv", "video_name,split\na.mp4,val\n\n")) == {"a.mp4": "val"}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


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
    pytest.importorskip("dfdetect.synth.sbi")
    v = next(v for v in videos.values() if v.label == 0 and len(v) >= 4)
    window = tuple(range(4))
    ds = ClipDataset([v], [ClipSpec(0, window, synth=False, seed=7), ClipSpec(0, window, synth=True, seed=7)],
                     size=64, mean=MEAN, std=STD, augment=None)
    real, fake = ds[0], ds[1]
    assert real["label"].item() == 0 and fake["label"].item() == 1 and fake["synth"]
    diff = (real["clip"] - fake["clip"]).abs()  # (T, C, H, W)
    assert diff.amax() > 0.05 and torch.equal(ds[1]["clip"], fake["clip"])  # blended, and seeded
