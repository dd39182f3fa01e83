"""numpy/OpenBLAS sgemm, the comparison for docs/performance.md.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 python3 docs/gemm_numpy.py

Prints the wall-clock median GFLOPS and GFLOPS per CPU-second of this process (time.process_time), the
figure that survives other processes sharing the cores (see GemmCpuTime.java).
"""
import os, time
import numpy as np

threads = os.environ.get("OPENBLAS_NUM_THREADS", "?")
for shape in ((256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (64, 3136, 128)):
    m, k, n = shape
    a = np.random.rand(m, k).astype(np.float32)
    b = np.random.rand(k, n).astype(np.float32)
    c = a @ b
    flop = 2.0 * m * n * k
    reps = max(10, int(6e10 / flop))
    for _ in range(reps):
        np.matmul(a, b, out=c)
    ts = []
    cpu0, t0 = time.process_time(), time.perf_counter()
    for _ in range(reps):
        t = time.perf_counter()
        np.matmul(a, b, out=c)
        ts.append(time.perf_counter() - t)
    cpu, total = time.process_time() - cpu0, time.perf_counter() - t0
    ts.sort()
    name = str(m) if m == n == k else f"{m}x{k}x{n}"
    print(f"openblas-{threads} {name:12s} wall median {ts[len(ts)//2]*1e3:8.3f} ms  {flop/ts[len(ts)//2]/1e9:6.1f} GFLOPS (best {flop/ts[0]/1e9:6.1f})"
          f"   per CPU-second {flop*reps/cpu/1e9:6.1f} GFLOPS   (cpu/wall {cpu/total:.2f})")
