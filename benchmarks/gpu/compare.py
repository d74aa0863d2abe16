"""benchmarks/gpu/compare.py — the ratios of run.sh's measurements: thaw's images/s over
PyTorch's for the same case, step, batch and TF32 setting (> 1: thaw is faster), then TF32's
error against strict fp32.
Usage: compare.py bench.jsonl"""
import json
import sys


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
    key = lambda r: (r["case"], r["what"], r["batch"], r["tf32"])
    torch = {key(r): r for r in rows if r["impl"] == "torch-eager"}
    compiled = {key(r): r for r in rows if r["impl"] == "torch-compile"}
    print(f"{'case':9} {'what':12} {'thaw variant':14} {'batch':>5} {'tf32':>5} {'thaw img/s':>11} {'eager img/s':>11}"
          f" {'ratio':>6} {'compile':>8} {'ratio':>6}")
    for r in rows:
        if r["impl"] != "thaw":
            continue
        t, c = torch.get(key(r)), compiled.get(key(r))
        ratio = f"{r['images_per_s'] / t['images_per_s']:6.2f}" if t else "     -"
        cell = f"{c['images_per_s']:8d} {r['images_per_s'] / c['images_per_s']:6.2f}" if c else ""
        print(f"{r['case']:9} {r['what']:12} {r.get('variant', ''):14} {r['batch']:5d} {str(r['tf32']):>5} {r['images_per_s']:11.0f}"
              f" {t['images_per_s'] if t else 0:11.0f} {ratio} {cell}")
    for r in rows:
        if r["impl"] == "thaw-tf32-accuracy":
            print(f"TF32 vs strict fp32, {r['case']} batch {r['batch']}, {r['tensor']}: "
                  f"relative error {r['relative_error']:.2g} in norm")


if __name__ == "__main__":
    main()
