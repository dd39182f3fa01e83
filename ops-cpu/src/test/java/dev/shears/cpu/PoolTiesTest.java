package dev.shears.cpu;

import dev.shears.core.Pool2dShape;
import dev.shears.core.Storage;
import dev.shears.core.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** The SIMD 2×2 pool resolves ties (first in scan order) and NaNs (they win) exactly as the scalar definition. */
class PoolTiesTest {
    @Test
    void tiesAndNaNsPickTheSameArgmax() {
        ReferenceBackend ref = ReferenceBackend.INSTANCE;
        for (CpuBackend cpu : new CpuBackend[]{new CpuBackend(true, 2), new CpuBackend(false, 1)}) {
            for (int w : new int[]{28, 14, 40, 7}) {
                Pool2dShape p = new Pool2dShape(2, 3, w, w, 2, 2, 2, 2, 0, 0);
                java.util.Random r = new java.util.Random(w);
                float[] x = new float[p.inputSize()];
                for (int i = 0; i < x.length; i++) {
                    int kind = r.nextInt(10);
                    x[i] = kind == 0 ? Float.NaN : kind < 5 ? 1f : kind == 5 ? -0f : kind == 6 ? 0f : r.nextInt(3);
                }
                float[] y0 = new float[p.outputSize()];
                Storage a0 = ref.maxPool2dForward(p, ref.upload(x), dev.shears.core.HeapStorage.ofFloats(ref, y0));
                Storage y1 = cpu.allocate(p.outputSize());
                Storage a1 = cpu.maxPool2dForward(p, cpu.upload(x), y1);
                assertArrayEquals(dev.shears.core.HeapStorage.ints(a0), dev.shears.core.HeapStorage.ints(a1), cpu + " argmax " + p);
                assertArrayEquals(y0, cpu.download(y1), cpu + " max " + p);
            }
        }
    }
}
