package dev.shears.cpu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The wisdom file (round trip, and every way a file may be wrong), cache sizes from /sys, the derived blocking. */
class GemmTuningTest {
    private static final String KEY = "Test CPU (family 25, model 17); 16 lanes; -XX:UseAVX=3";
    private final List<String> warnings = new ArrayList<>();

    private GemmTuning.Blocking read(Path file) { return GemmTuning.readWisdom(file, KEY, warnings::add); }

    @Test
    void wisdomRoundTripsAndIsWrittenWithoutLeftovers(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("sub/gemm-x.properties");
        GemmTuning.Blocking b = new GemmTuning.Blocking(384, 30 * Gemm.MR, 64 * Gemm.NR);
        GemmTuning.writeWisdom(file, KEY, b, "a note");
        assertEquals(b, read(file));
        GemmTuning.writeWisdom(file, KEY, new GemmTuning.Blocking(512, Gemm.MR, Gemm.NR), "");   // replaces it
        assertEquals(new GemmTuning.Blocking(512, Gemm.MR, Gemm.NR), read(file));
        assertEquals(List.of(), warnings);
        try (var files = Files.list(file.getParent())) {
            assertEquals(List.of(file), files.toList(), "the temporary file is gone");
        }
    }

    @Test
    void noFileIsSilent(@TempDir Path dir) {
        assertNull(read(dir.resolve("none.properties")));
        assertEquals(List.of(), warnings);
    }

    @Test
    void corruptHostileOrForeignFilesAreIgnoredWithAWarning(@TempDir Path dir) throws IOException {
        String ok = "key=" + KEY + "\n";
        String[] bad = {
                "\u0000\u0001garbage\uFFFF",                                   // binary junk
                ok + "kc=256\nmc=" + Gemm.MR + "\n",                           // nc missing
                ok + "kc=two hundred\nmc=" + Gemm.MR + "\nnc=" + Gemm.NR,     // not a number
                ok + "kc=0\nmc=" + Gemm.MR + "\nnc=" + Gemm.NR,               // KC too small (a loop that never ends)
                ok + "kc=256\nmc=-" + Gemm.MR + "\nnc=" + Gemm.NR,            // negative
                ok + "kc=256\nmc=" + (Gemm.MR + 1) + "\nnc=" + Gemm.NR,       // MC not a multiple of MR
                ok + "kc=256\nmc=" + Gemm.MR + "\nnc=" + (Gemm.NR * 100000),  // NC huge: a buffer of gigabytes
                ok + "kc=2147483647\nmc=2147483646\nnc=" + Gemm.NR,           // overflow of MC·KC
                ok + "kc=99999999999999999999\nmc=" + Gemm.MR + "\nnc=" + Gemm.NR,
                "key=another CPU; 8 lanes;\nkc=256\nmc=" + Gemm.MR + "\nnc=" + Gemm.NR,   // written for another machine
                ok + "kc=256\nmc=" + Gemm.MR + "\nnc=" + Gemm.NR + "\n#" + "x".repeat(5000),   // far too large
        };
        for (int i = 0; i < bad.length; i++) {
            Path f = dir.resolve("w" + i);
            Files.writeString(f, bad[i]);
            warnings.clear();
            assertNull(read(f), "case " + i + " was trusted: " + bad[i].substring(0, Math.min(80, bad[i].length())));
            assertEquals(1, warnings.size(), "case " + i + ": one warning, got " + warnings);
            assertTrue(warnings.get(0).contains(f.toString()), "the warning names the file: " + warnings.get(0));
        }
        // a folder where the file should be
        Files.createDirectory(dir.resolve("folder"));
        assertNull(read(dir.resolve("folder")));
    }

    @Test
    void blockingBoundsAndParsing() {
        assertEquals(new GemmTuning.Blocking(256, 2 * Gemm.MR, Gemm.NR), GemmTuning.Blocking.parse(" 256, " + 2 * Gemm.MR + " ," + Gemm.NR));
        var e = assertThrows(IllegalArgumentException.class, () -> new GemmTuning.Blocking(8, Gemm.MR, Gemm.NR));
        assertTrue(e.getMessage().contains("KC=8"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GemmTuning.Blocking.parse("256,64"));
        assertThrows(IllegalArgumentException.class, () -> GemmTuning.Blocking.parse("256,x,64"));
    }

    @Test
    void cacheSizesFromSysAndTheBlockingTheyGive(@TempDir Path dir) throws IOException {
        // Zen 4 as Linux describes it: L1d and L1i 32K, L2 1024K, L3 32768K
        String[][] levels = {{"1", "Data", "32K"}, {"1", "Instruction", "32K"}, {"2", "Unified", "1024K"}, {"3", "Unified", "32768K"}};
        for (int i = 0; i < levels.length; i++) {
            Path idx = Files.createDirectories(dir.resolve("index" + i));
            Files.writeString(idx.resolve("level"), levels[i][0] + "\n");
            Files.writeString(idx.resolve("type"), levels[i][1] + "\n");
            Files.writeString(idx.resolve("size"), levels[i][2] + "\n");
        }
        GemmTuning.Caches c = GemmTuning.Caches.read(dir);
        assertEquals(new GemmTuning.Caches(32 << 10, 1 << 20, 32 << 20), c);
        GemmTuning.Blocking b = GemmTuning.fromCaches(c);
        // MR·KC·4 = L1d (clamped to 1024), KC·NC·4 = L2/2, MC·KC·4 = L3/4 (clamped to 4096), on their steps
        int kc = Math.min(1024, (32 << 10) / (Gemm.MR * 4) / 16 * 16);
        assertEquals(kc, b.kc());
        assertEquals((1 << 19) / (kc * 4) / Gemm.NR * Gemm.NR, b.nc());
        assertEquals(Math.min(4096 / Gemm.MR * Gemm.MR, (8 << 20) / (kc * 4) / Gemm.MR * Gemm.MR), b.mc());
        // KC follows L1d: half of it, half as deep (8 rows: 512; 6 rows: 672)
        assertEquals((16 << 10) / (Gemm.MR * 4) / 16 * 16, GemmTuning.fromCaches(new GemmTuning.Caches(16 << 10, 1 << 20, 32 << 20)).kc());
        // no /sys at all: Zen 4's sizes
        assertEquals(GemmTuning.Caches.FALLBACK, GemmTuning.Caches.read(dir.resolve("missing")));
        // a tiny or absurd cache still gives a blocking inside the bounds
        GemmTuning.fromCaches(new GemmTuning.Caches(1, 1, 1));
        GemmTuning.fromCaches(new GemmTuning.Caches(Long.MAX_VALUE / 4, Long.MAX_VALUE / 4, Long.MAX_VALUE / 4));
    }

    @Test
    void theMachineKeyNamesTheLanes() {
        assertTrue(GemmTuning.machineKey().contains(Gemm.L + " lanes"), GemmTuning.machineKey());
        assertTrue(GemmTuning.machineKey().contains(GemmTuning.LOOPS), GemmTuning.machineKey());
    }
}
