"""The web app: ``GET /`` (the page), ``POST /v1/score`` (a file -> JSON), ``GET /healthz``, OpenAPI at ``/docs``.

Why FastAPI + uvicorn: typed request/response models that become the OpenAPI docs by themselves, async request
handling (an upload streams to disk without holding a worker thread), a plain thread pool for the CPU-bound scoring,
and both are widely used and kept up to date; Gradio would bring its own page and upload handling, which this
endpoint must control (limits, sniffing, cleanup).

One request, top to bottom (:func:`create_app`'s ``score``):

1. A private folder ``<tmp>/dfdetect-serve-XXXX/req-XXXX`` (mode 0700, :func:`tempfile.mkdtemp`) for this request.
2. :func:`dfdetect.serve.uploads.receive_upload`: the body streamed there, refused past ``max_upload_mb`` while it
   streams, the content sniffed (the name and ``Content-Type`` are never trusted, the name never used as a path).
3. :func:`score_file` in a worker thread (at most ``workers`` at a time; the face detector and model are shared and
   only read): THE scoring path (:meth:`dfdetect.inference.Detector.predict` on the prepared input: windows over the
   whole video by default, each with its start, end and score, how much of the video they cover and the
   ``fake_segments``, the windows at or above the threshold merged; every person of the video with its score, face
   box, seconds (and with ``explain`` a face thumbnail), the video's score the highest person's), per-frame
   scores (:meth:`~dfdetect.inference.Detector.frame_scores` on the same crops; none for an audio model, whose clips
   are windows of sound) and, when asked, the heat maps (:class:`dfdetect.inference.explain.Explainer`, on its own
   model copy): of the face crops, and for an audio or ``av`` model of each clip's log-mel spectrogram. The windows,
   frame scores and heat maps are those of the highest-scored person.
4. The whole request has ``timeout_s`` (waiting for a worker included): past it the answer is 504 with the reason;
   a scoring already running cannot be interrupted (a thread), it finishes in the background and its result is
   dropped.
5. The folder is removed whatever happened: by the request when scoring never started, else by the worker when it
   ends. The app's temporary root is removed at shutdown.

Each request has its own folder, its own prepared input and its own result object: nothing is shared between requests
but the read-only models, so results cannot mix and a bad file only ever affects its own answer.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import shutil
import tempfile
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import anyio
from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel

from dfdetect.core.config import ServeConfig
from dfdetect.core.schemas import ScoreStatus
from dfdetect.inference import NEUTRAL_SCORE, Detector, PreparedVideo
from dfdetect.inference.aggregate import fake_segments, verdict
from dfdetect.inference.detector import NO_FRAME_SCORES_AUDIO
from dfdetect.inference.explain import Explainer, png_bytes
from dfdetect.inference.export import OnnxClassifier
from dfdetect.serve.page import PAGE
from dfdetect.serve.uploads import UploadError, receive_upload

log = logging.getLogger(__name__)

API_VERSION = "v1"


class ClipScore(BaseModel):
    frames: list[int]
    score: float


class FrameScore(BaseModel):
    frame: int
    score: float


class WindowOut(BaseModel):
    """One scored window: its place in the video in seconds and its P(fake) (the mean of its clips)."""

    window: int
    start_s: float
    end_s: float
    score: float


class SegmentOut(BaseModel):
    """A run of windows scored at or above the threshold, merged: where the video looks fake."""

    start_s: float
    end_s: float
    peak: float


class PersonOut(BaseModel):
    """One person of the video, scored on its own (the video's score is the highest person's)."""

    person: int  # 0: the main person (the most windows, then faces)
    score: float
    faces: int  # sampled frames with its face
    windows: int  # windows of it scored (one face track in one shot each)
    start_s: float  # its first window's start ...
    end_s: float  # ... and its last's end, seconds (0 for an image)
    box: list[float] | None = None  # its mean face box x1, y1, x2, y2, full-frame pixels (None for an image)
    thumbnail: str = ""  # with explain: data:image/png;base64,... one of its face crops (the middle one)


class HeatMapOut(BaseModel):
    clip: int
    frame: int
    png: str  # data:image/png;base64,...


class SpectrogramOut(BaseModel):
    clip: int
    frames: list[int]  # the clip's frames: its audio window is theirs
    png: str  # data:image/png;base64,... the log-mel (time on x, low bands at the bottom) with the heat map over it


class ScoreResponse(BaseModel):
    """The answer of ``POST /v1/score`` (also for a refused upload: score 0.5, the status and the reason)."""

    name: str
    score: float
    verdict: str  # "fake", "real" or "not scored"
    threshold: float
    status: str  # ok, unreadable, no_face, too_few_faces, error, too_large, timeout
    reason: str
    faces: int = 0
    sampled: int = 0
    clips: list[ClipScore] = []
    windows: list[WindowOut] = []  # time order; empty for an image
    duration_s: float = 0.0  # the video's duration (0 for an image)
    fps: float = 0.0  # its frame rate (frame numbers to seconds; 0 for an image)
    covered_s: float = 0.0  # seconds of it the scored windows span
    fake_segments: list[SegmentOut] = []  # the windows at or above the threshold, merged
    person: int = 0  # the person the clips, windows, segments, frame scores and heat maps are of (the highest score)
    persons: list[PersonOut] = []  # every person scored
    frame_scores: list[FrameScore] = []
    frame_scores_reason: str = ""
    heatmaps: list[HeatMapOut] = []
    heatmaps_reason: str = ""
    spectrograms: list[SpectrogramOut] = []
    spectrograms_reason: str = ""
    model_name: str
    model_version: str
    seconds: float


class Health(BaseModel):
    status: str
    model_name: str
    model_kind: str
    model_modalities: str
    model_version: str
    dfdetect_version: str


@dataclass(frozen=True)
class ModelInfo:
    """What the API reports about the loaded model: name (backbone + temporal part, ``audio-`` + the audio branch),
    kind (``video``, ``frame`` or ``audio``), modalities (``video``, ``audio`` or ``av``), version (the first 12 hex
    digits of the weights file's SHA-256: two files with the same version hold the same model)."""

    name: str
    kind: str
    modalities: str
    version: str

    @classmethod
    def of(cls, det: Detector, weights: str | Path) -> ModelInfo:
        m = det.cfg.model
        picture = m.backbone if m.kind == "frame" else f"{m.backbone}+{m.temporal}"
        sound = "audio-" + ("cnn" if m.audio_encoder == "cnn" else m.backbone)
        name = {"video": picture, "audio": sound, "av": f"{picture}+{sound}"}[det.modalities]
        digest = hashlib.sha256()
        with open(weights, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        suffix = "-onnx" if Path(weights).suffix.lower() == ".onnx" else ""
        return cls(name + suffix, det.kind, det.modalities, digest.hexdigest()[:12])


def _package_version() -> str:
    try:
        return version("dfdetect")
    except PackageNotFoundError:
        return "unknown"


def score_file(det: Detector, explainer: Explainer | None, path: Path, name: str, explain: bool) -> dict:
    """Score one received file: the result, per-frame scores and heat maps, as the fields of :class:`ScoreResponse`.

    An ``audio`` model has no per-frame scores (``frame_scores_reason`` says why; its clip scores are per window of
    sound) and no face crops; an ``audio`` or ``av`` model's answer has the spectrogram heat maps with ``explain``.
    Never raises for a bad file (the scoring path gives it a status and reason).
    """
    video = det.prepare(path)
    (result,) = det.predict([video])
    prep = video.persons[result.person] if result.status == ScoreStatus.OK else video  # the highest-scored person
    out: dict = {"score": result.score, "status": str(result.status), "reason": result.reason,
                 "faces": result.faces, "sampled": result.sampled,
                 "clips": [{"frames": f, "score": s} for f, s in zip(result.clip_frames, result.clip_scores)],
                 "windows": [{"window": k, "start_s": a, "end_s": b, "score": s}
                             for k, ((a, b), s) in enumerate(zip(result.window_times, result.window_scores))],
                 "duration_s": result.duration_s, "covered_s": result.covered_s, "fps": prep.fps,
                 "fake_segments": [{"start_s": a, "end_s": b, "peak": p} for a, b, p in result.fake_segments],
                 "person": result.person,
                 "persons": [{"person": p.person, "score": p.score, "faces": p.faces, "windows": p.windows,
                              "start_s": p.start_s, "end_s": p.end_s, "box": None if p.box is None else list(p.box),
                              "thumbnail": _thumbnail(video.persons[p.person]) if explain else ""}
                             for p in result.persons]}
    if result.status != ScoreStatus.OK:
        return out
    if det.modalities == "audio":
        out["frame_scores_reason"] = NO_FRAME_SCORES_AUDIO
    elif prep.clip_len > 1:  # a video: each crop alone too (for an image the one clip is the frame)
        frames = det.frame_scores(prep)
        out["frame_scores"] = [{"frame": f, "score": s} for f, s in frames.items()]
    else:
        out["frame_scores"] = [{"frame": c[0], "score": s} for c, s in zip(result.clip_frames, result.clip_scores)]
    if explain and explainer is None:
        out["heatmaps_reason"] = "heat maps need the torch checkpoint (this server runs an ONNX export)"
    elif explain:
        out["heatmaps"] = [{"clip": h.clip, "frame": h.frame, "png": _data_url(h.png())}
                           for h in explainer.heatmaps(prep)]
        if explainer.hears:
            specs = explainer.spectrograms(prep)
            out["spectrograms"] = [{"clip": m.clip, "frames": m.frames, "png": _data_url(m.png())} for m in specs]
            if not specs:
                out["spectrograms_reason"] = "no sound in this input: no spectrogram heat map"
    log.info("%s: P(fake) %.4f (%s)", name, result.score, result.status)
    return out


def _thumbnail(person: PreparedVideo) -> str:
    """A person's middle face crop as a PNG data URL ("" without crops: an audio model's input)."""
    frames = sorted(person.crops)
    return _data_url(png_bytes(person.crops[frames[len(frames) // 2]])) if frames else ""


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


class _Job:
    """Who removes a request's folder: the request when scoring never started, the worker once it has."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.started, self.abandoned = folder, False, False
        self._lock = threading.Lock()

    def start(self) -> bool:
        with self._lock:
            if self.abandoned:
                return False
            self.started = True
            return True

    def leave(self) -> None:
        """The request is done with the folder: remove it now unless a worker still uses it."""
        with self._lock:
            self.abandoned = True
            if self.started:
                return
        shutil.rmtree(self.folder, ignore_errors=True)

    def finish(self) -> None:
        """The worker is done: remove the folder (the request may already have answered)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def create_app(det: Detector, weights: str | Path, cfg: ServeConfig | None = None) -> FastAPI:
    """The FastAPI app around one loaded :class:`~dfdetect.inference.Detector` (see the module docstring).

    Args:
        det: the detector, loaded once (its face detector is built here, before any request).
        weights: its checkpoint or ONNX file (for the model version).
        cfg: limits and settings (:class:`~dfdetect.core.config.ServeConfig` defaults when None).

    """
    cfg = cfg or ServeConfig()
    info = ModelInfo.of(det, weights)
    if det.modalities != "audio":
        _ = det.face_detector  # built now, not by two requests at once
    explainer = None if isinstance(det.model, OnnxClassifier) else Explainer(det, max_clips=cfg.max_clips)
    max_bytes = int(cfg.max_upload_mb * 1e6)
    limiter = anyio.CapacityLimiter(max(1, cfg.workers))
    state: dict[str, Path] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state["root"] = Path(tempfile.mkdtemp(prefix="dfdetect-serve-"))  # mode 0700: this user only
        log.info("model %s (%s), version %s; uploads up to %.0f MB in %s", info.name, info.kind, info.version,
                 cfg.max_upload_mb, state["root"])
        try:
            yield
        finally:
            shutil.rmtree(state["root"], ignore_errors=True)

    app = FastAPI(title="dfdetect", version=_package_version(), lifespan=lifespan,
                  description="Score a video or face image: P(fake); windows over the whole video with their start, "
                              "end (seconds) and score, how much of it they cover, and the fake segments (windows at "
                              "or above the threshold, merged); every person of the video with its own score and face "
                              "box (the video's score is the highest person's); per-clip and per-frame scores, heat "
                              "maps.")

    def answer(http_status: int, name: str, status: str, reason: str, start: float, **fields) -> JSONResponse:
        score = fields.pop("score", NEUTRAL_SCORE)
        if fields.get("windows"):  # the segments by this server's threshold, the one its verdict uses
            windows = fields["windows"]
            segments = fake_segments([(w["start_s"], w["end_s"]) for w in windows], [w["score"] for w in windows],
                                     cfg.threshold)
            fields["fake_segments"] = [{"start_s": a, "end_s": b, "peak": p} for a, b, p in segments]
        body = ScoreResponse(name=name, score=score, verdict=verdict(score, status, cfg.threshold),
                             threshold=cfg.threshold, status=status, reason=reason, model_name=info.name,
                             model_version=info.version, seconds=round(time.perf_counter() - start, 3), **fields)
        return JSONResponse(body.model_dump(), status_code=http_status)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> str:
        return PAGE

    @app.get("/healthz", response_model=Health)
    async def healthz() -> Health:
        return Health(status="ok", model_name=info.name, model_kind=info.kind, model_modalities=info.modalities,
                      model_version=info.version, dfdetect_version=_package_version())

    @app.post(
        f"/{API_VERSION}/score", response_model=ScoreResponse,
        responses={400: {"model": ScoreResponse}, 413: {"model": ScoreResponse}, 415: {"model": ScoreResponse},
                   504: {"model": ScoreResponse}},
        openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary",
                                    "description": "a video or a face image"}}}}}}},
    )
    async def score(request: Request, explain: bool = Query(False, description="add the heat maps (PNG data URLs)")):
        """Score one uploaded video or face image (multipart field ``file``): P(fake), status and reason, per-clip
        and per-frame scores, and with ``explain=true`` a Grad-CAM heat map over each face crop the model saw and,
        for an audio or av model, over each clip's log-mel spectrogram it heard."""
        start = time.perf_counter()
        folder = Path(tempfile.mkdtemp(prefix="req-", dir=state["root"]))
        job = _Job(folder)
        name = "upload"
        try:
            try:
                upload = await receive_upload(request, folder, max_bytes, accept_audio=det.modalities == "audio")
            except UploadError as e:
                return answer(e.http_status, name, e.status, e.reason, start)
            name = upload.name

            def work() -> dict | None:
                if not job.start():
                    return None  # the request gave up before a worker was free
                try:
                    return score_file(det, explainer, upload.path, name, explain)
                finally:
                    job.finish()

            try:
                with anyio.fail_after(cfg.timeout_s):
                    fields = await anyio.to_thread.run_sync(work, limiter=limiter, abandon_on_cancel=True)
            except TimeoutError:
                return answer(504, name, "timeout", f"not scored within the limit of {cfg.timeout_s:g} s", start)
            except Exception as e:  # noqa: BLE001 - one request's failure is its own answer, never the server's
                log.exception("%s: scoring failed", name)
                return answer(500, name, str(ScoreStatus.ERROR), f"{type(e).__name__}: {e}", start)
            return answer(200, name, fields.pop("status"), fields.pop("reason"), start, **fields)
        finally:
            job.leave()

    return app
