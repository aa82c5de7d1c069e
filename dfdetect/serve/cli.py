"""``dfdetect serve [CHECKPOINT] [--host 127.0.0.1] [--port 8000]``: the scoring page and REST API.

Open ``http://HOST:PORT/`` for the page, ``/docs`` for the API (OpenAPI), ``/healthz`` for a health check. The
checkpoint (or an ONNX export of it: no heat maps then) is loaded once; without one, the default detector
(:func:`dfdetect.core.config.default_model_path`, built by ``dfdetect model build``), and when it has not been built one
line says how. Defaults: :class:`dfdetect.core.config.ServeConfig`.

Exit status: 2 for an unusable checkpoint or setting, else uvicorn's (0 after Ctrl-C).

Example:
    $ python -m dfdetect serve demo_out/run/best.pt --port 8000
"""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from dfdetect.core.cli import add_verbose, run_cli
from dfdetect.core.config import ServeConfig, add_score_overrides, resolve_weights, score_from_args
from dfdetect.core.io import InputError
from dfdetect.inference import Detector
from dfdetect.serve.app import create_app

log = logging.getLogger(__name__)

_D = ServeConfig()  # THE defaults
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def get_args_parser() -> argparse.ArgumentParser:
    """The ``python -m dfdetect serve`` command line."""
    p = argparse.ArgumentParser(prog="dfdetect serve", description=(
        "Serve a page and a REST API (POST /v1/score) that score uploaded videos and face images, with heat maps."))
    p.add_argument("weights", nargs="?", default=None, help="checkpoint (.pt) written by train.py, or its ONNX export "
                   "(default: the default detector, `dfdetect model build`)")
    p.add_argument("--host", default=_D.host, help=f"address to bind (default {_D.host}: this machine only)")
    p.add_argument("--port", type=int, default=_D.port, help=f"TCP port (default {_D.port})")
    p.add_argument("--max-upload-mb", type=float, default=_D.max_upload_mb,
                   help=f"largest upload in MB (default {_D.max_upload_mb:g})")
    p.add_argument("--timeout", type=float, default=_D.timeout_s,
                   help=f"seconds a request may take (default {_D.timeout_s:g})")
    p.add_argument("--workers", type=int, default=_D.workers,
                   help=f"requests scored at the same time (default {_D.workers})")
    add_score_overrides(p, "threshold", "max_clips", "clips", "window_every", "max_windows", "device")
    add_verbose(p)
    return p


def main(argv: list[str] | None = None) -> int:
    """``dfdetect serve``: see the module docstring for the exit status."""
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    """The body of :func:`main` (after the arguments and the logging setup)."""
    score = score_from_args(args)
    cfg = ServeConfig(host=args.host, port=args.port, max_upload_mb=args.max_upload_mb, timeout_s=args.timeout,
                      workers=args.workers, threshold=score.threshold, max_clips=score.max_clips)
    if cfg.max_upload_mb <= 0 or cfg.timeout_s <= 0 or cfg.workers < 1 or cfg.max_clips < 0:
        raise InputError("--max-upload-mb and --timeout must be > 0, --workers >= 1, --max-clips >= 0")
    weights = resolve_weights(args.weights)
    det = Detector.load(weights, score)
    app = create_app(det, str(weights), cfg)
    if cfg.host not in LOCAL_HOSTS:
        log.warning("listening on %s: reachable from other machines (no authentication here)", cfg.host)
    log.info("page at http://%s:%d/ , API docs at /docs", cfg.host, cfg.port)
    uvicorn.run(app, host=cfg.host, port=cfg.port, log_level="debug" if args.verbose else "info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
