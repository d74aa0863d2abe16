"""benchmarks/gpu/torch_gpu.py — PyTorch eager on the GPU, the same network and step as
bench_gpu.cu (AlexNet, convs and FC3 trainable, FC1/FC2 frozen, one logit, BCE-with-logits, Adam),
timed with CUDA events; one JSON line per configuration. TF32 off unless --tf32."""
import json
import sys

import torch
from torch import nn


def alexnet():
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, 1, 1), nn.ReLU(), nn.Conv2d(384, 256, 3, 1, 1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.AdaptiveAvgPool2d(6), nn.Flatten(),
        nn.Dropout(0.5), nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(),
        nn.Linear(4096, 1))


def median_ms(fn, repeats=20):
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


def main():
    batches = [int(a) for a in sys.argv[1:]] or [32, 128]
    for tf32 in (False, True):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        for batch in batches:
            model = alexnet().cuda()
            for i in (16, 19):  # FC1, FC2 frozen
                model[i].requires_grad_(False)
            opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
            x = torch.randn(batch, 3, 224, 224, device="cuda")
            t = (torch.arange(batch, device="cuda") % 2).float().unsqueeze(1)
            loss_fn = nn.BCEWithLogitsLoss()

            def forward():
                with torch.no_grad():
                    model.eval()
                    model(x)

            def step():
                model.train()
                opt.zero_grad(set_to_none=True)
                loss_fn(model(x), t).backward()
                opt.step()

            print(json.dumps({"impl": "torch-eager", "tf32": tf32, "batch": batch, "forward_ms": round(median_ms(forward), 3),
                              "step_ms": round(median_ms(step), 3), "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
