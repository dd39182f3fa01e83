package dev.shears.nn.io;

import dev.shears.core.Tensor;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class CheckpointsTest {
    @TempDir Path dir;

    @Test
    void savesPyTorchNamesAndDtypesAndReloadsAPrunedNetworkWithItsWidths() throws Exception {
        Sequential model = SimpleCNN.create(3, 5, 7, 42);
        model.forward(Tensor.randn(1, 2, 1, 28, 28));   // a training forward moves the BN buffers off their defaults
        Path file = dir.resolve("pruned.safetensors");
        Checkpoints.save(model, file);

        SafeTensors.Contents c = SafeTensors.read(file);
        assertEquals(model.stateDict().keySet(), c.tensors().keySet());
        assertEquals(DType.I64, c.get("bn1.num_batches_tracked").dtype());
        assertEquals(1f, c.get("bn1.num_batches_tracked").data()[0]);
        assertArrayEquals(new int[]{3, 1, 3, 3}, c.get("conv1.weight").shape());
        assertArrayEquals(new int[]{7, 5 * 49}, c.get("fc1.weight").shape());
        assertEquals("pt", c.metadata().get("format"));

        Sequential back = Checkpoints.loadSimpleCNN(file);
        assertEquals(new Checkpoints.SimpleCnnWidths(3, 5, 7), Checkpoints.simpleCnnWidths(c, file));
        model.stateDict().forEach((name, t) ->
                assertArrayEquals(t.toArray(), back.stateDict().get(name).toArray(), name));
    }

    @Test
    void loadWithResizeTakesTheFilesShapes() throws Exception {
        Path file = dir.resolve("small.safetensors");
        Checkpoints.save(SimpleCNN.create(2, 3, 4, 1), file);
        Sequential full = SimpleCNN.create(0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Checkpoints.load(full, file, false));
        assertTrue(e.getMessage().contains("conv1.weight: shape [2, 1, 3, 3] in the file, the model expects [32, 1, 3, 3]"), e.getMessage());
        Checkpoints.load(full, file, true);
        assertArrayEquals(new int[]{4, 3 * 49}, full.stateDict().get("fc1.weight").shape());
        assertArrayEquals(new int[]{1, 10}, full.forward(Tensor.randn(2, 1, 1, 28, 28)).shape());
    }

    @Test
    void errorsNameTheTensorAndTheProblem() throws Exception {
        Sequential model = SimpleCNN.create(2, 3, 4, 1);
        Map<String, NamedArray> tensors = new LinkedHashMap<>();
        model.stateDict().forEach((n, t) -> tensors.put(n, NamedArray.forPyTorch(n, t.shape(), t.toArray())));
        tensors.remove("bn2.running_var");
        tensors.put("extra.weight", new NamedArray(new int[]{1}, new float[]{0}));
        Path file = dir.resolve("broken.safetensors");
        SafeTensors.write(file, tensors);
        String msg = assertThrows(IllegalArgumentException.class, () -> Checkpoints.load(model, file, false)).getMessage();
        assertTrue(msg.contains("bn2.running_var: missing") && msg.contains("extra.weight: not a tensor of this model")
                && msg.contains(file.toString()), msg);

        tensors.put("bn2.running_var", new NamedArray(new int[]{3}, new float[3]));
        tensors.remove("extra.weight");
        tensors.put("fc1.weight", new NamedArray(new int[]{4, 100}, new float[400]));
        SafeTensors.write(file, tensors);
        msg = assertThrows(IllegalArgumentException.class, () -> Checkpoints.loadSimpleCNN(file)).getMessage();
        assertTrue(msg.contains("fc1.weight has shape [4, 100]") && msg.contains("expects [4, 147]"), msg);

        tensors.remove("conv2.weight");
        SafeTensors.write(file, tensors);
        msg = assertThrows(IllegalArgumentException.class, () -> Checkpoints.loadSimpleCNN(file)).getMessage();
        assertTrue(msg.contains("tensor conv2.weight is missing"), msg);
    }

    @Test
    void aModelWithANonFiniteValueIsNotSavedAndTheOldFileStays() throws Exception {
        Sequential model = SimpleCNN.create(2, 3, 4, 1);
        Path file = dir.resolve("good.safetensors");
        Checkpoints.save(model, file);
        byte[] good = java.nio.file.Files.readAllBytes(file);
        Tensor var = model.stateDict().get("bn2.running_var");
        float[] v = var.toArray();
        v[1] = Float.POSITIVE_INFINITY;
        model.child("bn2").setParameter("running_var", Tensor.of(v, var.shape()));
        String msg = assertThrows(IllegalStateException.class, () -> Checkpoints.save(model, file)).getMessage();
        assertEquals("not saving " + file + ": bn2.running_var[1] is Infinity (did training diverge?)", msg);
        assertArrayEquals(good, java.nio.file.Files.readAllBytes(file));
    }
}
