package dev.shears.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * ONNX Runtime's inference rate on an ONNX file, timed the way {@code shears bench} times its own: untimed
 * passes for {@code warmup} seconds, then {@code runs} timed runs of {@code steps} batches each; the median
 * samples per second. The anchor of {@code benchmarks/compare.sh}. ONNX Runtime is given {@code threads}
 * intra-op threads and all its graph optimisations (it folds BatchNorm and fuses conv with ReLU itself).
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar dev.shears.bench.OrtInference FILE.onnx BATCH THREADS [warmup runs steps]</pre>
 * Prints one JSON object on stdout, as {@code shears bench --json} prints its "inference" entry.
 */
public final class OrtInference {
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: OrtInference FILE.onnx BATCH THREADS [WARMUP_SECONDS RUNS STEPS]");
            System.exit(2);
        }
        String file = args[0];
        int batch = Integer.parseInt(args[1]), threads = Integer.parseInt(args[2]);
        double warmup = args.length > 3 ? Double.parseDouble(args[3]) : 5;
        int runs = args.length > 4 ? Integer.parseInt(args[4]) : 7;
        int steps = args.length > 5 ? Integer.parseInt(args[5]) : 10;

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            try (OrtSession session = env.createSession(file, options)) {
                String input = session.getInputNames().iterator().next();
                float[] images = new float[batch * 28 * 28];
                Random random = new Random(0);
                for (int i = 0; i < images.length; i++) images[i] = (float) random.nextGaussian();
                try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(images), new long[]{batch, 1, 28, 28})) {
                    Map<String, OnnxTensor> feed = Map.of(input, x);
                    long end = System.nanoTime() + (long) (warmup * 1e9);
                    while (System.nanoTime() < end) pass(session, feed);
                    List<Double> rates = new ArrayList<>();
                    for (int r = 0; r < runs; r++) {
                        long start = System.nanoTime();
                        for (int s = 0; s < steps; s++) pass(session, feed);
                        rates.add(batch * steps / ((System.nanoTime() - start) / 1e9));
                    }
                    List<Double> sorted = new ArrayList<>(rates);
                    Collections.sort(sorted);
                    System.out.printf("{\"framework\": \"onnxruntime %s\", \"threads\": %d, \"batch_size\": %d, \"samples_per_s\": %.1f, \"runs_samples_per_s\": %s}%n",
                            env.getVersion(), threads, batch, sorted.get(runs / 2), rates);
                }
            }
        }
    }

    /** One forward pass; the logits are read out, as a caller would. */
    private static void pass(OrtSession session, Map<String, OnnxTensor> feed) throws Exception {
        try (OrtSession.Result result = session.run(feed)) {
            if (((float[][]) result.get(0).getValue()).length == 0) throw new IllegalStateException("no logits");
        }
    }
}
