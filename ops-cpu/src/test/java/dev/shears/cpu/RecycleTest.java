package dev.shears.cpu;

import dev.shears.core.HeapStorage;
import dev.shears.core.Storage;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A TensorScope hands the CPU backend's arrays back for reuse, and only those. */
class RecycleTest {
    private static final int N = 4 * FreeList.MIN_LENGTH;
    private final CpuBackend cpu = new CpuBackend(true, 1);

    @Test
    void aClosedScopesArraysAreReusedAndAllocateStillGivesZeros() {
        float[] first, second;
        Tensor t;
        try (TensorScope s = TensorScope.open()) {
            t = Tensor.full(cpu, 7f, N);
            Tensor u = t.relu();                                  // an op's output: allocateForOutput
            first = HeapStorage.floats(t.storage());
            second = HeapStorage.floats(u.storage());
        }
        assertThrows(IllegalStateException.class, t::toArray, "a recycled tensor must fail when used");
        Storage out = cpu.allocateForOutput(N), zeros = cpu.allocate(N);
        float[] a = HeapStorage.floats(out), b = HeapStorage.floats(zeros);
        // both arrays came back (most recently given first), and allocate zeroed the one it took
        assertSame(second, a);
        assertSame(first, b);
        assertArrayEquals(new float[N], b);
    }

    @Test
    void anArrayTheBackendDidNotAllocateIsNeverHandedOut() {
        float[] mine = new float[N];
        Arrays.fill(mine, 3f);
        try (TensorScope s = TensorScope.open()) {
            Tensor wrapped = new Tensor(HeapStorage.ofFloats(cpu, mine), N);
            wrapped.relu();
        }
        float[] a = HeapStorage.floats(cpu.allocateForOutput(N)), b = HeapStorage.floats(cpu.allocateForOutput(N));
        assertNotSame(mine, a);
        assertNotSame(mine, b);
        Arrays.fill(a, -1f);
        Arrays.fill(b, -1f);
        float[] expected = new float[N];
        Arrays.fill(expected, 3f);
        assertArrayEquals(expected, mine, "the caller's array was overwritten");
    }

    @Test
    void keptTensorsSurviveTheirScope() {
        Tensor kept;
        try (TensorScope s = TensorScope.open()) {
            kept = s.keep(Tensor.full(cpu, 2f, N));
        }
        float[] reused = HeapStorage.floats(cpu.allocateForOutput(N));
        assertNotSame(HeapStorage.floats(kept.storage()), reused);
        float[] expected = new float[N];
        Arrays.fill(expected, 2f);
        assertArrayEquals(expected, kept.toArray());
    }
}
