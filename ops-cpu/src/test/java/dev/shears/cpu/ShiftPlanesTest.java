package dev.shears.cpu;

import dev.shears.core.Conv2dShape;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static dev.shears.core.testing.Close.random;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The shifted planes read at {@link Conv#shiftedPlanes}' offsets are im2col's rows, bit for bit. */
class ShiftPlanesTest {
    @Test
    void everyRowIsIm2colsRow() {
        // stride 1 and Q = W; rows shorter than a vector, one vector, and longer (W > L, W > 2L), pad 0 to 2
        for (Conv2dShape s : new Conv2dShape[]{
                new Conv2dShape(2, 14, 14, 14, 15, 3, 3, 1, 1, 1, 1), new Conv2dShape(2, 1, 28, 28, 14, 3, 3, 1, 1, 1, 1),
                new Conv2dShape(2, 3, 5, 16, 4, 3, 3, 1, 1, 1, 1), new Conv2dShape(2, 2, 6, 17, 4, 5, 5, 1, 1, 2, 2),
                new Conv2dShape(2, 2, 4, 40, 4, 3, 3, 1, 1, 1, 1), new Conv2dShape(2, 3, 5, 7, 4, 1, 1, 1, 1, 0, 0),
                new Conv2dShape(2, 2, 9, 3, 4, 5, 3, 1, 1, 0, 1)}) {
            int crs = s.c() * s.r() * s.s(), pq = s.p() * s.q();
            assertEquals(s.w(), s.q(), "test shape must keep the width: " + s);
            float[] x = random(7, s.inputSize());
            int[] rowOff = new int[crs];
            float[] planes = new float[Conv.shiftedPlanes(s, rowOff)], col = new float[crs * pq];
            for (int n = 0; n < s.n(); n++) {
                Arrays.fill(planes, Float.NaN);   // stale contents of the scratch buffer must not show through
                Conv.shiftPlanes(s, x, n, planes);
                Conv.im2col(s, x, n, col);
                for (int t = 0; t < crs; t++)
                    for (int j = 0; j < pq; j++)
                        assertEquals(Float.floatToIntBits(col[t * pq + j]), Float.floatToIntBits(planes[rowOff[t] + j]),
                                s + ", image " + n + ", row " + t + ", column " + j);
            }
        }
    }
}
