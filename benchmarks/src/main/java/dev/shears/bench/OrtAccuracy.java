package dev.shears.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.shears.core.Tensor;
import dev.shears.data.Dataset;
import dev.shears.data.Idx;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * ONNX Runtime's test accuracy of an ONNX file on an MNIST-format test set (t10k-*-idx*-ubyte.gz), normalised
 * as Shears does ((x / 255 − 0.5) / 0.5, by {@link Dataset#fromIdx}): the independent check that a file Shears
 * wrote (a pruned model, say) scores in another runtime exactly what {@code shears eval} reports.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar dev.shears.bench.OrtAccuracy FILE.onnx DATA_DIR</pre>
 * Prints one JSON object: file, images, correct, accuracy.
 */
public final class OrtAccuracy {
    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: OrtAccuracy FILE.onnx DATA_DIR");
            System.exit(2);
        }
        Path dir = Path.of(args[1]);
        Dataset test = Dataset.fromIdx(Idx.readImages(dir.resolve("t10k-images-idx3-ubyte.gz")),
                Idx.readLabels(dir.resolve("t10k-labels-idx1-ubyte.gz")));
        int n = test.size(), pixels = test.imageSize(), batch = 500, correct = 0;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(args[0], new OrtSession.SessionOptions())) {
            String input = session.getInputNames().iterator().next();
            for (int i = 0; i < n; i += batch) {
                int b = Math.min(batch, n - i);
                float[] x = Arrays.copyOfRange(test.images(), i * pixels, (i + b) * pixels);
                try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[]{b, 1, test.rows(), test.cols()});
                     OrtSession.Result out = session.run(Map.of(input, in))) {
                    float[] logits = ((OnnxTensor) out.get(0)).getFloatBuffer().array();
                    int[] predicted = Tensor.of(logits, b, logits.length / b).argmax();
                    for (int j = 0; j < b; j++) if (predicted[j] == test.labels()[i + j]) correct++;
                }
            }
        }
        System.out.printf("{\"file\":\"%s\",\"images\":%d,\"correct\":%d,\"accuracy\":%.4f}%n", args[0], n, correct, (double) correct / n);
    }
}
