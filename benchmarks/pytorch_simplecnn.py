#!/usr/bin/python3
"""PyTorch side by side with `shears train` and `shears bench`: the same SimpleCNN, data, optimiser and timing.

Debian's python3-torch (1.13, OpenBLAS) is enough; no torchvision needed (IDX files are read by hand).

    /usr/bin/python3 benchmarks/pytorch_simplecnn.py train [--data DIR] [--epochs 3]   # like: bin/shears train --json
    /usr/bin/python3 benchmarks/pytorch_simplecnn.py bench                              # like: bin/shears bench --json
    /usr/bin/python3 benchmarks/pytorch_simplecnn.py eval --model m.safetensors         # a Shears checkpoint in PyTorch
    /usr/bin/python3 benchmarks/pytorch_simplecnn.py latency --model a.safetensors --pruned b.safetensors
                                                       # like the latency rows of: bin/shears prune --json
    /usr/bin/python3 benchmarks/pytorch_simplecnn.py export --out simplecnn.onnx [--model m.safetensors]
                                                       # ONNX (opset 14, dynamic batch) for ONNX Runtime

--data defaults to the digits embedded in Shears (nn/src/main/resources/dev/shears/data/digits), so both
sides see the same 8,000 / 2,000 images. Results: one JSON object on stdout, progress on stderr.
"""
import argparse
import gzip
import json
import os
import statistics
import struct
import sys
import time

import numpy as np

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIGITS = os.path.join(ROOT, "nn/src/main/resources/dev/shears/data/digits")


