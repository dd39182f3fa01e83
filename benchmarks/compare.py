#!/usr/bin/python3
"""The driver of benchmarks/compare.sh (run that): runs each row's Shears command and its anchor back to back,
for --rounds rounds, and prints one table with medians, ranges and ratios, headed by the CPU and JVM.

Standard library only. Every command's own JSON is kept with --raw FILE."""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JAVA = os.path.join(os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64"), "bin", "java")
JAR = os.path.join(ROOT, "benchmarks", "target", "benchmarks.jar")
JAVA_FLAGS = ["--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"]
AVX2_TORCH = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def run(cmd, env=None, quiet=True):
    full = dict(os.environ)
    full.update(env or {})
    print("compare: $ " + " ".join(f"{k}={v}" for k, v in (env or {}).items()) + (" " if env else "") + " ".join(cmd),
          file=sys.stderr, flush=True)
    out = subprocess.run(cmd, env=full, cwd=ROOT, check=True, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL if quiet else None, text=True).stdout
    return out


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON object in: " + text[-500:])


def cpu():
    info = open("/proc/cpuinfo").read()
    field = lambda k: (re.search(rf"^{k}\s*:\s*(.*)$", info, re.M) or [None, "?"])[1]
    flags = field("flags").split()
    isa = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16") if f in flags]
    return {"model_name": field("model name"), "family": field("cpu family"), "model": field("model"),
            "cores": os.cpu_count(), "isa": isa}


class Rows:
    """Row name → {"shears": [values], "anchor": [values], "anchor_name": str, "unit": str}."""

    def __init__(self):
        self.rows = {}

    def add(self, name, side, value, unit, anchor_name=None):
        r = self.rows.setdefault(name, {"shears": [], "anchor": [], "anchor_name": "", "unit": unit})
        r[side].append(value)
        if anchor_name:
            r["anchor_name"] = anchor_name


def shears_bench(args, threads, infer_batch, steps, env=None):
    cmd = [os.path.join(ROOT, "bin", "shears"), "bench", "--json", "-q", "--threads", str(threads),
           "--infer-batch-size", str(infer_batch), "--warmup", str(args.warmup), "--runs", str(args.runs),
           "--steps", str(steps)]
    return last_json(run(cmd, env))


def torch_bench(args, threads, env=None):
    cmd = [args.torch, os.path.join(ROOT, "benchmarks", "pytorch_simplecnn.py"), "bench", "--threads", str(threads),
           "--warmup", str(args.warmup), "--runs", str(args.runs), "--steps", str(args.steps)]
    return last_json(run(cmd, env))


def ort(args, onnx, batch, threads, steps):
    cmd = [JAVA, *JAVA_FLAGS, "-cp", JAR, "dev.shears.bench.OrtInference", onnx, str(batch), str(threads),
           str(args.warmup), str(args.runs), str(steps)]
    return last_json(run(cmd))


def shears_onnx(args, onnx, batch, threads, steps):
    cmd = [JAVA, *JAVA_FLAGS, "-cp", JAR, "dev.shears.bench.ShearsInference", onnx, str(batch), str(threads),
           str(args.warmup), str(args.runs), str(steps)]
    return last_json(run(cmd))


RESNET = os.path.join(ROOT, "onnx", "src", "test", "resources", "fixtures", "resnet.onnx")

LATENCIES = []   # core-to-core one-way ns, read before each batch-1 pair


def core_to_core():
    return last_json(run([JAVA, "-cp", JAR, "dev.shears.bench.CoreToCore"]))["one_way_ns"]


def batch1_pairs(args, rows, name, shears_rate, anchor_rate):
    """--batch1-pairs pairs of a batch-1 row, Shears first then the anchor first, each after a core-to-core
    reading: a batch-1 call split across two threads follows how far apart the cores are, and on a VM that can
    change every few seconds (CoreToCore)."""
    for i in range(args.batch1_pairs):
        LATENCIES.append(core_to_core())
        sides = [("shears", shears_rate), ("anchor", anchor_rate)]
        for side, rate in (sides if i % 2 == 0 else sides[::-1]):
            rows.add(name, side, rate(), "samples/s", None if side == "shears" else "ONNX Runtime 1.22 (Java)")


def onnx_rows(args, rows, onnx):
    """The same ONNX file in both engines: Shears' import compiled by Predictor against ONNX Runtime, 2 threads."""
    for label, path in (("simplecnn.onnx", onnx), ("resnet.onnx", RESNET)):
        name = f"inference {label}, batch 256, 2 threads"
        rows.add(name, "shears", shears_onnx(args, path, 256, 2, args.steps)["samples_per_s"], "samples/s")
        rows.add(name, "anchor", ort(args, path, 256, 2, args.steps)["samples_per_s"], "samples/s", "ONNX Runtime 1.22 (Java)")
        batch1_pairs(args, rows, f"inference {label}, batch 1, 2 threads",
                     lambda: shears_onnx(args, path, 1, 2, args.steps_batch1)["samples_per_s"],
                     lambda: ort(args, path, 1, 2, args.steps_batch1)["samples_per_s"])


def gemm_shears(jvm_flags=()):
    out = run([JAVA, *jvm_flags, *JAVA_FLAGS, "-cp", JAR, "dev.shears.bench.GemmCpuTime", "cpu-1", "cpu-2"])
    return {(m.group(1), m.group(2)): float(m.group(3))
            for m in re.finditer(r"^cpu-(\d)\s+(\S+)\s+wall median\s+\S+ ms\s+([\d.]+) GFLOPS", out, re.M)}


def gemm_openblas(threads, coretype=None):
    """OpenBLAS picks its kernels for this CPU, or those of `coretype` (Haswell: AVX2 only) when given."""
    env = {"OPENBLAS_NUM_THREADS": str(threads), **({"OPENBLAS_CORETYPE": coretype} if coretype else {})}
    full = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    full.update(env)
    print(f"compare: $ env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE {' '.join(f'{k}={v}' for k, v in env.items())}"
          " /usr/bin/python3 docs/gemm_numpy.py", file=sys.stderr, flush=True)
    out = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "docs", "gemm_numpy.py")], env=full, cwd=ROOT,
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    return {(str(threads), m.group(1)): float(m.group(2))
            for m in re.finditer(r"^openblas-\d+\s+(\S+)\s+wall median\s+\S+ ms\s+([\d.]+) GFLOPS", out, re.M)}


