"""Test files made in code: images with Pillow (GPS EXIF, orientation), a WAV with the
wave module, FLAC and WebM with PyAV, and the hostile corpus. Small audio/video fixtures
live in fixtures/."""

from __future__ import annotations

import io
import math
import random
import struct
import wave
import zlib
from pathlib import Path

import av
from PIL import ExifTags, Image

FIXTURES = Path(__file__).parent / "fixtures"


def noisy_image(width: int, height: int, seed: int = 1, mode: str = "RGB") -> Image.Image:
    """Noise compresses badly, so encoded files have a realistic size."""
    rng = random.Random(seed)
    image = Image.frombytes(mode, (width, height), rng.randbytes(width * height * len(mode)))
    return image


def jpeg(
    width: int = 64,
    height: int = 48,
    *,
    seed: int = 1,
    gps: bool = False,
    orientation: int | None = None,
    quality: int = 85,
) -> bytes:
    image = noisy_image(width, height, seed)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "ConnectHubTestCamera"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
        info[ExifTags.GPS.GPSLatitudeRef] = "N"
        info[ExifTags.GPS.GPSLatitude] = (52.0, 22.0, 12.5)
        info[ExifTags.GPS.GPSLongitudeRef] = "E"
        info[ExifTags.GPS.GPSLongitude] = (4.0, 53.0, 29.0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, exif=exif)
    return buffer.getvalue()


def png(width: int = 32, height: int = 32, *, seed: int = 2, alpha: bool = False) -> bytes:
    image = noisy_image(width, height, seed, "RGBA" if alpha else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def gif(frames: int = 3, size: int = 24) -> bytes:
    images = [noisy_image(size, size, seed).convert("P") for seed in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=80, loop=0)
    return buffer.getvalue()


def webp(width: int = 40, height: int = 30) -> bytes:
    buffer = io.BytesIO()
    noisy_image(width, height, 3).save(buffer, "WEBP")
    return buffer.getvalue()


def wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        samples = int(seconds * rate)
        out.writeframes(b"".join(struct.pack("<h", (i * 37) % 2000 - 1000) for i in range(samples)))
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A valid PNG header announcing width x height pixels, with a few KB of IDAT: a
    decoder that trusted it would try to allocate gigabytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    row = b"\x00" + b"\x00" * width
    pixels = zlib.compress(row * 4, 9)  # only the first rows; enough to start decoding
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", pixels)
        + _chunk(b"IEND", b"")
    )


def png_with_html() -> bytes:
    """A real PNG carrying HTML in a text chunk and after its end."""
    image = png(16, 16)
    html = b"<html><body><script>alert(document.domain)</script></body></html>"
    end = image.rindex(b"IEND") - 4
    return image[:end] + _chunk(b"tEXt", b"Comment\x00" + html) + image[end:] + html


HTML_POLYGLOT = b"GIF89a/*<html><body><script>alert(1)</script></body></html>*/=1;"
HTML_PAGE = b"<!DOCTYPE html><html><head><script>alert(1)</script></head></html>"
SVG_SCRIPT = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script><rect width='10' height='10'/></svg>"
)
JSON_LD = b'{"@context": "https://www.w3.org/ns/activitystreams", "type": "Note", "content": "hi"}'
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF"
ZIP = b"PK\x03\x04" + b"\x00" * 40


def truncated_jpeg() -> bytes:
    whole = jpeg(256, 256, seed=9)
    return whole[: len(whole) // 2]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


HTML = b"<html><body><script>alert(document.domain)</script></body></html>"


def wav_with_html() -> bytes:
    """A RIFF/WAVE header whose `fmt ` chunk is an HTML page: no audio at all."""
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(HTML)) + HTML
    return b"RIFF" + struct.pack("<I", len(body)) + body


def mp3_frames_then_html() -> bytes:
    """Two well-formed (silent) MPEG-1 layer III frames, then a page."""
    frame = b"\xff\xfb\x90\x00" + b"\x00" * 413  # 128 kbit/s, 44.1 kHz: 417 bytes
    return frame * 2 + HTML


def mp4_then_html() -> bytes:
    """A real MP4 with a page appended after its last box."""
    return fixture("tiny.mp4") + HTML


def ftyp_then_html() -> bytes:
    """An MP4 `ftyp` box and nothing of a video after it."""
    return struct.pack(">I", 20) + b"ftypisom\x00\x00\x02\x00isom" + HTML


def ogg_then_html() -> bytes:
    return fixture("tiny.ogg") + HTML


def encoded(extension: str, seconds: float = 1.0, frame_rate: int = 10) -> bytes:
    """A small genuine file made with PyAV: FLAC (a tone), or WebM (VP8 video of noise at
    `frame_rate` frames a second, and an Opus tone)."""
    output = io.BytesIO()
    with av.open(output, mode="w", format={"flac": "flac", "webm": "webm"}[extension]) as out:
        sound = out.add_stream("flac" if extension == "flac" else "libopus", rate=48000)
        sound.layout = "mono"
        picture = None
        if extension == "webm":
            picture = out.add_stream("libvpx", rate=frame_rate)
            picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
            for index in range(int(seconds * frame_rate)):
                frame = av.VideoFrame.from_image(noisy_image(64, 48, seed=index))
                out.mux(picture.encode(frame))
            out.mux(picture.encode(None))
        samples = 960  # 20 ms, an Opus frame
        for start in range(0, int(seconds * 48000), samples):
            chunk = av.AudioFrame(format="s16", layout="mono", samples=samples)
            chunk.planes[0].update(_tone(start, samples))
            chunk.sample_rate, chunk.pts = 48000, start
            out.mux(sound.encode(chunk))
        out.mux(sound.encode(None))
    return output.getvalue()


def _tone(start: int, samples: int) -> bytes:
    """`samples` 16-bit samples of a 440 Hz tone at 48 kHz, from sample `start`."""
    wave_at = (math.sin(2 * math.pi * 440 * i / 48000) for i in range(start, start + samples))
    return b"".join(struct.pack("<h", int(8000 * value)) for value in wave_at)


def mp4_with_html_inside() -> bytes:
    """A real MP4 with a page in a `free` box after its last box: the boxes tile the file."""
    return fixture("tiny.mp4") + struct.pack(">I", 8 + len(HTML)) + b"free" + HTML
