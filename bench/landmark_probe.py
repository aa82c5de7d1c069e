"""Landmark-trajectory probe: is there a cue in how the face's landmarks move that carries from the time-only fakes
trained on to a kind left out?

``python bench/landmark_probe.py [--generalise-out bench_out/generalise] [--seeds 0 1 2] [--seeds-per-clip 2]``

Issue 22's benchmark (``bench/generalise.py``) finds the ConvLSTM at chance on every left-out time-only generator.
This probe asks the question without a CNN: LRNet (Sun et al., CVPR 2021) classifies the trajectories of facial
landmarks and is robust where pixels are not. Per clip, the 468 dense landmarks of every face crop (the synth
package's face mesh, no temporal smoothing) are aligned frame by frame on the upper face oval (forehead and temples,
outside every generator's region: the head's own motion removed), and a handful of statistics describe how each part
of the face moves against that head: speed, jerk (second difference) and their ratio for the mouth, the eyes, the
nose and the whole inner face; the jerk of each part's centre; the spread and jerk of the mouth's and eyes' opening.
A logistic regression (scikit-learn) learns reals against the fakes of the time-only generators kept for training,
made on the fly on the training people's crops (as ``train.py`` makes its twins); it is tested on the left-out
generator's fakes of the held-out people, made as ``bench/generalise.py`` makes them (``synth``, encoded, extracted
and cropped again): video AUC, leave-one-generator-out over :data:`dfdetect.synth.TIME_ONLY`'s named generators, with
and without ``timeblend`` in training.

It reuses ``bench/generalise.py``'s work folder (its data set, training crops and test sets; a test set it lacks is
built). Prints, per probe (:data:`PROBES`) and with or without ``timeblend`` in training, the AUC of each left-out
generator (mean ± spread over the seeds of the training fakes; the test sets are fixed) and their mean; writes
``OUT/landmark_probe.csv`` and every run to ``OUT/landmark_probe_runs.csv``. Then (``--fuse``) the finished runs of
``bench/generalise.py`` (same folds, same seeds, same test videos) beside the probe and the two fused: what a detector
with both cues would score on every left-out generator, time-only and not (``OUT/landmark_fusion.csv``).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from sklearn.base import BaseEstimator, TransformerMixin  # noqa: E402
from sklearn.covariance import LedoitWolf  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from bench import generalise  # noqa: E402
from bench.common import format_table  # noqa: E402
from dfdetect.clips.landmarks import trajectory_features  # noqa: E402
from dfdetect.core.config import load_config  # noqa: E402
from dfdetect.core.io import read_csv, setup_logging, write_csv  # noqa: E402
from dfdetect.data import clip_geometry, load_crop, read_crops_manifest  # noqa: E402
from dfdetect.demo.run import DEFAULT_CONFIG  # noqa: E402
from dfdetect.synth import TIME_ONLY, clip_faces, generate  # noqa: E402
from dfdetect.synth.landmarks import dense_faces  # noqa: E402

log = logging.getLogger("bench.landmark_probe")

NAMED_TIME_ONLY = tuple(g for g in TIME_ONLY if g not in generalise.ALWAYS_TRAINED)


def clip_landmarks(crops: list[np.ndarray], faces: list) -> np.ndarray | None:
    """(T, 468, 2) raw dense landmarks of a clip's crops (no temporal smoothing), or None without a mesh for all."""
    dense = dense_faces(crops, faces, sigma=0.0)
    if any(f is None or f[1] is None or len(f[1]) != 468 for f in dense):
        return None
    return np.stack([f[1] for f in dense])


def video_clips(manifest: Path, names: set[str] | None, margin: float, size: int):
    """Yield ``(video name, crops (T, size, size, 3), faces)`` for every video of a crop manifest (or of ``names``)."""
    for name, video in read_crops_manifest(manifest).items():
        if names is not None and name not in names:
            continue
        window = list(range(len(video.paths)))
        boxes, landmarks = clip_geometry(video, window, margin, size)
        yield name, [load_crop(video.paths[i], size) for i in window], clip_faces(boxes, landmarks)


def _features(crops: list[np.ndarray], faces: list) -> np.ndarray | None:
    lms = clip_landmarks(crops, faces)
    if lms is None:
        return None
    widths = [f[0][2] - f[0][0] for f in faces if f is not None]
    return trajectory_features(lms, float(np.mean(widths)))