EPOCH_ROW = "one Fashion-MNIST epoch, 2 threads: `bin/shears train` start to exit"


def epoch_rows(args, rows, bench_train):
    """What a user sees: 60,000 / the wall time of `bin/shears train --epochs 1` (JVM start, data loading, the
    epoch, the test pass, exit), against `bin/shears bench`'s training rate `bench_train` measured just before,
    same threads; a second row has the epoch's steps alone (the command's own samples_per_s)."""
    if not os.path.isdir(args.fashion_mnist):
        print(f"compare: no {args.fashion_mnist}, so no epoch rows", file=sys.stderr, flush=True)
        return
    cmd = [os.path.join(ROOT, "bin", "shears"), "train", "--json", "-q", "--threads", "2", "--epochs", "1",
           "--data", args.fashion_mnist]
    start = time.perf_counter()
    t = last_json(run(cmd))
    wall = time.perf_counter() - start
    anchor = "`bin/shears bench` training"
    rows.add(EPOCH_ROW, "shears", t["epochs"][0]["samples"] / wall, "samples/s", anchor)
    rows.add(EPOCH_ROW, "anchor", bench_train, "samples/s")
    rows.add("one Fashion-MNIST epoch, 2 threads: its steps alone", "shears", t["samples_per_s"], "samples/s", anchor)
    rows.add("one Fashion-MNIST epoch, 2 threads: its steps alone", "anchor", bench_train, "samples/s")
    if args.epochs_later:
        # the rate a longer run settles to: epochs 2 and 3 of `train --epochs 3`, each with its test pass (the JVM's
        # start and the JIT's warm-up are paid in epoch 1), the median of the two
        t = last_json(run(cmd[:cmd.index("--epochs") + 1] + ["3"] + cmd[cmd.index("--epochs") + 2:]))
        later = [e["samples"] / (e["seconds"] + e["test_seconds"]) for e in t["epochs"][1:]]
        name = "a later Fashion-MNIST epoch, 2 threads: epochs 2-3 of `bin/shears train --epochs 3`, test passes included"
        rows.add(name, "shears", statistics.median(later), "samples/s", anchor)
        rows.add(name, "anchor", bench_train, "samples/s")


