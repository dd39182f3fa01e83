package dev.shears.cli;

import dev.shears.nn.SimpleCNN;
import dev.shears.nn.io.Checkpoints;
import dev.shears.nn.io.NamedArray;
import dev.shears.nn.io.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;

import static dev.shears.cli.ShearsTest.shears;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad inputs of the catalogue in docs/reliability.md, through the command line: exit code and message. */
class BadInputsTest {
    @TempDir Path dir;

    /** A small SimpleCNN checkpoint with one tensor changed by {@code edit}. */
    private Path checkpoint(String name, String tensor, UnaryOperator<NamedArray> edit) throws IOException {
        Path clean = dir.resolve("clean.safetensors");
        Checkpoints.save(SimpleCNN.create(4, 6, 8, 0), clean);
        SafeTensors.Contents c = SafeTensors.read(clean);
        Map<String, NamedArray> tensors = new LinkedHashMap<>(c.tensors());
        tensors.put(tensor, edit.apply(tensors.get(tensor)));
        Path file = dir.resolve(name);
        SafeTensors.write(file, tensors, c.metadata());
        return file;
    }

    private static void assertFails(int exitCode, String message, ShearsTest.Run r) {
        assertEquals(exitCode, r.exitCode(), r.err());
        assertTrue(r.err().contains(message), "expected '" + message + "' in: " + r.err());
    }

    @Test
    void nanOrInfiniteWeightsAreRejectedWhenTheModelLoads() throws IOException {
        Path nan = checkpoint("nan.safetensors", "conv1.weight", a -> {
            float[] d = a.data().clone();
            d[5] = Float.NaN;
            return new NamedArray(a.shape(), d, a.dtype());
        });
        assertFails(1, "conv1.weight: NaN at flat index 5 (weights must be finite)", shears("eval", "--model", nan.toString(), "--limit", "8"));
        Path inf = checkpoint("inf.safetensors", "bn2.running_var", a -> {
            float[] d = a.data().clone();
            d[0] = Float.POSITIVE_INFINITY;
            return new NamedArray(a.shape(), d, a.dtype());
        });
        assertFails(1, "bn2.running_var: Infinity at flat index 0",
                shears("prune", "--method", "slim", "--model", inf.toString(), "--out", dir.resolve("p.safetensors").toString(), "--ratio", "0.5"));
    }

    @Test
    void aLayerWithZeroChannelsIsRejected() throws IOException {
        Path empty = checkpoint("empty.safetensors", "conv1.weight", a -> new NamedArray(new int[]{0, 1, 3, 3}, new float[0], a.dtype()));
        assertFails(1, "tensor conv1.weight has shape [0, 1, 3, 3]; a SimpleCNN expects 4 non-zero dimensions",
                shears("eval", "--model", empty.toString(), "--limit", "8"));
    }

    @Test
    void aPruningRatioOfOneOrMoreIsAUsageError() throws IOException {
        Path model = checkpoint("m.safetensors", "fc2.bias", a -> a);
        String out = dir.resolve("p.safetensors").toString();
        for (String ratio : new String[]{"1", "1.5", "Infinity"}) {
            assertFails(2, "--ratio must be in [0, 1)", shears("prune", "--method", "l1", "--model", model.toString(), "--out", out, "--ratio", ratio));
            assertFails(2, "--ratio must be in [0, 1)",
                    shears("prune", "--method", "reconstruct", "--model", model.toString(), "--out", out, "--ratio", ratio));
        }
        assertFalse(Files.exists(Path.of(out)));
    }

    @Test
    void aMissingDirectoryIsAUsageErrorBeforeAnyWork() {
        assertFails(2, "not a directory, and not 'digits' or 'mnist'", shears("train", "--data", dir.resolve("nowhere").toString()));
        Path out = dir.resolve("nowhere").resolve("m.safetensors");
        // refused before training starts (a save that cannot happen must not come after hours of work)
        ShearsTest.Run r = shears("train", "--epochs", "50", "--out", out.toString());
        assertFails(2, "--out " + out + ": directory " + out.getParent() + " does not exist", r);
        assertFalse(r.err().contains("epoch 1/"), r.err());
    }
}
