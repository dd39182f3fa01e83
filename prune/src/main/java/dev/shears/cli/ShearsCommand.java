package dev.shears.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shears.core.Backend;
import dev.shears.core.Backends;
import dev.shears.cpu.Parallel;
import dev.shears.data.Datasets;
import dev.shears.data.Mnist;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import dev.shears.nn.io.Checkpoints;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * What every subcommand shares: the {@link CommonOptions}, choosing the backend and thread count before any
 * tensor exists, loading data and models, and the two output channels — results (text or one JSON object)
 * on stdout, logs and progress on stderr.
 *
 * <p>A subcommand implements {@link #run()} and returns its exit code; it reports bad option values by
 * throwing {@link #usageError} (exit 2, with usage) and failures by throwing any exception (exit 1, one line).
 */
public abstract class ShearsCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Mixin protected CommonOptions common;
    @Spec protected CommandSpec spec;

    /** The backend of this run, chosen from {@code --device} before {@link #run()}. */
    protected Backend backend;

    protected abstract int run() throws Exception;

    @Override
    public final Integer call() throws Exception {
        checkCommonOptions();
        // read by the CPU backend when it starts its worker pool, so it must be set before the first tensor
        if (common.threads != null) System.setProperty("shears.threads", String.valueOf(common.threads));
        Backend previous = Backends.getDefault();
        backend = common.device.equals("auto") ? previous : Backends.byName(common.device);
        Backends.setDefault(backend);   // models and tensors built by this command go to the chosen backend
        try {
            return run();
        } catch (OutOfMemoryError e) {
            // an Error would escape picocli's handler as a stack trace: say what ran out and what to change
            throw new IllegalStateException(String.format(Locale.ROOT, "out of memory (%s; the JVM's heap is at most %.1f GiB): "
                    + "use a smaller --batch-size (or --infer-batch-size, --limit), or give the JVM more memory, "
                    + "e.g. SHEARS_JAVA_OPTS=-Xmx16g", e.getMessage(), Runtime.getRuntime().maxMemory() / (double) (1L << 30)), e);
        } finally {
            Backends.setDefault(previous);
        }
    }

    /** The {@link CommonOptions} that picocli's types cannot rule out; a bad one is a {@link #usageError}. */
    void checkCommonOptions() {
        if (common.batchSize < 1) throw usageError("--batch-size must be at least 1, got " + common.batchSize);
        if (common.threads != null && (common.threads < 1 || common.threads > Parallel.MAX_THREADS))
            throw usageError("--threads must be between 1 and " + Parallel.MAX_THREADS + ", got " + common.threads);
        if (common.limit != null && common.limit < 1) throw usageError("--limit must be at least 1, got " + common.limit);
        // before the work, not after it: a training run of hours must not end in a save that cannot happen
        Path outDir = common.out == null || !outIsAFile() ? null : common.out.toAbsolutePath().getParent();
        if (outDir != null && !Files.isDirectory(outDir))
            throw usageError("--out " + common.out + ": directory " + outDir + " does not exist");
    }

    /** Whether {@code --out} names a file (whose directory must exist), not a directory the command creates. */
    protected boolean outIsAFile() {
        return true;
    }

    protected ParameterException usageError(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    // ---- inputs ----

    /** The dataset named by {@code --data}, cut to {@code --limit} samples per split. */
    protected Mnist loadData() throws IOException {
        long start = System.nanoTime();
        Mnist data = switch (common.data) {
            case "digits" -> Datasets.embeddedDigits();
            case "mnist" -> Datasets.mnist(cacheDir().resolve("mnist"));
            default -> {
                Path dir = Path.of(common.data);
                if (!Files.isDirectory(dir))
                    throw usageError("--data " + common.data + ": not a directory, and not 'digits' or 'mnist'");
                yield Datasets.load(dir);
            }
        };
        if (common.limit != null) data = new Mnist(data.train().first(common.limit), data.test().first(common.limit));
        log("data: %s (%,d training, %,d test images of %dx%d) in %.1f s", common.data, data.train().size(), data.test().size(),
                data.train().rows(), data.train().cols(), (System.nanoTime() - start) / 1e9);
        return data;
    }

    /** The model of {@code --model} (its widths read from the file), or a fresh SimpleCNN from {@code --seed}. */
    protected Sequential loadOrCreateModel() throws IOException {
        if (common.model == null) return SimpleCNN.create(common.seed);
        Sequential model = Checkpoints.loadSimpleCNN(common.model);
        log("model: %s (%,d parameters)", common.model, model.parameterCount());
        return model;
    }

    protected Sequential requireModel() throws IOException {
        if (common.model == null) throw usageError("--model FILE is required");
        return loadOrCreateModel();
    }

    private static Path cacheDir() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        return (xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache")).resolve("shears");
    }

    // ---- outputs ----

    /** A line of log on stderr (nothing with --quiet). */
    protected void log(String format, Object... args) {
        if (common.quiet) return;
        PrintWriter err = spec.commandLine().getErr();
        err.println(String.format(format, args));
        err.flush();
    }

    /** A line of human-readable results on stdout; nothing with --json, where stdout holds only the JSON object. */
    protected void say(String format, Object... args) {
        if (common.json) return;
        PrintWriter out = spec.commandLine().getOut();
        out.println(String.format(format, args));
        out.flush();
    }

    /** With --json, prints {@code result} (maps, lists, records of numbers and strings) as the one JSON object on stdout. */
    protected void emitJson(Object result) throws JsonProcessingException {
        if (!common.json) return;
        PrintWriter out = spec.commandLine().getOut();
        out.println(JSON.writeValueAsString(result));
        out.flush();
    }

    protected ConsoleProgress progress(String task, int steps) {
        return common.quiet ? ConsoleProgress.none() : ConsoleProgress.start(task, steps);
    }

    protected String deviceName() {
        return backend.name();
    }

    /** The worker threads asked for (--threads, or -Dshears.threads), else the number of cores. */
    protected int threads() {
        return common.threads != null ? common.threads : Integer.getInteger("shears.threads", Runtime.getRuntime().availableProcessors());
    }
}
