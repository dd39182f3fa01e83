package dev.shears.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import static dev.shears.cli.ShearsTest.shears;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java heap stays flat over training epochs: what is reachable after each epoch's full GC must not grow.
 * A short version of the ten Fashion-MNIST epochs reported in docs/reliability.md (measured with
 * {@code bin/shears train --measure-heap --json}): a leak of one step's graph or activations per step,
 * the failure this looks for, would add megabytes an epoch.
 */
class TrainMemoryTest {

    @Test
    void heapAfterEachEpochsGcStaysFlat() throws Exception {
        ShearsTest.Run r = shears("train", "--epochs", "4", "--limit", "256", "--batch-size", "32", "--measure-heap", "--json", "--quiet");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode epochs = r.json().get("epochs");
        long first = epochs.get(1).get("heap_bytes").asLong();   // after the first epoch: JIT, pools and caches are warm
        for (int e = 2; e < epochs.size(); e++) {
            long heap = epochs.get(e).get("heap_bytes").asLong();
            // loose on purpose (other tests share this JVM): 10% and 4 MiB of slack
            assertTrue(heap <= first * 1.10 + (4 << 20), "heap after epoch " + (e + 1) + ": " + heap + " bytes, after epoch 2: " + first
                    + "; all epochs: " + epochs);
        }
    }
}
