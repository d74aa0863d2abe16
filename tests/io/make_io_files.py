#!/usr/bin/env python3
"""Writes the weight files thaw's I/O tests read, with Debian's PyTorch 1.13 as the writer.

Good files: state dicts saved by torch.save in the zip and the legacy format (float32, float16,
bfloat16, int64, transposed and sliced views, two tensors sharing a storage, a nested checkpoint
dict), described in expected.json by PyTorch itself; a safetensors file written here by hand
from the format's specification. Bad files: pickles that call os.system, eval or Popen, REDUCE
on a storage class, absurd lengths, deep nesting, a list that contains itself, truncated and
CRC-damaged zips, short storages, out-of-bounds views, big-endian and tar files, and broken
safetensors headers. Usage: make_io_files.py OUT_DIR [FIXTURE_DIR...] (fixtures also seed the fuzzers)
"""
import collections
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import zipfile

import numpy as np
import torch


def good_state_dict():
    g = torch.Generator().manual_seed(2020)
    base = torch.randn(4, 6, generator=g)
    sd = collections.OrderedDict()
    sd["features.0.weight"] = torch.randn(2, 3, 3, 3, generator=g)
    sd["features.0.bias"] = torch.randn(2, generator=g)
    sd["f16"] = torch.randn(5, generator=g).half()
    sd["bf16"] = torch.randn(5, generator=g).bfloat16()
    sd["i64"] = torch.arange(-3, 3, dtype=torch.int64)
    sd["transposed_view"] = base.t()
    sd["slice_view"] = base[1:3, 2:5]
    sd["shares_storage"] = base
    sd["scalar"] = torch.tensor(3.5)
    sd["empty"] = torch.zeros(0, 4)
    return sd


def describe(sd, prefix=""):
    out = {}
    for key, t in sd.items():
        out[prefix + key] = {"dtype": str(t.dtype), "shape": list(t.shape),
                             "values": t.float().flatten().tolist() if t.dtype != torch.int64
                             else t.flatten().tolist()}
    return out


class FakeStorage:
    """A storage in a hand-made pickle: persistent_id turns it into torch's 5-tuple."""

    def __init__(self, key, numel, cls="FloatStorage"):
        self.key, self.numel, self.cls = key, numel, cls


class FakeTensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class Evil:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


def pickled(obj):
    buf = io.BytesIO()
    p = pickle_module.Pickler(buf, protocol=2, fix_imports=False)
    p.persistent_id = lambda o: (("storage", getattr(torch, o.cls), o.key, "cpu", o.numel)
                                 if isinstance(o, FakeStorage) else None)
    p.dump(obj)
    return buf.getvalue()


import pickle as pickle_module  # noqa: E402  (used by pickled())


def torch_zip(path, pkl, storages, prefix="archive", byteorder=b"little"):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{prefix}/data.pkl", pkl)
        z.writestr(f"{prefix}/byteorder", byteorder)
        for key, data in storages.items():
            z.writestr(f"{prefix}/data/{key}", data)
        z.writestr(f"{prefix}/version", b"3\n")


def legacy_stream(path, object_pickle):
    with open(path, "wb") as f:
        f.write(pickle_module.dumps(0x1950a86a20f9469cfc6c, protocol=2))
        f.write(pickle_module.dumps(1001, protocol=2))
        f.write(pickle_module.dumps({"protocol_version": 1001, "little_endian": True,
                                     "type_sizes": {"short": 2, "int": 4, "long": 8}}, protocol=2))
        f.write(object_pickle)
        f.write(pickle_module.dumps([], protocol=2))


