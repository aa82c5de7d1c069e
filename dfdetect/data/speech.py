"""A speaker-labelled speech set (recordings + RTTM "who speaks when" files) as audio-only clips, split by SPEAKER.

The audio track's real speech: recordings whose RTTM files (the NIST diarisation format, one ``SPEAKER`` line per
turn) say who speaks when, e.g. pyannote.audio's AMI excerpts (:data:`dfdetect.demo.samples.SPEECH`). A clip is one
``data.audio_seconds`` window of ONE speaker talking alone (:func:`solo_segments`: the parts of a turn where nobody
else speaks), so its label and its speaker are sure; its fakes are made from that speaker's own solo speech
(:data:`dfdetect.synth.SOUND_GENERATORS`: fakes by their sound alone, the speaker's voice kept). The split comes from
the RTTM file's name (``NAME.train.rttm``, ``NAME.development.rttm``, ``NAME.test.rttm``) and is checked to be by
speaker: a speaker in two splits is an error.

Example:
    >>> turns = [Turn("a", 0.0, 3.0, "S1"), Turn("a", 2.0, 4.0, "S2")]
    >>> [(t.speaker, t.start, t.end) for t in solo_segments(turns, min_seconds=0.5)]
    [('S1', 0.0, 2.0), ('S2', 3.0, 4.0)]
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from dfdetect.core.config import DataConfig
from dfdetect.core.io import InputError
from dfdetect.data.av import AVClip
from dfdetect.synth.audio import SOUND_GENERATORS, generate_audio
from frame_extraction.audio import Audio, AudioError, decode_audio

log = logging.getLogger(__name__)

RTTM_SPLITS = {"train": "train", "development": "val", "dev": "val", "test": "test"}
"""The split named in an RTTM file's name (``debug.development.rttm`` -> ``val``); any other name: ``train``."""


@dataclass(frozen=True)
class Turn:
    """One speaker turn: ``file`` (the recording's name without extension), ``[start, end)`` s, ``speaker``."""

    file: str
    start: float
    end: float
    speaker: str


def read_rttm(path: str | Path) -> list[Turn]:
    """The ``SPEAKER`` lines of an RTTM file as :class:`Turn` s (other line types are skipped).

    RTTM fields: ``SPEAKER file channel onset duration <NA> <NA> speaker <NA> <NA>`` (seconds).

    Raises:
        InputError: a ``SPEAKER`` line with too few fields or a non-numeric onset/duration (its line number said).
    """
    turns = []
    for k, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields or fields[0] != "SPEAKER":
            continue
        try:
            onset, duration = float(fields[3]), float(fields[4])
            speaker = fields[7]
        except (IndexError, ValueError):
            raise InputError(f"{path}:{k}: not an RTTM SPEAKER line: {line.strip()!r}") from None
        if duration > 0:
            turns.append(Turn(fields[1], onset, onset + duration, speaker))
    return turns


def solo_segments(turns: Sequence[Turn], min_seconds: float) -> list[Turn]:
    """The parts of each turn where no OTHER speaker of the same file speaks, at least ``min_seconds`` long; a
    speaker's own overlapping turns are merged first. Sorted by file, then start."""
    by_file: dict[str, list[Turn]] = defaultdict(list)
    for t in turns:
        by_file[t.file].append(t)
    out = []
    for file, ts in sorted(by_file.items()):
        for speaker in sorted({t.speaker for t in ts}):
            own = _merge([(t.start, t.end) for t in ts if t.speaker == speaker])
            others = _merge([(t.start, t.end) for t in ts if t.speaker != speaker])
            for a, b in own:
                for s, e in _subtract((a, b), others):
                    if e - s >= min_seconds:
                        out.append(Turn(file, s, e, speaker))
    return sorted(out, key=lambda t: (t.file, t.start, t.speaker))


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def _subtract(span: tuple[float, float], cuts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    parts = [span]
    for cs, ce in cuts:
        parts = [p for a, b in parts for p in ((a, min(b, cs)), (max(a, ce), b)) if p[1] > p[0]]
    return parts


def rttm_split(path: str | Path) -> str:
    """The split an RTTM file's name gives (:data:`RTTM_SPLITS`).

    Example:
        >>> rttm_split("speech/debug.development.rttm"), rttm_split("meeting.rttm")
        ('val', 'train')
    """
    parts = Path(path).name.split(".")
    return RTTM_SPLITS.get(parts[-2], "train") if len(parts) >= 3 else "train"


def speech_clips(folder: str | Path, d: DataConfig, seed: int = 0, methods: Sequence[str] = SOUND_GENERATORS,
                 hop: float | None = None) -> dict[str, list[AVClip]]:
    """Every solo window of every speaker in ``folder`` (recordings ``FILE.wav`` beside ``*.rttm``) as a real audio
    clip, and one fake of each of ``methods`` made from the same speaker's solo segment; by split.

    Args:
        folder: the recordings and their RTTM files.
        d: the data config (``audio_seconds``, ``audio_rate``).
        seed: seeds the fakes (the same seed gives the same samples).
        methods: the audio generators (fakes by their sound alone by default).
        hop: seconds between window starts within a segment (``audio_seconds / 2`` by default).

    Returns:
        ``{split: clips}`` (``train``/``val``/``test``); each clip's ``group`` is its speaker, ``video`` its recording,
        ``method`` its generator (``""`` for a real), ``frames`` None.

    Raises:
        InputError: no RTTM file in ``folder``, or a speaker in two splits (the split must be by speaker).
    """
    root = Path(folder)
    rttms = sorted(root.glob("*.rttm"))
    if not rttms:
        raise InputError(f"{root}: no .rttm file (who speaks when) beside the recordings")
    seconds = d.audio_seconds
    hop = hop or seconds / 2
    split_of: dict[str, str] = {}
    segments: list[tuple[str, Turn]] = []
    for rttm in rttms:
        split = rttm_split(rttm)
        for seg in solo_segments(read_rttm(rttm), seconds):
            if split_of.setdefault(seg.speaker, split) != split:
                raise InputError(f"speaker {seg.speaker} is in both the {split_of[seg.speaker]} and the {split} "
                                 f"split ({rttm.name}): a speech split must be by speaker")
            segments.append((split, seg))
    rng = np.random.default_rng(seed)
    out: dict[str, list[AVClip]] = defaultdict(list)
    tracks: dict[str, Audio | None] = {}
    for split, seg in tqdm(segments, desc="speech clips", unit="segment", leave=False):
        if seg.file not in tracks:
            try:
                tracks[seg.file] = decode_audio(root / f"{seg.file}.wav", d.audio_rate)
            except AudioError as e:
                log.warning("%s: left out (%s)", seg.file, e)
                tracks[seg.file] = None
        track = tracks[seg.file]
        if track is None:
            continue
        # the generators see the solo segment alone: their "other moment" is this speaker's own speech
        solo = Audio(track.segment(seg.start, seg.end), track.rate, seg.start)
        for start in np.arange(seg.start, seg.end - seconds + 1e-9, hop):
            end = float(start) + seconds
            out[split].append(AVClip(None, solo.segment(float(start), end), 0, seg.speaker, "", seg.file,
                                     float(start)))
            for method in methods:
                made = generate_audio(method, solo, float(start), end, rng)
                out[split].append(AVClip(None, made.samples, 1, seg.speaker, method, seg.file, float(start)))
    for split, clips in sorted(out.items()):
        log.info("speech %s: %d real windows of %d speakers", split, sum(c.label == 0 for c in clips),
                 len({c.group for c in clips}))
    return dict(out)