def simplecnn_batch1_rows(args, rows, onnx):
    """SimpleCNN at batch 1: `bench` (built in, compiled by Predictor) against ONNX Runtime on its ONNX export."""
    batch1_pairs(args, rows, "inference, batch 1, 2 threads",
                 lambda: shears_bench(args, 2, 1, args.steps_batch1)["inference"]["samples_per_s"],
                 lambda: ort(args, onnx, 1, 2, args.steps_batch1)["samples_per_s"])


def one_round(args, rows, onnx):
    if args.gemm_only:
        gemm_rows(rows)
        return
    if args.batch1_only:
        simplecnn_batch1_rows(args, rows, onnx)
        return
    if args.epoch_only:
        epoch_rows(args, rows, shears_bench(args, 2, 256, args.steps)["train"]["samples_per_s"])
        return
    onnx_rows(args, rows, onnx)
    if args.onnx_only:
        return
    torch_name = "PyTorch 2.13 (oneDNN)"
    for threads in (2, 1):
        s = shears_bench(args, threads, 256, args.steps)
        if threads == 2:
            epoch_rows(args, rows, s["train"]["samples_per_s"])
        t = torch_bench(args, threads)
        rows.add(f"training, batch 64, {threads} thread{'s' if threads > 1 else ''}", "shears", s["train"]["samples_per_s"], "samples/s")
        rows.add(f"training, batch 64, {threads} thread{'s' if threads > 1 else ''}", "anchor", t["train"]["samples_per_s"], "samples/s", torch_name)
        if threads == 2:
            o = ort(args, onnx, 256, 2, args.steps)
            rows.add("inference, batch 256, 2 threads", "shears", s["inference"]["samples_per_s"], "samples/s")
            rows.add("inference, batch 256, 2 threads", "anchor", o["samples_per_s"], "samples/s", "ONNX Runtime 1.22 (Java)")
    simplecnn_batch1_rows(args, rows, onnx)
    if not args.quick:
        s = shears_bench(args, 2, 256, args.steps, {"SHEARS_JAVA_OPTS": "-XX:UseAVX=2"})
        t = torch_bench(args, 2, AVX2_TORCH)
        rows.add("training, batch 64, 2 threads, AVX2 only", "shears", s["train"]["samples_per_s"], "samples/s")
        rows.add("training, batch 64, 2 threads, AVX2 only", "anchor", t["train"]["samples_per_s"], "samples/s",
                 "PyTorch 2.13, AVX2")
        gemm_rows(rows)


def gemm_rows(rows):
    """sgemm 512 and 1024 on 1 and 2 threads against OpenBLAS, then the same with AVX2 only on both sides."""
    for suffix, flags, coretype, anchor in (("", [], None, "OpenBLAS (numpy)"),
                                            (", AVX2 only", ["-XX:UseAVX=2"], "Haswell", "OpenBLAS (numpy), Haswell kernels")):
        g = gemm_shears(flags)
        o = {**gemm_openblas(1, coretype), **gemm_openblas(2, coretype)}
        for threads in ("1", "2"):
            for size in ("512", "1024"):
                name = f"sgemm {size}, {threads} thread{'s' if threads == '2' else ''}{suffix}"
                rows.add(name, "shears", g[(threads, size)], "GFLOPS")
                rows.add(name, "anchor", o[(threads, size)], "GFLOPS", anchor)


