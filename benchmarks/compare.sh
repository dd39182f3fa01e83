#!/usr/bin/env bash
# Shears against the engines a user would pick instead, in one sitting on this machine, as one table:
#   training (batch 64)      vs PyTorch 2.13 with oneDNN, on 2 threads and 1 thread;
#   training under -XX:UseAVX=2 vs PyTorch limited to AVX2 (ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2);
#   inference (batch 256, 1) vs ONNX Runtime 1.22 (Java API) on the same SimpleCNN exported to ONNX;
#   the same ONNX file in both engines (ShearsInference: imported, compiled by Predictor), SimpleCNN and the
#   ResNet-style fixture, batch 256 and 1, 2 threads, vs ONNX Runtime (OrtInference);
#   sgemm 512 and 1024       vs OpenBLAS through numpy, on 1 and 2 threads;
#   one Fashion-MNIST epoch  as a user times it (60,000 / the wall time of `bin/shears train --epochs 1`, JVM start,
#                            test pass and exit included; and its steps alone) vs `bin/shears bench`'s training rate;
#                            with --epochs-later also epochs 2-3 of `train --epochs 3`, test passes included.
#
#   bash benchmarks/compare.sh [--rounds 3] [--quick | --onnx-only | --epoch-only | --gemm-only | --batch1-only]
#                              [--epochs-later] [--batch1-pairs 3]
#
# The batch-1 rows run --batch1-pairs times per round, alternating which side goes first, each pair after a
# reading of the core-to-core latency (CoreToCore), printed under the table: on a VM whose host moves the vCPUs
# between near and distant cores, a batch-1 call split across two threads follows it.
#
# Needs JDK 25, /usr/bin/python3 with Debian's python3-torch (the ONNX export) and numpy, and this machine
# kind's PyTorch 2.13 wheel (benchmarks/torch-venv.sh makes its venv once). Each round runs every row once,
# Shears and its anchor back to back; the table gives the median over rounds and the range.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. bin/find-jdk25
jdk25="$(find_jdk25)" || { echo "$(no_jdk25_message compare.sh)" >&2; exit 1; }
export JAVA_HOME="$jdk25"
venv="$(bash benchmarks/torch-venv.sh)"
echo "compare: building the benchmarks jar..." >&2
./mvnw -B -q -ntp -DskipTests package >&2
bin/shears --version >/dev/null 2>&1 || true      # builds bin/shears' classpath if needed
exec /usr/bin/python3 benchmarks/compare.py --torch "$venv/bin/python" "$@"
