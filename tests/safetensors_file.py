"""The float32 tensors of a safetensors file as numpy arrays, for the scripts that read what thaw
wrote (the format: an 8-byte little-endian header length, a JSON header of shapes and data
offsets, then the raw data). Import it with this folder on sys.path."""
import json
import struct

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    header.pop("__metadata__", None)
    return {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], dtype="<f4").reshape(v["shape"])
            for k, v in header.items()}
