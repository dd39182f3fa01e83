package dev.shears.examples;

import dev.shears.data.Datasets;
import dev.shears.data.Mnist;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import org.junit.jupiter.api.Test;


import static org.junit.jupiter.api.Assertions.*;

/** prune/README.md's reconstruction example is ReconstructExample.java, character for character, and it runs. */
class ReconstructExampleTest {

    @Test
    void readmeShowsExactlyTheExampleSource() throws Exception {
        ReadmeBlocks.assertShowsExample("prune/README.md", "ReconstructExample");
    }

    @Test
    void theExampleHalvesTheConvLayers() throws Exception {
        Mnist digits = Datasets.embeddedDigits();
        Mnist small = new Mnist(digits.train().first(200), digits.test().first(50));
        Sequential model = SimpleCNN.create(8, 8, 16, 0);
        var acc = ReconstructExample.reconstruct(model, small, 200);
        assertEquals(4, ((Conv2d) model.child("conv1")).outChannels());
        assertEquals(4, ((Conv2d) model.child("conv2")).outChannels());
        assertTrue(acc.reconstructed() >= 0 && acc.reconstructed() <= 1);
    }

}