def training_set(crops_csv: Path, methods: tuple[str, ...], per_clip: int, margin: float, size: int,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and generator index (-1 real) of the training reals and ``per_clip`` fakes of each of
    ``methods`` per real clip, made on the crops (seeded by ``seed``, clip, generator and draw)."""
    xs, ys, gs = [], [], []
    for k, (_, crops, faces) in enumerate(video_clips(crops_csv, None, margin, size)):
        f = _features(crops, faces)
        if f is not None:
            xs.append(f)
            ys.append(0)
            gs.append(-1)
        for j, method in enumerate(methods):
            for d in range(per_clip):
                made = generate(method, crops, faces, np.random.default_rng([seed, k, j, d]))
                if not any(made.manipulated):
                    continue
                f = _features(made.frames, faces)
                if f is not None:
                    xs.append(f)
                    ys.append(1)
                    gs.append(j)
    return np.stack(xs), np.asarray(ys), np.asarray(gs)


class TwoSided(TransformerMixin, BaseEstimator):
    """Standardised features and their absolute values: a linear model on both can call a clip fake for moving
    MORE than real faces do (a shaking face) or LESS (frozen eyes), which one signed weight per feature cannot."""

    def fit(self, x: np.ndarray, y: np.ndarray | None = None) -> TwoSided:
        self.scaler_ = StandardScaler().fit(x)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        z = self.scaler_.transform(x)
        return np.hstack([z, np.abs(z)])


class Unusual(BaseEstimator):
    """How unusual a clip's motion is for a REAL face, in either direction: the Mahalanobis distance of its features
    from the training reals (Ledoit-Wolf covariance), learnt from the reals alone; with ``fused`` the larger of it and
    the linear probe's logit, each standardised over the training reals (as the detector fuses its cues)."""

    def __init__(self, fused: bool = False) -> None:
        self.fused = fused

    def fit(self, x: np.ndarray, y: np.ndarray) -> Unusual:
        reals = x[y == 0]
        self.cov_ = LedoitWolf().fit(reals)
        d = self._distance(reals)
        self.d_ = (d.mean(), d.std() + 1e-9)
        if self.fused:
            self.linear_ = PROBES["linear"]().fit(x, y)
            lr = self.linear_.decision_function(reals)
            self.lr_ = (lr.mean(), lr.std() + 1e-9)
        return self

    def _distance(self, x: np.ndarray) -> np.ndarray:
        return np.sqrt(self.cov_.mahalanobis(x))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        z = (self._distance(x) - self.d_[0]) / self.d_[1]
        if self.fused:
            z = np.maximum(z, (self.linear_.decision_function(x) - self.lr_[0]) / self.lr_[1])
        p = 1 / (1 + np.exp(-z))
        return np.stack([1 - p, p], axis=1)


PROBES = {
    "linear": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced")),
    "two-sided": lambda: make_pipeline(TwoSided(), LogisticRegression(max_iter=2000, class_weight="balanced")),
    "unusual": lambda: Unusual(),
    "linear+unusual": lambda: Unusual(fused=True),
}
"""The classifiers on the trajectory features: ``linear`` (the probe as first designed), ``two-sided`` (added after
``linear`` scored frozen eyes below chance: every training fake moves more than real faces, a frozen region less),
``unusual`` (the distance from the training reals alone) and ``linear+unusual`` (the larger of the two, as the
detector's landmark stream fuses them since ``model.landmark_unusual``)."""


def fold_features(folder: Path, margin: float, size: int) -> dict[str, tuple[np.ndarray, int, str]]:
    """``{video name: (features, target, method)}`` of every video of a ``bench/generalise.py`` test set that has a
    mesh in every crop."""
    labels = {r["video_name"]: r for r in read_csv(folder / "labels.csv")}
    out = {}
    for name, crops, faces in video_clips(folder / "crops" / "crops.csv", None, margin, size):
        f = _features(crops, faces)
        if f is not None:
            out[name] = (f, int(labels[name]["target"]), labels[name].get("method") or "")
    return out


def _spread(values: list[float]) -> float:
    """The standard deviation over seeds, as ``bench/generalise.py`` gives it (sample; 0 for one seed)."""
    return statistics.stdev(values) if len(values) > 1 else 0.0


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _standard(x: np.ndarray) -> np.ndarray:
    """``x`` minus its mean, over its standard deviation."""
    return (x - x.mean()) / max(float(x.std()), 1e-9)


def fusion(tests: dict[tuple[str, ...], tuple[Path, dict]], runs_dir: Path,
           training: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]], generators: tuple[str, ...],
           variants: tuple[str, ...]) -> list[dict]:
    """The CNN's video scores of ``bench/generalise.py``'s runs beside the linear probe's and their fusion, per fold,
    variant and seed: one row per left-out generator (its fakes against the held-out reals). Fusion: each cue's logit
    standardised over the fold's test videos (no label used: the CNN's scores span a few hundredths around 0.5, the
    probe's logits several units, so a plain sum would be the probe alone); the fused score is the larger of the two
    (a video is as fake as its more suspicious cue says; ``fused_sum``, their sum, is kept in the runs' file: on the
    first fold it gave up most of the CNN's ``sbi``, so the maximum was chosen).

    The probe of a fold trains without the fold's generators, as the CNN's run did; a video with no mesh in some
    crop keeps the CNN's score alone (probe logit 0)."""
    rows = []
    for fold, (folder, feats) in tests.items():
        labels = {r["video_name"]: r for r in read_csv(folder / "labels.csv")}
        for seed, (x, y, g) in training.items():
            keep = np.array([k < 0 or generators[k] not in fold for k in g])
            clf = PROBES["linear"]().fit(x[keep], y[keep])
            names = sorted(feats)
            traj = dict(zip(names, _logit(clf.predict_proba(np.stack([feats[n][0] for n in names]))[:, 1])))
            for variant in variants:
                pred = runs_dir / f"{'+'.join(fold)}-{variant}-s{seed}" / "eval" / "predictions.csv"
                if not pred.is_file():
                    continue
                cnn = {r["video_name"]: float(r["score"]) for r in read_csv(pred)}
                # each cue on one scale: its logits standardised over every video of the fold's test set (no label
                # used; the CNN's scores span a few hundredths, the probe's logits several units)
                every = list(cnn)
                cz = dict(zip(every, _standard(_logit(np.array([cnn[n] for n in every])))))
                tz = dict(zip(every, _standard(np.array([traj.get(n, 0.0) for n in every]))))
                for left in fold:
                    vids = [n for n in every if int(labels[n]["target"]) == 0 or labels[n].get("method") == left]
                    yt = np.array([int(labels[n]["target"]) for n in vids])
                    c, t = np.array([cz[n] for n in vids]), np.array([tz[n] for n in vids])
                    rows.append({"variant": variant, "seed": seed, "left_out": left,
                                 "cnn": round(float(roc_auc_score(yt, c)), 4),
                                 "probe": round(float(roc_auc_score(yt, t)), 4),
                                 "fused": round(float(roc_auc_score(yt, np.maximum(c, t))), 4),
                                 "fused_sum": round(float(roc_auc_score(yt, c + t)), 4)})
    return rows


