package dev.shears.data;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Random;

/**
 * Cuts a {@link Dataset} into mini-batches, in a new random order every epoch.
 *
 * <p>Determinism: the order of epoch {@code e} depends only on {@code (seed, e)}, so a run can be
 * resumed at any epoch and gives the same batches. {@link Random}'s algorithm is fixed by its
 * specification, so the order is also the same on every JVM. The last batch is kept even if it is
 * smaller than the batch size (PyTorch's {@code drop_last=False}).
 *
 * <p>Memory: every {@link Batch} is freshly allocated (about 200 KB for 64 MNIST images), which is
 * small next to a training step and lets callers hold on to a batch safely.
 */
public final class DataLoader {

    public static final int DEFAULT_BATCH_SIZE = 64;

    private final Dataset data;
    private final int batchSize;
    private final boolean shuffle;
    private final long seed;

    /** Shuffling loader with the default batch size of 64. */
    public DataLoader(Dataset data, long seed) {
        this(data, DEFAULT_BATCH_SIZE, true, seed);
    }

    /** @param shuffle false keeps the dataset's order every epoch (for evaluation) */
    public DataLoader(Dataset data, int batchSize, boolean shuffle, long seed) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size must be positive, found " + batchSize);
        }
        this.data = data;
        this.batchSize = batchSize;
        this.shuffle = shuffle;
        this.seed = seed;
    }

    public int batchSize() {
        return batchSize;
    }

    /** Number of batches per epoch, counting the last partial one. */
    public int batchesPerEpoch() {
        return (data.size() + batchSize - 1) / batchSize;
    }

    /** The order in which epoch {@code epoch} visits the dataset. */
    public int[] order(int epoch) {
        int n = data.size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        if (shuffle) {
            // Mix the epoch into the seed with an odd constant so that neighbouring (seed, epoch)
            // pairs do not give related Random streams.
            Random rng = new Random(seed * 0x9E3779B97F4A7C15L + epoch);
            for (int i = n - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        return order;
    }

    /** The batches of one epoch, in order; iterate it once or many times, it gives the same batches. */
    public Iterable<Batch> epoch(int epoch) {
        return () -> new BatchIterator(order(epoch));
    }

    private final class BatchIterator implements Iterator<Batch> {
        private final int[] order;
        private int next;

        BatchIterator(int[] order) {
            this.order = order;
        }

        @Override
        public boolean hasNext() {
            return next < order.length;
        }

        @Override
        public Batch next() {
            if (!hasNext()) {
                throw new NoSuchElementException("epoch exhausted after " + order.length + " samples");
            }
            int n = Math.min(batchSize, order.length - next);
            int pixels = data.imageSize();
            float[] x = new float[n * pixels];
            int[] y = new int[n];
            for (int b = 0; b < n; b++) {
                int idx = order[next + b];
                System.arraycopy(data.images(), idx * pixels, x, b * pixels, pixels);
                y[b] = data.labels()[idx];
            }
            next += n;
            return new Batch(x, y, n);
        }
    }
}
