"""Issue 23 item 1 at the server: every person of a video in the API's answer (its score, face box, seconds and face
thumbnail; the video's score the highest), and the page showing each of them.

The video is built from the samples at test time (tests/media.py): single_face.mp4 and WolfgangLanger_Pexels.mp4 side
by side.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dfdetect.inference import Detector
from dfdetect.serve.app import ScoreResponse, create_app, score_file
from tests.media import side_by_side
from tests.serve.conftest import serving_in_thread
from tests.serve.test_serve_browser import WAIT_S, _driver

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # a shared 2-core machine: see tests/conftest.py


@pytest.fixture(scope="module")
def two_people(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return side_by_side(samples_dir / "single_face.mp4", samples_dir / "WolfgangLanger_Pexels.mp4",
                        tmp_path_factory.mktemp("persons") / "two_people.mp4")


@pytest.fixture(scope="module")
def det(tiny_checkpoint: Path) -> Detector:
    return Detector.load(tiny_checkpoint / "best.pt", device="cpu")


def test_the_answer_lists_every_person(det: Detector, two_people: Path) -> None:
    fields = score_file(det, None, two_people, "two.mp4", explain=True)
    body = ScoreResponse(name="two.mp4", verdict="", threshold=0.5, model_name="m", model_version="v", seconds=0.0,
                         **fields)  # the answer's schema holds it
    persons = body.persons
    assert body.status == "ok" and len(persons) == 2 and [p.person for p in persons] == [0, 1]
    assert body.score == max(p.score for p in persons) and body.person == max(persons, key=lambda p: p.score).person
    assert sorted((p.box[0] + p.box[2]) / 2 > 640 for p in persons) == [False, True]  # one face per half
    assert all(p.thumbnail.startswith("data:image/png;base64,") and p.end_s > p.start_s == 0.0 for p in persons)
    # the windows, clips and frame scores are the highest person's: its face, on its side of the frame
    prep = det.prepare(two_people).persons[body.person]
    assert {f.frame for f in body.frame_scores} == set(prep.crops)
    assert all(set(c.frames) <= set(prep.crops) for c in body.clips)
    assert score_file(det, None, two_people, "two.mp4", explain=False)["persons"][0]["thumbnail"] == ""


@pytest.mark.slow
def test_the_page_shows_each_person(det: Detector, tiny_checkpoint: Path, two_people: Path) -> None:
    with serving_in_thread(create_app(det, tiny_checkpoint / "best.pt")) as url:
        driver = _driver()
        try:
            driver.get(url + "/")
            file_input = driver.find_element(By.ID, "file")
            driver.execute_script("arguments[0].hidden = false;", file_input)
            file_input.send_keys(str(two_people))
            WebDriverWait(driver, WAIT_S).until(
                lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") in ("done", "failed"))
            api = requests.post(f"{url}/v1/score", files={"file": (two_people.name, two_people.read_bytes())},
                                timeout=120).json()
            assert driver.find_element(By.ID, "persons-card").is_displayed()
            shown = driver.find_elements(By.CSS_SELECTOR, "#persons figure.person")
            assert [float(f.get_attribute("data-score")) for f in shown] == pytest.approx(
                [p["score"] for p in api["persons"]])
            (top,) = driver.find_elements(By.CSS_SELECTOR, "#persons figure.person.top")
            assert int(top.get_attribute("data-person")) == api["person"]
            assert float(driver.find_element(By.ID, "score").text) == pytest.approx(max(
                p["score"] for p in api["persons"]), abs=5e-4)
            WebDriverWait(driver, 30).until(lambda d: d.execute_script(
                "const imgs = [...document.querySelectorAll('#persons img')];"
                "return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth > 0);"))
            assert all("face at" in f.text for f in shown)
        finally:
            driver.quit()
