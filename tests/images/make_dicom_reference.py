"""DICOM files written with pydicom (and compressed with DCMTK's dcmcjpeg/dcmcrle/dcmcjpls),
with the 8-bit grey that DICOM PS3.3 C.11 says a viewer shows, computed here in numpy: pydicom's
modality LUT, then the standard's VOI formulas, rounding half up, MONOCHROME1 inverted.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixel_data_handlers.util import apply_modality_lut
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
manifest = []


def dataset(pixels, bits_stored, high_bit, signed, photometric="MONOCHROME2", **attributes):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    ds.PatientName = "SYNTHETIC^TEST"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    allocated = 8 if pixels.dtype.itemsize == 1 else 16
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = allocated, bits_stored, high_bit
    ds.PixelRepresentation = 1 if signed else 0
    for k, v in attributes.items():
        setattr(ds, k, v)
    # Stored values sit in bits [high_bit - bits_stored + 1, high_bit]; the rest is noise a reader must mask.
    shift = high_bit + 1 - bits_stored
    words = (pixels.astype(np.int64) & ((1 << bits_stored) - 1)) << shift
    noise_bits = rng.integers(0, 1 << shift, size=pixels.shape) if shift else 0
    words = (words | noise_bits).astype(np.uint8 if allocated == 8 else np.uint16)
    ds.PixelData = words.tobytes()
    return ds


def window(x, c, w, function):
    if function == "LINEAR":
        y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255
        y = np.where(x <= c - 0.5 - (w - 1) / 2, 0, np.where(x > c - 0.5 + (w - 1) / 2, 255, y))
    elif function == "LINEAR_EXACT":
        y = ((x - c) / w + 0.5) * 255
        y = np.where(x <= c - w / 2, 0, np.where(x > c + w / 2, 255, y))
    else:  # SIGMOID
        y = 255 / (1 + np.exp(-4 * (x - c) / w))
    return y


def to_8bit(y, photometric):
    y8 = np.clip(np.floor(y + 0.5), 0, 255).astype(np.uint8)
    return 255 - y8 if photometric == "MONOCHROME1" else y8


def case(name, ds, expected):
    path = os.path.join(out, name + ".dcm")
    ds.save_as(path, write_like_original=False)
    expected.astype(np.uint8).tofile(os.path.join(out, name + ".expected.u8"))
    manifest.append({"name": name, "file": name + ".dcm", "width": int(ds.Columns), "height": int(ds.Rows)})
    return path


def modality(ds, stored):
    """Pydicom's modality LUT of the stored values (what a reader gets after masking)."""
    return apply_modality_lut(stored.astype(np.float64), ds).astype(np.float64)


h, w = 67, 53
stored12 = rng.integers(0, 4096, size=(h, w))

for photometric in ("MONOCHROME2", "MONOCHROME1"):
    ds = dataset(stored12, 12, 11, False, photometric, WindowCenter=2000, WindowWidth=1500)
    case(f"window_{photometric.lower()}", ds, to_8bit(window(modality(ds, stored12), 2000, 1500, "LINEAR"), photometric))

signed = rng.integers(-2048, 2048, size=(h, w))
ds = dataset(signed, 12, 11, True, RescaleSlope=0.5, RescaleIntercept=-100, WindowCenter=-150, WindowWidth=700,
             VOILUTFunction="LINEAR_EXACT")
case("signed_rescale_linear_exact", ds, to_8bit(window(modality(ds, signed), -150, 700, "LINEAR_EXACT"), "MONOCHROME2"))

ds = dataset(stored12, 12, 15, False, WindowCenter=[1800, 500], WindowWidth=[1200, 100], VOILUTFunction="SIGMOID")
case("sigmoid_first_window_high_bits", ds, to_8bit(window(modality(ds, stored12), 1800, 1200, "SIGMOID"), "MONOCHROME2"))

stored10 = rng.integers(100, 900, size=(h, w))
ds = dataset(stored10, 10, 9, False, "MONOCHROME1", RescaleSlope=2, RescaleIntercept=5)
x = modality(ds, stored10)
case("min_max_monochrome1", ds, to_8bit((x - x.min()) / (x.max() - x.min()) * 255, "MONOCHROME1"))

stored8 = rng.integers(0, 256, size=(h, w)).astype(np.uint8)
ds = dataset(stored8, 8, 7, False)
case("eight_bit_min_max", ds, to_8bit((stored8 - stored8.min()) / (int(stored8.max()) - int(stored8.min())) * 255, "MONOCHROME2"))

