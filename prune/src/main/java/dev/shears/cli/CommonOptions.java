package dev.shears.cli;

import dev.shears.data.DataLoader;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** Options every subcommand has (a picocli mixin, see {@link ShearsCommand}). */
public final class CommonOptions {

    @Option(names = "--data", paramLabel = "DIR|digits|mnist", defaultValue = "digits",
            description = "Dataset: a directory with the four MNIST-format IDX files (e.g. /usr/share/datasets/fashion-mnist), "
                    + "'digits' for the 10,000 embedded MNIST digits (default), or 'mnist' to download MNIST "
                    + "into ~/.cache/shears/mnist (MD5-checked).")
    String data;

    @Option(names = "--model", paramLabel = "FILE", description = "A checkpoint (.safetensors, PyTorch names) or an ONNX model (.onnx, opsets 11-17) to start from or evaluate.")
    Path model;

    @Option(names = "--out", paramLabel = "FILE", description = "Where to save the resulting model: .safetensors, or .onnx for ONNX (opset 14, any batch size).")
    Path out;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "" + DataLoader.DEFAULT_BATCH_SIZE,
            description = "Mini-batch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0",
            description = "Seed for the initial weights and the shuffling (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--threads", paramLabel = "N",
            description = "Worker threads of the CPU backend (default: the number of cores).")
    Integer threads;

    @Option(names = "--device", paramLabel = "NAME", defaultValue = "auto",
            description = "Backend: cpu (SIMD), reference (scalar, slow), opencl or opencl:PLATFORM:DEVICE; "
                    + "default: the fastest available.")
    String device;

    @Option(names = "--limit", paramLabel = "N",
            description = "Use at most N training and N test samples (quick runs and smoke tests).")
    Integer limit;

    @Option(names = "--json", description = "Print the results as one JSON object on stdout; logs and progress stay on stderr.")
    boolean json;

    @Option(names = {"-q", "--quiet"}, description = "No progress bars or logs on stderr.")
    boolean quiet;
}
