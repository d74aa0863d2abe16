"""Cold decode + resize of 3000x3000 PNGs: thaw (bench_data) against Pillow on the same files,
same machine, same run. Pillow is timed as torchvision's pipeline uses it,
Image.open(f).convert('RGB').resize((224, 224), BILINEAR), and, for a like-for-like count of
channels (thaw keeps grey images at one channel), without the convert.

usage: /usr/bin/python3 benchmarks/data_vs_pillow.py build/release/benchmarks/bench_data
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

from PIL import Image

from timing import best_of  # this script's folder is on sys.path

bench = sys.argv[1]
with tempfile.NamedTemporaryFile(suffix=".json") as report:
    subprocess.run([bench, "--benchmark_filter=cold", "--benchmark_repetitions=3", f"--benchmark_out={report.name}",
                    "--benchmark_out_format=json"], check=True, capture_output=True)
    runs = [b for b in json.load(open(report.name))["benchmarks"] if b.get("aggregate_name") == "median"]
thaw_ms = runs[0]["real_time"]
files = sorted(glob.glob(os.path.join(tempfile.gettempdir(), "thaw-bench-3000", "shenzhen-like", "CXR_png", "*.png")))
assert files, "bench_data draws the images first"


def best_ms(work, repeats=3):
    """Milliseconds per file, best of `repeats` passes over all files."""
    return best_of(repeats, lambda: [work(f) for f in files]) / len(files) * 1e3


pipeline = best_ms(lambda f: Image.open(f).convert("RGB").resize((224, 224), Image.BILINEAR))
grey = best_ms(lambda f: Image.open(f).resize((224, 224), Image.BILINEAR))
print(f"cold decode+resize of a 3000x3000 grey PNG ({len(files)} files), ms per image:")
print(f"  thaw (grey, 1 channel)                     {thaw_ms:8.1f}")
print(f"  Pillow open.convert('RGB').resize          {pipeline:8.1f}   thaw speed / Pillow = {pipeline / thaw_ms:.2f}x")
print(f"  Pillow open.resize (grey)                  {grey:8.1f}   thaw speed / Pillow = {grey / thaw_ms:.2f}x")
