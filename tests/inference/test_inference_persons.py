"""Issue 23 items 1 and 2: every person of a video is scored (the video's score is the highest person's), and no face
track, so no clip, crosses a scene cut.

The videos are built from the samples at test time (tests/media.py, PyAV): two people side by side (the ``hstack`` of
single_face.mp4 and WolfgangLanger_Pexels.mp4), and six 0.5 s shots alternating the two of them, the faces far apart in
the frame or at the same place.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dfdetect.core.config import DataConfig
from dfdetect.core.io import read_csv
from dfdetect.core.schemas import PREDICTION_COLUMNS, ScoreStatus, parse_spans
from dfdetect.inference import Detector, PreparedVideo
from dfdetect.inference.aggregate import video_score
from dfdetect.inference.evaluate import main as eval_main
from dfdetect.inference.prepare import prepare_input
from tests.media import alternating_shots, first_frames, shifted, side_by_side

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # a shared 2-core machine: see tests/conftest.py

SHOT = 15  # frames per shot: 0.5 s at 30 fps
WIDTH = 640  # of each sample video (640x360)


@pytest.fixture(scope="module")
def two_people(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A man (single_face.mp4, left) and a woman (WolfgangLanger_Pexels.mp4, right) in every frame: 1280x360, 30
    frames."""
    return side_by_side(samples_dir / "single_face.mp4", samples_dir / "WolfgangLanger_Pexels.mp4",
                        tmp_path_factory.mktemp("persons") / "two_people.mp4")


