"""The server as a person starts it: ``python -m dfdetect serve CHECKPOINT --port P`` in its own process, on a free
localhost port, with its own TMPDIR (so a test can see every temporary file it leaves)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import uvicorn
from fastapi import FastAPI

ROOT = Path(__file__).resolve().parents[2]
MAX_UPLOAD_MB = 1.0  # the sample videos used here are 0.2-0.6 MB; an oversize upload needs only 1 MB more
START_TIMEOUT_S = 180.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving_in_thread(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free localhost port (for tests that set the app up in-process);
    yields its base URL and stops the server on exit."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@dataclass
class Served:
    url: str
    tmpdir: Path  # the server's TMPDIR
    log: Path
    process: subprocess.Popen

    def temp_entries(self) -> list[Path]:
        """Everything under the server's own temporary root(s) (``dfdetect-serve-*``), the roots excluded."""
        return [p for root in self.tmpdir.glob("dfdetect-serve-*") for p in root.rglob("*")]


@pytest.fixture(scope="session")
def served(untrained_checkpoints: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The video checkpoint served by the CLI (1 MB upload limit, 2 workers, one torch thread per worker op)."""
    root = tmp_path_factory.mktemp("served")
    tmpdir = root / "tmp"
    tmpdir.mkdir()
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmpdir), "OMP_NUM_THREADS": "1", "NO_ALBUMENTATIONS_UPDATE": "1"}
    log = root / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "dfdetect", "serve", str(untrained_checkpoints["video"]), "--port", str(port),
             "--max-upload-mb", str(MAX_UPLOAD_MB), "--device", "cpu", "--max-clips", "1"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/healthz", timeout=2).ok:
                break
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the server did not answer within {START_TIMEOUT_S:.0f} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
    served = Served(url, tmpdir, log, process)
    yield served
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
    leftovers = list(tmpdir.glob("dfdetect-serve-*"))
    assert not leftovers, f"the server left its temporary root behind: {leftovers}"
