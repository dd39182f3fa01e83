package dev.shears.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Fetches the four MNIST files into a cache directory, the way torchvision does: try each mirror
 * in turn, accept a file only if its MD5 matches, and never leave a partial file under the final
 * name (download to a temporary file in the same directory, then an atomic rename).
 */
final class MnistDownload {

    static final List<URI> MIRRORS = List.of(
            URI.create("https://ossci-datasets.s3.amazonaws.com/mnist/"),
            URI.create("https://yann.lecun.com/exdb/mnist/"));

    /** MD5 of each gzipped file, as torchvision lists them. */
    static final Map<String, String> MD5 = Map.of(
            "train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c");

    /** The largest MNIST file is 9.9 MB; anything much larger is not MNIST, so stop reading it. */
    private static final long MAX_DOWNLOAD = 64L << 20;

    private final List<URI> mirrors;

    MnistDownload(List<URI> mirrors) {
        this.mirrors = List.copyOf(mirrors);
    }

    /** Makes sure every file is in {@code dir}, raw or gzipped; downloads the missing ones. */
    void ensure(Path dir) throws IOException {
        List<String> missing = new ArrayList<>();
        for (String base : Datasets.FILES) {
            if (!Files.isRegularFile(dir.resolve(base)) && !Files.isRegularFile(dir.resolve(base + ".gz"))) {
                missing.add(base + ".gz");
            }
        }
        if (missing.isEmpty()) {
            return;
        }
        Files.createDirectories(dir);
        try (HttpClient http = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(15))
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build()) {
            for (String name : missing) {
                downloadFromAnyMirror(http, dir, name);
            }
        }
    }

    private void downloadFromAnyMirror(HttpClient http, Path dir, String name) throws IOException {
        List<String> failures = new ArrayList<>();
        for (URI mirror : mirrors) {
            URI url = mirror.resolve(name);
            try {
                fetch(http, url, dir.resolve(name), MD5.get(name));
                return;
            } catch (IOException e) {
                failures.add(url + ": " + describe(e));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while downloading " + url, e);
            }
        }
        throw new IOException(howToGetThem(dir, name, failures));
    }

    private static void fetch(HttpClient http, URI url, Path target, String md5) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(url).timeout(Duration.ofMinutes(2)).GET().build();
        HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream body = response.body()) {
            if (response.statusCode() != 200) {
                throw new IOException("HTTP status " + response.statusCode());
            }
            Path temp = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".part");
            try {
                String actual = copyWithMd5(body, temp);
                if (!actual.equals(md5)) {
                    throw new IOException("MD5 mismatch: expected " + md5 + ", found " + actual);
                }
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(temp);
            }
        }
    }

    private static String copyWithMd5(InputStream in, Path temp) throws IOException {
        MessageDigest md5;
        try {
            md5 = MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has MD5", e);
        }
        byte[] buf = new byte[1 << 16];
        long total = 0;
        try (OutputStream out = Files.newOutputStream(temp)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                total += n;
                if (total > MAX_DOWNLOAD) {
                    throw new IOException("response is larger than " + MAX_DOWNLOAD + " bytes; not an MNIST file");
                }
                md5.update(buf, 0, n);
                out.write(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md5.digest());
    }

    /** The exception and its causes in one line: HttpClient often puts the useful text ("Connection refused") in a cause. */
    private static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder(e.getClass().getSimpleName());
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && sb.indexOf(t.getMessage()) < 0) {
                sb.append(": ").append(t.getMessage());
            }
        }
        return sb.toString();
    }

    private String howToGetThem(Path dir, String failedFile, List<String> failures) {
        StringBuilder sb = new StringBuilder();
        sb.append("could not download MNIST file ").append(failedFile).append(" into ").append(dir)
                .append(" (is this machine offline?). Tried:\n");
        failures.forEach(f -> sb.append("  ").append(f).append('\n'));
        sb.append("To get MNIST by hand, download these four files\n");
        for (String base : Datasets.FILES) {
            sb.append("  ").append(base).append(".gz  (md5 ").append(MD5.get(base + ".gz")).append(")\n");
        }
        sb.append("from any of these mirrors (base URL + file name):\n");
        mirrors.forEach(m -> sb.append("  ").append(m).append('\n'));
        sb.append("and put them, still gzipped, into ").append(dir.toAbsolutePath()).append(" .\n");
        sb.append("Or train on Fashion-MNIST, which Debian packages: apt-get install dataset-fashion-mnist,"
                + " then --data /usr/share/datasets/fashion-mnist");
        return sb.toString();
    }
}
