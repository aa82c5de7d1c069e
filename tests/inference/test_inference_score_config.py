"""One scoring config (issue 21, point 3): every scoring command line reads its flags from ScoreConfig, with
today's defaults, and the Detector takes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dfdetect.core.config import ScoreConfig, score_from_args
from dfdetect.inference import Detector, evaluate, explain, score_cli
from dfdetect.serve import cli as serve_cli

PARSERS = {
    "eval": (evaluate.get_args_parser, ["w.pt", "videos"]),
    "score": (score_cli.get_args_parser, ["w.pt", "a.mp4"]),
    "explain": (explain.get_args_parser, ["w.pt", "a.mp4", "--out", "o"]),
    "serve": (serve_cli.get_args_parser, ["w.pt"]),
}


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_every_scoring_command_line_reads_the_one_score_config(name: str) -> None:
    parser, argv = PARSERS[name]
    assert score_from_args(parser().parse_args(argv)) == ScoreConfig()  # the defaults, declared once
    flags = {a.dest: a.option_strings[0] for a in parser()._actions if a.dest.startswith("score.")}
    given = {"score.clips": "3", "score.tta": "2", "score.aggregate": "confident", "score.batch_size": "4",
             "score.threshold": "0.7", "score.device": "cpu", "score.max_clips": "2",
             "score.window_every": "2.5", "score.max_windows": "9", "score.top_k": "2"}  # the coverage (issue 26)
    args = parser().parse_args(argv + [x for key, flag in flags.items() for x in (flag, given[key])])
    chosen = score_from_args(args)
    for key in flags:
        assert str(getattr(chosen, key.removeprefix("score."))) == given[key]


def test_scoring_defaults_are_as_before() -> None:
    """As before, but for the batch (by device since the one-hour benchmark: 1 on the CPU, 8 on a GPU) and the
    aggregation (the top 3 windows since bench/aggregate.py measured it against the mean on whole and partial
    fakes)."""
    assert ScoreConfig() == ScoreConfig(clips=None, tta=1, aggregate="topk", top_k=3, batch_size=None, threshold=0.5,
                                        device="auto", max_clips=4)


def test_the_detector_takes_a_score_config(untrained_checkpoints: dict[str, Path]) -> None:
    det = Detector.load(untrained_checkpoints["video"], ScoreConfig(clips=2, tta=2, batch_size=3, device="cpu"))
    assert (det.clips, det.tta, det.batch_size, det.device) == (2, 2, 3, "cpu")
    again = Detector(det.model, det.cfg, det.score_config, aggregate="confident")
    assert (again.clips, again.tta, again.aggregate) == (2, 2, "confident")
    assert Detector(det.model, det.cfg, ScoreConfig(device="cpu")).batch_size == 1  # the CPU's default batch
    assert Detector.load(untrained_checkpoints["video"]).device == "cpu"  # the Python API: the CPU unless told
