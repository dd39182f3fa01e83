package dev.shears.cpu;

import java.io.IOException;
import java.io.StringReader;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.function.Consumer;

/**
 * The cache blocking of {@link Gemm} on this machine (FFTW's "wisdom", for three numbers).
 *
 * <p>The blocking is chosen once per JVM, the first that applies of:
 * <ol>
 *   <li>the system property {@code shears.gemm.blocking=KC,MC,NC};</li>
 *   <li>the wisdom file that {@code shears tune} ({@link #tune}) wrote for this machine: {@code
 *       ~/.cache/shears/gemm-<hash>.properties}, where the hash is of {@link #machineKey()} (CPU model, vector
 *       lanes, the GEMM's loop nest, the JVM's -XX flags), so a file never carries over to another CPU, to
 *       {@code -XX:UseAVX=2} or to a Gemm whose blocks mean something else.
 *       {@code shears.gemm.wisdom=DIR} moves the folder, {@code shears.gemm.wisdom=off} ignores it;</li>
 *   <li>the cache sizes the OS reports ({@link #fromCaches}): the A micro-panel (MR×KC floats) fills L1d,
 *       the packed B block (KC×NC) half of L2, the A block (MC×KC) a quarter of L3.</li>
 * </ol>
 * A wisdom file that cannot be read, is for another machine key, or holds a value outside {@link Blocking}'s
 * bounds is ignored with a warning on stderr: the file is a cache, never trusted.
 */
public final class GemmTuning {
    private GemmTuning() {}

    /**
     * KC = depth of a packed block (k), MC = rows of op(A) packed per block, NC = columns of op(B) packed per
     * block. Constraints: 16 ≤ KC ≤ 4096; MC a multiple of {@link Gemm#MR} up to 8192; NC a multiple of
     * {@link Gemm#NR} up to 65536 (the packing buffers are MC·KC and NC·KC floats: at most 128 MiB each).
     */
    public record Blocking(int kc, int mc, int nc) {
        public Blocking {
            if (kc < 16 || kc > 4096 || mc < Gemm.MR || mc > 8192 || mc % Gemm.MR != 0
                    || nc < Gemm.NR || nc > 65536 || nc % Gemm.NR != 0)
                throw new IllegalArgumentException("GEMM blocking KC=" + kc + " MC=" + mc + " NC=" + nc
                        + " out of range: need 16 ≤ KC ≤ 4096, MC a multiple of MR=" + Gemm.MR + " up to 8192,"
                        + " NC a multiple of NR=" + Gemm.NR + " up to 65536");
        }

