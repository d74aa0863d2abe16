"""Pillow and torchvision as the oracle for thaw's image decoding and preprocessing.

Writes PNG files of many kinds (random pixels, seeded) and, for each, what Pillow decodes
(`Image.open(f).convert('RGB')`), what `resize((224, 224), Image.BILINEAR)` gives, and the
float tensor of torchvision's Compose([Resize((224, 224)), ToTensor(), Normalize(ImageNet)]).
Raw little-endian files plus manifest.json; the C++ test compares against them.
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(20201231)
pipeline = transforms.Compose([
    transforms.Resize((224, 224)),
    transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
])
manifest = []


def smooth_noise(h, w, channels):
    """Noise plus a gradient, so resizing has edges and flat areas to get right."""
    base = np.linspace(0, 255, w)[None, :] * np.linspace(0.2, 1.0, h)[:, None]
    shape = (h, w) if channels == 1 else (h, w, channels)
    noise = rng.integers(-60, 60, size=shape)
    if channels != 1:
        base = base[:, :, None]
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def record(name, png_path, pil_rgb, channels):
    """pil_rgb: the PIL image torchvision would see after convert('RGB')."""
    decoded = np.array(pil_rgb)
    if channels == 1:
        decoded = decoded[:, :, 0]  # thaw keeps grey at one channel; convert('RGB') repeats it
    resized = np.array(pil_rgb.resize((224, 224), Image.BILINEAR))
    if channels == 1:
        assert (resized[:, :, 0] == resized[:, :, 1]).all()
        resized = resized[:, :, 0]
    tensor = pipeline(pil_rgb).numpy().astype(np.float32)
    decoded.tofile(os.path.join(out, name + ".decoded.u8"))
    resized.tofile(os.path.join(out, name + ".resized.u8"))
    tensor.tofile(os.path.join(out, name + ".tensor.f32"))
    h, w = decoded.shape[:2]
    manifest.append({"name": name, "png": os.path.basename(png_path), "width": w, "height": h, "channels": channels})


def save(name, image, **kw):
    path = os.path.join(out, name + ".png")
    image.save(path, **kw)
    return path


# 8-bit grey and RGB: smaller and larger than 224, odd sizes, one side equal to 224, 3000x3000.
sizes = [(1, 1), (5, 7), (97, 131), (224, 224), (224, 301), (225, 223), (300, 299), (480, 640), (1023, 513), (3000, 3000)]
for h, w in sizes:
    grey = Image.fromarray(smooth_noise(h, w, 1), "L")
    record(f"grey_{h}x{w}", save(f"grey_{h}x{w}", grey, compress_level=1), grey.convert("RGB"), 1)
    rgb = Image.fromarray(smooth_noise(h, w, 3), "RGB")
    record(f"rgb_{h}x{w}", save(f"rgb_{h}x{w}", rgb, compress_level=1), rgb.convert("RGB"), 3)

# The other PNG kinds: Pillow's convert('RGB') is the oracle (alpha dropped, palette looked up).
h, w = 181, 243
rgba = Image.fromarray(smooth_noise(h, w, 4), "RGBA")
record("rgba", save("rgba", rgba), Image.open(os.path.join(out, "rgba.png")).convert("RGB"), 3)
la = Image.fromarray(smooth_noise(h, w, 2), "LA")
record("grey_alpha", save("grey_alpha", la), Image.open(os.path.join(out, "grey_alpha.png")).convert("RGB"), 1)
palette = Image.fromarray(smooth_noise(h, w, 3), "RGB").quantize(colors=37)
record("palette", save("palette", palette), Image.open(os.path.join(out, "palette.png")).convert("RGB"), 3)
bilevel = Image.fromarray(smooth_noise(h, w, 1) > 128).convert("1")
record("bilevel", save("bilevel", bilevel), Image.open(os.path.join(out, "bilevel.png")).convert("RGB"), 1)
# 16-bit RGB: Pillow keeps each sample's high byte.
import zlib, struct  # noqa: E402  (a writer for 16-bit RGB, which Pillow cannot save)


def write_png16(path, samples, colour_type):
    h, w = samples.shape[:2]
    raw = b"".join(b"\x00" + samples[y].astype(">u2").tobytes() for y in range(h))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


rgb16 = rng.integers(0, 65536, size=(h, w, 3), dtype=np.uint16)
write_png16(os.path.join(out, "rgb16.png"), rgb16, 2)
record("rgb16", os.path.join(out, "rgb16.png"), Image.open(os.path.join(out, "rgb16.png")).convert("RGB"), 3)
# 16-bit grey: Pillow clips it to white, so the oracle applies thaw's documented rule (v >> 8)
# and Pillow does the rest.
grey16 = rng.integers(0, 65536, size=(h, w), dtype=np.uint16)
write_png16(os.path.join(out, "grey16.png"), grey16, 0)
record("grey16", os.path.join(out, "grey16.png"), Image.fromarray((grey16 >> 8).astype(np.uint8), "L").convert("RGB"), 1)

with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
print(f"wrote {len(manifest)} cases to {out}")
