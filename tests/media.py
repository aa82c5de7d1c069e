"""Real-world damage and oddities rebuilt from the sample videos at test time (PyAV only: no ffmpeg binary needed).

Plain functions, imported by the tests that need them (``from tests.media import damage_packets``).
"""

from __future__ import annotations

from pathlib import Path

import av


def damage_packets(src: Path, dst: Path, packets: set[int]) -> Path:
    """Copy the video stream of ``src`` into ``dst`` (no re-encoding), with a bad NAL size in each packet of
    ``packets`` (decode order, from 0): its first 4 bytes, the length of the first NAL unit, set far past the packet.

    The ffmpeg tool and players skip such a packet (its frame is absent, ``ffmpeg -i dst -f null -`` decodes the
    other frames) and go on.
    """
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = inp.streams.video[0]
        copy = out.add_stream_from_template(stream)
        n = 0
        for packet in inp.demux(stream):
            if packet.size == 0:
                continue
            if n in packets:
                data = bytearray(bytes(packet))
                data[0:4] = (0x7FFFFF00).to_bytes(4, "big")  # the AVCC length prefix of the first NAL unit
                bad = av.Packet(bytes(data))
                bad.pts, bad.dts, bad.time_base, bad.is_keyframe = packet.pts, packet.dts, packet.time_base, \
                    packet.is_keyframe
                packet = bad
            packet.stream = copy
            out.mux(packet)
            n += 1
    return dst
