"""Image processing: decode, check, re-encode. Nothing is stored as uploaded: the decoded
pixels are written again (EXIF, GPS, comments and text chunks are left behind), the
orientation is applied, and a small variant, a WebP variant and a blurhash are made.

Pure functions of bytes, run in a worker thread by the service (CPU-bound).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageOps, ImageSequence

from connecthub.instance.limits import IMAGE_MATRIX_LIMIT
from connecthub.media import blurhash
from connecthub.media.sniffing import AVIF, GIF, JPEG, PNG, WEBP, FileType

# Pillow refuses (DecompressionBombError) anything over twice this before decoding; our own
# check (`MEDIA_IMAGE_MAX_PIXELS`, from the header) runs first and is stricter by default.
Image.MAX_IMAGE_PIXELS = IMAGE_MATRIX_LIMIT
SMALL_SIDE = 640
# The WebP variant is for display: capped at this long side (encoding a full 24 MP WebP takes
# seconds), encoded with a fast method.
WEBP_SIDE = 2048
# Every frame of an animation is held decoded while it is re-encoded: bound the total.
ANIMATION_PIXEL_LIMIT = 40_000_000
ANIMATION_FRAME_LIMIT = 500
_PIL_FORMATS = {JPEG: "JPEG", PNG: "PNG", GIF: "GIF", WEBP: "WEBP", AVIF: "AVIF"}
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}


class ImageRefused(ValueError):
    """The file is not an image we can safely process; the message says why."""


@dataclass
class Variant:
    role: str  # "original", "small", "webp"
    data: bytes
    file_type: FileType
    width: int
    height: int


@dataclass
class ProcessedImage:
    variants: list[Variant]
    blurhash: str
    meta: dict[str, Any] = field(default_factory=dict)

    def variant(self, role: str) -> Variant:
        return next(v for v in self.variants if v.role == role)


def dimensions(width: int, height: int) -> dict[str, Any]:
    return {
        "width": width,
        "height": height,
        "size": f"{width}x{height}",
        "aspect": round(width / height, 6) if height else 0,
    }


def _open(data: bytes, file_type: FileType, max_pixels: int) -> Image.Image:
    """Open lazily (only the header is read) and check the size before any decoding."""
    pil_format = _PIL_FORMATS.get(file_type)
    if pil_format is None:
        raise ImageRefused("is not a supported image type")
    Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, max_pixels)
    try:
        image = Image.open(io.BytesIO(data), formats=[pil_format])
    except Image.DecompressionBombError:
        raise ImageRefused(f"has too many pixels (the limit is {max_pixels})") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ImageRefused("is not a valid image (corrupt or truncated)") from None
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageRefused("has no pixels")
    if width * height > max_pixels:
        raise ImageRefused(f"has too many pixels ({width}x{height}; the limit is {max_pixels})")
    return image


def _frames(image: Image.Image) -> list[tuple[Image.Image, int]]:
    """Every frame, decoded (and checked), with its duration in milliseconds."""
    count = getattr(image, "n_frames", 1)
    width, height = image.size
    too_many = count > ANIMATION_FRAME_LIMIT or count * width * height > ANIMATION_PIXEL_LIMIT
    if count > 1 and too_many:
        raise ImageRefused("is an animation too large to process")
    frames = []
    try:
        if count == 1:  # decoded in place: no copy of a large still image
            image.load()
            return [(image, 100)]
        for frame in ImageSequence.Iterator(image):
            decoded = frame.convert("RGBA")
            decoded.load()
            frames.append((decoded, int(frame.info.get("duration", 100) or 100)))
    except Image.DecompressionBombError:
        raise ImageRefused("has too many pixels") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ImageRefused("is not a valid image (corrupt or truncated)") from None
    return frames


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation, then forget every piece of metadata."""
    try:
        upright = ImageOps.exif_transpose(image) or image
    except (OSError, ValueError, SyntaxError):  # a broken EXIF block: ignore it
        upright = image
    upright.info = {}
    return upright


def _normalised(image: Image.Image) -> Image.Image:
    if image.mode in ("RGB", "RGBA", "L", "LA"):
        return image
    if image.mode in ("P", "PA") and ("transparency" in image.info or image.mode == "PA"):
        return image.convert("RGBA")
    has_alpha = image.mode in _ALPHA_MODES
    return image.convert("RGBA" if has_alpha else "RGB")


