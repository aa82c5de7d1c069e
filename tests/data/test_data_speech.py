"""dfdetect.data.speech on the real speech set (pyannote.audio's AMI excerpts): who-speaks-when files read, solo
windows cut, fakes of the same speaker, the split by speaker enforced."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from dfdetect.core.config import DataConfig
from dfdetect.core.io import InputError
from dfdetect.data.speech import Turn, read_rttm, rttm_split, solo_segments, speech_clips

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # Griffin-Lim's small FFTs: one thread is faster


@pytest.fixture
def test_split(speech_dir: Path, tmp_path: Path) -> Path:
    """The held-out split alone (two 30 s recordings, 4 speakers): fast to cut."""
    for name in ("debug.test.rttm", "tst00.wav", "tst01.wav"):
        shutil.copy(speech_dir / name, tmp_path / name)
    return tmp_path


def test_read_rttm_on_the_real_files(speech_dir: Path) -> None:
    turns = read_rttm(speech_dir / "debug.test.rttm")
    assert len(turns) == 27 and {t.file for t in turns} == {"tst00", "tst01"}
    assert {t.speaker for t in turns} == {"FEO070", "FEO072", "MEE071", "MEE073"}
    assert all(0 <= t.start < t.end <= 30.0 + 1e-6 for t in turns)
    train = {t.speaker for t in read_rttm(speech_dir / "debug.train.rttm")}
    assert len(train) == 21 and not train & {t.speaker for t in turns}  # the files' speakers are disjoint


def test_solo_segments_cut_out_every_other_voice() -> None:
    turns = [Turn("a", 0.0, 5.0, "S1"), Turn("a", 1.0, 2.0, "S2"), Turn("a", 4.0, 6.0, "S1"),  # own overlap merged
             Turn("a", 5.5, 7.0, "S3"), Turn("b", 0.0, 1.0, "S2")]
    got = [(t.file, t.speaker, t.start, t.end) for t in solo_segments(turns, min_seconds=0.5)]
    assert got == [("a", "S1", 0.0, 1.0), ("a", "S1", 2.0, 5.5), ("a", "S3", 6.0, 7.0), ("b", "S2", 0.0, 1.0)]
    assert solo_segments(turns, min_seconds=1.5) == [Turn("a", 2.0, 5.5, "S1")]


def test_split_from_the_file_name() -> None:
    assert [rttm_split(n) for n in ("x.train.rttm", "x.development.rttm", "x.test.rttm", "x.rttm")] == [
        "train", "val", "test", "train"]


def test_bad_rttm_line_is_named(tmp_path: Path) -> None:
    (tmp_path / "a.rttm").write_text("SPEAKER a 1 0.5 1.0 <NA> <NA> S1 <NA> <NA>\nSPEAKER a 1 zero\n")
    with pytest.raises(InputError, match=r"a\.rttm:2: not an RTTM SPEAKER line"):
        read_rttm(tmp_path / "a.rttm")
    with pytest.raises(InputError, match="no .rttm file"):
        speech_clips(tmp_path / "nothing", DataConfig())


def test_a_speaker_in_two_splits_is_refused(test_split: Path) -> None:
    line = (test_split / "debug.test.rttm").read_text().splitlines()[0]
    (test_split / "other.train.rttm").write_text(line + "\n")
    with pytest.raises(InputError, match="in both the test and the train split"):
        speech_clips(test_split, DataConfig(), methods=("splice",))


def test_speech_clips_of_the_held_out_speakers(test_split: Path) -> None:
    d = DataConfig()
    clips = speech_clips(test_split, d, seed=0, methods=("splice", "vocoder"))
    assert set(clips) == {"test"}
    test = clips["test"]
    reals = [c for c in test if c.label == 0]
    assert len(reals) == 26 and len(test) == 3 * 26  # a fake of each kind per real window
    assert {c.group for c in reals} == {"FEO070", "FEO072", "MEE071", "MEE073"}
    n = round(d.audio_seconds * d.audio_rate)
    assert all(c.frames is None and c.wave.shape == (n,) and c.wave.dtype == np.float32 for c in test)
    for k in range(0, len(test), 3):  # the real window, then its fakes: same speaker, same recording, same time
        real, *fakes = test[k:k + 3]
        assert real.label == 0 and [f.method for f in fakes] == ["splice", "vocoder"]
        assert all(f.group == real.group and f.video == real.video and f.start == real.start for f in fakes)
        assert np.abs(real.wave).max() > 1e-3  # speech, not silence
    again = speech_clips(test_split, d, seed=0, methods=("splice", "vocoder"))["test"]
    assert all(np.array_equal(a.wave, b.wave) for a, b in zip(test, again))  # seeded
