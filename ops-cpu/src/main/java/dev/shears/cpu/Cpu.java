package dev.shears.cpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the operating system says about the processor, for choices the Vector API cannot make (Linux only). */
final class Cpu {
    private Cpu() {}

    /**
     * Whether the processor executes a 512-bit fma as two 256-bit halves: AMD family 25 (Zen 4), per AMD's
     * optimisation guide for that family. False when /proc/cpuinfo is absent or says otherwise.
     */
    static boolean splitsWideFma() {
        try {
            return splitsWideFma(Files.readString(Path.of("/proc/cpuinfo")));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** {@link #splitsWideFma()} for the text of a /proc/cpuinfo. */
    static boolean splitsWideFma(String cpuinfo) {
        Matcher family = Pattern.compile("(?m)^cpu family\\s*:\\s*(\\d+)").matcher(cpuinfo);
        return cpuinfo.contains("AuthenticAMD") && family.find() && Integer.parseInt(family.group(1)) == 25;
    }
}