def fusion_table(rows: list[dict], variants: tuple[str, ...]) -> list[dict]:
    """Per left-out generator, then the time-only and other generators' means: mean ± spread over seeds of the CNN
    variants, the probe and each variant fused with it (a group's per-seed value is its generators' mean first)."""
    names = list(dict.fromkeys(r["left_out"] for r in rows))
    groups = {g: [g] for g in names}
    groups["time-only (mean)"] = [g for g in names if g in TIME_ONLY]
    groups["others (mean)"] = [g for g in names if g not in TIME_ONLY]
    seeds = sorted({r["seed"] for r in rows})
    cols = [(v, k) for v in variants for k in ("cnn", "fused")] + [(variants[0], "probe")]
    table = []
    for group, members in groups.items():
        row = {"left_out": group}
        for v, k in cols:
            per_seed = []
            for s in seeds:
                vals = [r[k] for r in rows if r["variant"] == v and r["seed"] == s and r["left_out"] in members]
                if vals and len(vals) == len(members):
                    per_seed.append(statistics.mean(vals))
            label = "probe alone" if k == "probe" else (v if k == "cnn" else f"{v} + probe")
            row[label] = (f"{statistics.mean(per_seed):.3f} ± {_spread(per_seed):.3f}" if per_seed
                          else "-")
        table.append(row)
    return table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python bench/landmark_probe.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--generalise-out", default="bench_out/generalise", help="bench/generalise.py's work folder")
    p.add_argument("--samples", default="data/samples")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="draws of the training fakes")
    p.add_argument("--seeds-per-clip", type=int, default=2, help="fakes per generator per training clip")
    p.add_argument("--out", default="bench_out/landmark_probe")
    p.add_argument("--fuse", nargs="*", default=["mean", "convlstm"], metavar="VARIANT",
                   help="bench/generalise.py variants whose finished runs are fused with the probe (none: skip)")
    args = p.parse_args(argv)
    setup_logging()
    t0 = time.perf_counter()
    cfg = load_config(DEFAULT_CONFIG)
    margin, size = cfg.data.margin, cfg.data.size
    work = Path(args.generalise_out)
    crops_csv, test_reals, _ = generalise.prepare(Path(args.samples), work, generalise.DEFAULT_TEST_PEOPLE, seed=0)
    tests = {}  # bench/generalise.py's test set of each default fold, its features read once
    for spec in generalise.DEFAULT_FOLDS:
        fold = tuple(spec.split(","))
        folder = generalise.fold_test_set(test_reals, work, fold, seed=0)[1].parent
        tests[fold] = (folder, fold_features(folder, margin, size))
    held_out = {}
    for left in NAMED_TIME_ONLY:  # its fakes and the reals, from the fold that leaves it out
        feats = next(f for fold, (_, f) in tests.items() if left in fold)
        videos = [v for v in feats.values() if v[1] == 0 or v[2] == left]
        held_out[left] = (np.stack([v[0] for v in videos]), np.array([v[1] for v in videos]))
    generators = (*NAMED_TIME_ONLY, *generalise.ALWAYS_TRAINED)
    runs = []
    training = {}
    for seed in args.seeds:
        x, y, g = training_set(crops_csv, generators, args.seeds_per_clip, margin, size, seed)
        training[seed] = (x, y, g)
        log.info("seed %d: %d reals, %d fakes (%s)", seed, int((y == 0).sum()), int(y.sum()), ", ".join(generators))
        for with_generic in (True, False):
            for j, left in enumerate(NAMED_TIME_ONLY):
                keep = (g != j) & (with_generic | (g < len(NAMED_TIME_ONLY)))  # g == -1: a real
                xt, yt = held_out[left]
                for probe, build in PROBES.items():
                    clf = build().fit(x[keep], y[keep])
                    auc = float(roc_auc_score(yt, clf.predict_proba(xt)[:, 1]))
                    runs.append({"probe": probe, "timeblend_trained": with_generic, "seed": seed, "left_out": left,
                                 "auc": round(auc, 4), "n_test_real": int((yt == 0).sum()),
                                 "n_test_fake": int(yt.sum())})
    out = Path(args.out)
    write_csv(out / "landmark_probe_runs.csv", runs, list(runs[0]))
    table = []
    for probe in PROBES:
        for with_generic in (True, False):
            row = {"probe": probe, "timeblend trained": "yes" if with_generic else "no"}
            per_seed_means = []
            for left in NAMED_TIME_ONLY:
                aucs = [r["auc"] for r in runs if r["probe"] == probe and r["timeblend_trained"] == with_generic
                        and r["left_out"] == left]
                row[left] = f"{statistics.mean(aucs):.3f} ± {_spread(aucs):.3f}"
            for seed in args.seeds:
                per_seed_means.append(statistics.mean(
                    r["auc"] for r in runs if r["probe"] == probe and r["timeblend_trained"] == with_generic
                    and r["seed"] == seed))
            row["time-only (mean)"] = (f"{statistics.mean(per_seed_means):.3f} ± "
                                       f"{_spread(per_seed_means):.3f}")
            table.append(row)
    write_csv(out / "landmark_probe.csv", table, list(table[0]))
    print(f"\nLandmark-trajectory probe: video AUC of each left-out time-only generator on the held-out people "
          f"({', '.join(generalise.DEFAULT_TEST_PEOPLE)}), mean ± spread over training-fake seeds "
          f"{' '.join(map(str, args.seeds))} ({time.perf_counter() - t0:.0f} s):")
    print(format_table(table, list(table[0])))
    variants = tuple(args.fuse)
    fused = fusion(tests, work / "runs", training, generators, variants) if variants else []
    if fused:
        write_csv(out / "landmark_fusion_runs.csv", fused, list(fused[0]))
        ftable = fusion_table(fused, variants)
        write_csv(out / "landmark_fusion.csv", ftable, list(ftable[0]))
        print("\nThe CNN's runs of bench/generalise.py (each fold's generators left out) beside the probe trained "
              "without them too, and both fused (the larger standardised logit): video AUC, mean ± spread over seeds:")
        print(format_table(ftable, list(ftable[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
