"""BlurHash: ConnectHub's encoder (media/blurhash.py) against the BlurHash packages on PyPI,
on the same generated images: time per image, and whether the strings are equal (else how
far apart their decoded 32x32 pictures are, in 0-255 steps).

The PyPI packages `blurhash` (pure Python) and `blurhash-python` (C, through cffi) both
install a module named `blurhash`, so each is run in an interpreter of its own:

    python3.11 -m venv /tmp/bh-pure && /tmp/bh-pure/bin/pip install blurhash pillow
    python3.11 -m venv /tmp/bh-c && /tmp/bh-c/bin/pip install blurhash-python pillow
    .venv/bin/python bench/blurhash.py --package blurhash=/tmp/bh-pure/bin/python \\
        --package blurhash-python=/tmp/bh-c/bin/python

Figures go to docs/benchmarks.md (section "BlurHash").
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from connecthub.media import blurhash as ours
from connecthub.media.processing import SMALL_SIDE

SAMPLE = ours.SAMPLE_SIDE
ROUNDS = 40

# Run by each package's interpreter on the decoded images: the same sampling as ours (a
# 32-pixel bilinear thumbnail), then the package's encoder; prints the strings and the
# seconds per image, timed as ours is (sampling and encoding, no file decoding).
_RUNNER = """
import json, sys, time
from PIL import Image
import blurhash

def loaded(path):
    image = Image.open(path).convert("RGB")
    image.load()
    return image

def encode(image):
    sample = image.copy()
    sample.thumbnail((%(side)d, %(side)d), Image.Resampling.BILINEAR)
    if hasattr(blurhash, "PixelMode"):  # blurhash-python: takes the PIL image (and closes it)
        return blurhash.encode(sample, 4, 3)
    width, height = sample.size
    data = list(sample.getdata())
    rows = [[list(data[y * width + x]) for x in range(width)] for y in range(height)]
    return blurhash.encode(rows, 4, 3)

images = [loaded(path) for path in sys.argv[1:]]
hashes = [encode(image) for image in images]
best = float("inf")
for _ in range(%(rounds)d):
    started = time.perf_counter()
    for image in images:
        encode(image)
    best = min(best, time.perf_counter() - started)
print(json.dumps({"hashes": hashes, "seconds": best / len(images)}))
"""


def generated_images(count: int, seed: int = 11) -> list[Image.Image]:
    """Photo-like test pictures at the size the encoder is given (the small variant):
    gradients, shapes, noise, blur; some portrait, some landscape."""
    rng = random.Random(seed)
    images = []
    for index in range(count):
        width, height = (SMALL_SIDE, SMALL_SIDE * 3 // 4) if index % 2 else (360, SMALL_SIDE)
        picture = Image.linear_gradient("L").resize((width, height)).convert("RGB")
        tint = Image.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
        picture = Image.blend(picture, tint, 0.5)
        draw = ImageDraw.Draw(picture)
        for _ in range(12):
            x, y = rng.randrange(width), rng.randrange(height)
            size = rng.randrange(20, width // 2)
            colour = tuple(rng.randrange(256) for _ in range(3))
            draw.ellipse((x, y, x + size, y + size), fill=colour)
        grain = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
        picture = Image.blend(picture, grain, 0.15).filter(ImageFilter.GaussianBlur(2))
        images.append(picture)
    return images


def best_round(work: Callable[[Image.Image], object], images: list[Image.Image]) -> float:
    """Seconds per image in the fastest of ROUNDS passes (the least disturbed by others)."""
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for image in images:
            work(image)
        best = min(best, time.perf_counter() - started)
    return best / len(images)


def encode_ours(image: Image.Image) -> str:
    return ours.encode(image, 4, 3)


def time_ours(images: list[Image.Image]) -> tuple[list[str], float]:
    return [encode_ours(image) for image in images], best_round(encode_ours, images)


def sample(image: Image.Image) -> None:
    """What every encoder here pays first: the 32-pixel thumbnail of the image."""
    copy = image.convert("RGB")
    copy.thumbnail((SAMPLE, SAMPLE), Image.Resampling.BILINEAR)


def run_package(python: str, paths: list[Path]) -> tuple[list[str], float]:
    script = _RUNNER % {"side": SAMPLE, "rounds": ROUNDS}
    done = subprocess.run(
        [python, "-c", script, *map(str, paths)], capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout)
    return [str(item) for item in result["hashes"]], float(result["seconds"])


def decoded(hash_: str) -> list[tuple[float, ...]]:
    """A BlurHash turned back into SAMPLE x SAMPLE sRGB pixels (the spec's decoder)."""
    alphabet = ours._BASE83

    def number(text: str) -> int:
        value = 0
        for char in text:
            value = value * 83 + alphabet.index(char)
        return value

    size = number(hash_[0])
    nx, ny = size % 9 + 1, size // 9 + 1
    maximum = (number(hash_[1]) + 1) / 166
    dc = number(hash_[2:6])
    colours = [tuple(ours._LINEAR[(dc >> shift) & 255] for shift in (16, 8, 0))]
    for index in range(1, nx * ny):
        value = number(hash_[4 + index * 2 : 6 + index * 2])
        parts = (value // (19 * 19), (value // 19) % 19, value % 19)
        colours.append(tuple(_unquant(part, maximum) for part in parts))
    pixels = []
    for y in range(SAMPLE):
        for x in range(SAMPLE):
            r = g = b = 0.0
            for j in range(ny):
                for i in range(nx):
                    basis = _cos(i, x) * _cos(j, y)
                    cr, cg, cb = colours[j * nx + i]
                    r, g, b = r + cr * basis, g + cg * basis, b + cb * basis
            pixels.append(tuple(float(ours._to_srgb(v)) for v in (r, g, b)))
    return pixels


def _unquant(part: int, maximum: float) -> float:
    value = (part - 9) / 9
    return (value * value if value >= 0 else -value * value) * maximum


def _cos(component: int, position: int) -> float:
    return math.cos(math.pi * component * position / SAMPLE)


def largest_difference(first: str, second: str) -> float:
    return max(
        abs(a - b)
        for left, right in zip(decoded(first), decoded(second), strict=True)
        for a, b in zip(left, right, strict=True)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument(
        "--package",
        action="append",
        default=[],
        metavar="NAME=PYTHON",
        help="a PyPI BlurHash package and the interpreter it is installed in",
    )
    args = parser.parse_args()
    images = generated_images(args.images)
    mine, my_seconds = time_ours(images)
    print(f"{args.images} generated images of {SMALL_SIDE} px, 4x3 components, best of {ROUNDS}")
    print(f"{'encoder':<18} {'ms / image':>10}  same strings  largest decoded difference")
    print(f"{'(sampling alone)':<18} {best_round(sample, images) * 1000:>10.2f}  -")
    print(f"{'connecthub':<18} {my_seconds * 1000:>10.2f}  -")
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index, image in enumerate(images):
            path = Path(folder) / f"{index}.png"
            image.save(path)
            paths.append(path)
        for spec in args.package:
            name, _, python = spec.partition("=")
            theirs, seconds = run_package(python, paths)
            same = sum(a == b for a, b in zip(mine, theirs, strict=True))
            worst = max(largest_difference(a, b) for a, b in zip(mine, theirs, strict=True))
            print(
                f"{name:<18} {seconds * 1000:>10.2f}  {same}/{len(images):<11} {worst:.0f} of 255"
            )


if __name__ == "__main__":
    main()
