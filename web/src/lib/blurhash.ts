// A small BlurHash decoder: a media attachment's `blurhash` (a few dozen base-83
// characters) becomes a tiny image shown while the real one loads, or in place of a
// sensitive one. Written for ConnectHub from the format's description: the first character
// holds the number of components, the second the maximum AC value, then 4 characters of DC
// colour (sRGB) and 2 characters per AC component (quantised, signed square root).

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

export function decode83(text: string): number {
  let value = 0;
  for (const char of text) {
    const digit = ALPHABET.indexOf(char);
    if (digit < 0) throw new Error("invalid blurhash character");
    value = value * 83 + digit;
  }
  return value;
}

function toLinear(value: number): number {
  const v = value / 255;
  return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
}

function toSrgb(value: number): number {
  const v = Math.max(0, Math.min(1, value));
  return Math.round(v <= 0.0031308 ? v * 12.92 * 255 : (1.055 * Math.pow(v, 1 / 2.4) - 0.055) * 255);
}

function signedPow(value: number, exp: number): number {
  return Math.sign(value) * Math.pow(Math.abs(value), exp);
}

/** True when `hash` is well formed (its length matches its component count). */
export function isValid(hash: string | null | undefined): hash is string {
  if (!hash || hash.length < 6) return false;
  try {
    decode83(hash);
    const size = decode83(hash[0]!);
    const x = (size % 9) + 1;
    const y = Math.floor(size / 9) + 1;
    return hash.length === 4 + 2 * x * y;
  } catch {
    return false;
  }
}

/** The RGBA pixels (width × height × 4) that `hash` describes. */
export function decode(hash: string, width: number, height: number, punch = 1): Uint8ClampedArray {
  if (!isValid(hash)) throw new Error("invalid blurhash");
  const size = decode83(hash[0]!);
  const nx = (size % 9) + 1;
  const ny = Math.floor(size / 9) + 1;
  const maxAc = ((decode83(hash[1]!) + 1) / 166) * punch;
  const colours: [number, number, number][] = [];
  for (let i = 0; i < nx * ny; i++) {
    if (i === 0) {
      const dc = decode83(hash.slice(2, 6));
      colours.push([toLinear(dc >> 16), toLinear((dc >> 8) & 255), toLinear(dc & 255)]);
    } else {
      const ac = decode83(hash.slice(4 + i * 2, 6 + i * 2));
      const r = Math.floor(ac / (19 * 19));
      const g = Math.floor(ac / 19) % 19;
      const b = ac % 19;
      colours.push([
        signedPow((r - 9) / 9, 2) * maxAc,
        signedPow((g - 9) / 9, 2) * maxAc,
        signedPow((b - 9) / 9, 2) * maxAc,
      ]);
    }
  }
  const pixels = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          const basis = Math.cos((Math.PI * x * i) / width) * Math.cos((Math.PI * y * j) / height);
          const colour = colours[i + j * nx]!;
          r += colour[0] * basis;
          g += colour[1] * basis;
          b += colour[2] * basis;
        }
      }
      const at = 4 * (x + y * width);
      pixels[at] = toSrgb(r);
      pixels[at + 1] = toSrgb(g);
      pixels[at + 2] = toSrgb(b);
      pixels[at + 3] = 255;
    }
  }
  return pixels;
}

const urls = new Map<string, string>();

/** A `data:` URL of the placeholder (32×32, scaled by CSS), or null when it cannot be made. */
export function placeholderUrl(hash: string | null | undefined): string | null {
  if (!isValid(hash)) return null;
  const known = urls.get(hash);
  if (known) return known;
  try {
    const canvas = document.createElement("canvas");
    canvas.width = 32;
    canvas.height = 32;
    const context = canvas.getContext("2d");
    if (!context) return null;
    const image = context.createImageData(32, 32);
    image.data.set(decode(hash, 32, 32));
    context.putImageData(image, 0, 0);
    const url = canvas.toDataURL("image/png");
    urls.set(hash, url);
    return url;
  } catch {
    return null;
  }
}
