#!/usr/bin/env python3
"""An independent safetensors reader (json + numpy, from the format's specification) checks
the file thaw's io test wrote: header layout, padding, exact coverage and every value, which
the test computes by formula (layer k, element i: 100k + 0.25i - 1).
Usage: check_thaw_safetensors.py FILE"""
import json
import struct
import sys

import numpy as np


def main(path):
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    assert n % 8 == 0, f"header length {n} is not padded to 8"
    header = json.loads(blob[8:8 + n])
    buffer = blob[8 + n:]
    assert header.pop("__metadata__") == {"writer": "thaw"}
    end = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, stop = info["data_offsets"]
        assert begin == end, f"{name}: hole or overlap at {begin}"
        assert info["dtype"] == "F32"
        values = np.frombuffer(buffer[begin:stop], dtype="<f4").reshape(info["shape"])
        k = int(name[len("layer"):].split(".")[0])
        expected = (np.float32(k) * np.float32(100) + np.arange(values.size, dtype=np.float32) * np.float32(0.25)
                    - np.float32(1)).reshape(info["shape"])
        assert values.shape == (k + 1, 5), f"{name}: shape {values.shape}"
        assert np.array_equal(values, expected), f"{name}: values differ"
        end = stop
    assert end == len(buffer), "the tensors do not cover the buffer"
    print(f"{path}: {len(header)} tensors read by the independent reader, all equal")


if __name__ == "__main__":
    main(sys.argv[1])
