#!/usr/bin/python3
"""PyTorch baseline for `trainyard bench`: the seed report's six models.

Trains and runs inference on synthetic random data with the same models,
batch sizes and JSON output as `trainyard bench --json`, so the two can be
compared on one machine (make bench-compare runs both):

    /usr/bin/python3 bench/pytorch_baseline.py --model cnn2 --batch 256 --steps 20 --json
    /usr/bin/python3 bench/pytorch_baseline.py --model cnn2 --layout channels_last --json

--layout channels_last converts the model and its input to NHWC
(torch.channels_last), the first thing a PyTorch user who tunes for CPU tries;
make bench-compare runs both layouts and compares against the faster.

Thread settings are fixed before torch is imported (see docs/ARCHITECTURE.md):
torch uses os.cpu_count() threads, OpenBLAS one.
"""
import argparse
import json
import os
import sys
import time

THREADS = os.cpu_count() or 1
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
os.environ.setdefault("MKL_NUM_THREADS", str(THREADS))
if THREADS == 1:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402  (must follow the environment settings)
from torch import nn  # noqa: E402

torch.set_num_threads(THREADS)

MODELS = {
    # name: (channels, height, width, classes, heads, default batch)
    "nn1": (1, 28, 28, 10, 1, 256),
    "nn2": (1, 28, 28, 10, 1, 256),
    "cnn1": (1, 28, 28, 10, 1, 256),
    "cnn2": (1, 28, 28, 10, 1, 256),
    "captcha1": (3, 50, 130, 19, 4, 128),
    "captcha2": (1, 50, 130, 19, 4, 128),
}


def conv(cin, cout, k, same):
    """A Keras-style convolution with ReLU: 'same' or 'valid', stride 1."""
    return [nn.Conv2d(cin, cout, k, padding=(k // 2) if same else 0), nn.ReLU()]


def keras_bn(c):
    """BatchNorm with Keras's defaults (momentum 0.99 is 0.01 in PyTorch)."""
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class Heads(nn.Module):
    """Flatten, then one dense layer per output head."""

    def __init__(self, features, classes, heads):
        super().__init__()
        self.heads = nn.ModuleList(nn.Linear(features, classes) for _ in range(heads))

    def forward(self, x):
        x = torch.flatten(x, 1)
        return [h(x) for h in self.heads]


def build(name):
    """Returns the named model; its forward gives a list of logits per head."""
    if name in ("nn1", "nn2"):
        units = 256 if name == "nn1" else 512
        body = [nn.Flatten(), nn.Linear(784, units), nn.ReLU()]
        return nn.Sequential(*body, Heads(units, 10, 1))
    if name == "cnn1":
        body = conv(1, 8, 5, True) + [nn.MaxPool2d(2)] + conv(8, 16, 3, False)
        body += [nn.Flatten(), nn.Dropout(0.25), nn.Linear(16 * 12 * 12, 128), nn.ReLU()]
        return nn.Sequential(*body, Heads(128, 10, 1))
    if name == "cnn2":
        body = conv(1, 16, 5, True) + [nn.MaxPool2d(2)] + conv(16, 36, 5, True) + [nn.MaxPool2d(2)]
        body += [nn.Dropout(0.25), nn.Flatten(), nn.Linear(36 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.5)]
        return nn.Sequential(*body, Heads(128, 10, 1))
    if name == "captcha1":
        body = conv(3, 32, 5, True) + conv(32, 32, 3, False) + [nn.MaxPool2d(2)]
        body += conv(32, 64, 5, True) + conv(64, 64, 3, False) + [keras_bn(64), nn.MaxPool2d(2)]
        body += conv(64, 128, 3, True) + conv(128, 128, 3, False) + [nn.MaxPool2d(2)]
        body += [nn.Dropout(0.5)]
        return nn.Sequential(*body, Heads(128 * 4 * 14, 19, 4))
    if name == "captcha2":
        body = conv(1, 32, 5, True) + conv(32, 32, 3, False) + [nn.MaxPool2d(2)]
        body += conv(32, 64, 5, True) + conv(64, 64, 3, False) + [nn.MaxPool2d(2), nn.Dropout(0.5)]
        body += conv(64, 128, 3, True) + conv(128, 128, 3, False) + [nn.MaxPool2d(2)]
        body += conv(128, 128, 3, True) + conv(128, 256, 3, False) + [keras_bn(256), nn.MaxPool2d(2)]
        body += [nn.Dropout(0.5)]
        return nn.Sequential(*body, Heads(256 * 1 * 6, 19, 4))
    raise SystemExit(f"unknown model {name!r}; want one of {', '.join(MODELS)}")


def peak_rss_bytes():
    """VmHWM of this process, as trainyard reads it."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="cnn2", choices=sorted(MODELS))
    ap.add_argument("--batch", type=int, default=0, help="0: 256 for MNIST, 128 for CAPTCHA")
    ap.add_argument("--steps", type=int, default=20, help="timed steps after two warm-up steps")
    ap.add_argument("--min-time", type=float, default=1.0,
                    help="time training and inference each for at least this many seconds, beyond --steps if need be")
    ap.add_argument("--layout", default="default", choices=("default", "channels_last"),
                    help="memory layout of the model and its input: PyTorch's default (NCHW) or channels_last (NHWC)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    c, h, w, classes, heads, default_batch = MODELS[args.model]
    batch = args.batch if args.batch > 0 else default_batch
    steps = args.steps if args.steps > 0 else 20
    warmup = 2
    torch.manual_seed(1)
    model = build(args.model)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch, c, h, w)
    if args.layout == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    ys = [torch.randint(0, classes, (batch,)) for _ in range(heads)]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)

    model.train()
    i, timed, start = 0, 0, time.perf_counter()
    while i < warmup + steps or time.perf_counter() - start < args.min_time:
        if i == warmup:
            start = time.perf_counter()
        timed += i >= warmup
        i += 1
        opt.zero_grad(set_to_none=False)
        logits = model(x)
        loss = sum(loss_fn(z, y) for z, y in zip(logits, ys))
        loss.backward()
        opt.step()
    train = timed * batch / (time.perf_counter() - start)

    model.eval()
    with torch.no_grad():
        i, timed = 0, 0
        while i < warmup + steps or time.perf_counter() - start < args.min_time:
            if i == warmup:
                start = time.perf_counter()
            timed += i >= warmup
            i += 1
            probs = [torch.softmax(z, dim=1) for z in model(x)]
    infer = timed * batch / (time.perf_counter() - start)
    del probs

    res = {
        "model": args.model,
        "layout": args.layout,
        "batch": batch,
        "train_samples_per_s": train,
        "infer_samples_per_s": infer,
        "peak_rss_bytes": peak_rss_bytes(),
    }
    if args.json:
        json.dump(res, sys.stdout)
        print()
    else:
        print(f"{args.model} batch {batch}, {args.layout} layout (torch {torch.__version__}, {torch.get_num_threads()} threads): "
              f"train {train:.0f} samples/s, infer {infer:.0f} samples/s, "
              f"peak RSS {res['peak_rss_bytes'] / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
