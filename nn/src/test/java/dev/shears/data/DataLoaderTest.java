package dev.shears.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class DataLoaderTest {

    /** 10 images of 2×2 whose pixels all equal the image index, so a batch shows which images it holds. */
    private static Dataset tiny() {
        int n = 10;
        float[] x = new float[n * 4];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            Arrays.fill(x, i * 4, i * 4 + 4, i);
            y[i] = i % 3;
        }
        return new Dataset("tiny", x, y, 2, 2);
    }

    @Test
    void keepsTheLastPartialBatch() {
        DataLoader loader = new DataLoader(tiny(), 4, false, 0);
        assertEquals(3, loader.batchesPerEpoch());
        List<Integer> sizes = new ArrayList<>();
        for (Batch b : loader.epoch(0)) {
            sizes.add(b.n());
            assertEquals(b.n() * 4, b.x().length);
            assertEquals(b.n(), b.y().length);
        }
        assertEquals(List.of(4, 4, 2), sizes);
    }

    @Test
    void batchHoldsTheImagesAndLabelsOfTheOrder() {
        Dataset d = tiny();
        DataLoader loader = new DataLoader(d, 3, true, 42);
        int[] order = loader.order(5);
        int k = 0;
        for (Batch b : loader.epoch(5)) {
            for (int i = 0; i < b.n(); i++, k++) {
                assertEquals(order[k], (int) b.x()[i * 4 + 3]);
                assertEquals(d.labels()[order[k]], b.y()[i]);
            }
        }
        assertEquals(10, k);
    }

    @Test
    void shuffleIsAPermutationDeterminedBySeedAndEpoch() {
        DataLoader a = new DataLoader(tiny(), 64, true, 7);
        DataLoader b = new DataLoader(tiny(), 64, true, 7);
        for (int epoch = 0; epoch < 3; epoch++) {
            int[] order = a.order(epoch);
            assertArrayEquals(order, b.order(epoch));
            int[] sorted = order.clone();
            Arrays.sort(sorted);
            assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, sorted);
        }
        assertFalse(Arrays.equals(a.order(0), a.order(1)), "epochs must differ");
        assertFalse(Arrays.equals(a.order(0), new DataLoader(tiny(), 64, true, 8).order(0)), "seeds must differ");
    }

    @Test
    void defaultBatchSizeIs64() {
        assertEquals(64, new DataLoader(tiny(), 1).batchSize());
    }
}
