package dev.shears.nn;

import dev.shears.core.Backend;
import dev.shears.core.Backends;
import dev.shears.core.GradMode;
import dev.shears.core.LossOps;
import dev.shears.core.Tensor;
import dev.shears.core.reference.ReferenceBackend;
import dev.shears.nn.io.Checkpoints;
import dev.shears.nn.io.NamedArray;
import dev.shears.nn.io.SafeTensors;
import dev.shears.nn.optim.SGD;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * SimpleCNN against PyTorch 1.13 with the same weights and batch (fixtures/make_simplecnn_fixture.py made
 * the files): train-mode logits, loss, every parameter gradient, BatchNorm's running statistics after the
 * forward, eval-mode logits, and two SGD steps (lr 0.01, momentum 0.9, weight decay 5e-4), all within 1e-4.
 */
class PyTorchParityTest {
    static final double TOLERANCE = 1e-4;

    private double worst;
    private String worstWhat = "nothing";

    /** Compares within {@link #TOLERANCE} (the failure message has the max difference) and remembers the worst. */
    private void assertClose(String what, float[] expected, float[] actual, double atol, double rtol) {
        double d = dev.shears.core.testing.Close.assertClose(what, expected, actual, atol, rtol);
        if (d >= worst) { worst = d; worstWhat = what; }
    }

    @ParameterizedTest(name = "{0} backend")
    @ValueSource(strings = {"default", "reference"})
    void simpleCnnMatchesPyTorch(String which) throws Exception {
        Backend backend = which.equals("default") ? Backends.getDefault() : ReferenceBackend.INSTANCE;
        Sequential model = SimpleCNN.create(0);
        model.to(backend);
        Checkpoints.load(model, fixture("simplecnn_weights.safetensors"), false);
        SafeTensors.Contents expected = SafeTensors.read(fixture("simplecnn_expected.safetensors"));
        SafeTensors.Contents sgd = SafeTensors.read(fixture("simplecnn_sgd.safetensors"));
        String on = " on " + backend.name();

        NamedArray input = expected.get("input");
        Tensor x = Tensor.of(backend, input.data(), input.shape());
        int[] labels = ints(expected.get("labels"));

        model.train();
        Tensor logits = model.forward(x);
        assertArrayEquals(expected.get("logits").shape(), logits.shape());
        assertClose("train-mode logits" + on, expected.get("logits").data(), logits.toArray(), TOLERANCE, 0);
        Tensor loss = LossOps.crossEntropy(logits, labels);
        assertClose("loss" + on, expected.get("loss").data(), loss.toArray(), TOLERANCE, 0);
        loss.backward();
        for (Map.Entry<String, Tensor> p : model.namedParameters().entrySet())
            assertClose("gradient of " + p.getKey() + on, expected.get("grad." + p.getKey()).data(), p.getValue().grad().toArray(), TOLERANCE, 0);
        assertBuffers(model, expected, "after_forward", on);

        model.eval();
        try (GradMode ignored = GradMode.off()) {
            assertClose("eval-mode logits" + on, expected.get("eval_logits").data(), model.forward(x).toArray(), TOLERANCE, 0);
        }

        SGD opt = new SGD(model.parameters(), 0.01f, 0.9f, 5e-4f);
        opt.step();   // with the gradients above, as the fixture's first step
        opt.zeroGrad();
        model.train();
        Tensor loss2 = LossOps.crossEntropy(model.forward(x), labels);
        assertClose("loss after one SGD step" + on, sgd.get("step2.loss").data(), loss2.toArray(), TOLERANCE, 0);
        loss2.backward();
        opt.step();
        for (Map.Entry<String, Tensor> p : model.namedParameters().entrySet())
            assertClose(p.getKey() + " after two SGD steps" + on, sgd.get("after_2_steps." + p.getKey()).data(), p.getValue().toArray(), TOLERANCE, 0);
        assertBuffers(model, sgd, "after_2_steps", on);
        System.out.printf("PyTorch parity%s: largest difference %.3g (%s)%n", on, worst, worstWhat);
    }

    private void assertBuffers(Module model, SafeTensors.Contents expected, String prefix, String on) {
        for (String bn : new String[]{"bn1", "bn2"})
            for (String buffer : new String[]{"running_mean", "running_var", "num_batches_tracked"}) {
                String name = bn + "." + buffer;
                assertClose(name + " (" + prefix + ")" + on, expected.get(prefix + "." + name).data(),
                        model.stateDict().get(name).toArray(), TOLERANCE, 0);
            }
    }

    private static int[] ints(NamedArray a) {
        int[] out = new int[a.numel()];
        for (int i = 0; i < out.length; i++) out[i] = (int) a.data()[i];
        return out;
    }

    static Path fixture(String name) throws URISyntaxException {
        var url = Objects.requireNonNull(PyTorchParityTest.class.getResource("/fixtures/" + name),
                "test resource fixtures/" + name + " (made by fixtures/make_simplecnn_fixture.py)");
        return Path.of(url.toURI());
    }
}