@pytest.fixture(scope="module")
def shots(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Six 0.5 s shots (90 frames, 640x360) alternating the man and the woman, each going on where it stopped:
    ``far``, the man moved 200 px left (his face at x 21-171, hers at 332-539: far apart); ``same``, the woman moved
    130 px left (her face over his: IoU ~0.5, one place)."""
    folder = tmp_path_factory.mktemp("shots")
    man = first_frames(samples_dir / "single_face.mp4", 3 * SHOT)
    woman = first_frames(samples_dir / "WolfgangLanger_Pexels.mp4", 3 * SHOT)
    return {"far": alternating_shots([shifted(f, -200) for f in man], woman, folder / "far.mp4"),
            "same": alternating_shots(man, [shifted(f, -130) for f in woman], folder / "same.mp4")}


def _shot_of(frames: list[int]) -> set[int]:
    return {i // SHOT for i in frames}


def test_two_people_in_one_frame_are_both_scored_the_video_is_the_highest(det: Detector, two_people: Path) -> None:
    # issue 23 item 1: the second face was found in every frame and dropped without a word
    prep = det.prepare(two_people)
    assert prep.status == ScoreStatus.OK, prep.reason
    assert len(prep.persons) == 2 and [p.person for p in prep.persons] == [0, 1]
    sides = sorted((p.box[0] + p.box[2]) / 2 > WIDTH for p in prep.persons)  # face centres: one per half
    assert sides == [False, True]
    for p in prep.persons:  # each person its own face: every crop of it from its side of the frame
        assert p.windows and all(len(w) >= det.cfg.data.min_faces for w in p.windows)
    (r,) = det.predict([prep])
    assert r.status == ScoreStatus.OK and len(r.persons) == 2
    scores = [p.score for p in r.persons]
    # each person is scored on its own clips, exactly as when scored alone ...
    for p, person in zip(r.persons, prep.persons):
        (alone,) = det.predict([person])
        assert p.score == alone.score and p.windows == alone.windows and p.faces == len(person.crops)
        assert p.box == person.box and p.end_s > p.start_s == 0.0
    # ... and the video's score is the highest of them (not their mean, not the main face's)
    assert scores[0] != scores[1], "the real model scores two different faces differently"
    assert r.score == max(scores) and r.score != min(scores)
    assert r.person == scores.index(max(scores))
    # the clips, windows and segments reported are the highest person's
    assert video_score(r.clip_scores, r.window_scores, det.aggregate) == r.score
    assert all(set(frames) <= set(prep.persons[r.person].crops) for frames in r.clip_frames)


def test_one_person_is_scored_as_before(det: Detector, prepared: PreparedVideo) -> None:
    assert prepared.others == [] and prepared.persons == [prepared] and prepared.box is not None
    (r,) = det.predict([prepared])
    (p,) = r.persons
    assert (p.person, p.score, p.windows, p.faces, r.person) == (0, r.score, r.windows, prepared.faces, 0)
    assert r.score == video_score(r.clip_scores, r.window_scores, det.aggregate)


def test_every_person_is_in_predictions_status(weights: Path, two_people: Path, face_video: Path,
                                               tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert eval_main([str(weights), str(two_people), str(face_video), "--out", str(out)]) == 0
    assert (out / "predictions.csv").read_text().splitlines()[0] == ",".join(PREDICTION_COLUMNS)  # unchanged
    two, one = read_csv(out / "predictions_status.csv")
    assert (two["persons"], one["persons"]) == ("2", "1")
    spans = parse_spans(two["person_scores"])
    assert len(spans) == 2 and float(two["score"]) == pytest.approx(max(s for _, _, s in spans), abs=1e-6)
    assert min(s for _, _, s in spans) < float(two["score"])
    boxes = [[int(v) for v in b.split(",")] for b in two["person_boxes"].split()]
    assert len(boxes) == 2 and sorted((b[0] + b[2]) / 2 > WIDTH for b in boxes) == [False, True]
    ((_, _, only),) = parse_spans(one["person_scores"])
    assert f"{only:.6f}" == one["score"]


@pytest.mark.parametrize("place", ["far", "same"])
def test_tracks_never_cross_a_scene_cut(det: Detector, shots: dict[str, Path], place: str) -> None:
    # issue 23 item 2: far apart, "too_few_faces: a face in 15 of 37 sampled frames"; at one place, the crops of one
    # clip switched from one person to the other
    d = DataConfig(size=32)  # the user's rule: 15 frames at stride 2 (~1 s, three shots), 10 faces
    prep = prepare_input(shots[place], d, 1, det.face_detector)
    assert prep.status == ScoreStatus.OK, prep.reason
    windows = [w for p in prep.persons for w in p.windows]
    assert windows and all(len(_shot_of(w)) == 1 for w in windows)  # every window inside one shot
    assert all(len(w) >= d.min_faces for w in windows)
    shots_of = [set().union(*(_shot_of(w) for w in p.windows)) for p in prep.persons]
    assert len(prep.persons) == 2 and {0, 1} <= set().union(*shots_of)  # both people of the first window scored
    for person in shots_of:  # a person is one of the two: shots of one parity (the man even, the woman odd)
        assert len({k % 2 for k in person}) == 1
    # The scoring API, with that rule in the checkpoint's config: scored, every clip inside one shot.
    cfg = dataclasses.replace(det.cfg, data=dataclasses.replace(det.cfg.data, sample_frames=15, min_faces=10))
    (r,) = Detector(det.model, cfg, face_detector=det.face_detector).predict([shots[place]])
    assert r.status == ScoreStatus.OK and r.score == max(p.score for p in r.persons), r.reason
    assert r.clip_frames and all(len(_shot_of(frames)) == 1 for frames in r.clip_frames)


def test_the_too_few_faces_reason_counts_the_faces_of_one_track(det: Detector, shots: dict[str, Path]) -> None:
    # A rule no shot can meet (20 faces, 0.5 s shots): not scored, and the reason counts every face found (the
    # frames with a face of either person), the most on one track in one shot.
    d = DataConfig(size=32, min_faces=20)
    prep = prepare_input(shots["far"], d, 1, det.face_detector)
    assert prep.status == ScoreStatus.TOO_FEW_FACES
    assert prep.faces == prep.sampled, prep.reason  # a face in every sampled frame, whoever's
    assert f"a face in {prep.faces} of {prep.sampled} sampled frames (at most 8 in one window)" in prep.reason