class SimpleCNN(nn.Module):
    def __init__(self, c1=32, c2=64, hidden=128):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(c1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(c2)
        self.fc1 = nn.Linear(c2 * 7 * 7, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return torch.frombuffer(bytearray(data[4 + 4 * rank:]), dtype=torch.uint8).reshape(dims)


def load(directory, prefix):
    def find(name):
        for candidate in (name + ".gz", name):
            if os.path.exists(os.path.join(directory, candidate)):
                return os.path.join(directory, candidate)
        sys.exit(f"{directory}: no {name}[.gz]")
    x = read_idx(find(f"{prefix}-images-idx3-ubyte")).float().div(255).sub(0.5).div(0.5).unsqueeze(1)
    y = read_idx(find(f"{prefix}-labels-idx1-ubyte")).long()
    return x, y


def load_safetensors(path):
    """A state dict from a safetensors file (the `safetensors` package is not needed): F32 and I64 only."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    dtypes = {"F32": "<f4", "I64": "<i8"}
    return {name: torch.from_numpy(np.frombuffer(data[e["data_offsets"][0]:e["data_offsets"][1]],
                                                 dtype=dtypes[e["dtype"]]).copy().reshape(e["shape"]))
            for name, e in header.items()}


def evaluate(model, x, y, batch=256):
    model.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            logits = model(x[i:i + batch])
            loss += F.cross_entropy(logits, y[i:i + batch], reduction="sum").item()
            correct += (logits.argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return correct / len(y), loss / len(y)


def train(args):
    xtr, ytr = load(args.data, "train")
    xte, yte = load(args.data, "t10k")
    torch.manual_seed(args.seed)
    model = SimpleCNN()
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    # shears train --lr-step N --lr-gamma G (2 and 0.1 by default); off (a constant rate) when N is 0
    schedule = torch.optim.lr_scheduler.StepLR(opt, args.lr_step, args.lr_gamma) if args.lr_step > 0 else None
    epochs = []
    for epoch in range(args.epochs):
        order = torch.randperm(len(ytr))
        start, seen, correct, loss_sum = time.perf_counter(), 0, 0, 0.0
        for i in range(0, len(ytr), args.batch_size):
            idx = order[i:i + args.batch_size]
            opt.zero_grad()
            logits = model(xtr[idx])
            loss = F.cross_entropy(logits, ytr[idx])
            loss.backward()
            opt.step()
            seen += len(idx)
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == ytr[idx]).sum().item()
        seconds = time.perf_counter() - start
        acc, test_loss = evaluate(model, xte, yte)
        epochs.append({"epoch": epoch + 1, "loss": loss_sum / seen, "accuracy": correct / seen, "seconds": seconds,
                       "samples_per_s": seen / seconds, "test_loss": test_loss, "test_accuracy": acc})
        print(f"epoch {epoch + 1}: loss {loss_sum / seen:.4f}, {seen / seconds:,.0f} samples/s, test accuracy {100 * acc:.2f}%",
              file=sys.stderr)
        if schedule is not None:
            schedule.step()
    return {"command": "train", "framework": f"torch {torch.__version__}", "threads": torch.get_num_threads(),
            "data": args.data, "epochs": epochs, "test_accuracy": epochs[-1]["test_accuracy"] if epochs else None}


def checkpoint(path):
    state = load_safetensors(path)
    # the widths come from the file, as in Shears, so pruned models load too
    model = SimpleCNN(state["conv1.weight"].shape[0], state["conv2.weight"].shape[0], state["fc1.weight"].shape[0])
    model.load_state_dict(state)
    return model.eval()


def eval_checkpoint(args):
    model = checkpoint(args.model)
    x, y = load(args.data, "t10k")
    acc, loss = evaluate(model, x, y)
    return {"command": "eval", "framework": f"torch {torch.__version__}", "model": args.model, "data": args.data,
            "accuracy": acc, "loss": loss, "samples": len(y)}


def measure(step, batch, warmup, runs, steps):
    """As shears bench: untimed runs for `warmup` seconds, then the median of `runs` timed runs."""
    end = time.perf_counter() + warmup
    while time.perf_counter() < end:
        for _ in range(steps):
            step()
    rates = []
    for r in range(runs):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(batch * steps / (time.perf_counter() - start))
    return {"batch_size": batch, "samples_per_s": statistics.median(rates), "runs_samples_per_s": rates}


def bench(args):
    xtr, ytr = load(args.data, "train")
    torch.manual_seed(args.seed)
    model = SimpleCNN()
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    x, y = xtr[:args.batch_size], ytr[:args.batch_size]

    def train_step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    trained = measure(train_step, args.batch_size, args.warmup, args.runs, args.steps)
    model.eval()
    xi = xtr[:args.infer_batch_size]

    def infer():
        with torch.no_grad():
            model(xi).numpy()

    inferred = measure(infer, args.infer_batch_size, args.warmup, args.runs, args.steps)
    return {"command": "bench", "framework": f"torch {torch.__version__}", "threads": torch.get_num_threads(),
            "train": trained, "inference": inferred}


BLOCK = 10   # timed passes of one model in a row, as Shears' Latency.BLOCK


def latency(args):
    """Eval-mode forward passes of the model and its pruned cut, alternating in blocks as Shears' Latency.compare:
    after `warmup` seconds of each, an untimed pass and then up to BLOCK timed passes of one model, then of
    the other, in turn, `repeats` timed passes of each in all; the median milliseconds per pass."""
    models = [checkpoint(args.model), checkpoint(args.pruned)]
    result = {"command": "latency", "framework": f"torch {torch.__version__}", "threads": torch.get_num_threads()}
    with torch.no_grad():
        for batch in (1, 64):
            x = torch.randn(batch, 1, 28, 28, generator=torch.Generator().manual_seed(args.seed))
            for model in models:
                end = time.perf_counter() + args.warmup
                while time.perf_counter() < end:
                    model(x)
            times = [[], []]
            repeats = args.repeats if batch == 1 else max(1, args.repeats // 4)
            for first in range(0, repeats, BLOCK):
                for model, t in zip(models, times):
                    model(x)   # untimed: brings this model's weights back into the caches
                    for _ in range(min(BLOCK, repeats - first)):
                        start = time.perf_counter()
                        model(x)
                        t.append((time.perf_counter() - start) * 1e3)
            result[f"batch{batch}_ms"] = {"before": statistics.median(times[0]), "after": statistics.median(times[1])}
    return result


def export(args):
    """SimpleCNN (fresh weights from --seed, or --model) as ONNX with a dynamic batch dimension, for ONNX Runtime."""
    if args.model:
        model = checkpoint(args.model)
    else:
        torch.manual_seed(args.seed)
        model = SimpleCNN().eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), args.out, opset_version=14, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    return {"command": "export", "framework": f"torch {torch.__version__}", "out": args.out}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["train", "bench", "eval", "latency", "export"])
    p.add_argument("--model", help="eval, latency: a safetensors checkpoint written by shears --out")
    p.add_argument("--out", help="export: the ONNX file to write")
    p.add_argument("--pruned", help="latency: the pruned checkpoint to compare --model with")
    p.add_argument("--repeats", type=int, default=400, help="latency: timed passes per model at batch 1 (a quarter at 64)")
    p.add_argument("--data", default=DIGITS)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--lr-step", type=int, default=2, help="StepLR step size in epochs (2, as shears train); 0: no schedule")
    p.add_argument("--lr-gamma", type=float, default=0.1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--infer-batch-size", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--warmup", type=float, default=5, help="seconds")
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--steps", type=int, default=10)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(json.dumps({"train": train, "bench": bench, "eval": eval_checkpoint, "latency": latency, "export": export}[args.command](args)))


if __name__ == "__main__":
    main()
