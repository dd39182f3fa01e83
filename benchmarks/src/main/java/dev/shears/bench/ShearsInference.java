package dev.shears.bench;

import dev.shears.core.Backend;
import dev.shears.cpu.CpuBackend;
import dev.shears.nn.Module;
import dev.shears.nn.Predictor;
import dev.shears.onnx.OnnxImporter;
import dev.shears.onnx.OnnxModel;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Shears' inference rate on an ONNX file, {@link OrtInference}'s twin: the file imported
 * ({@link OnnxImporter}) and compiled once by {@link Predictor} for {@code batch} examples on a CPU backend
 * of {@code threads} threads, then timed exactly as OrtInference times ONNX Runtime (untimed passes for
 * {@code warmup} seconds, {@code runs} timed runs of {@code steps} batches, the same random images, the
 * logits copied out every pass); the median samples per second.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar dev.shears.bench.ShearsInference FILE.onnx BATCH THREADS [warmup runs steps [profile]]</pre>
 * Prints one JSON object on stdout, with OrtInference's fields and the compiled plan; with {@code profile},
 * also the median time of each step of the plan on stderr ({@link Predictor#stepMicros}).
 */
public final class ShearsInference {
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: ShearsInference FILE.onnx BATCH THREADS [WARMUP_SECONDS RUNS STEPS]");
            System.exit(2);
        }
        Path file = Path.of(args[0]);
        int batch = Integer.parseInt(args[1]), threads = Integer.parseInt(args[2]);
        double warmup = args.length > 3 ? Double.parseDouble(args[3]) : 5;
        int runs = args.length > 4 ? Integer.parseInt(args[4]) : 7;
        int steps = args.length > 5 ? Integer.parseInt(args[5]) : 10;

        Backend cpu = new CpuBackend(true, threads);
        int[] example = OnnxModel.read(file).sampleShape();
        Module model = OnnxImporter.read(file);
        model.to(cpu);
        try (Predictor predictor = Predictor.of(model, batch, example)) {
            int size = 1;
            for (int d : example) size *= d;
            float[] images = new float[batch * size], logits = new float[batch * predictor.outputSize()];
            Random random = new Random(0);
            for (int i = 0; i < images.length; i++) images[i] = (float) random.nextGaussian();
            long end = System.nanoTime() + (long) (warmup * 1e9);
            while (System.nanoTime() < end) predictor.predict(images, batch, logits);
            List<Double> rates = new ArrayList<>();
            for (int r = 0; r < runs; r++) {
                long start = System.nanoTime();
                for (int s = 0; s < steps; s++) predictor.predict(images, batch, logits);
                rates.add(batch * steps / ((System.nanoTime() - start) / 1e9));
            }
            List<Double> sorted = new ArrayList<>(rates);
            Collections.sort(sorted);
            if (args.length > 6 && args[6].equals("profile"))   // where the time goes, on stderr
                predictor.stepMicros(images, batch, Math.max(3, runs * steps)).forEach((step, us) ->
                        System.err.printf("%-60s %10.1f µs%n", step, us));
            System.out.printf("{\"framework\": \"shears\", \"threads\": %d, \"batch_size\": %d, \"samples_per_s\": %.1f, \"runs_samples_per_s\": %s, \"plan\": \"%s\"}%n",
                    threads, batch, sorted.get(runs / 2), rates, predictor.toString().replace("\"", "'"));
        }
    }
}