def fmt(values):
    m = statistics.median(values)
    if len(values) == 1:
        return f"{m:,.0f}"
    return f"{m:,.0f} ({min(values):,.0f}–{max(values):,.0f})"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--torch", required=True, help="python of the PyTorch 2.13 venv")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=float, default=5)
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--steps-batch1", type=int, default=500)
    p.add_argument("--batch1-pairs", type=int, default=3,
                   help="runs of each batch-1 row per round, Shears and its anchor back to back, alternating which goes first")
    p.add_argument("--quick", action="store_true", help="training and inference rows only")
    p.add_argument("--onnx-only", action="store_true", help="only the rows of one ONNX file in both engines (simplecnn.onnx, resnet.onnx)")
    p.add_argument("--batch1-only", action="store_true", help="only SimpleCNN's batch-1 row (bench against ONNX Runtime)")
    p.add_argument("--epoch-only", action="store_true",
                   help="only the epoch rows: one Fashion-MNIST epoch of `bin/shears train` against `bin/shears bench`")
    p.add_argument("--gemm-only", action="store_true",
                   help="only the sgemm rows: 512 and 1024 on 1 and 2 threads against OpenBLAS, AVX-512 and AVX2 only")
    p.add_argument("--epochs-later", action="store_true",
                   help="with the epoch rows, also epochs 2-3 of `bin/shears train --epochs 3` (test passes included)")
    p.add_argument("--fashion-mnist", default="/usr/share/datasets/fashion-mnist", help="the epoch rows' data (IDX files)")
    p.add_argument("--raw", help="also write the table's data as JSON to this file")
    args = p.parse_args()

    machine = cpu()
    machine.update(last_json(run([JAVA, *JAVA_FLAGS, "-cp", JAR, "dev.shears.bench.MachineInfo"])))
    machine["vector_bits_avx2"] = last_json(run([JAVA, "-XX:UseAVX=2", *JAVA_FLAGS, "-cp", JAR, "dev.shears.bench.MachineInfo"]))["vector_bits"]
    onnx = os.path.join(tempfile.mkdtemp(prefix="shears-compare-"), "simplecnn.onnx")
    if not args.epoch_only and not args.gemm_only:
        run(["/usr/bin/python3", os.path.join(ROOT, "benchmarks", "pytorch_simplecnn.py"), "export", "--out", onnx])
    rows = Rows()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for r in range(args.rounds):
        print(f"compare: round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
        one_round(args, rows, onnx)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, stdout=subprocess.PIPE, text=True).stdout.strip()

    print(f"Shears {commit} against its anchors, {started}, {args.rounds} round(s), medians (range)")
    print(f"CPU: {machine['model_name']} (family {machine['family']}, model {machine['model']}), {machine['cores']} cores, "
          f"ISA {' '.join(machine['isa'])}; Java {machine['java']}, vectors {machine['vector_bits']} bits "
          f"({machine['vector_bits_avx2']} under -XX:UseAVX=2); GEMM blocking KC,MC,NC {machine.get('gemm_blocking', '?')}")
    print()
    print("| figure | Shears | anchor | anchor | ratio |")
    print("|---|--:|---|--:|--:|")
    order = lambda name: ("training" not in name and "epoch" not in name, "epoch" in name, "AVX2" in name, "sgemm" in name,
                          "batch 1," in name)
    for name, r in sorted(rows.rows.items(), key=lambda item: order(item[0])):
        ratios = [s / a for s, a in zip(r["shears"], r["anchor"])]
        print(f"| {name} ({r['unit']}) | {fmt(r['shears'])} | {r['anchor_name']} | {fmt(r['anchor'])} | "
              f"**{statistics.median(ratios):.2f}×**" + (f" ({min(ratios):.2f}–{max(ratios):.2f})" if len(ratios) > 1 else "") + " |")
    if LATENCIES:
        print()
        print(f"Core-to-core one-way latency before each batch-1 pair (CoreToCore): median {statistics.median(LATENCIES):.0f} ns "
              f"({min(LATENCIES):.0f}–{max(LATENCIES):.0f}). Batch-1 calls split across the two threads follow it.")
    if args.raw:
        with open(args.raw, "w") as f:
            json.dump({"commit": commit, "started": started, "machine": machine, "rows": rows.rows,
                       "core_to_core_ns": LATENCIES}, f, indent=1)


if __name__ == "__main__":
    main()
