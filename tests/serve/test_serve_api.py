"""The REST API through a real server process (tests/serve/conftest.py): a sample video, a face image, a non-video, an
empty file and oversize files (declared and streamed), concurrent requests that must not mix, the time limit, and no
temporary file left behind."""

from __future__ import annotations

import concurrent.futures
import os
import time
from pathlib import Path

import pytest
import requests

from dfdetect.core.config import ServeConfig
from dfdetect.inference import Detector
from dfdetect.serve.app import create_app
from dfdetect.serve.uploads import sniff
from tests.serve.conftest import MAX_UPLOAD_MB, Served, serving_in_thread

IMAGE = "0-f1-su-ph.jpg"


def post(url: str, path: Path | None = None, data: bytes | None = None, name: str = "x", ctype: str = "video/mp4",
         explain: bool = False) -> requests.Response:
    body = path.read_bytes() if path is not None else data
    files = {"file": (path.name if path is not None else name, body, ctype)}
    return requests.post(f"{url}/v1/score", files=files, params={"explain": str(explain).lower()}, timeout=120)


def test_score_a_video_an_image_and_refuse_bad_uploads(served: Served, untrained_checkpoints: dict[str, Path],
                                                       face_video: Path, no_face_video: Path, stills_dir: Path,
                                                       tmp_path: Path) -> None:
    health = requests.get(f"{served.url}/healthz", timeout=10).json()
    assert health["status"] == "ok" and health["model_kind"] == "video"
    assert health["model_name"] == "efficientnet-lite0+convlstm" and len(health["model_version"]) == 12

    # A sample video: scored by THE scoring path (the same number as Detector.score in this process).
    r = post(served.url, face_video, explain=True)
    assert r.status_code == 200, r.text
    video = r.json()
    assert video["status"] == "ok" and video["reason"] == "" and video["name"] == "single_face.mp4"
    assert video["score"] == pytest.approx(Detector.load(untrained_checkpoints["video"], device="cpu")
                                           .score(face_video), abs=1e-5)
    assert video["verdict"] == ("fake" if video["score"] >= 0.5 else "real")
    assert (video["model_name"], video["model_version"]) == (health["model_name"], health["model_version"])
    assert [c["frames"] for c in video["clips"]] == [[0, 2, 4, 6]]  # T = 4 of the 8 sampled frames, stride 2
    assert [f["frame"] for f in video["frame_scores"]] == list(range(0, 16, 2))
    # Where (issue 26): the window in seconds (2.4 s video, one window of 8 frames 2 apart at 30 fps: 0-0.5 s), how
    # much of the video it covers, and the fake segments by the server's threshold.
    (window,) = video["windows"]
    assert (window["window"], window["start_s"], window["score"]) == (0, 0.0, video["clips"][0]["score"])
    assert window["end_s"] == pytest.approx(0.5) and video["covered_s"] == pytest.approx(0.5)
    assert video["duration_s"] == pytest.approx(2.4) and video["fps"] == pytest.approx(30.0)
    assert video["fake_segments"] == ([{"start_s": 0.0, "end_s": window["end_s"], "peak": window["score"]}]
                                      if window["score"] >= video["threshold"] else [])
    assert len(video["heatmaps"]) == 4 and all(h["png"].startswith("data:image/png;base64,") for h in video["heatmaps"])
    assert 0 < video["seconds"] < 120

    image = post(served.url, stills_dir / IMAGE, ctype="image/jpeg").json()
    assert image["status"] == "ok" and image["faces"] == 1 and image["heatmaps"] == []  # explain not asked
    assert image["score"] != video["score"]
    assert (image["windows"], image["duration_s"], image["fake_segments"]) == ([], 0.0, [])  # no time in an image

    # A video without a face: decoded, not scored, with the reason.
    cartoon = post(served.url, no_face_video).json()
    assert (cartoon["status"], cartoon["score"], cartoon["verdict"]) == ("no_face", 0.5, "not scored")
    assert "no face" in cartoon["reason"]

    # The name and Content-Type lie: a text file called .mp4 is sniffed and refused.
    text = post(served.url, data=b"just some text, not a video\n" * 10, name="clip.mp4")
    assert text.status_code == 415 and text.json()["status"] == "unreadable"
    assert "not a video or image" in text.json()["reason"]
    # A file with a video's signature but broken inside reaches the decoder and gets its status.
    broken = post(served.url, data=face_video.read_bytes()[:2000], name="cut.mp4").json()
    assert broken["status"] == "unreadable" and broken["reason"]

    empty = post(served.url, data=b"", name="empty.mp4")
    assert empty.status_code == 400 and empty.json()["reason"] == "the file is empty"

    # A name that tries to be a path is only ever shown, cleaned.
    sneaky = requests.post(f"{served.url}/v1/score", timeout=60,
                           files={"file": ("../../../tmp/evil.jpg", (stills_dir / IMAGE).read_bytes(), "image/jpeg")})
    assert sneaky.json()["name"] == "evil.jpg" and not Path("/tmp/evil.jpg").exists()

    oversize = os.urandom(int(MAX_UPLOAD_MB * 1e6) + 500_000)
    big = post(served.url, data=b"\x00\x00\x00\x18ftypmp42" + oversize, name="big.mp4")
    assert big.status_code == 413 and big.json()["status"] == "too_large"

    # Streamed without a Content-Length (chunked): refused while streaming, answered cleanly.
    boundary = "dfdetectboundary"

    def chunks():
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\n"
               f"Content-Type: video/mp4\r\n\r\n").encode() + b"\x00\x00\x00\x18ftypmp42"
        for start in range(0, len(oversize), 64 * 1024):
            yield oversize[start:start + 64 * 1024]
        yield f"\r\n--{boundary}--\r\n".encode()

    streamed = requests.post(f"{served.url}/v1/score", data=chunks(), timeout=60,
                             headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert streamed.status_code == 413 and "larger than the limit" in streamed.json()["reason"]

    not_form = requests.post(f"{served.url}/v1/score", data=b"raw", timeout=10)
    assert not_form.status_code == 415 and "multipart/form-data" in not_form.json()["reason"]

    docs = requests.get(f"{served.url}/openapi.json", timeout=10).json()
    assert "/v1/score" in docs["paths"] and "/healthz" in docs["paths"]
    assert requests.get(f"{served.url}/docs", timeout=10).ok

    time.sleep(0.5)  # the last worker may still be removing its folder
    assert served.temp_entries() == []


def test_concurrent_requests_do_not_mix(served: Served, face_video: Path, samples_dir: Path, stills_dir: Path) -> None:
    inputs = [face_video, samples_dir / "carphone_pristine.mp4", stills_dir / IMAGE, stills_dir / "45-m7-di-ph.jpg"]
    alone = {p.name: post(served.url, p).json() for p in inputs}
    assert len({round(a["score"], 6) for a in alone.values()}) == len(inputs)  # four different answers to tell apart
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda p: post(served.url, p).json(), inputs * 2))
    for path, got in zip(inputs * 2, together):
        want = alone[path.name]
        assert got["name"] == path.name and got["status"] == want["status"] == "ok"
        assert got["score"] == pytest.approx(want["score"], abs=1e-5)
        assert [c["frames"] for c in got["clips"]] == [c["frames"] for c in want["clips"]]
    time.sleep(0.5)
    assert served.temp_entries() == []