lut_item = Dataset()
lut_item.LUTDescriptor = [1024, 1000, 12]
lut_values = np.sort(rng.integers(0, 4096, size=1024)).astype(np.uint16)
lut_item.LUTData = lut_values.tolist()
ds = dataset(stored12, 12, 11, False, VOILUTSequence=Sequence([lut_item]))
ds.VOILUTSequence[0]["LUTData"].VR = "US"
index = np.clip(modality(ds, stored12) - 1000, 0, 1023).astype(int)
case("voi_lut", ds, to_8bit(lut_values[index] / 4095 * 255, "MONOCHROME2"))

# Compressed transfer syntaxes, made by DCMTK's command-line tools from an uncompressed case:
# lossless, so the same pixels are expected.
def compressed(tool, source, name, syntax=None):
    target = os.path.join(out, name + ".dcm")
    subprocess.run([tool, source + ".dcm", target], check=True)
    shutil.copy(source + ".expected.u8", os.path.join(out, name + ".expected.u8"))
    written = pydicom.dcmread(target).file_meta.TransferSyntaxUID
    assert written != ExplicitVRLittleEndian, f"{tool} did not compress"
    assert syntax is None or written == syntax, f"{tool} wrote {written}, not {syntax}"
    manifest.append({"name": name, "file": name + ".dcm", "width": w, "height": h})


def full_window(stored, bits, name):
    """An uncompressed case whose window spans all 2^bits stored values; returns its path without .dcm."""
    width = 1 << bits
    centre = width // 2
    ds = dataset(stored, bits, bits - 1, False, WindowCenter=centre, WindowWidth=width)
    case(name, ds, to_8bit(window(stored.astype(np.float64), centre, width, "LINEAR"), "MONOCHROME2"))
    return os.path.join(out, name)


plain = full_window(stored12, 12, "to_compress")
compressed("dcmcjpeg", plain, "jpeg_lossless")
compressed("dcmcrle", plain, "rle")
# JPEG-LS lossless (DCMTK's dcmcjpls) at the bit depths radiographs come in.
compressed("dcmcjpls", plain, "jpeg_ls_12bit", pydicom.uid.JPEGLSLossless)
compressed("dcmcjpls", full_window(stored8, 8, "to_compress_8bit"), "jpeg_ls_8bit", pydicom.uid.JPEGLSLossless)
stored16 = rng.integers(0, 1 << 16, size=(h, w)).astype(np.uint16)
compressed("dcmcjpls", full_window(stored16, 16, "to_compress_16bit"), "jpeg_ls_16bit", pydicom.uid.JPEGLSLossless)

# Refused inputs: a truncated file, a colour image, a Modality LUT Sequence.
with open(plain + ".dcm", "rb") as f:
    data = f.read()
with open(os.path.join(out, "truncated.dcm"), "wb") as f:
    f.write(data[: len(data) * 2 // 3])
# A JPEG fragment whose first marker after SOI is TEM (FF 01): DCMTK 3.6.7's bit-depth scan
# would loop forever on it.
with open(os.path.join(out, "jpeg_lossless.dcm"), "rb") as f:
    jpeg = bytearray(f.read())
soi = jpeg.index(b"\xff\xd8\xff")
jpeg[soi + 2:soi + 4] = b"\xff\x01"
with open(os.path.join(out, "tem_marker.dcm"), "wb") as f:
    f.write(jpeg)
colour = dataset(stored8, 8, 7, False, "RGB")
colour.SamplesPerPixel = 3
colour.PlanarConfiguration = 0
colour.PixelData = np.repeat(stored8[:, :, None], 3, axis=2).tobytes()
colour.save_as(os.path.join(out, "colour.dcm"), write_like_original=False)
# A Modality LUT Sequence (PS3.3 C.11.1) in place of Rescale Slope/Intercept: thaw refuses it.
modality_item = Dataset()
modality_item.LUTDescriptor = [4096, 0, 16]
modality_item.ModalityLUTType = "US"  # unspecified units
modality_item.LUTData = (np.arange(4096) * 16).tolist()
with_modality_lut = dataset(stored12, 12, 11, False, ModalityLUTSequence=Sequence([modality_item]))
with_modality_lut.ModalityLUTSequence[0]["LUTData"].VR = "US"
with_modality_lut.save_as(os.path.join(out, "modality_lut.dcm"), write_like_original=False)

with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
print(f"wrote {len(manifest)} DICOM cases to {out}")
