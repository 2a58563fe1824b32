"""Audio and video: verified by decoding, re-muxed without metadata, probed; and a video
poster frame.

PyAV (FFmpeg's libraries, bundled in its wheel) opens every upload from memory with the
demuxer its sniffed type names, decodes the first audio or video stream to its end and
re-muxes the audio and video streams, untouched, into a fresh container of the same kind:
that copy, with no tags, cover art or appended bytes, is what is stored and probed. The
ffmpeg command (when on PATH and `MEDIA_FFMPEG` is on) only makes video poster frames.
See docs/media.md.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.stream import Disposition
from av.video.stream import VideoStream

from connecthub.instance.limits import VIDEO_FRAME_RATE_LIMIT, VIDEO_MATRIX_LIMIT
from connecthub.media.processing import dimensions
from connecthub.media.sniffing import FileType

FFMPEG_TIMEOUT_SECONDS = 120
# Decoding one upload (at most MEDIA_VIDEO_MAX_BYTES) may take this long, then it is refused.
DECODE_TIMEOUT_SECONDS = 120

# Sniffed extension: (FFmpeg demuxer that must read it, muxer that writes the stored copy).
_CONTAINERS = {
    "wav": ("wav", "wav"),
    "mp3": ("mp3", "mp3"),
    "ogg": ("ogg", "ogg"),
    "flac": ("flac", "flac"),
    "mp4": ("mov", "mp4"),
    "mov": ("mov", "mov"),
    "m4a": ("mov", "ipod"),
    "webm": ("matroska", "webm"),
}
_AUDIO_CODECS = {
    "aac", "alac", "flac", "mp3", "opus", "vorbis",
    "pcm_u8", "pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_s32le", "pcm_f32le",
}  # fmt: skip
_VIDEO_CODECS = {"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"}


Playable = AudioStream | VideoStream


class MediaRefused(ValueError):
    """The file is not audio or video we can use; the message says why."""


@dataclass
class Probe:
    duration: float | None = None
    bitrate: int | None = None
    width: int | None = None
    height: int | None = None
    frame_rate: str | None = None
    audio_codec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    has_video: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Verified:
    data: bytes  # the re-muxed file: what is stored
    probe: Probe


def ffmpeg_available(enabled: bool = True) -> bool:
    """`MEDIA_FFMPEG` is on and the ffmpeg command (poster frames) is on PATH."""
    return enabled and shutil.which("ffmpeg") is not None


def _length(seconds: float) -> str:
    """Mastodon's `length`: H:MM:SS.ss."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes):02d}:{secs:05.2f}"


def _open(data: bytes, file_type: FileType) -> InputContainer:
    """The demuxer is the sniffed type's, never guessed: FFmpeg's probing could pick a
    playlist or concat demuxer that reads other files."""
    demuxer = _CONTAINERS.get(file_type.extension, ("", ""))[0]
    if not demuxer:
        raise MediaRefused("is not audio or video")
    try:
        return av.open(io.BytesIO(data), mode="r", format=demuxer)
    except (av.FFmpegError, ValueError, OSError):
        raise MediaRefused(f"is not a readable {file_type.extension.upper()} file") from None


def _playable(container: InputContainer) -> list[Playable]:
    """The audio and video streams (cover art left out); refused when one has a codec
    outside the allow-list, is larger than 3840x2160 or faster than 120 frames a second, or
    there is none."""
    streams: list[Playable] = []
    for stream in container.streams:
        if stream.disposition & Disposition.attached_pic:
            continue
        if isinstance(stream, VideoStream):
            if stream.codec_context.codec.canonical_name not in _VIDEO_CODECS:
                raise MediaRefused("has video in an unsupported codec")
            if stream.codec_context.width * stream.codec_context.height > VIDEO_MATRIX_LIMIT:
                raise MediaRefused("is larger than 3840x2160")
            rate = stream.average_rate or stream.guessed_rate
            if rate and rate > VIDEO_FRAME_RATE_LIMIT:
                raise MediaRefused(f"has more than {VIDEO_FRAME_RATE_LIMIT} frames per second")
            streams.append(stream)
        elif isinstance(stream, AudioStream):
            if stream.codec_context.codec.canonical_name not in _AUDIO_CODECS:
                raise MediaRefused("has audio in an unsupported codec")
            streams.append(stream)
    if not streams:
        raise MediaRefused("has no audio or video stream")
    return streams


def _probe(container: InputContainer, streams: list[Playable]) -> Probe:
    found = Probe(
        duration=(container.duration or 0) / av.time_base or None,
        bitrate=container.bit_rate or None,
    )
    for stream in streams:
        if isinstance(stream, VideoStream) and not found.has_video:
            found.has_video = True
            found.width = stream.codec_context.width or None
            found.height = stream.codec_context.height or None
            rate = stream.average_rate or stream.guessed_rate
            found.frame_rate = f"{rate.numerator}/{rate.denominator}" if rate else None
        elif isinstance(stream, AudioStream) and found.audio_codec is None:
            found.audio_codec = stream.codec_context.codec.canonical_name
            found.sample_rate = stream.codec_context.sample_rate or None
            found.channels = stream.codec_context.layout.nb_channels or None
    return found


