package dev.shears.bench;

import dev.shears.core.Backend;
import dev.shears.core.Backends;
import dev.shears.core.Conv2dShape;
import dev.shears.core.HeapStorage;
import dev.shears.core.Pool2dShape;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import dev.shears.nn.optim.SGD;
import dev.shears.nn.train.Trainer;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where one training step (SimpleCNN, batch 64) spends its time, per backend call: every {@link Backend}
 * method runs through a timing proxy that sums the wall-clock and the calling thread's CPU time under a key
 * made of the method and its shape (e.g. {@code conv2dBackwardWeight 32>64 14x14}). The proxy adds well under a
 * microsecond per call (about 60 calls a step). With {@code -Dshears.threads=1} the CPU column is the op's own
 * time whatever else runs on the machine; with two threads only the wall column counts.
 *
 * <pre>java --add-modules jdk.incubator.vector -Dshears.threads=1 -cp benchmarks/target/benchmarks.jar \
 *     dev.shears.bench.StepProfile [steps]</pre>
 */
public final class StepProfile {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /** Per key: total wall ns, total caller CPU ns, calls. */
    private static final Map<String, long[]> TOTALS = new LinkedHashMap<>();
    private static boolean recording;

    public static void main(String[] args) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 100;
        Backend cpu = Backends.byName("cpu");
        Backend timed = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(),
                new Class<?>[] {Backend.class}, (proxy, m, a) -> rehome((Backend) proxy, TIMING.invoke(cpu, m, a)));
        Backends.setDefault(timed);
        Sequential model = SimpleCNN.create(0);
        Trainer trainer = new Trainer(model, new SGD(model.parameters(), 0.01f, 0.9f, 0f));
        int batch = 64;
        float[] x = TrainStepBenchmark.images(batch, 1);
        int[] y = TrainStepBenchmark.labels(batch);
        for (int i = 0; i < 3 * steps; i++) trainer.step(x, y, 1, 28, 28);   // warm-up
        recording = true;
        long wall0 = System.nanoTime(), cpu0 = THREADS.getCurrentThreadCpuTime();
        for (int i = 0; i < steps; i++) trainer.step(x, y, 1, 28, 28);
        double wallStep = (System.nanoTime() - wall0) * 1e-6 / steps;
        double cpuStep = (THREADS.getCurrentThreadCpuTime() - cpu0) * 1e-6 / steps;
        recording = false;
        long wallOps = TOTALS.values().stream().mapToLong(t -> t[0]).sum();
        System.out.printf("step: wall %.3f ms, caller CPU %.3f ms; in backend calls: wall %.3f ms (%d calls)%n",
                wallStep, cpuStep, wallOps * 1e-6 / steps, TOTALS.values().stream().mapToLong(t -> t[2]).sum() / steps);
        System.out.printf("%-48s %9s %9s %6s %6s%n", "backend call", "wall ms", "cpu ms", "share", "calls");
        TOTALS.entrySet().stream()
                .sorted((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]))
                .forEach(e -> System.out.printf("%-48s %9.3f %9.3f %5.1f%% %6.1f%n", e.getKey(),
                        e.getValue()[0] * 1e-6 / steps, e.getValue()[1] * 1e-6 / steps,
                        100.0 * e.getValue()[0] / (wallStep * 1e6 * steps), (double) e.getValue()[2] / steps));
        System.exit(0);
    }

    /**
     * A tensor calls the backend its storage names, so every storage the CPU backend hands out is re-wrapped to
     * name the proxy (same array, same ownership).
     */
    private static Object rehome(Backend proxy, Object result) {
        if (!(result instanceof HeapStorage s)) return result;
        float[] owned = HeapStorage.ownedFloats(s);
        if (owned != null) return HeapStorage.owning(proxy, owned);
        try {
            return HeapStorage.ofFloats(proxy, HeapStorage.floats(s));
        } catch (IllegalStateException intsOnly) {
            return HeapStorage.ofInts(proxy, HeapStorage.ints(s));
        }
    }

    private interface Timed { Object invoke(Backend target, Method method, Object[] args) throws Throwable; }

    private static final Timed TIMING = timing();

    private static Timed timing() {
        return (target, method, args) -> {
            long w = System.nanoTime(), c = THREADS.getCurrentThreadCpuTime();
            Object result;
            try {
                result = method.invoke(target, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
            if (recording) {
                long[] t = TOTALS.computeIfAbsent(key(method, args), k -> new long[3]);
                t[0] += System.nanoTime() - w;
                t[1] += THREADS.getCurrentThreadCpuTime() - c;
                t[2]++;
            }
            return result;
        };
    }

    private static String key(Method m, Object[] a) {
        String name = m.getName();
        if (a == null) return name;
        for (Object o : a) {
            if (o instanceof Conv2dShape s) return name + " " + s.c() + ">" + s.k() + " " + s.h() + "x" + s.w();
            if (o instanceof Pool2dShape p) return name + " c" + p.c() + " " + p.h() + "x" + p.w();
        }
        return switch (name) {
            case "unary" -> name + " " + a[0] + " n=" + a[1];
            case "affine", "fill", "copy" -> name + " n=" + a[0];
            case "binary" -> name + " " + a[0] + " " + Arrays.toString((int[]) a[1]);
            case "gemm" -> name + " " + (((Boolean) a[0]) ? "T" : "N") + (((Boolean) a[1]) ? "T" : "N")
                    + " m=" + a[2] + " n=" + a[3] + " k=" + a[4];
            case "batchNorm2dForward", "batchNorm2dBackward", "batchNorm2dReluForward", "batchNorm2dReluBackward" -> name + " c=" + a[1] + " hw=" + a[2];
            case "sgdStep" -> "sgdStep (all)";
            case "sumTo" -> name + " " + Arrays.toString((int[]) a[0]) + ">" + Arrays.toString((int[]) a[2]);
            default -> name;
        };
    }
}
