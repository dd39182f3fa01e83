package dev.shears.cli;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * With {@code -Dshears.trace=true} ({@code SHEARS_JAVA_OPTS}), {@code train} writes where a run's time goes to
 * stderr: a line per phase ({@code shears-trace run|loaded|warm-up|eval|evaldone ...}) and per step
 * ({@code shears-trace step EPOCH BATCH ...}), each with the seconds since the JVM started and the process's CPU
 * seconds so far; phase lines also split the CPU by thread (Linux only, from {@code /proc/self/task}): the JIT's
 * compilers (C1, C2), the garbage collector (GC), the main thread, the kernels' workers ({@code shears-cpu-*}),
 * the data loader and the rest (threads that have ended, such as the data loader once done, no longer count).
 * Off, each call is one branch.
 */
final class Timeline {
    static final boolean ON = Boolean.getBoolean("shears.trace");

    private Timeline() {}

    /** A phase boundary, with the CPU split by thread where the OS tells it. */
    static void mark(String phase) {
        if (ON) System.err.printf("shears-trace %s wall %.3f cpu %.3f %s%n", phase, wallSeconds(), cpuSeconds(), threadCpu());
    }

    /** The end of a training step (batch counts from 1). */
    static void step(int epoch, int batch) {
        if (ON) System.err.printf("shears-trace step %d %d wall %.3f cpu %.3f%n", epoch, batch, wallSeconds(), cpuSeconds());
    }

    /** Seconds since the JVM started. */
    static double wallSeconds() {
        return ManagementFactory.getRuntimeMXBean().getUptime() / 1e3;
    }

    /** CPU time of the whole process so far, all its threads (the JIT compilers' and the GC's too), in seconds. */
    static double cpuSeconds() {
        return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getProcessCpuTime() / 1e9 : Double.NaN;
    }

    /** CPU seconds by kind of thread, e.g. {C1=0.51, C2=1.33, GC=0.13, data=0.48, main=1.32, workers=1.15}; "" off Linux. */
    static String threadCpu() {
        Path tasks = Path.of("/proc/self/task");
        if (!Files.isDirectory(tasks)) return "";
        Map<String, Double> cpu = new TreeMap<>();
        try (Stream<Path> threads = Files.list(tasks)) {
            for (Path t : (Iterable<Path>) threads::iterator) {
                String stat;
                try {
                    stat = Files.readString(t.resolve("stat"));
                } catch (IOException gone) {
                    continue;   // the thread ended meanwhile
                }
                // pid (comm) state ...: utime and stime are fields 14 and 15, in clock ticks (100 a second on Linux)
                String comm = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                double seconds = (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
                cpu.merge(kind(comm), seconds, Double::sum);
            }
        } catch (IOException | RuntimeException e) {
            return "";
        }
        StringBuilder s = new StringBuilder("{");
        cpu.forEach((k, v) -> s.append(s.length() > 1 ? ", " : "").append(k).append('=').append(String.format("%.2f", v)));
        return s.append('}').toString();
    }

    /** The kind of thread a {@code comm} name (15 characters at most) belongs to. */
    static String kind(String comm) {
        if (comm.startsWith("C2 ")) return "C2";
        if (comm.startsWith("C1 ")) return "C1";
        if (comm.startsWith("G1 ") || comm.startsWith("GC ")) return "GC";
        if (comm.startsWith("shears-cpu")) return "workers";
        if (comm.startsWith("shears-data")) return "data";
        if (comm.equals("java")) return "main";
        return "other";
    }
}
