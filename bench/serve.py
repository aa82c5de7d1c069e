"""Benchmark the scoring server: seconds per request (score only, and with heat maps) for a video and a face image,
and a screenshot of the page in headless Chromium (the README's picture).

The app is :func:`dfdetect.serve.app.create_app` run by uvicorn in this process on a free localhost port; requests go
through HTTP like a client's. Each input is posted ``--repeat`` times after one untimed warm-up; the median is
reported, with the server's own ``seconds`` (upload received to answer ready) beside the client's wall time.

Usage:
    python bench/serve.py --weights demo_out/run/best.pt --video data/samples/single_face.mp4 \\
        --image data/samples/stills/0-f1-su-ph.jpg [--screenshot docs/serve.png]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# `python bench/serve.py` puts bench/ first on the path, where its scripts' names would shadow packages (bench/av.py is
# not PyAV): the project's root takes its place.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import requests  # noqa: E402
import uvicorn  # noqa: E402

from bench.common import format_table  # noqa: E402
from dfdetect.core.cli import add_verbose, run_cli  # noqa: E402
from dfdetect.core.config import ServeConfig  # noqa: E402
from dfdetect.inference import Detector  # noqa: E402
from dfdetect.serve.app import create_app  # noqa: E402

log = logging.getLogger("bench.serve")


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--weights", required=True, help="checkpoint (.pt) or ONNX export")
    p.add_argument("--video", default=str(ROOT / "data" / "samples" / "single_face.mp4"))
    p.add_argument("--image", default=str(ROOT / "data" / "samples" / "stills" / "0-f1-su-ph.jpg"))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--screenshot", help="save a screenshot of the page after scoring --video (needs chromium)")
    add_verbose(p)
    return p


def _serve(weights: str) -> tuple[uvicorn.Server, threading.Thread, str]:
    det = Detector.load(weights, device="cpu")
    app = create_app(det, weights, ServeConfig())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def _post(url: str, path: Path, explain: bool) -> tuple[float, dict]:
    start = time.perf_counter()
    r = requests.post(f"{url}/v1/score", params={"explain": str(explain).lower()}, timeout=600,
                      files={"file": (path.name, path.read_bytes())})
    return time.perf_counter() - start, r.json()


def screenshot(url: str, video: Path, out: Path) -> None:
    """Upload ``video`` on the page in headless Chromium and save the page as a PNG."""
    from selenium import webdriver  # lazy: a test-only dependency (requirements-dev.txt), only for --screenshot
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,960"):
        options.add_argument(arg)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.get(url + "/")
        field = driver.find_element(By.ID, "file")
        driver.execute_script("arguments[0].hidden = false;", field)
        field.send_keys(str(video.resolve()))
        WebDriverWait(driver, 600).until(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "done")
        driver.execute_script("arguments[0].hidden = true;", field)
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))
        log.info("wrote %s", out)
    finally:
        driver.quit()


def main(argv: list[str] | None = None) -> int:
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    """The body of :func:`main` (after the arguments and the logging setup)."""
    server, thread, url = _serve(args.weights)
    rows = []
    try:
        for path in (Path(args.video), Path(args.image)):
            for explain in (False, True):
                _post(url, path, explain)  # warm-up
                runs = [_post(url, path, explain) for _ in range(max(1, args.repeat))]
                wall = statistics.median(r[0] for r in runs)
                answer = runs[0][1]
                rows.append({"input": path.name, "explain": explain, "wall_s": wall,
                             "server_s": statistics.median(r[1]["seconds"] for r in runs),
                             "status": answer["status"], "score": answer["score"],
                             "heatmaps": len(answer["heatmaps"])})
        if args.screenshot:
            screenshot(url, Path(args.video), Path(args.screenshot))
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    columns = ["input", "explain", "wall_s", "server_s", "status", "score", "heatmaps"]
    log.info("serving benchmark (median of %d):\n%s", args.repeat, format_table(rows, columns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
