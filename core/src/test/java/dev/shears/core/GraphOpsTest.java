package dev.shears.core;

import dev.shears.core.testing.GradCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;

import static dev.shears.core.testing.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ops graph models add (grouped convolution, average pooling, concatenation): gradient checks, hand-computed
 * values, and grouped convolution against its definition as G separate convolutions of channel slices.
 */
class GraphOpsTest {

    @ParameterizedTest(name = "grouped conv2d stride={0}")
    @ValueSource(ints = {1, 2})
    void groupedConvGradient(int stride) {
        GradCheck.check("conv2d groups=2", t -> ConvOps.conv2d(t[0], t[1], t[2], stride, 1, 2),
                Tensor.randn(1, 2, 4, 5, 6), Tensor.randn(2, 6, 2, 3, 3), Tensor.randn(3, 6));
    }

    @ParameterizedTest(name = "depthwise conv2d stride={0}")
    @ValueSource(ints = {1, 2})
    void depthwiseConvGradient(int stride) {
        GradCheck.check("conv2d depthwise", t -> ConvOps.conv2d(t[0], t[1], null, stride, 1, 3),
                Tensor.randn(1, 2, 3, 7, 5), Tensor.randn(2, 3, 1, 3, 3));
    }

    /** A grouped convolution is G ordinary ones on channel slices, concatenated: checked on the default backend. */
    @Test
    void groupedConvIsConvOfSlices() {
        int g = 3;
        Tensor x = Tensor.randn(1, 2, 6, 7, 5), w = Tensor.randn(2, 9, 2, 3, 3), b = Tensor.randn(3, 9);
        Tensor y = ConvOps.conv2d(x, w, b, 2, 1, g);
        float[] xs = x.toArray(), ws = w.toArray(), bs = b.toArray();
        Tensor[] parts = new Tensor[g];
        for (int i = 0; i < g; i++) {
            float[] xi = new float[2 * 2 * 7 * 5];
            for (int n = 0; n < 2; n++)
                System.arraycopy(xs, (n * 6 + 2 * i) * 35, xi, n * 2 * 35, 2 * 35);
            Tensor wi = Tensor.of(Arrays.copyOfRange(ws, i * 3 * 18, (i + 1) * 3 * 18), 3, 2, 3, 3);
            Tensor bi = Tensor.of(Arrays.copyOfRange(bs, i * 3, (i + 1) * 3), 3);
            parts[i] = ConvOps.conv2d(Tensor.of(xi, 2, 2, 7, 5), wi, bi, 2, 1);
        }
        Tensor expected = ShapeOps.concat(1, parts);
        assertArrayEquals(expected.shape(), y.shape());
        assertClose("grouped conv vs. slices", expected.toArray(), y.toArray(), 1e-5, 1e-5);
    }

    @Test
    void groupedConvShapeErrors() {
        Tensor x = Tensor.zeros(1, 6, 4, 4);
        var e = assertThrows(IllegalArgumentException.class, () -> ConvOps.conv2d(x, Tensor.zeros(4, 3, 3, 3), null, 1, 1, 3));
        assertTrue(e.getMessage().contains("[1, 6, 4, 4]") && e.getMessage().contains("[4, 3, 3, 3]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ConvOps.conv2d(x, Tensor.zeros(4, 2, 3, 3), null, 1, 1, 3));   // 4 % 3
    }

    @Test void avgPoolGradient() { GradCheck.check("avg_pool2d", t -> ConvOps.avgPool2d(t[0], 2, 2, 0, true), Tensor.randn(1, 2, 3, 5, 4)); }
    @Test void avgPoolPaddedGradient() {
        GradCheck.check("avg_pool2d pad", t -> ConvOps.avgPool2d(t[0], 3, 2, 1, true), Tensor.randn(1, 1, 2, 7, 6));
        GradCheck.check("avg_pool2d pad excluded", t -> ConvOps.avgPool2d(t[0], 3, 2, 1, false), Tensor.randn(1, 1, 2, 7, 6));
    }
    @Test void globalAvgPoolGradient() { GradCheck.check("global_avg_pool2d", t -> ConvOps.globalAvgPool2d(t[0]), Tensor.randn(1, 2, 3, 4, 5)); }

    /** 3×3 plane of 1..9, window 2, stride 2, padding 1: windows hold {1}, {2,3}, {4,7}, {5,6,8,9}. */
    @Test
    void avgPoolHandComputed() {
        Tensor x = Tensor.of(new float[]{1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3);
        assertClose("count_include_pad", new float[]{1 / 4f, 5 / 4f, 11 / 4f, 28 / 4f},
                ConvOps.avgPool2d(x, 2, 2, 1, true).toArray(), 1e-6, 0);
        assertClose("count_include_pad=false", new float[]{1, 5 / 2f, 11 / 2f, 28 / 4f},
                ConvOps.avgPool2d(x, 2, 2, 1, false).toArray(), 1e-6, 0);
        Tensor gap = ConvOps.globalAvgPool2d(x);
        assertArrayEquals(new int[]{1, 1, 1, 1}, gap.shape());
        assertClose("global", new float[]{5}, gap.toArray(), 1e-6, 0);
    }

    @Test
    void concatHandComputed() {
        Tensor a = Tensor.of(new float[]{1, 2, 3, 4}, 2, 1, 2), b = Tensor.of(new float[]{5, 6, 7, 8, 9, 10, 11, 12}, 2, 2, 2);
        Tensor y = ShapeOps.concat(1, a, b);
        assertArrayEquals(new int[]{2, 3, 2}, y.shape());
        assertArrayEquals(new float[]{1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12}, y.toArray());
        assertArrayEquals(new float[]{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, ShapeOps.concat(0, a.reshape(4), b.reshape(8)).toArray());
        var e = assertThrows(IllegalArgumentException.class, () -> ShapeOps.concat(1, a, Tensor.zeros(3, 2, 2)));
        assertTrue(e.getMessage().contains("[3, 2, 2]") && e.getMessage().contains("[2, 1, 2]"), e.getMessage());
    }

    @Test void concatGradient() {
        GradCheck.check("concat dim 1", t -> ShapeOps.concat(1, t[0], t[1], t[2]),
                Tensor.randn(1, 2, 3, 2, 2), Tensor.randn(2, 2, 1, 2, 2), Tensor.randn(3, 2, 2, 2, 2));
        GradCheck.check("concat dim 0", t -> ShapeOps.concat(0, t[0], t[1]), Tensor.randn(1, 1, 3), Tensor.randn(2, 2, 3));
    }
}
