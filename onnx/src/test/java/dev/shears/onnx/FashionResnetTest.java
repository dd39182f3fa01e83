package dev.shears.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.shears.core.Tensor;
import dev.shears.data.Dataset;
import dev.shears.data.Idx;
import dev.shears.nn.Module;
import dev.shears.nn.io.SafeTensors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The accuracy target: the PyTorch-trained ResNet-style fixtures (resnet: BatchNorm folded into the convs by the
 * exporter; resnet_bn: wider, BatchNorm kept as nodes), imported, give PyTorch's logits within 1e-4
 * on the Fashion-MNIST test images, hence PyTorch's predictions. Skipped where the dataset is not installed
 * (Debian's package puts it in /usr/share/datasets/fashion-mnist). The first 1,000 images by default, to keep
 * the suite short; {@code -Dshears.fashion.images=10000} checks the whole test set.
 */
class FashionResnetTest {
    static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");

    @ParameterizedTest
    @ValueSource(strings = {"resnet", "resnet_bn"})
    void shearsMatchesPyTorchOnTheWholeTestSet(String name) throws IOException {
        assumeTrue(Files.isDirectory(FASHION), FASHION + " is not installed");
        // the test split only (reading the 60,000 training images would double the time)
        Dataset test = Dataset.fromIdx(Idx.readImages(FASHION.resolve("t10k-images-idx3-ubyte.gz")),
                Idx.readLabels(FASHION.resolve("t10k-labels-idx1-ubyte.gz")));
        float[] pytorch = SafeTensors.read(Fixtures.resource(name + ".test_logits.safetensors")).tensors().get("logits").data();
        Module model = OnnxImporter.read(Fixtures.resource(name + ".onnx"));
        int n = Math.min(test.size(), Integer.getInteger("shears.fashion.images", 1000)), pixels = test.imageSize(), batch = 500;
        float[] shears = new float[n * 10];
        for (int i = 0; i < n; i += batch) {
            int b = Math.min(batch, n - i);
            Tensor x = Tensor.of(Arrays.copyOfRange(test.images(), i * pixels, (i + b) * pixels), b, 1, test.rows(), test.cols());
            System.arraycopy(Fixtures.logits(model, x), 0, shears, i * 10, b * 10);
        }
        pytorch = Arrays.copyOf(pytorch, n * 10);
        Fixtures.assertClose(pytorch, shears, name + " on " + n + " Fashion-MNIST test images");
        int[] labels = Arrays.copyOf(test.labels(), n);
        assertEquals(correct(pytorch, labels), correct(shears, labels), "correctly classified test images");
        System.out.printf("%s on %d Fashion-MNIST test images: %d correct (PyTorch %d), largest logit difference %.3g%n",
                name, n, correct(shears, labels), correct(pytorch, labels), Fixtures.maxDifference(pytorch, shears));
    }

    static int correct(float[] logits, int[] labels) {
        int c = 0;
        for (int i = 0; i < labels.length; i++) {
            int best = 0;
            for (int k = 1; k < 10; k++) if (logits[i * 10 + k] > logits[i * 10 + best]) best = k;
            if (best == labels[i]) c++;
        }
        return c;
    }
}