def test_sniffing_reads_the_sample_media(samples_dir: Path, stills_dir: Path) -> None:
    expected = {"single_face.mp4": ".mp4", "carphone_pristine.mp4": ".mp4", "face_noface.mov": ".mov",
                "0-f1-su-ph.jpg": ".jpg", "Image_with_alpha.png": ".png"}
    for name, ext in expected.items():
        path = samples_dir / name if (samples_dir / name).exists() else stills_dir / name
        assert sniff(path.read_bytes()[:32]) == ext, name
    assert sniff(b"") is None and sniff(b"<html>") is None and sniff(b"PK\x03\x04") is None


def test_a_request_over_the_time_limit_gets_504_and_leaves_nothing(
    untrained_checkpoints: dict[str, Path], face_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    one_torch_thread: None,
) -> None:
    """In-process server (uvicorn in a thread) with a 50 ms limit: the scoring cannot finish in time."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # re-read TMPDIR
    det = Detector.load(untrained_checkpoints["video"], device="cpu")
    app = create_app(det, untrained_checkpoints["video"], ServeConfig(timeout_s=0.05, max_clips=1))
    with serving_in_thread(app) as url:
        r = post(url, face_video)
        assert r.status_code == 504 and r.json()["status"] == "timeout" and "0.05 s" in r.json()["reason"]
        deadline = time.monotonic() + 60  # the abandoned scoring finishes in the background, then cleans up
        while [p for p in tmp_path.glob("dfdetect-serve-*/*")] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert list(tmp_path.glob("dfdetect-serve-*/*")) == []
    assert list(tmp_path.glob("dfdetect-serve-*")) == []  # the app's root is removed at shutdown
