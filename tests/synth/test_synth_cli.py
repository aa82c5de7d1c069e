"""``python -m dfdetect synth`` (dfdetect.synth.cli): fakes, re-encoded reals, labels, recorded skips, resume, the
method, the user's files never overwritten, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dfdetect.core.io import read_csv, read_labels
from dfdetect.synth import cli
from dfdetect.synth.encode import encode_video
from frame_extraction.decode import probe_video, read_all_frames, read_frames


@pytest.fixture(scope="module")
def cli_inputs(tmp_path_factory, clip, no_face_video: Path) -> Path:
    """A short real face video, a short cartoon (no face) and a file that is not a video."""
    d = tmp_path_factory.mktemp("synth_in")
    frames, _ = clip
    encode_video(d / "talk.mp4", frames[:16], fps=30)
    encode_video(d / "cartoon.mp4", list(read_frames(no_face_video, range(8)).values()), fps=30)
    (d / "broken.mp4").write_bytes(b"this is not a video")
    return d


def test_synth_cli_writes_fakes_labels_and_recorded_skips(cli_inputs, clip, tmp_path, far_from_face):
    out = tmp_path / "out"
    argv = [str(cli_inputs), str(out), "--per-video", "2", "--seed", "3"]  # reals re-encoded by default
    assert cli.main(argv) == 0
    labels = read_labels(out / "labels.csv")
    assert sorted(labels.values()) == [0, 1, 1]  # two fakes and the re-encoded real of talk.mp4
    assert all(cli.NAME_PATTERN.match(n) for n in labels)
    meta = read_csv(out / "meta.csv")
    skipped = {r["source"]: r["reason"] for r in meta if r["status"] == "skipped"}
    assert set(skipped) == {"cartoon.mp4", "broken.mp4"}
    assert "no face" in skipped["cartoon.mp4"] and "not a readable video" in skipped["broken.mp4"]
    # decoded fakes vs the decoded real: codec noise far from the face, a real change on it
    real = read_all_frames(out / next(n for n, t in labels.items() if t == 0))
    fakes = [read_all_frames(out / n) for n, t in labels.items() if t == 1]
    box = clip[1][0].box  # the man's face in the first frame (he barely moves in 16 frames)
    far = far_from_face(real[0].shape, box, 0.7)
    x1, y1, x2, y2 = box.astype(int)
    for fake in fakes:
        assert len(fake) == len(real) == 16
        assert np.mean([np.abs(a[far].astype(int) - b[far]).mean() for a, b in zip(fake, real)]) < 1.5
        assert np.mean([np.abs(a[y1:y2, x1:x2].astype(int) - b[y1:y2, x1:x2]).mean()
                        for a, b in zip(fake, real)]) > 1.0
    assert not np.array_equal(fakes[0][5], fakes[1][5])  # two different fakes per video
    # resumable: a second run writes nothing new
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("v*.mp4")}
    assert cli.main(argv) == 0
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("v*.mp4")} == stamps


def test_synth_cli_temporal_method_and_the_retired_flicker_flag(cli_inputs, tmp_path, caplog):
    out = tmp_path / "temporal"
    argv = [str(cli_inputs / "talk.mp4"), str(out), "--method", "temporal", "--max-frames", "8", "--no-reals"]
    assert cli.main(argv) == 0
    (row,) = [r for r in read_csv(out / "meta.csv") if r["status"] == "ok"]  # --no-reals: the fake alone
    assert row["method"] == "temporal" and row["frames"] == "8" and '"temporal"' in row["params"]
    assert probe_video(out / row["video_name"]).num_frames == 8
    assert read_csv(out / "labels.csv") == [{"video_name": row["video_name"], "target": "1", "method": "temporal"}]
    assert cli.main([str(cli_inputs / "talk.mp4"), str(tmp_path / "f"), "--flicker"]) == 2
    assert "--method temporal" in caplog.text


def test_synth_cli_never_overwrites_the_users_files(cli_inputs, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "v0000.mp4").write_bytes(b"the user's own video")
    assert cli.main([str(cli_inputs / "talk.mp4"), str(out), "--max-frames", "4"]) == 0
    assert (out / "v0000.mp4").read_bytes() == b"the user's own video"
    assert "v0000.mp4" not in read_labels(out / "labels.csv") and len(read_labels(out / "labels.csv")) == 2
    # OUT holding the inputs: refused (the fakes' neutral names could land on the user's videos)
    assert cli.main([str(out / "v0000.mp4"), str(out)]) == 2


def test_synth_cli_exit_codes(cli_inputs, tmp_path):
    assert cli.main([str(tmp_path / "missing.mp4"), str(tmp_path / "o1")]) == 2
    assert cli.main([str(cli_inputs / "broken.mp4"), str(tmp_path / "o2")]) == 1
    assert read_csv(tmp_path / "o2" / "meta.csv")[0]["status"] == "skipped"


def test_synth_cli_writes_per_frame_masks_and_manipulated_flags(cli_inputs, tmp_path):
    """meta.csv's ``manipulated`` (one flag per frame) and ``OUT/masks/<name>.npz`` agree with the generator: a
    partial temporal fake (seed 5: frames 5-7 of 8) has masks on its span only, the size of the video."""
    out = tmp_path / "masks"
    argv = [str(cli_inputs / "talk.mp4"), str(out), "--method", "temporal", "--max-frames", "8", "--no-reals",
            "--seed", "5"]
    assert cli.main(argv) == 0
    (row,) = read_csv(out / "meta.csv")
    masks, flags = cli.read_masks(out / row["masks"])
    assert row["masks"] == f"masks/{Path(row['video_name']).stem}.npz"
    assert masks.shape == (8, int(row["height"]), int(row["width"])) and masks.dtype == np.uint8
    assert row["manipulated"] == "".join("1" if f else "0" for f in flags) and len(row["manipulated"]) == 8
    assert flags.tolist() == (masks.reshape(8, -1).max(1) > 0).tolist()
    start, stop = json.loads(row["params"])["span"]
    assert (start, stop) != (0, 8)  # partial: some frames are left alone
    assert flags.tolist() == [start <= t < stop for t in range(8)]
    # a fake made before masks were written (no masks file) is made again on resume
    (out / row["masks"]).unlink()
    assert cli.main(argv) == 0
    assert (out / row["masks"]).is_file()
