"""dfdetect.data for the image track: test-time views of a face image, the generators a frame model may use, image
split files and the manifest's crop region."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dfdetect.core.io import InputError, read_image
from dfdetect.data import (
    SINGLE_IMAGE_GENERATORS,
    TTA_VIEWS,
    VideoCrops,
    check_frame_methods,
    epoch_plan,
    read_crops_manifest,
    read_split,
    view_transform,
)
from dfdetect.synth import GENERATORS


@pytest.fixture(scope="module")
def crop(stills_dir: Path) -> np.ndarray:
    return read_image(stills_dir / "0-f1-su-ph.jpg")[::8, ::8].copy()  # (64, 64, 3): a real face


def test_every_view_keeps_size_and_dtype_and_changes_what_it_says(crop: np.ndarray) -> None:
    views = {v: view_transform(crop, v) for v in TTA_VIEWS}
    assert all(x.shape == crop.shape and x.dtype == np.uint8 and x.flags.c_contiguous for x in views.values())
    assert views["none"] is crop
    assert np.array_equal(views["hflip"], crop[:, ::-1])
    assert np.array_equal(views["gray"][:, :, 0], views["gray"][:, :, 2])
    # A rotation by +10 then -10 degrees comes back close to the crop in its centre; +10 alone does not.
    back = view_transform(views["rotate+"], "rotate-").astype(int)[16:48, 16:48]
    centre = crop.astype(int)[16:48, 16:48]
    assert np.abs(back - centre).mean() < np.abs(views["rotate+"].astype(int)[16:48, 16:48] - centre).mean() / 2
    # The centre view enlarges the middle 87.5 %: its centre pixel is the crop's, its corner is not the crop's corner.
    assert np.abs(views["centre"].astype(int)[32, 32] - crop.astype(int)[32, 32]).max() <= 12
    with pytest.raises(ValueError, match="unknown test-time view"):
        view_transform(crop, "mirror")


def test_frame_models_use_the_generators_that_work_on_one_image() -> None:
    assert set(SINGLE_IMAGE_GENERATORS) <= set(GENERATORS)
    for m in SINGLE_IMAGE_GENERATORS:
        check_frame_methods(m, single_images=True)
    check_frame_methods("sbi,selfswap", single_images=False)  # videos' crops: another frame is the donor
    with pytest.raises(InputError, match="selfswap needs another moment"):
        check_frame_methods("sbi,selfswap", single_images=True)
    with pytest.raises(InputError, match="temporal needs several frames"):
        check_frame_methods("temporal", single_images=False)


def test_epoch_plan_of_single_images_pairs_every_real_with_a_twin(tmp_path: Path) -> None:
    def image(name: str, label: int) -> VideoCrops:
        return VideoCrops(name, label, [0], [tmp_path / f"{name}.png"], np.zeros((1, 4), np.float32),
                          np.full((1, 5, 2), np.nan, np.float32))

    # 81 % fakes, as in the challenge's training set: balanced per epoch by dropping labelled fakes, recorded.
    items = [image(f"r{i}.jpg", 0) for i in range(4)] + [image(f"f{i}.jpg", 1) for i in range(17)]
    specs, counts = epoch_plan(items, epoch=0, seed=0, t=1)
    assert counts["n_real"] == counts["n_fake"] == 4 and all(s.window == (0,) for s in specs)
    specs, counts = epoch_plan(items[:4], epoch=0, seed=0, t=1, synth_fakes=1.0, synth_methods="sbi:1,resample:1")
    assert counts["n_real"] == counts["n_synth"] == 4 and counts["n_synth_sbi"] + counts["n_synth_resample"] == 4


def test_split_files_take_img_name(tmp_path: Path) -> None:
    path = tmp_path / "split.csv"
    path.write_text("img_name,split\na.jpg,train\nb.png,test\n")
    assert read_split(path) == {"a.jpg": "train", "b.png": "test"}
    path.write_text("name,split\na.jpg,train\n")
    with pytest.raises(InputError, match="img_name,split"):
        read_split(path)


def test_manifest_region_is_read_and_checked(tmp_path: Path) -> None:
    header = "video,label,frame,path,x1,y1,x2,y2,prob,landmarks,width,height,region\n"
    (tmp_path / "a.png").write_bytes(b"")
    path = tmp_path / "crops.csv"
    path.write_text(header + "a.jpg,1,0,a.png,10,10,50,60,0.99,,100,80,0 0 100 80\n")
    video = read_crops_manifest(path)["a.jpg"]
    assert video.regions is not None and video.regions[0].tolist() == [0, 0, 100, 80]
    path.write_text(header + "a.jpg,1,0,a.png,10,10,50,60,0.99,,100,80,\n")  # empty: recomputed from the box
    assert read_crops_manifest(path)["a.jpg"].regions is None
    path.write_text(header + "a.jpg,1,0,a.png,10,10,50,60,0.99,,100,80,5 5 5 9\n")
    with pytest.raises(InputError, match="x2 > x1"):
        read_crops_manifest(path)
