package dev.shears.prune.reconstruct;

import dev.shears.data.Dataset;

import java.util.Arrays;
import java.util.Random;

/**
 * What reconstruction learns from: {@code images} training images drawn without replacement (seeded), and
 * for a conv layer {@code positionsPerImage} output positions drawn per image, so that a layer's system has
 * images × positions rows instead of images × H × W (He et al. use 10 per image). A Linear layer has one
 * row per image.
 */
public record Samples(Dataset data, int images, int positionsPerImage, long seed) {

    public Samples {
        if (images < 1) throw new IllegalArgumentException("samples: need at least 1 image, got " + images);
        if (positionsPerImage < 1) throw new IllegalArgumentException("samples: need at least 1 position per image, got " + positionsPerImage);
    }

    /** {@code images} images, 10 positions each, seed 0. */
    public static Samples of(Dataset data, int images) { return new Samples(data, images, 10, 0); }

    /** The chosen images' indices into {@code data}, ascending (a seeded shuffle, cut to size). */
    public int[] pickImages() {
        int n = data.size();
        int[] all = new int[n];
        for (int i = 0; i < n; i++) all[i] = i;
        Random r = new Random(seed);
        int take = Math.min(images, n);
        for (int i = 0; i < take; i++) {
            int j = i + r.nextInt(n - i);
            int t = all[i]; all[i] = all[j]; all[j] = t;
        }
        int[] chosen = Arrays.copyOf(all, take);
        Arrays.sort(chosen);
        return chosen;
    }
}