def write_safetensors(path, tensors, metadata=None, mutate=None):
    """tensors: name -> (dtype string, numpy array of the matching dtype)."""
    header, blobs, offset = {}, [], 0
    for name, (dtype, array) in tensors.items():
        data = array.tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    if mutate:
        mutate(header)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def write_fuzz_seeds(out, extra_dirs):
    """Seeds for the fuzzers: the files above (and in extra_dirs), and the pickles inside the zips."""
    seeds = {name: os.path.join(out, "seeds", name) for name in ("unpickler", "torch", "safetensors")}
    for folder in seeds.values():
        os.makedirs(folder, exist_ok=True)
    files = [os.path.join(d, n) for d in [out] + extra_dirs for n in sorted(os.listdir(d))]
    for path in files:
        name = os.path.basename(path)
        if name.endswith(".safetensors"):
            shutil.copy(path, seeds["safetensors"])
        elif name.endswith(".pth"):
            shutil.copy(path, seeds["torch"])
            if zipfile.is_zipfile(path):
                try:
                    with zipfile.ZipFile(path) as z:
                        pkl = next(n for n in z.namelist() if n.endswith("/data.pkl"))
                        open(os.path.join(seeds["unpickler"], name + ".pkl"), "wb").write(z.read(pkl))
                except (zipfile.BadZipFile, StopIteration):
                    pass


