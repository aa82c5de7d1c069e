"""The page in a real headless Chromium (Debian ``chromium`` + ``chromium-driver``, driven by selenium): upload a
sample video, wait for the answer, read the score, see the timeline and the heat-map images load.

Without Chromium the test is skipped with one line; where ``DFDETECT_REQUIRE_BROWSER=1`` (set by ``.ci/run``) it
fails instead, so CI cannot pass without running it. ``DFDETECT_SCREENSHOT=PATH`` saves a screenshot of the page
there (the README's picture is made this way, see the README's serving section).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.serve.conftest import Served

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WAIT_S = 120


def _driver() -> webdriver.Chrome:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    if missing:
        reason = f"{' and '.join(missing)} not found (apt-get install chromium chromium-driver)"
        if os.environ.get("DFDETECT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"the browser test must run here (DFDETECT_REQUIRE_BROWSER=1): {reason}")
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1100,1300"):
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))


def test_the_page_scores_a_video_and_shows_heat_maps(served: Served, face_video: Path, tmp_path: Path) -> None:
    driver = _driver()
    try:
        driver.get(served.url + "/")
        assert "dfdetect" in driver.title
        WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "model").text.startswith("model "))
        file_input = driver.find_element(By.ID, "file")
        driver.execute_script("arguments[0].hidden = false;", file_input)  # a hidden input cannot be typed into
        file_input.send_keys(str(face_video))
        WebDriverWait(driver, WAIT_S).until(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") in ("done", "failed"))
        assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "done"

        shown = float(driver.find_element(By.ID, "score").text)
        assert driver.find_element(By.ID, "status").text == "ok"
        assert driver.find_element(By.ID, "verdict").text == ("fake" if shown >= 0.5 else "real")
        # The same answer the API gives for the same file (the page shows 3 decimals).
        api = requests.post(f"{served.url}/v1/score", files={"file": (face_video.name, face_video.read_bytes())},
                            timeout=120).json()
        assert shown == pytest.approx(api["score"], abs=5e-4)
        assert float(driver.find_element(By.ID, "seconds").text) > 0

        # The timeline over the WHOLE video (issue 26): a time axis in seconds from 0 to the video's duration, one bar
        # per window over its seconds (marked when at or above the threshold, the dashed line), one dot per frame.
        svg = driver.find_element(By.CSS_SELECTOR, "#timeline svg")
        assert float(svg.get_attribute("data-duration")) == pytest.approx(api["duration_s"])
        ticks = [float(t.get_attribute("data-t")) for t in driver.find_elements(By.CSS_SELECTOR, "#timeline text.tick")]
        assert ticks[0] == 0.0 and ticks[-1] == pytest.approx(api["duration_s"])
        assert driver.find_element(By.CSS_SELECTOR, "#timeline text.tick").get_attribute("textContent") == "0 s"
        bars = driver.find_elements(By.CSS_SELECTOR, "#timeline rect.window")
        assert [(float(b.get_attribute("data-start")), float(b.get_attribute("data-end"))) for b in bars] == [
            pytest.approx((w["start_s"], w["end_s"])) for w in api["windows"]]
        above = driver.find_elements(By.CSS_SELECTOR, "#timeline rect.window.above")
        assert len(above) == sum(w["score"] >= api["threshold"] for w in api["windows"])
        assert len(driver.find_elements(By.CSS_SELECTOR, "#timeline line.threshold")) == 1
        assert len(driver.find_elements(By.CSS_SELECTOR, "#timeline rect.segment")) == len(api["fake_segments"])
        assert len(driver.find_elements(By.CSS_SELECTOR, "#timeline circle.frame")) == len(api["frame_scores"])
        assert driver.find_element(By.ID, "coverage").text == (
            f"looked at {len(api['windows'])} window{'' if len(api['windows']) == 1 else 's'} spanning "
            f"{api['covered_s']:.1f} s of {api['duration_s']:.1f} s")

        # The heat maps: every image decoded by the browser (complete, with its real size).
        WebDriverWait(driver, 30).until(lambda d: d.execute_script(
            "const imgs = [...document.querySelectorAll('img.heatmap')];"
            "return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0);"))
        sizes = driver.execute_script(
            "return [...document.querySelectorAll('img.heatmap')].map(i => [i.naturalWidth, i.naturalHeight]);")
        assert sizes == [[64, 64]] * 4  # T = 4 crops of 64 px (one clip explained)

        # A file that is not a video: the page shows the status and the reason.
        bad = tmp_path / "notes.mp4"
        bad.write_text("not a video\n")
        file_input.send_keys(str(bad))
        WebDriverWait(driver, WAIT_S).until(lambda d: d.find_element(By.ID, "status").text == "unreadable")
        assert "not a video or image" in driver.find_element(By.ID, "reason").text
        assert driver.find_element(By.ID, "verdict").text == "not scored"

        shot = os.environ.get("DFDETECT_SCREENSHOT")
        if shot:  # the README's picture: the video's answer, not the refusal
            file_input.send_keys(str(face_video))
            WebDriverWait(driver, WAIT_S).until(lambda d: d.find_element(By.ID, "status").text == "ok")
            driver.save_screenshot(shot)
    finally:
        driver.quit()
