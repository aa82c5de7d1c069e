"""Decode only the frames that were sampled, in one sequential pass (PyAV / FFmpeg).

Why not ``cv2.VideoCapture.set(CAP_PROP_POS_FRAMES)`` per frame: every such seek goes back to the previous keyframe and
decodes forward again. For 15 frames at stride 2 of a 10 s 1080p H.264 video (``bench/prep.py``, 2 shared cores) that
costs 5.7 s; one OpenCV grab/retrieve pass 0.48 s; one PyAV pass decoding every frame 0.44 s; this module 0.31 s.

Here a video is decoded once, from the keyframe at or before the first wanted frame (when that skips at least
:data:`MIN_SEEK_GAIN` frames) up to the last wanted one. Unwanted non-reference frames (most B-frames) are not
decoded at all (``skip_frame = NONREF`` switched per packet: no other frame depends on them, so the result is
bit-identical), and only the wanted frames are converted to RGB.

Frame index ``i`` is the ``i``-th frame that a full sequential decode outputs (:func:`read_all_frames`), counted
from 0. A packet-only pass (:func:`scan_video`, no decoding, a few ms) gives the real frame count and every frame's
presentation timestamp: containers often report 0 or a wrong count (``no_face.mp4`` says 98; an edit list drops 3, so
95 frames come out), and the timestamps identify the frames after a seek or a skip. Where timestamps are missing or
disagree with what the decoder outputs, frames are counted from the first instead (same result, slower).

A caller that chooses its frames from the frame count reads the file top to bottom, scanning it once::

    scan = scan_video(path)                           # packets only: frame count, timestamps, keyframes
    indices = eval_windows(scan.info.num_frames, ...)  # or sample_indices
    frames = read_frames(path, indices, scan=scan)     # one decoding pass, the scan reused
"""

from __future__ import annotations

import bisect
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import av
import numpy as np

from dfdetect.core.config import DataConfig
from frame_extraction.sampling import sample_indices

log = logging.getLogger(__name__)

_DATA = DataConfig()  # THE defaults: frames per video and stride

# Seeking restarts the demuxer and flushes the decoder: only worth it when it skips at least this many frames.
MIN_SEEK_GAIN = 8
# With several video streams, packets counted per stream (no decoding) to tell a moving video from a still picture.
PROBE_PACKETS = 200


