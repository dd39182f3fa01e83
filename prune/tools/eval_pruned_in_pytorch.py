#!/usr/bin/python3
"""Loads a (pruned) Shears SimpleCNN checkpoint into PyTorch and reports its test accuracy.

    /usr/bin/python3 prune/tools/eval_pruned_in_pytorch.py MODEL.safetensors [MNIST_DIR]

The widths c1, c2 and hidden are read from the tensor shapes (conv1.weight [c1,1,3,3], conv2.weight
[c2,c1,3,3], fc1.weight [hidden, c2*7*7]); PyTorch's SimpleCNN is built with them and load_state_dict is
strict, so a file that does not fit fails loudly. MNIST_DIR holds t10k-images-idx3-ubyte(.gz) and
t10k-labels-idx1-ubyte(.gz); without it, the embedded digits of nn/src/main/resources are used. Pixels are
normalised as in Shears (x/255 - 0.5)/0.5. Prints the widths and the accuracy over the whole test set,
to compare with what `shears prune`/`finetune` reported.

The safetensors file is parsed by hand (8-byte little-endian header length, JSON header, raw data): the
`safetensors` package is not installed with Debian's PyTorch 1.13.
"""
import gzip
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
EMBEDDED = os.path.join(HERE, "..", "..", "nn", "src", "main", "resources", "dev", "shears", "data", "digits")
DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}


class SimpleCNN(nn.Module):
    def __init__(self, c1, c2, hidden):
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
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        arr = np.frombuffer(data[base + start:base + end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def read_idx(directory, name):
    for candidate in (os.path.join(directory, name + ".gz"), os.path.join(directory, name)):
        if os.path.exists(candidate):
            opener = gzip.open if candidate.endswith(".gz") else open
            with opener(candidate, "rb") as f:
                raw = f.read()
            rank = raw[3]
            dims = struct.unpack(">" + "I" * rank, raw[4:4 + 4 * rank])
            return np.frombuffer(raw[4 + 4 * rank:], dtype=np.uint8).reshape(dims)
    sys.exit(f"{directory}: no {name}(.gz)")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    state = read_safetensors(sys.argv[1])
    data_dir = sys.argv[2] if len(sys.argv) > 2 else EMBEDDED
    c1, c2, hidden = state["conv1.weight"].shape[0], state["conv2.weight"].shape[0], state["fc1.weight"].shape[0]
    model = SimpleCNN(c1, c2, hidden)
    model.load_state_dict(state, strict=True)
    model.eval()
    images = read_idx(data_dir, "t10k-images-idx3-ubyte").astype(np.float32)
    labels = torch.from_numpy(read_idx(data_dir, "t10k-labels-idx1-ubyte").astype(np.int64))
    x = torch.from_numpy(((images / np.float32(255)) - np.float32(0.5)) / np.float32(0.5)).unsqueeze(1)
    correct = 0
    with torch.no_grad():
        for i in range(0, len(labels), 500):
            correct += (model(x[i:i + 500]).argmax(1) == labels[i:i + 500]).sum().item()
    print(json.dumps({"model": sys.argv[1], "widths": {"c1": c1, "c2": c2, "hidden": hidden},
                      "parameters": sum(p.numel() for p in model.parameters()),
                      "test_samples": len(labels), "accuracy": correct / len(labels)}))


if __name__ == "__main__":
    main()
