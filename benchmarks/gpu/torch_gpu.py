"""benchmarks/gpu/torch_gpu.py — PyTorch on the GPU, the steps bench_gpu.cu times for thaw: a
training step (forward, BCE-with-logits, backward, Adam) of each of the nine paper cases (AlexNet,
the case's convolutions and the last linear layer trainable, FC1/FC2 frozen, one logit), the
mid-level FE's eval forward pass and its epoch over a frozen prefix cached by hand. Timed with
CUDA events; one JSON line per measurement. Both TF32 settings (PyTorch's default runs
convolutions in TF32). --compile-only times torch.compile(mode="reduce-overhead") (CUDA graphs)
on the mid-level step instead, at PyTorch's defaults.
Usage: torch_gpu.py [--compile-only] [batch...]   (default 32 128)"""
import json
import sys

import torch
from torch import nn

CASES = {  # slug: which of conv1..conv5 train (the paper's order)
    "mid": "FFTTF", "cl3": "FFTFF", "cl4": "FFFTF", "finetune": "TTTTT", "low": "TTFFF",
    "cl1": "TFFFF", "cl2": "FTFFF", "high": "FFFFT", "hm": "FFTTT",
}
CONVS = (0, 3, 6, 8, 10)  # indices of the convolutions in alexnet()
PREFIX = 6                # mid-level FE: conv1..pool2 frozen, cached
DATASET = 662
REPEATS = 20


def alexnet():
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, 1, 1), nn.ReLU(), nn.Conv2d(384, 256, 3, 1, 1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.AdaptiveAvgPool2d(6), nn.Flatten(),
        nn.Dropout(0.5), nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(),
        nn.Linear(4096, 1)).cuda()


def frozen_as(model, pattern):
    for index, train in zip(CONVS, pattern):
        model[index].requires_grad_(train == "T")
    for index in (16, 19):  # FC1, FC2
        model[index].requires_grad_(False)
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)


def median_ms(fn, repeats=REPEATS):
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return sorted(times)[len(times) // 2]


def report(impl, case, what, tf32, batch, ms, images):
    print(json.dumps({"impl": impl, "case": case, "what": what, "tf32": tf32, "batch": batch, "ms": round(ms, 3),
                      "images_per_s": round(images / ms * 1e3), "torch": torch.__version__}), flush=True)


def step_fn(model, opt, x, t):
    loss_fn = nn.BCEWithLogitsLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), t).backward()
        opt.step()
    return step


def main():
    compile_only = "--compile-only" in sys.argv
    batches = [int(a) for a in sys.argv[1:] if not a.startswith("--")] or [32, 128]
    torch.manual_seed(0)
    images = torch.randn(max(batches), 3, 224, 224, device="cuda")
    labels = (torch.arange(DATASET, device="cuda") % 2).float().unsqueeze(1)
    for tf32 in () if compile_only else (False, True):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        runs = [(slug, batches[0]) for slug in CASES] + [("mid", b) for b in batches[1:]]
        for slug, batch in runs:
            model = alexnet().train()
            opt = frozen_as(model, CASES[slug])
            report("torch-eager", slug, "train_step", tf32, batch,
                   median_ms(step_fn(model, opt, images[:batch], labels[:batch])), batch)
        for batch in batches:
            model = alexnet()
            opt = frozen_as(model, CASES["mid"])
            model.eval()
            with torch.no_grad():
                report("torch-eager", "mid", "forward", tf32, batch, median_ms(lambda: model(images[:batch])), batch)
                cache = torch.cat([model[:PREFIX](images[:min(batch, DATASET - n0)])
                                   for n0 in range(0, DATASET, batch)])
            model.train()
            head = model[PREFIX:]
            loss_fn = nn.BCEWithLogitsLoss()

            def epoch():
                for n0 in range(0, DATASET, batch):
                    opt.zero_grad(set_to_none=True)
                    loss_fn(head(cache[n0:n0 + batch]), labels[n0:n0 + batch]).backward()
                    opt.step()
            report("torch-eager", "mid", "cached_epoch", tf32, batch, median_ms(epoch, 5), DATASET)
    if compile_only:  # PyTorch's defaults (TF32 convolutions), CUDA graphs through reduce-overhead
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = True
        for batch in batches:
            model = alexnet().train()
            opt = frozen_as(model, CASES["mid"])
            compiled = torch.compile(model, mode="reduce-overhead")
            report("torch-compile", "mid", "train_step", True, batch,
                   median_ms(step_fn(compiled, opt, images[:batch].clone(), labels[:batch].clone())), batch)


if __name__ == "__main__":
    main()
