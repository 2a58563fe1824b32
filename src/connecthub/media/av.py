"""Audio and video: probing (duration, bitrate, dimensions), stripping metadata and a video
poster frame.

Nothing is probed before `verified` has read its container to the end (containers.py).
ffprobe/ffmpeg are used when they are on PATH; without them audio is probed with mutagen
(pure Python), videos get a duration from mutagen where the container allows (MP4/MOV),
keep their bytes as verified and have no poster frame. See docs/media.md.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mutagen

from connecthub.ids import parse_id
from connecthub.media import containers
from connecthub.media.containers import MediaRefused as MediaRefused  # re-exported
from connecthub.media.processing import dimensions
from connecthub.media.sniffing import FileType

FFMPEG_TIMEOUT_SECONDS = 120


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


def ffmpeg_available(enabled: bool = True) -> bool:
    """`MEDIA_FFMPEG` is on and both tools are on PATH."""
    return enabled and shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def _length(seconds: float) -> str:
    """Mastodon's `length`: H:MM:SS.ss."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes):02d}:{secs:05.2f}"


def _mutagen_probe(data: bytes) -> Probe:
    try:
        parsed = mutagen.File(io.BytesIO(data))
    except Exception:  # mutagen raises many types on hostile input
        parsed = None
    if parsed is None or parsed.info is None:
        raise MediaRefused("is not a readable audio or video file")
    info = parsed.info
    found = Probe(
        duration=float(getattr(info, "length", 0) or 0) or None,
        bitrate=int(getattr(info, "bitrate", 0) or 0) or None,
        sample_rate=int(getattr(info, "sample_rate", 0) or 0) or None,
        channels=int(getattr(info, "channels", 0) or 0) or None,
        audio_codec=type(parsed).__name__.lower(),
    )
    if found.duration is None:  # mutagen reads headers; a file of headers only plays nothing
        raise MediaRefused("has no audio or video to play")
    return found


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


def _ffprobe(path: Path) -> Probe:
    raw = _run(
        [
            "ffprobe", "-v", "error", "-print_format", "json",
            "-show_format", "-show_streams", str(path),
        ]
    )  # fmt: skip
    try:
        report = json.loads(raw)
    except ValueError:
        raise MediaRefused("could not be decoded") from None
    probe = Probe()
    fmt = report.get("format") or {}
    probe.duration = float(fmt["duration"]) if fmt.get("duration") else None
    probe.bitrate = parse_id(fmt.get("bit_rate"))
    for stream in report.get("streams") or []:
        if stream.get("codec_type") == "video" and not probe.has_video:
            if (stream.get("disposition") or {}).get("attached_pic"):
                continue  # cover art in an audio file
            probe.has_video = True
            probe.width = int(stream.get("width") or 0) or None
            probe.height = int(stream.get("height") or 0) or None
            probe.frame_rate = stream.get("avg_frame_rate") or stream.get("r_frame_rate")
        elif stream.get("codec_type") == "audio" and probe.audio_codec is None:
            probe.audio_codec = stream.get("codec_name")
            probe.sample_rate = int(stream.get("sample_rate") or 0) or None
            probe.channels = int(stream.get("channels") or 0) or None
    if not probe.has_video and probe.audio_codec is None:
        raise MediaRefused("has no audio or video stream")
    return probe


def verified(data: bytes, file_type: FileType, *, ffmpeg: bool) -> bytes:
    """The bytes to probe and store: the container read to its end (WAV and MP3 rebuilt);
    a type with no pure-Python reader (FLAC, WebM) only when ffmpeg will decode it."""
    if not ffmpeg and not containers.has_reader(file_type):
        raise MediaRefused(
            f"cannot be checked on this server ({file_type.content_type} needs ffmpeg)"
        )
    return containers.verified(data, file_type)


def probe(data: bytes, file_type: FileType, *, ffmpeg: bool) -> Probe:
    if ffmpeg:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"input.{file_type.extension}"
            path.write_bytes(data)
            return _ffprobe(path)
    return _mutagen_probe(data)


def strip_metadata(data: bytes, file_type: FileType, *, ffmpeg: bool) -> bytes:
    """A copy without tags (titles, comments, cover art, GPS in a phone video), streams
    untouched. With ffmpeg the container is rewritten; otherwise mutagen removes the tags
    it knows (ID3, Vorbis comments, MP4 ilst), and other boxes (a phone's location in a
    video's udta) stay: docs/media.md says to install ffmpeg."""
    if ffmpeg:
        with tempfile.TemporaryDirectory() as folder:
            source = Path(folder) / f"input.{file_type.extension}"
            target = Path(folder) / f"output.{file_type.extension}"
            source.write_bytes(data)
            args = [
                "ffmpeg",
                "-v",
                "error",
                "-y",
                "-i",
                str(source),
                "-map",
                "0:v?",
                "-map",
                "0:a?",
            ]
            args += ["-map_metadata", "-1", "-map_chapters", "-1", "-c", "copy"]
            if file_type.extension in ("mp4", "mov", "m4a"):
                args += ["-movflags", "+faststart"]
            _run([*args, str(target)])
            return target.read_bytes()
    buffer = io.BytesIO(data)
    try:
        parsed = mutagen.File(buffer)
        if parsed is not None and parsed.tags is not None:
            parsed.delete(buffer)
            return buffer.getvalue()
    except Exception:  # an odd tag block: keep the file as it is  # noqa: S110
        pass
    return data


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
