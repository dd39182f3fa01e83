package dev.shears.nn;

import dev.shears.core.Backend;
import dev.shears.core.Backends;
import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.reference.ReferenceBackend;
import dev.shears.nn.io.Checkpoints;
import dev.shears.nn.io.NamedArray;
import dev.shears.nn.io.SafeTensors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Map;
import java.util.Random;

import static dev.shears.core.testing.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * A Graph with depthwise and grouped convolutions, a residual Add, Concat, both average poolings and global
 * average pooling against PyTorch 1.13 (fixtures/make_graph_fixture.py): train-mode logits, the gradients of
 * the input and of every parameter, BatchNorm's running statistics, eval-mode logits (folded), within 1e-4.
 */
class GraphParityTest {
    static final double TOLERANCE = 1e-4;

    /** The fixture's network, node for node (PyTorch's module names are the node names). */
    static Graph net() {
        Random init = new Random(0);   // every tensor is then loaded from the fixture
        return new Graph()
                .add("conv1", new Conv2d(3, 8, 3, 1, 1, false, init))
                .add("bn1", new BatchNorm2d(8))
                .add("relu1", new ReLU())
                .add("dw", new Conv2d(8, 8, 3, 2, 1, 8, true, init))
                .add("pw", new Conv2d(8, 8, 1, 1, 0, 2, false, init))
                .add("bn2", new BatchNorm2d(8))
                .add("short", new Conv2d(8, 8, 1, 2, 0, false, init), "relu1")
                .add("add", new Add(), "bn2", "short")
                .add("relu2", new ReLU())
                .add("pool", new AvgPool2d(3, 1, 1, false))
                .add("cat", new Concat(1), "relu2", "pool")
                .add("gap", new GlobalAvgPool2d())
                .add("gflat", new Flatten())
                .add("pool2", new AvgPool2d(2), "relu2")
                .add("qflat", new Flatten())
                .add("features", new Concat(1), "qflat", "gflat")
                .add("drop", new Dropout(0f))
                .add("fc", new Linear(8 * 3 * 3 + 16, 5, init));
    }

    @ParameterizedTest(name = "{0} backend")
    @ValueSource(strings = {"default", "reference"})
    void graphMatchesPyTorch(String which) throws Exception {
        Backend backend = which.equals("default") ? Backends.getDefault() : ReferenceBackend.INSTANCE;
        Graph model = net();
        model.to(backend);
        Checkpoints.load(model, PyTorchParityTest.fixture("graph_weights.safetensors"), false);
        SafeTensors.Contents expected = SafeTensors.read(PyTorchParityTest.fixture("graph_expected.safetensors"));
        String on = " on " + backend.name();
        Tensor x = tensor(backend, expected.get("input")).requiresGrad(true);

        model.train();
        Tensor logits = model.forward(x);
        assertArrayEquals(expected.get("logits").shape(), logits.shape());
        assertClose("train-mode logits" + on, expected.get("logits").data(), logits.toArray(), TOLERANCE, 0);
        logits.mul(tensor(backend, expected.get("r"))).sum().backward();
        assertClose("gradient of the input" + on, expected.get("grad.input").data(), x.grad().toArray(), TOLERANCE, 0);
        for (Map.Entry<String, Tensor> p : model.namedParameters().entrySet())
            assertClose("gradient of " + p.getKey() + on, expected.get("grad." + p.getKey()).data(), p.getValue().grad().toArray(), TOLERANCE, 0);
        for (String bn : new String[]{"bn1", "bn2"})
            for (String buffer : new String[]{"running_mean", "running_var"})
                assertClose(bn + "." + buffer + on, expected.get("after_forward." + bn + "." + buffer).data(),
                        model.stateDict().get(bn + "." + buffer).toArray(), TOLERANCE, 0);

        model.eval();
        try (GradMode ignored = GradMode.off()) {
            assertClose("eval-mode logits" + on, expected.get("eval_logits").data(), model.forward(x.detach()).toArray(), TOLERANCE, 0);
        }
    }

    private static Tensor tensor(Backend b, NamedArray a) { return Tensor.of(b, a.data(), a.shape()); }
}
