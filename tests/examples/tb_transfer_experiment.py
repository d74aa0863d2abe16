"""The main job (examples/tb_transfer) end to end on a tiny synthetic configuration: every output
exists and parses, a run killed with SIGKILL in its second case and rerun ends with the same
scores and model as an uninterrupted run, a finished experiment is not trained again, and the
command line explains bad input in one line. Usage: tb_transfer_experiment.py <tb_transfer>."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from safetensors_file import read_safetensors  # noqa: E402

program = sys.argv[1]
failures = []


def check(what, ok):
    print(("ok   - " if ok else "FAIL - ") + what, flush=True)
    if not ok:
        failures.append(what)


def run(*args):
    return subprocess.run([program, *args], capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "2"})


# --- the command line ---------------------------------------------------------------------------
r = run("--help")
check("--help exits 0 and lists every option", r.returncode == 0 and all(
    o in r.stdout for o in ["--train-dir", "--test-dir", "--weights", "--out", "--cases", "--seeds", "--seed ",
                            "--resplit", "--epochs", "--batch", "--lr", "--lr-step", "--paper", "--init", "--dropout", "--refit-head",
                            "--skip-unreadable", "--synthetic-train", "--synthetic-test"]))
for args, named in [(["--bogus"], "--bogus"), (["--seeds", "0"], "--seeds"), (["--cases", "mid,nope"], "nope"),
                    (["--lr", "fast"], "--lr"), (["--paper", "--epochs", "3"], "--paper")]:
    r = run(*args, "--out", "/nonexistent/never")
    lines = r.stderr.strip().splitlines()
    check(f"{' '.join(args)}: non-zero exit, one line naming {named}",
          r.returncode != 0 and len(lines) == 1 and named in lines[0] and r.stdout == "")

tmp = tempfile.mkdtemp()
a, b = os.path.join(tmp, "A"), os.path.join(tmp, "B")
tiny = ["--epochs", "2", "--batch", "8", "--seed", "0"]
slugs, seeds = ["mid", "cl3", "finetune"], [0, 1]

# --- an uninterrupted run: 3 cases x 2 seeds ----------------------------------------------------
r = run("--out", a, "--synthetic-train", "24", "--synthetic-test", "12", "--cases", ",".join(slugs), "--seeds", "2", *tiny)
check("the tiny experiment succeeds", r.returncode == 0)
if r.returncode != 0:
    print(r.stdout, r.stderr)
    sys.exit(1)
check("one header line per case and seed, then its epoch lines",
      len(re.findall(r"^== \[\d/6\] .*\n(epoch 1/2 .*\n)(epoch 2/2 .*\n)", r.stdout, re.M)) == 6)

settings = json.load(open(os.path.join(a, "settings.json")))
check("settings.json records the options, version and data folders",
      settings["cases"] == slugs and settings["seeds"] == 2 and settings["first_seed"] == 0 and settings["epochs"] == 2
      and settings["batch"] == 8 and re.fullmatch(r"\d+\.\d+\.\d+", settings["thaw_version"]) is not None
      and os.path.isdir(settings["train_dir"]) and os.path.isdir(settings["test_dir"]) and settings["weights"] == "")

keys = {"case", "slug", "type", "seed", "trainable_parameters", "training_seconds", "prefix_seconds", "history",
        "validation", "external"}
for slug in slugs:
    for seed in seeds:
        folder = os.path.join(a, "runs", slug, f"seed-{seed}")
        run_json = json.load(open(os.path.join(folder, "run.json")))
        parts_ok = True
        for part, n in (("validation", 4), ("external", 12)):
            p = run_json[part]
            # An NLM file name ends in _<label>.png: the labels must follow the files.
            parts_ok &= len(p["scores"]) == len(p["labels"]) == len(p["files"]) == n and all(
                int(f[-5]) == label for f, label in zip(p["files"], p["labels"]))
            parts_ok &= all(np.isfinite(p["scores"]))
        history = run_json["history"]
        check(f"{slug}/seed-{seed}/run.json has the schema, 2 epochs, aligned scores/labels/files",
              keys <= set(run_json) and run_json["slug"] == slug and run_json["seed"] == seed and parts_ok
              and [h["epoch"] for h in history] == [1, 2]
              and all({"train_loss", "validation_loss", "lr", "seconds"} <= set(h) for h in history)
              and run_json["prefix_seconds"] >= 0 and run_json["training_seconds"] > 0)
        model = read_safetensors(os.path.join(folder, "model.safetensors"))
        check(f"{slug}/seed-{seed}/model.safetensors holds AlexNet's 16 tensors, no checkpoint left",
              len(model) == 16 and model["classifier.6.weight"].size == 4096
              and not os.path.exists(os.path.join(folder, "checkpoint.safetensors")))
mid = json.load(open(os.path.join(a, "runs", "mid", "seed-0", "run.json")))
check("trainable parameters of the mid-level FE: CL3 + CL4 + the head (Table 1)",
      mid["trainable_parameters"] == 663936 + 884992 + 4097 and mid["type"] == "AlexNet<Freeze, Freeze, Train, Train, Freeze>")
figures = json.load(open(os.path.join(a, "figures", "figures.json")))
check("figures.json lists PNG grids of mid and finetune", {f["case"] for f in figures} == {"mid", "finetune"} and all(
    open(os.path.join(a, f["file"]), "rb").read(8) == b"\x89PNG\r\n\x1a\n" for f in figures))
timing = json.load(open(os.path.join(a, "timing.json")))
check("timing.json has the totals, the prefix costs and every case",
      set(timing["cases"]) == set(slugs) and timing["total_seconds"] > 0
      and {"shared_seconds", "per_case_seconds", "none_seconds"} <= set(timing["prefix"])
      and timing["prefix"]["shared_seconds"] <= timing["prefix"]["per_case_seconds"] <= timing["prefix"]["none_seconds"])

# --- the same experiment killed in its second case, then rerun ---------------------------------
train_dir, test_dir = settings["train_dir"], settings["test_dir"]  # the same images, read as folders
args_b = ["--out", b, "--train-dir", train_dir, "--test-dir", test_dir, "--cases", "mid,cl3", "--seeds", "1", *tiny]
proc = subprocess.Popen([program, *args_b], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
headers, killed = 0, False
for line in proc.stdout:
    headers += line.startswith("== [")
    if headers == 2 and line.startswith("epoch 1/"):
        proc.send_signal(signal.SIGKILL)
        killed = True
        break
proc.wait()
check("the second run was killed after its second case's first epoch", killed and proc.returncode == -signal.SIGKILL)
r = run(*args_b)
check("the rerun finishes, skipping the done case and resuming the other",
      r.returncode == 0 and "done earlier" in r.stdout and "resuming after epoch 1" in r.stdout
      and "epoch 1/2" not in r.stdout and "epoch 2/2" in r.stdout)
for slug in ("mid", "cl3"):
    ra = json.load(open(os.path.join(a, "runs", slug, "seed-0", "run.json")))
    rb = json.load(open(os.path.join(b, "runs", slug, "seed-0", "run.json")))
    ma = read_safetensors(os.path.join(a, "runs", slug, "seed-0", "model.safetensors"))
    mb = read_safetensors(os.path.join(b, "runs", slug, "seed-0", "model.safetensors"))
    check(f"{slug}: killed-and-resumed scores and model match the uninterrupted run",
          ra["validation"]["files"] == rb["validation"]["files"] and ra["external"]["files"] == rb["external"]["files"]
          and np.allclose(ra["validation"]["scores"], rb["validation"]["scores"], rtol=1e-5, atol=1e-7)
          and np.allclose(ra["external"]["scores"], rb["external"]["scores"], rtol=1e-5, atol=1e-7)
          and ma.keys() == mb.keys() and all(np.allclose(ma[k], mb[k], rtol=1e-5, atol=1e-7) for k in ma))

# --- reruns of a finished experiment -----------------------------------------------------------
r = run("--out", a, "--synthetic-train", "24", "--synthetic-test", "12", "--cases", ",".join(slugs), "--seeds", "2", *tiny)
check("a rerun of the finished experiment trains nothing",
      r.returncode == 0 and "epoch " not in r.stdout and r.stdout.count("done earlier") == 6)
r = run("--out", a, "--synthetic-train", "24", "--synthetic-test", "12", "--cases", "mid", *tiny[:-2], "--seed", "0", "--lr", "0.5")
check("other settings in the same folder are refused, naming settings.json and the setting",
      r.returncode == 1 and "settings.json" in r.stderr and "lr" in r.stderr)

# --- one truncated PNG among the training images ------------------------------------------------
broken = os.path.join(tmp, "broken")
subprocess.run(["cp", "-r", train_dir, broken], check=True)
victim = sorted(os.listdir(broken))[0]
with open(os.path.join(broken, victim), "r+b") as f:
    f.truncate(100)
one_case = ["--train-dir", broken, "--test-dir", test_dir, "--cases", "high", "--epochs", "1", "--batch", "8"]
r = run("--out", os.path.join(tmp, "C"), *one_case)
check("a truncated PNG stops the run, naming the file", r.returncode == 1 and victim in r.stderr)
r = run("--out", os.path.join(tmp, "D"), *one_case, "--skip-unreadable")
kept = json.load(open(os.path.join(tmp, "D", "runs", "high", "seed-42", "run.json"))) if r.returncode == 0 else {}
check("--skip-unreadable leaves it out, lists it and trains on the rest",
      r.returncode == 0 and victim in r.stderr and victim not in kept["validation"]["files"]
      and kept["prefix_detail"]["images"]["train"] + kept["prefix_detail"]["images"]["validation"] == 23)

subprocess.run(["rm", "-rf", tmp])
sys.exit(1 if failures else 0)
