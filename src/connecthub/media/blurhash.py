"""BlurHash encoding (https://blurha.sh): a short string clients turn into a blurred
placeholder while the image loads. Computed from a tiny copy of the image, so plain Python
is fast enough; separable sums keep it O(components x pixels). Kept over the PyPI packages
after measuring them (bench/blurhash.py, docs/benchmarks.md): same strings, and the one
faster package saves ~0.6 ms per upload but has no wheel for every Python we support."""

from __future__ import annotations

import math

from PIL import Image

_BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


def _srgb_to_linear(value: int) -> float:
    v = value / 255
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


_LINEAR = [_srgb_to_linear(v) for v in range(256)]
SAMPLE_SIDE = 32


def _base83(value: int, length: int) -> str:
    return "".join(_BASE83[(value // 83 ** (length - 1 - i)) % 83] for i in range(length))


def _to_srgb(value: float) -> int:
    v = min(max(value, 0.0), 1.0)
    if v <= 0.0031308:
        return int(v * 12.92 * 255 + 0.5)
    return int((1.055 * v ** (1 / 2.4) - 0.055) * 255 + 0.5)


def _signed_sqrt(value: float) -> float:
    return math.copysign(abs(value) ** 0.5, value)


def encode(image: Image.Image, x_components: int = 4, y_components: int = 3) -> str:
    sample = image.convert("RGB")
    sample.thumbnail((SAMPLE_SIDE, SAMPLE_SIDE), Image.Resampling.BILINEAR)
    width, height = sample.size
    raw = sample.tobytes()
    cos_x = [[math.cos(math.pi * i * x / width) for x in range(width)] for i in range(x_components)]
    cos_y = [
        [math.cos(math.pi * j * y / height) for y in range(height)] for j in range(y_components)
    ]
    # row_sums[y][i] = sum over x of cos_x[i][x] * linear(pixel), per channel
    row_sums = []
    for y in range(height):
        row = raw[y * width * 3 : (y + 1) * width * 3]
        reds = [_LINEAR[v] for v in row[0::3]]
        greens = [_LINEAR[v] for v in row[1::3]]
        blues = [_LINEAR[v] for v in row[2::3]]
        sums = []
        for i in range(x_components):
            basis = cos_x[i]
            sums.append(
                (
                    sum(b * c for b, c in zip(basis, reds, strict=True)),
                    sum(b * c for b, c in zip(basis, greens, strict=True)),
                    sum(b * c for b, c in zip(basis, blues, strict=True)),
                )
            )
        row_sums.append(sums)
    factors = []
    for j in range(y_components):
        for i in range(x_components):
            norm = (1 if i == 0 and j == 0 else 2) / (width * height)
            r = g = b = 0.0
            for y in range(height):
                weight = cos_y[j][y]
                sr, sg, sb = row_sums[y][i]
                r += weight * sr
                g += weight * sg
                b += weight * sb
            factors.append((r * norm, g * norm, b * norm))
    dc, ac = factors[0], factors[1:]
    result = _base83((x_components - 1) + (y_components - 1) * 9, 1)
    if ac:
        quantised = max(0, min(82, math.floor(max(abs(v) for f in ac for v in f) * 166 - 0.5)))
        maximum = (quantised + 1) / 166
        result += _base83(quantised, 1)
    else:
        maximum = 1.0
        result += _base83(0, 1)
    result += _base83((_to_srgb(dc[0]) << 16) + (_to_srgb(dc[1]) << 8) + _to_srgb(dc[2]), 4)
    for r, g, b in ac:
        q = [max(0, min(18, math.floor(_signed_sqrt(v / maximum) * 9 + 9.5))) for v in (r, g, b)]
        result += _base83(q[0] * 19 * 19 + q[1] * 19 + q[2], 2)
    return result