def main(out, fixture_dirs):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(2020)
    sd = good_state_dict()
    torch.save(sd, os.path.join(out, "good_zip.pth"))
    torch.save(sd, os.path.join(out, "good_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save({"epoch": 7, "name": "run-1", "model": sd}, os.path.join(out, "checkpoint.pth"))
    expected = describe(sd)
    expected.update(describe(sd, "model."))
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)

    # Code execution: the classic payloads, in both containers.
    for name, fn, arg in (("os_system", os.system, "touch pwned"), ("builtins_eval", eval, "1"),
                          ("subprocess_popen", subprocess.Popen, "true")):
        payload = pickled({"w": Evil(fn, arg)})
        torch_zip(os.path.join(out, f"evil_{name}.pth"), payload, {})
        legacy_stream(os.path.join(out, f"evil_{name}_legacy.pth"), payload)
    # An allowed global used as a callable.
    torch_zip(os.path.join(out, "reduce_storage.pth"),
              b"\x80\x02}X\x01\x00\x00\x00wctorch\nFloatStorage\n)Rs.", {})
    # Lengths and shapes that would exhaust memory or the stack.
    torch_zip(os.path.join(out, "absurd_length.pth"), b"\x80\x02X\xf0\xff\xff\xffabc", {})
    torch_zip(os.path.join(out, "deep_nesting.pth"), b"\x80\x02)" + b"\x85" * 100000 + b".", {})
    torch_zip(os.path.join(out, "self_append.pth"), b"\x80\x02]q\x00h\x00a.", {})
    torch_zip(os.path.join(out, "memo_bomb.pth"), b"\x80\x02Nr\xff\xff\xff\x7f.", {})
    # Tensors that reach outside their storage.
    floats = np.arange(4, dtype=np.float32).tobytes()
    torch_zip(os.path.join(out, "short_storage.pth"),
              pickled({"w": FakeTensor(FakeStorage("0", 100), 0, [10, 10], [10, 1])}), {"0": floats})
    torch_zip(os.path.join(out, "view_out_of_bounds.pth"),
              pickled({"w": FakeTensor(FakeStorage("0", 4), 2, [2, 2], [2, 1])}), {"0": floats})
    torch_zip(os.path.join(out, "huge_stride.pth"),
              pickled({"w": FakeTensor(FakeStorage("0", 4), 0, [2, 2], [2 ** 62, 1])}), {"0": floats})
    torch_zip(os.path.join(out, "missing_storage.pth"),
              pickled({"w": FakeTensor(FakeStorage("7", 4), 0, [4], [1])}), {"0": floats})
    torch_zip(os.path.join(out, "big_endian.pth"),
              pickled({"w": FakeTensor(FakeStorage("0", 4), 0, [4], [1])}), {"0": floats}, byteorder=b"big")
    torch_zip(os.path.join(out, "top_folder_not_archive.pth"),
              pickled({"w": FakeTensor(FakeStorage("0", 4), 0, [4], [1])}), {"0": floats}, prefix="my_weights")
    torch.save({"w": torch.zeros(3, dtype=torch.float64)}, os.path.join(out, "float64.pth"))
    # Zip64 extra fields on every entry (what archives over 4 GiB carry), from Python's zipfile.
    with zipfile.ZipFile(os.path.join(out, "zip64.pth"), "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        for name, data in (("zip64/data.pkl", pickled({"w": FakeTensor(FakeStorage("0", 4), 0, [2, 2], [2, 1])})),
                           ("zip64/data/0", floats)):
            with z.open(name, "w", force_zip64=True) as entry:
                entry.write(data)

    # Damaged containers.
    blob = open(os.path.join(out, "good_zip.pth"), "rb").read()
    open(os.path.join(out, "truncated.pth"), "wb").write(blob[: len(blob) // 2])
    with zipfile.ZipFile(os.path.join(out, "good_zip.pth")) as z:
        info = next(i for i in z.infolist() if i.filename.endswith("/data/0"))
    local = info.header_offset
    name_len, extra_len = struct.unpack("<HH", blob[local + 26: local + 30])
    data_at = local + 30 + name_len + extra_len
    damaged = bytearray(blob)
    damaged[data_at] ^= 0xFF
    open(os.path.join(out, "bad_crc.pth"), "wb").write(bytes(damaged))
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as t:
        data = b"storages"
        member = tarfile.TarInfo("storages")
        member.size = len(data)
        t.addfile(member, io.BytesIO(data))
    open(os.path.join(out, "tar_format.pth"), "wb").write(tar.getvalue())
    open(os.path.join(out, "not_torch.pth"), "wb").write(b"hello, these are not weights\n")

    # safetensors: a good file by the specification, then broken ones.
    rng = np.random.default_rng(2020)
    good = {"a.weight": ("F32", rng.standard_normal((3, 4)).astype(np.float32)),
            "b.half": ("F16", rng.standard_normal(5).astype(np.float16)),
            "c.count": ("I64", np.array([-2, 0, 7], dtype=np.int64)),
            "d.scalar": ("F32", np.array(1.25, dtype=np.float32)),
            "e.empty": ("F32", np.zeros((0, 3), dtype=np.float32))}
    bf16 = rng.standard_normal(4).astype(np.float32)
    bf16_bits = (bf16.view(np.uint32) >> 16).astype(np.uint16)  # truncation is a valid bfloat16
    good["f.bf16"] = ("BF16", bf16_bits)
    write_safetensors(os.path.join(out, "python_written.safetensors"), good, {"format": "pt", "epoch": "3"})
    described = {k: {"shape": list(a.shape), "values": (a.astype(np.float64).flatten().tolist() if d != "BF16"
                 else (a.astype(np.uint32) << 16).view(np.float32).astype(np.float64).tolist())}
                 for k, (d, a) in good.items()}
    with open(os.path.join(out, "python_written.json"), "w") as f:
        json.dump(described, f)

    small = {"a": ("F32", np.ones(4, np.float32)), "b": ("F32", np.ones(2, np.float32))}
    write_safetensors(os.path.join(out, "st_overlap.safetensors"), small,
                      mutate=lambda h: h["b"].__setitem__("data_offsets", [8, 16]))
    write_safetensors(os.path.join(out, "st_hole.safetensors"), {"a": small["a"]},
                      mutate=lambda h: (h["a"].__setitem__("data_offsets", [0, 12]),
                                        h["a"].__setitem__("shape", [3])))
    write_safetensors(os.path.join(out, "st_wrong_size.safetensors"), small,
                      mutate=lambda h: h["a"].__setitem__("shape", [5]))
    write_safetensors(os.path.join(out, "st_bad_dtype.safetensors"), small,
                      mutate=lambda h: h["a"].__setitem__("dtype", "F64"))
    with open(os.path.join(out, "st_header_too_long.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 1 << 20) + b'{"a": 1}')
    with open(os.path.join(out, "st_header_huge.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 1 << 40) + b"{}")
    with open(os.path.join(out, "st_not_json.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 8) + b"{nojson}")
    with open(os.path.join(out, "st_duplicate.safetensors"), "wb") as f:
        text = b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
        text += b" " * (-len(text) % 8)
        f.write(struct.pack("<Q", len(text)) + text + b"\0\0\0\0")
    write_fuzz_seeds(out, fixture_dirs)
    # Every float16 bit pattern, widened by numpy: the oracle for thaw's half_to_float.
    np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32).tofile(
        os.path.join(out, "float16_all.f32"))
    print(f"wrote thaw I/O test files with torch {torch.__version__} to {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