        /** "KC,MC,NC", e.g. "256,512,4096" (the form of {@code shears.gemm.blocking}). */
        public static Blocking parse(String s) {
            String[] p = s.trim().split("\\s*,\\s*");
            if (p.length != 3) throw new IllegalArgumentException("GEMM blocking must be KC,MC,NC, got '" + s + "'");
            try {
                return new Blocking(Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2]));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("GEMM blocking must be three integers KC,MC,NC, got '" + s + "'");
            }
        }

        @Override public String toString() { return kc + "," + mc + "," + nc; }
    }

    /** Data cache sizes in bytes, per core for L1 and L2, shared for L3. */
    public record Caches(long l1d, long l2, long l3) {
        /** Zen 4's sizes, used for any level the OS does not report. */
        static final Caches FALLBACK = new Caches(32 << 10, 1 << 20, 32 << 20);

        /** Reads {@code /sys/devices/system/cpu/cpu0/cache/index*}; a level that is missing keeps its fallback. */
        public static Caches ofThisMachine() { return read(Path.of("/sys/devices/system/cpu/cpu0/cache")); }

        static Caches read(Path dir) {
            long l1 = FALLBACK.l1d, l2 = FALLBACK.l2, l3 = FALLBACK.l3;
            for (int i = 0; i < 8; i++) {
                Path idx = dir.resolve("index" + i);
                try {
                    String type = Files.readString(idx.resolve("type")).trim();
                    int level = Integer.parseInt(Files.readString(idx.resolve("level")).trim());
                    long size = parseSize(Files.readString(idx.resolve("size")).trim());
                    if (type.equals("Instruction") || size <= 0) continue;
                    if (level == 1) l1 = size;
                    else if (level == 2) l2 = size;
                    else if (level == 3) l3 = size;
                } catch (IOException | RuntimeException e) {
                    // no such level (or no /sys at all): keep the fallback
                }
            }
            return new Caches(l1, l2, l3);
        }

        /** "48K", "1024K", "32M" or a plain byte count. */
        static long parseSize(String s) {
            long unit = switch (s.isEmpty() ? ' ' : Character.toUpperCase(s.charAt(s.length() - 1))) {
                case 'K' -> 1L << 10;
                case 'M' -> 1L << 20;
                case 'G' -> 1L << 30;
                default -> 1L;
            };
            return Long.parseLong(unit == 1 ? s : s.substring(0, s.length() - 1)) * unit;
        }

        @Override public String toString() { return "L1d " + (l1d >> 10) + " KiB, L2 " + (l2 >> 10) + " KiB, L3 " + (l3 >> 20) + " MiB"; }
    }

    /**
     * The blocking these cache sizes suggest, for {@link Gemm}'s loops (A micro-panel outside the B micro-panels):
     * MR·KC·4 bytes (the A micro-panel, reused for a whole row of C tiles) = L1d; KC·NC·4 (the packed B block,
     * reread for every A micro-panel) = L2 / 2; MC·KC·4 (the A block, whose rows take turns) = L3 / 4. Each is
     * rounded down to its step and clamped to 64 ≤ KC ≤ 1024, MR ≤ MC ≤ 4096, NR ≤ NC ≤ 16384. KC as deep as
     * L1 allows: C is read and written K/KC times, and each pass over a C tile waits for L3 (the JVM cannot
     * prefetch it). On Zen 4 (32 KiB L1d, 1 MiB L2, 32 MiB L3) that is KC = 1024 for both tiles (8×32 fills L1d,
     * 6×16 three quarters of it), MC = 2048, NC = 128; KC = 1024 measured better than 256 (the B-micro-panel-
     * in-L1 rule of BLIS) and than 512.
     */
    public static Blocking fromCaches(Caches c) {
        int kc = clamp(roundDown(c.l1d() / (Gemm.MR * 4L), 16), 64, 1024);
        return withKc(c, kc, c.l2() / 2);
    }

    /** KC as given, NC for a B block of {@code bBytes}, MC for an A block of a quarter of L3. */
    private static Blocking withKc(Caches c, int kc, long bBytes) {
        int mc = clamp(roundDown(c.l3() / 4 / (kc * 4L), Gemm.MR), Gemm.MR, roundDown(4096, Gemm.MR));
        int nc = clamp(roundDown(bBytes / (kc * 4L), Gemm.NR), Gemm.NR, roundDown(16384, Gemm.NR));
        return new Blocking(kc, mc, nc);
    }

    private static int roundDown(long x, int step) { return (int) Math.min(Integer.MAX_VALUE, x / step * step); }

    private static int clamp(int x, int lo, int hi) { return Math.max(lo, Math.min(hi, x)); }

    /**
     * Which loop nest of {@link Gemm} the blocking is for: a wisdom file written for another (where MC and NC
     * sized other blocks) is not read. Change it whenever the meaning of KC, MC or NC changes.
     */
    static final String LOOPS = "loops A-outer";

    /**
     * What the wisdom is keyed by: the CPU, the vector width the kernels compile to, the GEMM's loop nest
     * ({@link #LOOPS}) and the JVM's -XX flags.
     */
    public static String machineKey() {
        String cpu = "unknown cpu";
        try {
            String family = null, model = null, name = null;
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                int colon = line.indexOf(':');
                if (colon < 0) continue;
                String k = line.substring(0, colon).trim(), v = line.substring(colon + 1).trim();
                if (k.equals("model name") && name == null) name = v;
                else if (k.equals("cpu family") && family == null) family = v;
                else if (k.equals("model") && model == null) model = v;
            }
            if (name != null) cpu = name + " (family " + family + ", model " + model + ")";
        } catch (IOException | RuntimeException e) {
            cpu = System.getProperty("os.arch") + " " + Runtime.getRuntime().availableProcessors() + " cpus";
        }
        List<String> xx = new ArrayList<>();   // UseAVX, UseSuperWord, ... change what the kernels compile to
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments())
            if (arg.startsWith("-XX:") && !arg.startsWith("-XX:StartFlightRecording")) xx.add(arg);
        xx.sort(null);
        return cpu + "; " + Gemm.L + " lanes; " + LOOPS + "; " + String.join(" ", xx);
    }

    /** The wisdom file for this machine key, or null when {@code shears.gemm.wisdom=off}. */
    public static Path wisdomFile() {
        String dir = System.getProperty("shears.gemm.wisdom");
        if ("off".equals(dir)) return null;
        Path folder = dir != null ? Path.of(dir) : Path.of(System.getProperty("user.home"), ".cache", "shears");
        return folder.resolve("gemm-" + hash(machineKey()) + ".properties");
    }

    private static String hash(String s) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The blocking {@link Gemm} uses in this JVM, chosen when it was first used. */
    public static Blocking inUse() { return Gemm.BLOCKING; }

    /** Chooses the blocking in the order of the class comment; {@code warn} hears why a source was skipped. */
    static Blocking chosen(Consumer<String> warn) {
        String prop = System.getProperty("shears.gemm.blocking");
        if (prop != null) {
            try {
                return Blocking.parse(prop);
            } catch (IllegalArgumentException e) {
                warn.accept("ignoring -Dshears.gemm.blocking: " + e.getMessage());
            }
        }
        Path file = wisdomFile();
        if (file != null) {
            Blocking w = readWisdom(file, machineKey(), warn);
            if (w != null) return w;
        }
        return fromCaches(Caches.ofThisMachine());
    }

    /**
     * The blocking stored in {@code file} for {@code key}, or null: when there is no file (silently), or when it
     * is unreadable, too large, for another key, or out of range (each with a warning naming the file).
     */
    static Blocking readWisdom(Path file, String key, Consumer<String> warn) {
        if (!Files.isRegularFile(file)) return null;
        try {
            if (Files.size(file) > 4096) {
                warn.accept("ignoring GEMM wisdom " + file + ": " + Files.size(file) + " bytes, more than a wisdom file holds");
                return null;
            }
            Properties p = new Properties();
            p.load(new StringReader(Files.readString(file, StandardCharsets.UTF_8)));
            if (!key.equals(p.getProperty("key"))) {
                warn.accept("ignoring GEMM wisdom " + file + ": written for '" + p.getProperty("key") + "', this is '" + key + "'");
                return null;
            }
            return new Blocking(Integer.parseInt(p.getProperty("kc", "").trim()), Integer.parseInt(p.getProperty("mc", "").trim()),
                    Integer.parseInt(p.getProperty("nc", "").trim()));
        } catch (IOException | IllegalArgumentException e) {   // NumberFormatException is an IllegalArgumentException
            warn.accept("ignoring GEMM wisdom " + file + ": " + e.getMessage());
            return null;
        }
    }

    /** Writes the wisdom for {@code key} atomically (a temporary file beside it, then a rename). */
    static void writeWisdom(Path file, String key, Blocking b, String note) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        String text = "# Shears GEMM blocking for this machine, written by `shears tune`" + (note.isEmpty() ? "" : " (" + note + ")")
                + ".\n# Delete this file to go back to the blocking derived from the cache sizes.\n"
                + "key=" + key.replace("\\", "\\\\") + "\nkc=" + b.kc() + "\nmc=" + b.mc() + "\nnc=" + b.nc() + "\n";
        Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), file.getFileName().toString(), ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** One candidate's result: its blocking and single-thread GFLOPS at the two tuning sizes. */
    public record Trial(Blocking blocking, double gflops512, double gflops1024) {
        /** Geometric mean of the two sizes: the score {@link #tune} maximises. */
        public double score() { return Math.sqrt(gflops512 * gflops1024); }
    }

    /** What {@link #tune} found: every trial (best first), the winner, and where it was written (null: not written). */
    public record Result(List<Trial> trials, Blocking best, Blocking fromCaches, Path file) {}

    /**
     * Times candidate blockings around {@link #fromCaches} (KC from 256 to 1024, NC for half and a quarter of L2)
     * on one thread at 512³ and 1024³, by the shortest thread-CPU time of a few calls (robust to other processes
     * taking the core), and writes the best to {@code file} unless it is null. Takes about a second.
     */
    public static Result tune(Path file) throws IOException {
        Caches caches = Caches.ofThisMachine();
        Blocking base = fromCaches(caches);
        List<Blocking> candidates = new ArrayList<>();
        for (int kc : new int[]{256, 384, 512, 768, 1024})
            for (long bBytes : new long[]{caches.l2() / 2, caches.l2() / 4}) {
                Blocking b = withKc(caches, kc, bBytes);
                if (!candidates.contains(b)) candidates.add(b);
            }
        if (!candidates.contains(base)) candidates.add(base);
        float[] a = new float[1024 * 1024], bm = new float[1024 * 1024], c = new float[1024 * 1024];
        java.util.Random rnd = new java.util.Random(1);
        for (int i = 0; i < a.length; i++) { a[i] = rnd.nextFloat() - 0.5f; bm[i] = rnd.nextFloat() - 0.5f; }
        for (int i = 0; i < 40; i++) time(base, 128, a, bm, c, 1);   // the JIT compiles the kernel first
        List<Trial> trials = new ArrayList<>();
        for (Blocking b : candidates)
            trials.add(new Trial(b, 2e-9 * 512 * 512 * 512 / time(b, 512, a, bm, c, 5), 2e-9 * 1024 * 1024 * 1024 / time(b, 1024, a, bm, c, 2)));
        trials.sort((x, y) -> Double.compare(y.score(), x.score()));
        Blocking best = trials.get(0).blocking();
        if (file != null) writeWisdom(file, machineKey(), best, String.format("%.1f GFLOPS geomean of 512³ and 1024³, %s", trials.get(0).score(), caches));
        return new Result(trials, best, base, file);
    }

    /** The shortest thread-CPU time (seconds) of {@code reps} single-thread products n×n×n with blocking b. */
    private static double time(Blocking b, int n, float[] a, float[] bm, float[] c, int reps) {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long best = Long.MAX_VALUE;
        for (int r = 0; r < reps; r++) {
            long t0 = mx.getCurrentThreadCpuTime();
            Gemm.sgemm(b, null, false, false, n, n, n, 1f, a, 0, n, bm, 0, n, 0f, c, 0, n);
            best = Math.min(best, mx.getCurrentThreadCpuTime() - t0);
        }
        return Math.max(best, 1) * 1e-9;
    }
}