def _encode(image: Image.Image, file_type: FileType, icc: bytes | None) -> bytes:
    buffer = io.BytesIO()
    extra: dict[str, Any] = {"icc_profile": icc} if icc else {}
    if file_type == JPEG:
        rgb = image if image.mode in ("RGB", "L") else image.convert("RGB")
        rgb.save(buffer, "JPEG", quality=88, **extra)
    elif file_type == PNG:
        image.save(buffer, "PNG", compress_level=6, **extra)
    elif file_type == WEBP:
        image.save(buffer, "WEBP", quality=80, method=2, **extra)
    elif file_type == AVIF:
        image.save(buffer, "AVIF", quality=70, **extra)
    else:
        image.save(buffer, "GIF")
    return buffer.getvalue()


def _encode_animation(frames: list[tuple[Image.Image, int]], pil_format: str) -> bytes:
    buffer = io.BytesIO()
    first, *rest = [frame for frame, _ in frames]
    first.save(
        buffer,
        pil_format,
        save_all=True,
        append_images=rest,
        duration=[duration for _, duration in frames],
        loop=0,
        **({"disposal": 2} if pil_format == "GIF" else {"quality": 80}),
    )
    return buffer.getvalue()


def _fitted_within(image: Image.Image, side: int) -> Image.Image:
    if max(image.size) <= side:
        return image
    fitted = image.copy()
    fitted.thumbnail((side, side), Image.Resampling.LANCZOS)
    return fitted


def _small(image: Image.Image) -> Image.Image:
    return _fitted_within(image, SMALL_SIDE)


def _blurhash(small: Image.Image) -> str:
    return blurhash.encode(small, 4, 3)


def process_image(data: bytes, file_type: FileType, *, max_pixels: int) -> ProcessedImage:
    """Refuses (ImageRefused) anything that does not decode cleanly within the limits."""
    image = _open(data, file_type, max_pixels)
    icc = image.info.get("icc_profile")
    frames = _frames(image)
    animated = len(frames) > 1
    if animated:
        original = _encode_animation(frames, _PIL_FORMATS[file_type])
        webp = _encode_animation(frames, "WEBP")
        still = frames[0][0]
        webp_size = still.size
    else:
        still = _normalised(_upright(frames[0][0]))
        original = _encode(still, file_type, icc)
        display = _fitted_within(still, WEBP_SIDE)
        webp, webp_size = _encode(display, WEBP, icc), display.size
    small = _small(still)
    small_type = PNG if small.mode in _ALPHA_MODES else JPEG
    width, height = still.size
    variants = [
        Variant("original", original, file_type, width, height),
        Variant("small", _encode(small, small_type, icc), small_type, *small.size),
        Variant("webp", webp, WEBP, *webp_size),
    ]
    meta = {
        "original": dimensions(width, height),
        "small": dimensions(*small.size),
        "webp": dimensions(*webp_size),
    }
    return ProcessedImage(variants=variants, blurhash=_blurhash(small), meta=meta)


def fitted_image(
    data: bytes, file_type: FileType, *, max_pixels: int, box: tuple[int, int]
) -> Variant:
    """Avatars and headers: cropped to `box`, re-encoded as PNG (with alpha) or JPEG."""
    image = _open(data, file_type, max_pixels)
    frames = _frames(image)
    still = _normalised(_upright(frames[0][0]))
    fitted = ImageOps.fit(still, box, Image.Resampling.LANCZOS)
    output = PNG if fitted.mode in _ALPHA_MODES else JPEG
    return Variant("original", _encode(fitted, output, None), output, *fitted.size)


# Custom emojis are drawn at text size: a larger upload is scaled down to this side.
EMOJI_SIDE = 128


def emoji_images(data: bytes, file_type: FileType, *, max_pixels: int) -> tuple[Variant, Variant]:
    """A custom emoji: the image re-encoded in its own format (PNG, GIF or WebP, animation
    kept) within `EMOJI_SIDE`, and a static PNG of its first frame."""
    if file_type not in (PNG, GIF, WEBP):
        raise ImageRefused("must be a PNG, GIF or WebP image")
    image = _open(data, file_type, max_pixels)
    frames = [
        (_fitted_within(_normalised(frame), EMOJI_SIDE), duration)
        for frame, duration in _frames(image)
    ]
    still = frames[0][0]
    if len(frames) > 1:
        original = _encode_animation(frames, _PIL_FORMATS[file_type])
    else:
        original = _encode(still, file_type, None)
    static = _encode(still, PNG, None)
    return (
        Variant("original", original, file_type, *still.size),
        Variant("static", static, PNG, *still.size),
    )
