package dev.shears.bench;

import dev.shears.core.Backend;
import dev.shears.core.reference.ReferenceBackend;
import dev.shears.cpu.CpuBackend;

/** The backends the benchmarks compare, by the names used in their @Param lists. */
final class BenchBackends {
    private BenchBackends() {}

    /** "reference", "cpu-1", "cpu-2" (SIMD, that many threads) or "cpu-scalar-1" (SIMD off). */
    static Backend byName(String name) {
        return switch (name) {
            case "reference" -> ReferenceBackend.INSTANCE;
            case "cpu-1" -> new CpuBackend(true, 1);
            case "cpu-2" -> new CpuBackend(true, 2);
            case "cpu-scalar-1" -> new CpuBackend(false, 1);
            default -> throw new IllegalArgumentException("unknown backend '" + name + "': reference, cpu-1, cpu-2, cpu-scalar-1");
        };
    }

    static float[] random(long seed, int n) {
        java.util.Random r = new java.util.Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }
}
