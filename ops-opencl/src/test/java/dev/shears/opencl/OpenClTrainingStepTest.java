package dev.shears.opencl;

import dev.shears.core.Backend;
import dev.shears.core.ConvOps;
import dev.shears.core.LossOps;
import dev.shears.core.MatrixOps;
import dev.shears.core.NormOps;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.core.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static dev.shears.core.testing.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A whole training step through the autograd engine — conv → batch-norm → relu → max-pool → flatten → linear →
 * cross-entropy, backward, SGD — on OpenCL against the scalar reference, and device memory staying flat over
 * repeated steps in TensorScopes.
 */
class OpenClTrainingStepTest {
    static final int N = 4, C = 1, H = 10, W = 10, K = 6, CLASSES = 5;

    /** The parameters and buffers of the small net, on one backend. */
    record Net(Tensor convW, Tensor convB, Tensor gamma, Tensor beta, Tensor runMean, Tensor runVar, Tensor fcW, Tensor fcB) {
        static Net create(Backend b) {
            Random r = new Random(7);
            return new Net(param(b, r, 0.3f, K, C, 3, 3), param(b, r, 0.1f, K), param(b, r, 0.1f, K), param(b, r, 0.1f, K),
                    Tensor.zeros(b, K), Tensor.full(b, 1f, K), param(b, r, 0.2f, CLASSES, K * 5 * 5), param(b, r, 0.1f, CLASSES));
        }

        Net to(Backend b) {
            return new Net(p(convW.to(b)), p(convB.to(b)), p(gamma.to(b)), p(beta.to(b)), runMean.to(b), runVar.to(b), p(fcW.to(b)), p(fcB.to(b)));
        }

        List<Tensor> params() { return List.of(convW, convB, gamma, beta, fcW, fcB); }

        /** Forward and backward; returns the loss. */
        Tensor step(Tensor x, int[] labels) {
            Tensor h = ConvOps.conv2d(x, convW, convB, 1, 1);
            h = NormOps.batchNorm2d(h, gamma, beta, runMean, runVar, true, 0.1f, 1e-5f).relu();
            h = ConvOps.maxPool2d(h, 2, 2, 0).flatten(1);
            Tensor loss = LossOps.crossEntropy(MatrixOps.linear(h, fcW, fcB), labels);
            loss.backward();
            return loss;
        }

        void sgd(float lr) {
            for (Tensor t : params()) {
                Backend b = t.backend();
                b.sgdStep(t.size(), lr, 0f, 0f, 0f, false, true, t.storage(), t.grad().storage(), null);
                t.zeroGrad();
            }
        }
    }

    static Tensor p(Tensor t) { return t.requiresGrad(true); }

    static Tensor param(Backend b, Random r, float scale, int... shape) {
        float[] d = new float[dev.shears.core.Shapes.size(shape)];
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian() * scale;
        return Tensor.of(b, d, shape).requiresGrad(true);
    }

    static Tensor input(Backend b, long seed) {
        Random r = new Random(seed);
        float[] d = new float[N * C * H * W];
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
        return Tensor.of(b, d, N, C, H, W);
    }

    static final int[] LABELS = {0, 3, 1, 4};

    @Test
    void trainingStepMatchesReference() {
        OpenClBackend ocl = OpenClTesting.backend();
        Backend ref = ReferenceBackend.INSTANCE;
        Net cpu = Net.create(ref), gpu = cpu.to(ocl);
        for (int step = 0; step < 3; step++) {
            Tensor lossRef = cpu.step(input(ref, step), LABELS), lossOcl = gpu.step(input(ocl, step), LABELS);
            double d = assertClose("step " + step + " loss", lossRef.toArray(), lossOcl.toArray(), 1e-5, 1e-5);
            List<Tensor> pr = cpu.params(), po = gpu.params();
            List<String> names = List.of("conv.weight", "conv.bias", "bn.gamma", "bn.beta", "fc.weight", "fc.bias");
            double worst = d;
            for (int i = 0; i < pr.size(); i++)
                worst = Math.max(worst, assertClose("step " + step + " grad " + names.get(i), pr.get(i).grad().toArray(),
                        po.get(i).grad().toArray(), 1e-4, 1e-3));
            assertClose("step " + step + " running mean", cpu.runMean().toArray(), gpu.runMean().toArray(), 1e-5, 1e-5);
            cpu.sgd(0.1f);
            gpu.sgd(0.1f);
            for (int i = 0; i < pr.size(); i++)
                worst = Math.max(worst, assertClose("step " + step + " param " + names.get(i) + " after SGD",
                        pr.get(i).toArray(), po.get(i).toArray(), 1e-5, 1e-4));
            System.out.printf("training step %d on %s: loss %.6f (reference %.6f), max |difference| %.2e%n",
                    step, ocl.device().name(), lossOcl.item(), lossRef.item(), worst);
        }
    }

    @Test
    void deviceMemoryStaysFlatAcrossScopedSteps() {
        OpenClBackend ocl = OpenClTesting.backend();
        Net gpu = Net.create(ReferenceBackend.INSTANCE).to(ocl);
        Tensor x = input(ocl, 1);
        List<long[]> trace = new ArrayList<>();
        long startBytes = ocl.liveBytes(), startBuffers = ocl.liveBuffers();
        for (int step = 0; step < 20; step++) {
            try (TensorScope ignored = TensorScope.open()) {
                gpu.step(x, LABELS).item();
                gpu.sgd(0.05f);
            }
            trace.add(new long[]{ocl.liveBytes(), ocl.liveBuffers()});
            assertEquals(startBytes, ocl.liveBytes(), "live device bytes after step " + step);
            assertEquals(startBuffers, ocl.liveBuffers(), "live device buffers after step " + step);
        }
        System.out.printf("device memory over 20 scoped steps: %d bytes in %d buffers before, %d bytes in %d after (workspace %d bytes)%n",
                startBytes, startBuffers, trace.getLast()[0], trace.getLast()[1], ocl.workspaceBytes());
    }
}