def _remux(
    container: InputContainer, streams: list[Playable], muxer: str, deadline: float
) -> bytes:
    """Every packet demuxed, the first stream's decoded, and the streams copied (no
    re-encode) into a new container with no metadata. It is written to a file because
    `faststart` (the index first, so players start before the end arrives) re-reads it."""
    decoder = streams[0].codec_context
    decoder.thread_count = 1  # the processing slots bound CPU, not FFmpeg's threads
    options = {"movflags": "+faststart"} if muxer in ("mp4", "mov", "ipod") else {}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "remuxed"
        with av.open(str(path), mode="w", format=muxer, options=options) as target:
            copies = {stream.index: target.add_stream_from_template(stream) for stream in streams}
            for copy in copies.values():
                copy.metadata.clear()
            frames = 0
            for packet in container.demux(streams):
                if time.monotonic() > deadline:
                    raise MediaRefused("took too long to decode")
                if packet.stream.index == streams[0].index:
                    frames += len(decoder.decode(packet))
                if packet.dts is None:  # the demuxer's closing empty packet
                    continue
                packet.stream = copies[packet.stream.index]
                target.mux(packet)
            if not frames:
                raise MediaRefused("has no audio or video to play")
        return path.read_bytes()


def verified(data: bytes, file_type: FileType) -> Verified:
    """The upload decoded to its end and re-muxed, or MediaRefused naming why."""
    # A CPU watchdog on this worker thread's decoding, not a time the application reasons
    # about: it reads the OS clock itself rather than `connecthub.clock`.
    deadline = time.monotonic() + DECODE_TIMEOUT_SECONDS
    try:
        with _open(data, file_type) as container:
            streams = _playable(container)
            found = _probe(container, streams)
            remuxed = _remux(container, streams, _CONTAINERS[file_type.extension][1], deadline)
    except av.FFmpegError as exc:
        raise MediaRefused(f"could not be decoded ({exc.strerror})") from None
    return Verified(remuxed, found)


def probe(data: bytes, file_type: FileType) -> Probe:
    """Duration, bitrate, size, frame rate and audio format of a verified file."""
    try:
        with _open(data, file_type) as container:
            return _probe(container, _playable(container))
    except av.FFmpegError:
        raise MediaRefused("could not be decoded") from None


def _run(args: list[str], data: bytes | None = None) -> bytes:
    try:
        result = subprocess.run(  # noqa: S603 - fixed argument lists, no shell
            args, input=data, capture_output=True, timeout=FFMPEG_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        raise MediaRefused("took too long to decode") from None
    if result.returncode != 0:
        raise MediaRefused("could not be decoded")
    return result.stdout


def poster_frame(data: bytes, file_type: FileType, *, ffmpeg: bool) -> bytes | None:
    """A PNG of the video's first frame (None without ffmpeg)."""
    if not ffmpeg:
        return None
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / f"input.{file_type.extension}"
        source.write_bytes(data)
        try:
            return _run(
                [
                    "ffmpeg", "-v", "error", "-i", str(source), "-frames:v", "1",
                    "-f", "image2pipe", "-c:v", "png", "pipe:1",
                ]
            ) or None  # fmt: skip
        except (MediaRefused, subprocess.TimeoutExpired):
            return None


def audio_meta(found: Probe) -> dict[str, Any]:
    duration = round(found.duration or 0.0, 2)
    channels = {1: "mono", 2: "stereo"}.get(found.channels or 0, f"{found.channels or 0} channels")
    return {
        "length": _length(duration),
        "duration": duration,
        "audio_encode": found.audio_codec or "",
        "audio_bitrate": f"{found.sample_rate or 0} Hz",
        "audio_channels": channels,
        "original": {"duration": duration, "bitrate": found.bitrate or 0},
    }


def video_meta(found: Probe) -> dict[str, Any]:
    duration = round(found.duration or 0.0, 2)
    original: dict[str, Any] = {"duration": duration, "bitrate": found.bitrate or 0}
    meta: dict[str, Any] = {"length": _length(duration), "duration": duration}
    if found.width and found.height:
        original.update(dimensions(found.width, found.height))
        meta.update({"width": found.width, "height": found.height})
        meta["size"] = original["size"]
        meta["aspect"] = original["aspect"]
    if found.frame_rate:
        original["frame_rate"] = found.frame_rate
        meta["fps"] = _fps(found.frame_rate)
    if found.audio_codec:
        meta["audio_encode"] = found.audio_codec
        meta["audio_channels"] = {1: "mono", 2: "stereo"}.get(found.channels or 0, "")
    meta["original"] = original
    return meta


def _fps(rate: str) -> int:
    numerator, _, denominator = rate.partition("/")
    try:
        return round(float(numerator) / float(denominator or 1))
    except (ValueError, ZeroDivisionError):
        return 0
