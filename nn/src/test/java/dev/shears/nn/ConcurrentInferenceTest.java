package dev.shears.nn;

import dev.shears.core.GradMode;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One model in eval mode shared by 8 threads, 10,000 batch-1 calls each, against the same calls made one
 * after another: every output must be the serial one, bit for bit. What is shared: the model's parameters
 * and the conv+BN fold it caches ({@link BatchNormFold}), the CPU backend, its thread pool ({@code Parallel},
 * which a second caller finds busy and then runs serially) and its free list of recycled arrays
 * ({@code FreeList}); what is per thread: {@link GradMode} and {@link TensorScope}.
 */
class ConcurrentInferenceTest {
    private static final int THREADS = 8, CALLS = 10_000, INPUTS = 64;

    @Test
    void eightThreadsGiveTheSerialResults() throws Exception {
        // a pruned width (8/16/32 instead of 32/64/128): the same layers and code paths at a tenth of the time
        Sequential model = SimpleCNN.create(8, 16, 32, 7);
        InferenceTest.randomiseBatchNorms(model, 3);
        model.eval();
        Tensor[] inputs = new Tensor[INPUTS];
        float[][] serial = new float[INPUTS][];
        try (GradMode off = GradMode.off()) {
            for (int i = 0; i < INPUTS; i++) {
                inputs[i] = Tensor.randn(100 + i, 1, 1, 28, 28);
                serial[i] = model.forward(inputs[i]).toArray();
            }
        }
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                results.add(pool.submit(() -> {
                    try (GradMode off = GradMode.off()) {
                        for (int call = 0; call < CALLS; call++) {
                            int i = (thread * 7 + call) % INPUTS;
                            float[] y;
                            try (TensorScope scope = TensorScope.open()) {
                                y = model.forward(inputs[i]).toArray();
                            }
                            if (!Arrays.equals(serial[i], y))
                                return "thread " + thread + ", call " + call + ", input " + i + ": expected "
                                        + Arrays.toString(serial[i]) + ", found " + Arrays.toString(y);
                        }
                    }
                    return null;
                }));
            }
            for (Future<String> r : results) assertEquals(null, r.get(), "a concurrent call differs from the serial one");
        } finally {
            pool.shutdown();
            assertTrue(pool.awaitTermination(1, TimeUnit.MINUTES));
        }
        try (GradMode off = GradMode.off()) {
            for (int i = 0; i < INPUTS; i++)
                assertTrue(Arrays.equals(serial[i], model.forward(inputs[i]).toArray()), "input " + i + " after the concurrent calls");
        }
    }
}