class VideoError(Exception):
    """The file cannot be read as a video (not a video, corrupt, no video stream, no decodable frame)."""


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`scan_video` learns without decoding: real frame count, frame rate (fps), frame size (pixels).

    ``width`` and ``height`` are the size of the decoded frames, in square pixels: the size players show. A stream
    stored with non-square pixels (``sample_aspect`` != 1, e.g. 480x360 at 4:3, shown 640x360) is resampled on
    decode (:func:`square_size`).
    """

    num_frames: int
    fps: float
    width: int
    height: int
    sample_aspect: float = field(default=1.0, repr=False)  # the stream's sample (pixel) aspect ratio, as stored


@dataclass(frozen=True)
class VideoScan:
    """What one packet pass (:func:`scan_video`, no decoding) learns about a video: its info and its packet index.

    Give it to :func:`read_frames` to decode frames without scanning the file again.

    Attributes:
        info: real frame count, frame rate and frame size.
        pts: ``pts[i]`` is frame ``i``'s presentation timestamp, in presentation order; None when the container gives
            none or duplicates (frames are then counted from the first, and there is no seeking).
        keyframes: frame indices of the keyframes (the points a seek can land on), increasing.
        time_base: seconds per ``pts`` unit (the video stream's time base; 0 when unknown): frame ``i`` is shown at
            ``pts[i] * time_base`` s on the container's clock, the clock the audio's timestamps use too
            (:func:`frame_extraction.audio.frame_times`).
    """

    info: VideoInfo
    pts: tuple[int, ...] | None
    keyframes: tuple[int, ...]
    time_base: float = 0.0


@dataclass
class SampledVideo:
    """The result of :func:`sample_video`: the frames actually read and their indices (same order)."""

    info: VideoInfo
    indices: list[int]
    frames: list[np.ndarray]  # each RGB uint8 (H, W, 3)
    short: bool  # fewer frames than asked for (short video, or frames past the real end)
    undecodable: int = 0  # sampled frames the decoder could not give (damaged data skipped)


def ffmpeg_url(path: str | os.PathLike) -> str:
    """The name to give FFmpeg for a local file: its absolute path, so a name is never read as a URL.

    FFmpeg takes the text before the first ``:`` as a protocol when it holds only letters, digits, ``+ - .``: a file
    ``Interview: part 1.mp4`` given relative to the current folder fails with "Protocol not found", and
    ``http:x.mp4`` would be fetched from the network. An absolute path starts with ``/`` (or a drive), which no
    protocol name holds, so FFmpeg opens it as a file. The folder is not resolved (a symlink keeps its own name).

    Example:
        >>> import os
        >>> ffmpeg_url("Interview: part 1.mp4") == os.path.join(os.getcwd(), "Interview: part 1.mp4")
        True
    """
    return os.path.abspath(os.fspath(path))


def square_size(width: int, height: int, sample_aspect: float) -> tuple[int, int]:
    """The frame size in square pixels of a ``width`` x ``height`` picture whose pixels are ``sample_aspect`` wide
    (as tall as 1): the shape every player shows. Wide pixels widen the frame, narrow ones heighten it, so no detail
    is thrown away; even sizes (what video encoders write).

    Example:
        >>> square_size(480, 360, 4 / 3), square_size(640, 360, 1.0), square_size(720, 480, 8 / 9)
        ((640, 360), (640, 360), (720, 540))
    """
    if not sample_aspect or sample_aspect <= 0 or abs(sample_aspect - 1.0) < 1e-3:
        return int(width), int(height)
    if sample_aspect > 1:
        return 2 * round(width * sample_aspect / 2), int(height)
    return int(width), 2 * round(height / sample_aspect / 2)


def _sample_aspect(stream: av.video.stream.VideoStream) -> float:
    sar = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    return float(sar) if sar and sar.numerator > 0 and sar.denominator > 0 else 1.0


def _rgb(frame: av.VideoFrame, sample_aspect: float) -> np.ndarray:
    """The frame as RGB uint8 (H, W, 3) in square pixels (resampled by swscale when the pixels are not square)."""
    if sample_aspect == 1.0:
        return frame.to_ndarray(format="rgb24")
    width, height = square_size(frame.width, frame.height, sample_aspect)
    return frame.reformat(width=width, height=height, format="rgb24", interpolation="BICUBIC").to_ndarray()


def _open(path: str | os.PathLike) -> av.container.InputContainer:
    try:
        return av.open(ffmpeg_url(path), mode="r")
    except FileNotFoundError:
        raise VideoError(f"{path}: file not found") from None
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as e:
        raise VideoError(f"{path}: not a readable video ({_reason(e)})") from None


def _reason(e: BaseException) -> str:
    # FFmpegError's str() repeats errno and file name; its strerror is the useful part.
    return getattr(e, "strerror", None) or str(e) or type(e).__name__


def _is_cover(stream: av.video.stream.VideoStream) -> bool:
    """A cover picture (``attached_pic``: one still image that tag editors store as a video stream), not the video."""
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _count_packets(path: str | os.PathLike, indices: list[int], limit: int = PROBE_PACKETS) -> dict[int, int]:
    """Packets of each stream in ``indices`` among the first ``limit`` packets of the file (no decoding)."""
    counts = dict.fromkeys(indices, 0)
    try:
        with av.open(ffmpeg_url(path), mode="r") as container:
            streams = [container.streams[i] for i in indices]
            for n, packet in enumerate(container.demux(*streams)):
                if n >= limit:
                    break
                if packet.size and packet.stream.index in counts:
                    counts[packet.stream.index] += 1
    except (av.error.FFmpegError, OSError) as e:
        log.debug("%s: stream probe stopped (%s)", path, _reason(e))
    return counts


def _video_stream(container: av.container.InputContainer, path: str | os.PathLike) -> av.video.stream.VideoStream:
    """The video stream FFmpeg would choose: never a cover picture; among several, the moving one with most pixels.

    ``streams.video[0]`` is not always the video: a cover picture (MJPEG/PNG with the ``attached_pic`` disposition)
    often comes first, and a Matroska file may carry a one-frame picture track. Like ``av_find_best_stream``, covers
    are skipped and a stream with several frames (packets counted over the first :data:`PROBE_PACKETS`, capped at 5)
    beats a still one; then the larger frame, the higher bit rate, the lower index. The probe runs only when there
    is more than one candidate, so the usual one-stream file costs nothing more.
    """
    if not container.streams.video:
        raise VideoError(f"{path}: no video stream")
    candidates = [s for s in container.streams.video if not _is_cover(s)]
    if not candidates:
        raise VideoError(f"{path}: no video stream (only a cover picture)")
    if len(candidates) == 1:
        stream = candidates[0]
    else:
        counts = _count_packets(path, [s.index for s in candidates])

        def rank(s: av.video.stream.VideoStream) -> tuple[int, int, int, int]:
            frames = max(counts.get(s.index, 0), int(s.frames or 0))
            cc = s.codec_context
            return min(frames, 5), int(cc.width or 0) * int(cc.height or 0), int(cc.bit_rate or 0), -s.index

        stream = max(candidates, key=rank)
        log.debug("%s: %d video streams; using stream %d (%s)", path, len(candidates), stream.index,
                  stream.codec_context.name)
    if not stream.codec_context.width or not stream.codec_context.height:
        raise VideoError(f"{path}: video stream has no frame size (codec {stream.codec_context.name!r})")
    return stream


def scan_video(path: str | os.PathLike) -> VideoScan:
    """Read the header and every packet (no decoding) to count the frames and index their timestamps and keyframes.

    Args:
        path: video file.

    Returns:
        The :class:`VideoScan`; ``scan.info.num_frames`` is 0 for a video without a frame.

    Raises:
        VideoError: not a video, corrupt header, no video stream.

    Example:
        >>> scan = scan_video("data/samples/single_face.mp4")
        >>> scan.info.num_frames, len(scan.pts), scan.keyframes[0]
        (72, 72, 0)
    """
    with _open(path) as container:
        stream = _video_stream(container, path)
        time_base = float(stream.time_base) if stream.time_base else 0.0
        cc = stream.codec_context
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        pts: list[int | None] = []
        keyframes: list[int] = []
        try:
            for packet in container.demux(stream):
                # size 0: the flush packet demux yields at the end; is_discard: cut by an edit list, never output
                if packet.size == 0 or packet.is_discard:
                    continue
                if packet.is_keyframe:
                    keyframes.append(len(pts))
                pts.append(packet.pts)
        except (av.error.FFmpegError, OSError) as e:
            log.warning("%s: container unreadable after %d packets (%s); later frames are absent", path, len(pts),
                        _reason(e))
        sample_aspect = _sample_aspect(stream)
        width, height = square_size(cc.width, cc.height, sample_aspect)
        if (width, height) != (cc.width, cc.height):
            log.info("%s: non-square pixels (sample aspect ratio %s): frames resampled from %dx%d to %dx%d, as "
                     "players show them", path, stream.sample_aspect_ratio or cc.sample_aspect_ratio, cc.width,
                     cc.height, width, height)
        info = VideoInfo(num_frames=len(pts), fps=float(rate) if rate else 0.0, width=width, height=height,
                         sample_aspect=sample_aspect)
        if stream.frames and stream.frames != info.num_frames:
            log.debug("%s: container says %d frames, %d packets found", path, stream.frames, info.num_frames)
    # Frames come out in presentation order: sorting the packet timestamps gives frame i's timestamp.
    usable = bool(pts) and None not in pts and len(set(pts)) == len(pts)
    sorted_pts = tuple(sorted(pts)) if usable else None
    if usable:
        # keyframes were recorded in decode order; map them to presentation order through their timestamps
        rank = {p: i for i, p in enumerate(sorted_pts)}
        keyframes = sorted(rank[pts[k]] for k in keyframes)
    return VideoScan(info=info, pts=sorted_pts, keyframes=tuple(keyframes), time_base=time_base)


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Frame count, fps and size of a video, from its packets (no decoding): ``scan_video(path).info``.

    Raises:
        VideoError: not a video, corrupt header, no video stream.

    Example:
        >>> probe_video("data/samples/single_face.mp4")
        VideoInfo(num_frames=72, fps=30.0, width=640, height=360)
    """
    return scan_video(path).info


def _decode(container: av.container.InputContainer, stream: av.video.stream.VideoStream, path: str | os.PathLike,
            before: Callable[[av.Packet], None] | None = None,
            damaged: list[int] | None = None) -> Iterator[av.VideoFrame]:
    """Yield decoded frames in presentation order; skip a packet the decoder rejects and go on, as players and the
    ffmpeg tool do; stop only where the container itself cannot be read further (then drain the decoder).

    ``before(packet)`` runs before each packet is decoded (used to switch frame skipping on and off). The timestamp
    of each skipped packet is appended to ``damaged`` (None where the packet has none): its frame is absent, the
    frames after it come out (possibly with the decoder's concealment where they refer to it).
    """
    skipped: list[int] = [] if damaged is None else damaged
    packets = container.demux(stream)
    try:
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except (av.error.FFmpegError, OSError) as e:
                log.warning("%s: container unreadable from here (%s); later frames are absent", path, _reason(e))
                break
            if before is not None:
                before(packet)
            try:
                frames = packet.decode()
            except (av.error.FFmpegError, OSError) as e:
                skipped.append(packet.pts)
                log.debug("%s: damaged packet at pts %s skipped (%s)", path, packet.pts, _reason(e))
                continue
            yield from frames
    finally:  # also when the caller stops early (closing the generator)
        if skipped:
            log.warning("%s: %d damaged packet(s) skipped (their frames are absent), decoding went on", path,
                        len(skipped))
    try:
        # frames already decoded but held back for reordering (B-frames) are still good
        yield from stream.codec_context.decode(None)
    except (av.error.FFmpegError, OSError):
        pass


class _IndexMismatch(Exception):
    """A decoded timestamp is not in the packet index: fall back to counting frames from the start."""


def _lost(first: int, i: int, rank: dict[int, int], damaged: list[int]) -> bool:
    """Whether the frames ``first..i-1`` that did not come out were all lost to damaged packets (so the timestamp
    index still holds: counting frames instead would shift every later index by the frames lost)."""
    lost = {rank.get(p) for p in damaged}
    return bool(damaged) and all(j in lost for j in range(first, i))


def _configure_threads(stream: av.video.stream.VideoStream, threads: int | None) -> None:
    if threads is None:
        return
    stream.codec_context.thread_count = max(1, int(threads))
    # frame threading is what spreads one H.264/HEVC stream over cores (x264 writes a single slice per frame)
    stream.thread_type = "FRAME" if threads > 1 else "SLICE"


def _read(path: str | os.PathLike, wanted: list[int], scan: VideoScan | None,
          threads: int | None) -> dict[int, np.ndarray]:
    """Decode ``wanted`` (sorted, unique) in one pass (``scan`` None: count frames from the first).

    With a usable timestamp index, frames are identified by timestamp, which allows two savings: a seek to the
    keyframe before the first wanted frame, and not decoding at all the non-reference frames (most B-frames) that are
    not wanted, since no other frame depends on them. Without one, frames are counted from the first.
    """
    if not wanted:
        return {}
    last = wanted[-1]
    wanted_set = set(wanted)
    out: dict[int, np.ndarray] = {}
    by_pts = scan is not None and scan.pts is not None
    start = 0
    if by_pts and scan.keyframes:
        k = bisect.bisect_right(scan.keyframes, wanted[0]) - 1  # the keyframe at or before the first wanted frame
        if k >= 0 and scan.keyframes[k] >= MIN_SEEK_GAIN:
            start = scan.keyframes[k]
    with _open(path) as container:
        stream = _video_stream(container, path)
        _configure_threads(stream, threads)
        sample_aspect = _sample_aspect(stream)
        before = None
        if by_pts:
            rank = {p: i for i, p in enumerate(scan.pts)}
            start_pts = scan.pts[start]
            cc = stream.codec_context
            state = {"skip": None}
            # Non-reference skipping only for H.264, where "non-reference" is exact. HEVC's decoder also drops
            # sub-layer non-reference pictures that a higher temporal layer may still use, which could change pixels.
            unneeded = "NONREF" if cc.name == "h264" else "DEFAULT"

            def before(packet: av.Packet) -> None:
                # packets come in decode order; skip_frame applies to the packet decoded next
                skip = "DEFAULT" if rank.get(packet.pts) in wanted_set else unneeded
                if skip != state["skip"]:
                    cc.skip_frame = skip
                    state["skip"] = skip

            if start > 0:
                container.seek(start_pts, stream=stream, backward=True, any_frame=False)
        damaged: list[int] = []  # timestamps of the packets the decoder rejected (their frames never come out)
        for ordinal, frame in enumerate(_decode(container, stream, path, before, damaged)):
            if by_pts:
                i = rank.get(frame.pts)
                if i is None:
                    if frame.pts is not None and frame.pts < start_pts:
                        continue  # a leading frame of an open GOP, before the seek point
                    raise _IndexMismatch(f"decoded pts {frame.pts} not in the packet index")
                if not out and i > wanted[0] and not _lost(wanted[0], i, rank, damaged):
                    # the first wanted frame never came out (seek landed past it, or it was dropped): count instead
                    raise _IndexMismatch(f"first decoded frame {i} is past the first wanted frame {wanted[0]}")
            else:
                i = ordinal
            if i in wanted_set:
                out[i] = _rgb(frame, sample_aspect)  # (H, W, 3) uint8, square pixels
            if i >= last:
                break
    return dict(sorted(out.items()))


def seek_runs(wanted: list[int], keyframes: Sequence[int]) -> list[list[int]]:
    """Split sorted frame indices into runs, each decoded from a seek of its own: a run ends where a keyframe lies
    at least :data:`MIN_SEEK_GAIN` frames after its last frame and at or before the next wanted frame (seeking there
    skips decoding the frames between; windows spread over a long video are decoded each from the keyframe before it).

    Example:
        >>> seek_runs([0, 10, 100, 110, 130], keyframes=[0, 60, 120])
        [[0, 10], [100, 110], [130]]
        >>> seek_runs([0, 10, 100], keyframes=[0, 15])  # no keyframe between 10 and 100 worth a seek
        [[0, 10, 100]]
    """
    runs: list[list[int]] = []
    for i in wanted:
        if runs:
            k = keyframes[bisect.bisect_right(keyframes, i) - 1] if keyframes and keyframes[0] <= i else -1
            if k - runs[-1][-1] < MIN_SEEK_GAIN:
                runs[-1].append(i)
                continue
        runs.append([i])
    return runs


def read_frames(path: str | os.PathLike, indices: Iterable[int], threads: int | None = None,
                scan: VideoScan | None = None, fast: bool = True) -> dict[int, np.ndarray]:
    """Decode exactly the frames ``indices``: one sequential pass that stops at the last wanted frame, or, where a
    keyframe lies between two wanted frames far apart, one pass per run from the keyframe before it (:func:`seek_runs`).

    Args:
        path: video file.
        indices: frame indices (any order, duplicates allowed); indices past the real end are simply absent from
            the result, negative ones are ignored.
        threads: decoder threads (None: FFmpeg's default); 1 when several videos are decoded in parallel.
        scan: this file's :func:`scan_video`, when the caller already has it (scan, choose the indices from
            ``scan.info``, read: the file is scanned once); None scans it here.
        fast: use the packet index to start each run at the keyframe before its first wanted frame (when that skips
            at least :data:`MIN_SEEK_GAIN` frames) and to skip the unwanted non-reference frames; False decodes every
            frame from the first (same result, slower; no scan).

    Returns:
        ``{index: RGB uint8 (H, W, 3)}`` ordered by index.

    Raises:
        VideoError: the file cannot be opened as a video.

    Example:
        >>> scan = scan_video("data/samples/single_face.mp4")
        >>> frames = read_frames("data/samples/single_face.mp4", [20, 0, 10, scan.info.num_frames], scan=scan)
        >>> list(frames), frames[0].shape
        ([0, 10, 20], (360, 640, 3))
    """
    wanted = sorted({int(i) for i in indices if int(i) >= 0})
    if not wanted:
        return {}
    if not fast:
        scan = None
    elif scan is None:
        scan = scan_video(path)
    runs = seek_runs(wanted, scan.keyframes) if scan is not None and scan.pts is not None else [wanted]
    try:
        try:
            out: dict[int, np.ndarray] = {}
            for run in runs:
                out.update(_read(path, run, scan, threads))  # (H, W, 3) uint8 per index
            return out
        except _IndexMismatch as e:
            log.debug("%s: %s; decoding every frame from the first instead", path, e)
            return _read(path, wanted, None, threads)
    except (av.error.FFmpegError, OSError) as e:  # e.g. the seek itself failed
        raise VideoError(f"{path}: {_reason(e)}") from None


def read_all_frames(path: str | os.PathLike) -> list[np.ndarray]:
    """Decode every frame, in order (the reference that :func:`read_frames` must match bit for bit).

    Example:
        >>> frames = read_all_frames("data/samples/single_face.mp4")
        >>> len(frames), frames[0].shape, frames[0].dtype
        (72, (360, 640, 3), dtype('uint8'))
    """
    with _open(path) as container:
        stream = _video_stream(container, path)
        sample_aspect = _sample_aspect(stream)
        return [_rgb(frame, sample_aspect) for frame in _decode(container, stream, path)]


def sample_video(
    path: str | os.PathLike,
    n: int = _DATA.sample_frames,
    stride: int = _DATA.stride,
    mode: str = "random",
    rng: np.random.Generator | int | None = None,
    threads: int | None = None,
) -> SampledVideo:
    """Scan a video, sample frame indices (:func:`~frame_extraction.sampling.sample_indices`) and decode them.

    The file is scanned once (:func:`scan_video`) and decoded once (:func:`read_frames` with that scan).

    Args:
        path: video file.
        n: frames wanted; default ``DataConfig().sample_frames``.
        stride: gap between frames in ``random`` mode; default ``DataConfig().stride``.
        mode: ``"random"`` or ``"linspace"`` (:data:`~frame_extraction.sampling.MODES`).
        rng: generator or seed for ``random`` mode (:func:`~frame_extraction.sampling.video_rng` in the CLI).
        threads: decoder threads (None: FFmpeg's default).

    Returns:
        The :class:`SampledVideo` (``short`` when fewer than ``n`` frames could be had).

    Raises:
        VideoError: unreadable file, no video stream, or not one frame could be decoded.

    Example:
        >>> sv = sample_video("data/samples/single_face.mp4", n=15, stride=2, rng=0)
        >>> len(sv.frames), sv.short, sv.indices[1] - sv.indices[0], sv.frames[0].shape
        (15, False, 2, (360, 640, 3))
    """
    scan = scan_video(path)
    if scan.info.num_frames == 0:
        raise VideoError(f"{path}: no video frames")
    indices = sample_indices(scan.info.num_frames, n=n, stride=stride, mode=mode, rng=rng).tolist()
    frames = read_frames(path, indices, threads, scan=scan)
    if not frames:
        raise VideoError(f"{path}: no decodable frame")
    if len(frames) < len(indices):
        log.warning("%s: %d of %d sampled frames could not be decoded", path, len(indices) - len(frames),
                    len(indices))
    return SampledVideo(info=scan.info, indices=list(frames), frames=list(frames.values()), short=len(frames) < n,
                        undecodable=len(indices) - len(frames))
