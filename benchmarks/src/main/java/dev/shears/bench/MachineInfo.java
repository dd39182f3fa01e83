package dev.shears.bench;

import dev.shears.cpu.GemmTuning;
import jdk.incubator.vector.FloatVector;

/**
 * The vector width the JIT gives Shears' kernels on this machine and JVM (it follows {@code -XX:UseAVX}) and the
 * GEMM's cache blocking (KC,MC,NC: see {@code GemmTuning}),
 * printed as one JSON object for {@code benchmarks/compare.sh}'s header.
 */
public final class MachineInfo {
    public static void main(String[] args) {
        System.out.printf("{\"java\": \"%s\", \"vector_bits\": %d, \"cores\": %d, \"gemm_blocking\": \"%s\"}%n", Runtime.version(),
                FloatVector.SPECIES_PREFERRED.vectorBitSize(), Runtime.getRuntime().availableProcessors(), GemmTuning.inUse());
    }
}
