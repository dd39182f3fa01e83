package dev.shears.nn;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every method {@link JitProbe} runs compiles with C1 (tier 3). Without intrinsics C1 inlines the Java code
 * of every vector op, and a kernel with too many of them makes it give up ("COMPILE SKIPPED: out of virtual
 * registers in linear scan"). HotSpot may then leave the method at tier 2, never reaching C2, so in some
 * JVM runs and not others it runs with every vector an object: DotGemm.block4x4 did that, and a training
 * step ran at 1,950 instead of 3,150 samples/s in a third of the runs. This starts a JVM that compiles each
 * method on its first or second call at tier 3 and waits for every compile, and fails on any of ours it skips.
 */
class KernelsCompileTest {

    @Test
    void c1CompilesEveryKernelOnOneAndTwoThreads() throws Exception {
        // one JVM per thread count (the kernels split work differently), both at once, output to files
        int[] threadCounts = {1, 2};
        Process[] probes = new Process[threadCounts.length];
        Path[] logs = new Path[threadCounts.length];
        for (int i = 0; i < threadCounts.length; i++) {
            logs[i] = Files.createTempFile("jit-probe", ".log");
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            probes[i] = new ProcessBuilder(List.of(java, "--add-modules", "jdk.incubator.vector",
                    "-Dshears.threads=" + threadCounts[i], "-XX:TieredStopAtLevel=3", "-XX:Tier3InvocationThreshold=1",
                    "-XX:Tier3MinInvocationThreshold=1", "-XX:Tier3CompileThreshold=1", "-XX:Tier3BackEdgeThreshold=100",
                    "-Xbatch", "-XX:+PrintCompilation", "-cp", System.getProperty("java.class.path"),
                    JitProbe.class.getName())).redirectErrorStream(true).redirectOutput(logs[i].toFile()).start();
        }
        for (int i = 0; i < threadCounts.length; i++) {
            boolean done = probes[i].waitFor(120, TimeUnit.SECONDS);
            if (!done) probes[i].destroyForcibly();
            String out = Files.readString(logs[i]);
            Files.delete(logs[i]);
            String what = threadCounts[i] + " thread(s)";
            assertTrue(done, what + ": the probe did not finish in 120 s");
            assertEquals(0, probes[i].exitValue(), what + ":\n" + out);
            assertTrue(out.contains("dev.shears.cpu.Conv::forwardSmall"), what + ": the probe's kernels were not compiled:\n" + out);
            List<String> skipped = out.lines()
                    .filter(l -> l.contains("dev.shears.") && (l.contains("COMPILE SKIPPED") || l.contains("not compilable")))
                    .toList();
            assertEquals(List.of(), skipped, what + ": C1 gave up on these");
        }
    }
}
