"""Medians (p50) from JMH's JSON results, as the tables of docs/performance.md show them.

    java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar ConvBenchmark \
        -f 1 -wi 2 -i 3 -w 1 -r 2 -bm sample -tu ms -rf json -rff results/ConvBenchmark.json
    python3 docs/jmh_table.py results/

Sample mode (-bm sample) times every call, so the median survives other processes taking turns on the
cores, where an average does not.
"""
import json, sys, os
d = sys.argv[1]
def load(name):
    p = os.path.join(d, name + ".json")
    return json.load(open(p)) if os.path.exists(p) else []
def p50(r):
    return r["primaryMetric"]["scorePercentiles"]["50.0"]
print("## GEMM (p50 ms -> GFLOPS)")
for r in load("GemmBenchmark"):
    prm = r.get("params", {})
    shape = prm.get("size") or prm.get("refSize")
    be = prm.get("backendName", "reference")
    parts = shape.split("x")
    m, k, n = (int(shape),)*3 if len(parts) == 1 else map(int, parts)
    t = p50(r)
    print(f"{be:10s} {shape:12s} p50 {t:9.3f} ms  {2*m*n*k/t/1e6:7.1f} GFLOPS   mean {r['primaryMetric']['score']:.3f}")
print("## Conv")
for r in load("ConvBenchmark"):
    prm = r["params"]; t = p50(r)
    fl = 28.901376 if prm["layer"] == "conv1" else 462.422016
    print(f"{r['benchmark'].split('.')[-1]:15s} {prm['layer']} {prm['backendName']}: p50 {t:.3f} ms  {fl/t:.1f} GFLOPS  mean {r['primaryMetric']['score']:.3f}")
for name in ("BatchNormBenchmark", "PoolBenchmark"):
    print("##", name)
    for r in load(name):
        prm = r["params"]; t = p50(r)
        print(f"{r['benchmark'].split('.')[-1]:10s} {prm['shape']} {prm['backendName']}: p50 {t:.3f} ms  mean {r['primaryMetric']['score']:.3f}")
