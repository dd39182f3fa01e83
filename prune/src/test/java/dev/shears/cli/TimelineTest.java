package dev.shears.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** {@link Timeline}'s split of the process's CPU by kind of thread ({@code -Dshears.trace=true}). */
class TimelineTest {
    @Test
    void threadNamesAsLinuxShowsThem() {
        assertEquals("C2", Timeline.kind("C2 CompilerThre"));
        assertEquals("C1", Timeline.kind("C1 CompilerThre"));
        assertEquals("GC", Timeline.kind("GC Thread#0"));
        assertEquals("GC", Timeline.kind("G1 Conc#0"));
        assertEquals("workers", Timeline.kind("shears-cpu-1"));
        assertEquals("data", Timeline.kind("shears-data"));
        assertEquals("main", Timeline.kind("java"));
        assertEquals("other", Timeline.kind("VM Thread"));
    }

    @Test
    void theSplitAddsUpToAtMostTheProcessCpu() {
        if (!Files.isDirectory(Path.of("/proc/self/task"))) return;   // Linux only; elsewhere the split is ""
        String split = Timeline.threadCpu();
        double cpu = Timeline.cpuSeconds(), sum = 0;
        Matcher m = Pattern.compile("(\\w+)=([\\d.]+)").matcher(split);
        while (m.find()) sum += Double.parseDouble(m.group(2));
        assertTrue(split.contains("C2=") || split.contains("C1="), split);
        // clock ticks of 10 ms, rounded down per thread; threads that ended are missing
        assertTrue(sum > 0 && sum <= cpu + 0.05, split + " against the process's " + cpu + " s");
    }
}
