package dev.shears.cpu;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LanesTest {

    @Test
    void sumsTheLanesInLaneOrderBitForBit() {
        Random r = new Random(3);
        float[] v = new float[Lanes.L];
        for (int trial = 0; trial < 10_000; trial++) {
            // magnitudes far apart, so that any other order of additions rounds differently
            for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(8)));
            float expected = v[0];
            for (int i = 1; i < v.length; i++) expected += v[i];
            assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(Lanes.sum(FloatVector.fromArray(Lanes.S, v, 0))),
                    "trial " + trial);
        }
    }
}
