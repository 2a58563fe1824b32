"""Validation by content: the first bytes of a file decide what it is, never its name or the
type the client declared. Only the allow-list below is accepted; SVG, HTML, JSON, PDF,
archives and everything else are refused."""

from __future__ import annotations

from dataclasses import dataclass

from connecthub.media.models import MediaKind

SNIFF_BYTES = 64


@dataclass(frozen=True)
class FileType:
    content_type: str
    extension: str
    kind: MediaKind

    @property
    def is_image(self) -> bool:
        return self.kind in (MediaKind.IMAGE, MediaKind.GIFV)


JPEG = FileType("image/jpeg", "jpg", MediaKind.IMAGE)
PNG = FileType("image/png", "png", MediaKind.IMAGE)
GIF = FileType("image/gif", "gif", MediaKind.IMAGE)
WEBP = FileType("image/webp", "webp", MediaKind.IMAGE)
AVIF = FileType("image/avif", "avif", MediaKind.IMAGE)
MP4 = FileType("video/mp4", "mp4", MediaKind.VIDEO)
MOV = FileType("video/quicktime", "mov", MediaKind.VIDEO)
WEBM = FileType("video/webm", "webm", MediaKind.VIDEO)
MP3 = FileType("audio/mpeg", "mp3", MediaKind.AUDIO)
OGG = FileType("audio/ogg", "ogg", MediaKind.AUDIO)
WAV = FileType("audio/wav", "wav", MediaKind.AUDIO)
FLAC = FileType("audio/flac", "flac", MediaKind.AUDIO)
M4A = FileType("audio/mp4", "m4a", MediaKind.AUDIO)

# Everything the server stores, by extension: the only source of a served Content-Type.
BY_EXTENSION = {
    t.extension: t for t in (JPEG, PNG, GIF, WEBP, AVIF, MP4, MOV, WEBM, MP3, OGG, WAV, FLAC, M4A)
}

_VIDEO_BRANDS = {
    b"isom",
    b"iso2",
    b"iso4",
    b"iso5",
    b"iso6",
    b"mp41",
    b"mp42",
    b"avc1",
    b"dash",
    b"MSNV",
    b"3gp4",
    b"3gp5",
    b"3g2a",
    b"M4V ",
    b"M4VP",
    b"mmp4",
}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"F4A "}


def _iso_media(head: bytes) -> FileType | None:
    if head[4:8] != b"ftyp":
        return None
    brand = head[8:12]
    if brand in (b"avif", b"avis"):
        return AVIF
    if brand in _AUDIO_BRANDS:
        return M4A
    if brand == b"qt  ":
        return MOV
    if brand in _VIDEO_BRANDS:
        return MP4
    return None


def _mp3(head: bytes) -> bool:
    if head.startswith(b"ID3"):
        return True
    # An MPEG audio frame header: 11 sync bits, layer III, a valid bitrate and sample rate.
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    layer = (head[1] >> 1) & 0x03
    bitrate = head[2] >> 4
    sample_rate = (head[2] >> 2) & 0x03
    return layer == 0x01 and bitrate not in (0, 15) and sample_rate != 3


def sniff(head: bytes) -> FileType | None:
    """The allow-listed type `head` (the file's first bytes) starts, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return WAV
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:SNIFF_BYTES]:
        return WEBM
    if head.startswith(b"OggS"):
        return OGG
    if head.startswith(b"fLaC"):
        return FLAC
    iso = _iso_media(head)
    if iso is not None:
        return iso
    if _mp3(head):
        return MP3
    return None
