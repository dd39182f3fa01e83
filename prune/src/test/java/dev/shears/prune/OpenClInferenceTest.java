package dev.shears.prune;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import dev.shears.opencl.OpenClBackend;
import dev.shears.opencl.OpenClDevices;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static dev.shears.core.testing.Close.assertClose;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * SimpleCNN in eval mode on OpenCL — the inference rewrites of {@code Sequential} (BatchNorm folded into the
 * conv, conv and pool fused, ReLU after the pool) on the device — against the same model on the CPU, at the
 * full and at a pruned width, with BatchNorm statistics far from their defaults.
 */
class OpenClInferenceTest {
    @Test
    void evalModeLogitsMatchTheCpu() {
        assumeTrue(OpenClDevices.isAvailable(), () -> "skipped: " + OpenClDevices.problem());
        try (OpenClBackend ocl = OpenClBackend.open(System.getProperty("shears.opencl.device", "opencl"))) {
            for (int[] widths : new int[][]{{32, 64}, {13, 16}}) {
                Sequential model = SimpleCNN.create(widths[0], widths[1], 128, 3);
                randomiseBatchNorms(model, new Random(5));
                model.eval();
                try (GradMode off = GradMode.off(); TensorScope scope = TensorScope.open()) {
                    Tensor x = Tensor.randn(9, 5, 1, 28, 28);
                    float[] cpu = model.forward(x).toArray();
                    model.to(ocl);
                    float[] device = model.forward(x.to(ocl)).toArray();
                    float[] again = model.forward(x.to(ocl)).toArray();
                    assertClose("SimpleCNN " + widths[0] + "/" + widths[1] + " eval on OpenCL", cpu, device, 1e-4, 1e-4);
                    assertClose("a second call (folded weights computed again)", device, again, 0, 0);
                }
            }
        }
    }

    /** γ, β, μ and σ² of every BatchNorm drawn at random (σ² in [0.05, 2.05)), through the state dict. */
    private static void randomiseBatchNorms(Sequential model, Random r) {
        Map<String, Tensor> state = new LinkedHashMap<>(model.stateDict());
        state.replaceAll((name, t) -> {
            if (!name.startsWith("bn") || name.endsWith("num_batches_tracked")) return t;
            float[] v = new float[t.size()];
            for (int i = 0; i < v.length; i++)
                v[i] = name.endsWith("running_var") ? 0.05f + 2 * r.nextFloat() : (float) r.nextGaussian();
            return Tensor.of(v, t.shape());
        });
        model.loadStateDict(state, false);
    }
}
