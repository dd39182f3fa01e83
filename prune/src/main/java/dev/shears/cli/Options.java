package dev.shears.cli;

import dev.shears.cpu.Parallel;
import dev.shears.data.DataLoader;
import dev.shears.data.Dataset;
import dev.shears.data.Datasets;
import dev.shears.data.Mnist;
import dev.shears.nn.Module;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import dev.shears.nn.io.Architecture;
import dev.shears.nn.io.Checkpoints;
import dev.shears.onnx.OnnxExporter;
import dev.shears.onnx.OnnxImporter;
import dev.shears.onnx.OnnxModel;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The options that several subcommands share, one picocli mixin per concern, so that each command declares
 * exactly what it honours: an option a command does not take is refused ("Unknown option", exit 2), never
 * accepted and ignored. Values are checked while parsing (an option's setter throws a usage error, exit 2),
 * before any work starts.
 *
 * <pre>
 *            Output Compute Data Model Out Batch Seed
 * train        ✓      ✓      ✓    ✓    ✓    ✓     ✓
 * finetune     ✓      ✓      ✓    ✓    ✓    ✓     ✓
 * eval         ✓      ✓      ✓    ✓         ✓
 * bench        ✓      ✓      ✓    ✓         ✓
 * prune        ✓      ✓      ✓    ✓    ✓          (its own --seed, for reconstruct)
 * demo         ✓      ✓      ✓              ✓     ✓   (its own --out, a directory)
 * info         ✓      ✓           ✓
 * devices      ✓
 * </pre>
 * prune and demo also share the budget options: {@link Target} (a group nested in their choice of cut) and {@link LatencyBatch}.
 */
final class Options {
    private Options() {}

    /** {@code --json} and {@code -q}: where results and logs go. Every command has them, through {@link ShearsCommand}. */
    static final class Output {
        @Option(names = "--json", description = "Print the results as one JSON object on stdout; logs and progress stay on stderr.")
        boolean json;

        @Option(names = {"-q", "--quiet"}, description = "No progress bars or logs on stderr.")
        boolean quiet;
    }

    /** {@code --device} and {@code --threads}: what computes. Every command that computes, through {@link BackendCommand}. */
    static final class Compute {
        @Spec(Spec.Target.MIXEE) CommandSpec command;

        @Option(names = "--device", paramLabel = "NAME", defaultValue = "auto",
                description = "Backend: cpu (SIMD), reference (scalar, slow), opencl or opencl:PLATFORM:DEVICE; "
                        + "default: the fastest available.")
        String device;

        Integer threads;

        @Option(names = "--threads", paramLabel = "N",
                description = "Worker threads of the CPU backend (default: the number of cores).")
        void threads(Integer n) {
            if (n != null && (n < 1 || n > Parallel.MAX_THREADS))
                throw new ParameterException(command.commandLine(), "--threads must be between 1 and " + Parallel.MAX_THREADS + ", got " + n);
            threads = n;
        }
    }

    /** {@code --data} and {@code --limit}: the dataset. */
    static final class Data {
        @Option(names = "--data", paramLabel = "DIR|digits|mnist", defaultValue = "digits",
                description = "Dataset: a directory with the four MNIST-format IDX files (e.g. /usr/share/datasets/fashion-mnist), "
                        + "'digits' for the 10,000 embedded MNIST digits (default), or 'mnist' to download MNIST "
                        + "into ~/.cache/shears/mnist (MD5-checked).")
        String name;

        @Spec(Spec.Target.MIXEE) CommandSpec command;

        Integer limit;

        @Option(names = "--limit", paramLabel = "N",
                description = "Use at most N training and N test samples (quick runs and smoke tests).")
        void limit(Integer n) {
            if (n != null && n < 1) throw new ParameterException(command.commandLine(), "--limit must be at least 1, got " + n);
            limit = n;
        }

        /** The dataset named by {@code --data}, cut to {@code --limit} samples per split; bad values are usage errors of {@code c}. */
        Mnist load(ShearsCommand c) throws IOException {
            long start = System.nanoTime();
            Mnist data = switch (name) {
                case "digits" -> Datasets.embeddedDigits();
                case "mnist" -> Datasets.mnist(cacheDir().resolve("mnist"));
                default -> {
                    Path dir = Path.of(name);
                    if (!Files.isDirectory(dir))
                        throw c.usageError("--data " + name + ": not a directory, and not 'digits' or 'mnist'");
                    yield Datasets.load(dir);
                }
            };
            if (limit != null) data = new Mnist(data.train().first(limit), data.test().first(limit));
            c.log("data: %s (%,d training, %,d test images of %dx%d) in %.1f s", name, data.train().size(), data.test().size(),
                    data.train().rows(), data.train().cols(), (System.nanoTime() - start) / 1e9);
            return data;
        }

        private static Path cacheDir() {
            String xdg = System.getenv("XDG_CACHE_HOME");
            return (xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache")).resolve("shears");
        }
    }

    /**
     * {@code --model}: a model to start from or evaluate, the one place where a command loads a model: an ONNX
     * file ({@code .onnx}, whose input gives {@link #sampleShape}), or a checkpoint (a saved graph model, or a
     * SimpleCNN of the file's widths, so pruned models load).
     */
    static final class Model {
        @Option(names = "--model", paramLabel = "FILE",
                description = "The model to start from or evaluate: a checkpoint (.safetensors, PyTorch names; SimpleCNN of any widths "
                        + "or a saved graph model) or an ONNX file (.onnx).")
        Path file;

        /** One sample's shape [C, H, W] that the model takes: an ONNX file's input once loaded, else SimpleCNN's. */
        int[] sampleShape = {1, 28, 28};

        /** The model of {@code --model}, or {@code fresh} when none is given. */
        Module loadOr(ShearsCommand c, Supplier<? extends Module> fresh) throws IOException {
            if (file == null) return fresh.get();
            Module model;
            if (isOnnx(file)) {
                OnnxModel onnx = OnnxModel.read(file);
                model = OnnxImporter.build(onnx);
                sampleShape = onnx.sampleShape();
            } else {
                model = Checkpoints.loadModel(file);
            }
            c.log("model: %s (%,d parameters, input %s)", file, model.parameterCount(), Arrays.toString(sampleShape));
            return model;
        }

        /** The model of {@code --model}; without one, a usage error of {@code c}. */
        Module require(ShearsCommand c) throws IOException {
            if (file == null) throw c.usageError("--model FILE is required");
            return loadOr(c, null);
        }

        /** Refuses data whose images are not the model's input ({@link #sampleShape}), naming both shapes. */
        void requireFits(Dataset images, Data data) {
            int[] shape = {1, images.rows(), images.cols()};
            if (!Arrays.equals(shape, sampleShape))
                throw new IllegalArgumentException("--data " + data.name + " has images of shape " + Arrays.toString(shape)
                        + ", but the model " + (file == null ? "" : file + " ") + "takes inputs of shape " + Arrays.toString(sampleShape));
        }

        /** The file's name for reports, or {@code fresh} without one. */
        String describe(String fresh) { return file == null ? fresh : file.toString(); }
    }

    static boolean isOnnx(Path file) {
        return file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".onnx");
    }

    /** {@code --out FILE}, checked while parsing: its directory must exist, so that nothing runs for a file that cannot be written. */
    static final class Out {
        @Spec(Spec.Target.MIXEE) CommandSpec command;

        Path file;

        @Option(names = "--out", paramLabel = "FILE",
                description = "Where to save the resulting model: a checkpoint (.safetensors, written atomically), or ONNX for a .onnx name.")
        void file(Path file) {
            Path dir = file == null ? null : file.toAbsolutePath().getParent();
            if (dir != null && !Files.isDirectory(dir))
                throw new ParameterException(command.commandLine(), "--out " + file + ": directory " + dir
                        + (Files.exists(dir) ? " is not a directory" : " does not exist"));
            this.file = file;
        }

        /** The file of {@code --out}; without one, a usage error of {@code c}. */
        Path require(ShearsCommand c) {
            if (file == null) throw c.usageError("--out FILE is required");
            return file;
        }

        /**
         * Saves {@code model} to {@code --out}: ONNX (taking samples of {@code sampleShape}) for a {@code .onnx}
         * name, else a safetensors checkpoint with {@code metadata}. A chain that is not SimpleCNN (one imported
         * from ONNX) gets its architecture in the metadata too, as a Graph does, so that
         * {@link Checkpoints#loadModel} can rebuild it.
         */
        void save(Module model, int[] sampleShape, Map<String, String> metadata) throws IOException {
            if (isOnnx(file)) {
                OnnxExporter.write(model, file, sampleShape);
                return;
            }
            Map<String, String> meta = new LinkedHashMap<>(metadata);
            if (model instanceof Sequential && !model.stateDict().keySet().equals(SimpleCNN.create(1, 1, 1, 0).stateDict().keySet()))
                meta.put(Architecture.KEY, Architecture.toJson(model));
            Checkpoints.save(model, file, meta);
        }
    }

    /** {@code --batch-size}: the mini-batch of training, or of evaluation where nothing trains. */
    static final class Batch {
        @Spec(Spec.Target.MIXEE) CommandSpec command;

        int size;

        @Option(names = "--batch-size", paramLabel = "N", defaultValue = "" + DataLoader.DEFAULT_BATCH_SIZE,
                description = "Mini-batch size (default: ${DEFAULT-VALUE}).")
        void size(int n) {
            if (n < 1) throw new ParameterException(command.commandLine(), "--batch-size must be at least 1, got " + n);
            size = n;
        }
    }

    /**
     * {@code --target-flops F | --target-params F | --target-latency MS} (prune, demo): a budget for the search of
     * {@link BudgetPrune}. Not a mixin but an exclusive group, nested in each command's exclusive choice of cut
     * ({@code --threshold | --ratio | a target}); {@link LatencyBatch} goes with it.
     */
    static final class Target {
        @Option(names = "--target-flops", paramLabel = "F", required = true,
                description = "Budget: keep at most this fraction of the FLOPs (0 < F <= 1); per-layer widths chosen by a greedy search on a validation split (NetAdapt-style), compared with uniform and global ratios at the same budget.")
        Double flops;
        @Option(names = "--target-params", paramLabel = "F", required = true, description = "Budget: keep at most this fraction of the parameters (0 < F <= 1).")
        Double params;
        @Option(names = "--target-latency", paramLabel = "MS|P%", required = true,
                description = "Budget: at most MS milliseconds per batch of --latency-batch images, measured on this machine, or P%% of the unpruned model's latency measured in the same run (e.g. 50%%); the final model is measured again.")
        String latency;
    }

    /** {@code --latency-batch}: the batch a {@code --target-latency} is measured at. */
    static final class LatencyBatch {
        @Option(names = "--latency-batch", paramLabel = "B", description = "With --target-latency: the batch size the latency is measured at (default: 64).")
        Integer value;
    }

    /** {@code --seed}: initial weights and shuffling. */
    static final class Seed {
        @Option(names = "--seed", paramLabel = "N", defaultValue = "0",
                description = "Seed for the initial weights and the shuffling (default: ${DEFAULT-VALUE}).")
        long value;

        /** A fresh SimpleCNN from this seed. */
        Sequential freshModel() { return SimpleCNN.create(value); }
    }
}
