"""Audio and video containers read to their last byte in pure Python, so a file that only
starts like audio or video (a RIFF/WAVE header in front of a web page) is refused before
anything is stored, with or without ffmpeg on the machine.

WAV is decoded by the standard library's `wave` and MP3 walked frame by frame; both are
rebuilt from what was read, so the stored file holds audio and nothing else. Ogg pages and
MP4/MOV/M4A boxes must tile the file exactly. FLAC and WebM have no reader here: they are
accepted only where ffmpeg can decode them (docs/media.md).
"""

from __future__ import annotations

import io
import struct
import wave
from collections.abc import Callable

from connecthub.media.sniffing import FileType


class MediaRefused(ValueError):
    """The file is not audio or video we can use; the message says why."""


def _wav(data: bytes) -> bytes:
    """PCM audio decoded by `wave` and written again: every other chunk is left behind."""
    try:
        with wave.open(io.BytesIO(data)) as source:
            params = source.getparams()
            frames = source.readframes(params.nframes)
    except (wave.Error, EOFError, struct.error, ValueError):
        raise MediaRefused("is not a readable PCM WAV file") from None
    expected = params.nframes * params.sampwidth * params.nchannels
    if params.framerate <= 0 or params.nframes == 0 or len(frames) != expected:
        raise MediaRefused("is not a complete PCM WAV file")
    rebuilt = io.BytesIO()
    with wave.open(rebuilt, "wb") as target:
        target.setparams(params)
        target.writeframes(frames)
    return rebuilt.getvalue()


# MPEG audio layer III: kbit/s by bitrate index, Hz by sample-rate index, per version
# (the two header bits: 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5).
_MPEG1_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MPEG2_KBPS = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
# Tags that may close an MP3 (ID3v1, APE, Lyrics3): dropped with whatever follows them.
_MP3_TRAILERS = (b"TAG", b"APETAGEX", b"LYRICSBEGIN")


def _mp3_frame(data: bytes, pos: int) -> tuple[int, int] | None:
    """(length, version and sample-rate key) of the layer III frame at `pos`, or None."""
    if len(data) - pos < 4 or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    version = (data[pos + 1] >> 3) & 0x03
    layer = (data[pos + 1] >> 1) & 0x03
    bitrate_index, rate_index = data[pos + 2] >> 4, (data[pos + 2] >> 2) & 0x03
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    rate = _SAMPLE_RATES[version][rate_index]
    padding = (data[pos + 2] >> 1) & 0x01
    if version == 3:
        length = 144_000 * _MPEG1_KBPS[bitrate_index] // rate + padding
    else:
        length = 72_000 * _MPEG2_KBPS[bitrate_index] // rate + padding
    return length, data[pos + 1] & 0x18 | data[pos + 2] & 0x0C


def _skip_id3v2(data: bytes) -> int:
    pos = 0
    while data[pos : pos + 3] == b"ID3" and len(data) - pos >= 10:
        size = 0
        for byte in data[pos + 6 : pos + 10]:
            size = size << 7 | (byte & 0x7F)
        pos += 10 + size + (10 if data[pos + 5] & 0x10 else 0)
    return pos


def _mp3(data: bytes) -> bytes:
    """The MPEG frames, back to back, from the first to the last; tags are dropped and
    anything else between or after the frames refuses the file."""
    pos = _skip_id3v2(data)
    frames: list[bytes] = []
    stream = None
    while pos < len(data):
        frame = _mp3_frame(data, pos)
        if frame is None or (stream is not None and frame[1] != stream):
            if data.startswith(_MP3_TRAILERS, pos):
                break
            raise MediaRefused("has data that is not MPEG audio")
        length, stream = frame
        if pos + length > len(data):
            break  # a last frame cut short: dropped, as players do
        frames.append(data[pos : pos + length])
        pos += length
    if not frames:
        raise MediaRefused("has no MPEG audio frames")
    return b"".join(frames)


def _ogg(data: bytes) -> bytes:
    """Ogg pages from the first byte to the last."""
    pos = 0
    while pos < len(data):
        if data[pos : pos + 5] != b"OggS\x00" or len(data) - pos < 27:
            raise MediaRefused("has data that is not an Ogg page")
        segments = data[pos + 26]
        table = data[pos + 27 : pos + 27 + segments]
        end = pos + 27 + segments + sum(table)
        if len(table) != segments or end > len(data):
            raise MediaRefused("has a truncated Ogg page")
        pos = end
    return data


def _iso_media(data: bytes) -> bytes:
    """MP4, MOV and M4A: top-level boxes from the first byte to the last, `ftyp` first and
    a `moov` among them (box offsets inside may point anywhere, so nothing is cut)."""
    pos = 0
    kinds: list[bytes] = []
    while pos < len(data):
        if len(data) - pos < 8:
            raise MediaRefused("has data that is not an MP4 box")
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1 and len(data) - pos >= 16:
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:  # the last box runs to the end of the file
            size = len(data) - pos
        if size < header or pos + size > len(data) or not kind.isascii():
            raise MediaRefused("has data that is not an MP4 box")
        kinds.append(kind)
        pos += size
    if not kinds or kinds[0] != b"ftyp" or b"moov" not in kinds:
        raise MediaRefused("is not a complete MP4 file")
    return data


_READERS: dict[str, Callable[[bytes], bytes]] = {
    "wav": _wav,
    "mp3": _mp3,
    "ogg": _ogg,
    "mp4": _iso_media,
    "mov": _iso_media,
    "m4a": _iso_media,
}


def has_reader(file_type: FileType) -> bool:
    return file_type.extension in _READERS


def verified(data: bytes, file_type: FileType) -> bytes:
    """The file as read to its end (WAV and MP3 rebuilt), or MediaRefused. Types without a
    reader here pass unchanged: the caller has ffmpeg decide, or refuses them."""
    reader = _READERS.get(file_type.extension)
    return reader(data) if reader is not None else data
