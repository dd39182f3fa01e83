package dev.shears.nn.io;

import dev.shears.core.Tensor;
import dev.shears.nn.Module;
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
        Map<String, NamedArray> tensors = Checkpoints.stateDict(model);
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

    @Test
    void acceptsWhatPyTorchsLoadStateDictAccepts() throws Exception {
        Sequential saved = SimpleCNN.create(2, 3, 4, 1);
        Map<String, NamedArray> tensors = Checkpoints.stateDict(saved);
        // PyTorch 0.3's layout: the scalar count as a vector of one element
        tensors.put("bn1.num_batches_tracked", new NamedArray(new int[]{1}, new float[]{7}, DType.I64));
        // a state dict from before PyTorch 0.4.1: no count at all
        tensors.remove("bn2.num_batches_tracked");
        Path file = dir.resolve("pytorch-0.3.safetensors");
        SafeTensors.write(file, tensors);

        Sequential loaded = Checkpoints.loadSimpleCNN(file);
        Tensor count1 = loaded.stateDict().get("bn1.num_batches_tracked");
        assertArrayEquals(new int[0], count1.shape(), "loaded as the model's scalar");
        assertEquals(7f, count1.item());
        assertEquals(0f, loaded.stateDict().get("bn2.num_batches_tracked").item(), "missing: the fresh model's count stays");
        assertArrayEquals(saved.stateDict().get("bn2.running_var").toArray(), loaded.stateDict().get("bn2.running_var").toArray());
        loaded.forward(Tensor.randn(3, 2, 1, 28, 28));   // a training step counts on from there
        assertEquals(8f, loaded.stateDict().get("bn1.num_batches_tracked").item());

        // real mismatches are still refused, with the same message as before
        tensors.put("bn1.num_batches_tracked", new NamedArray(new int[]{2}, new float[]{7, 8}, DType.I64));
        SafeTensors.write(file, tensors);
        String msg = assertThrows(IllegalArgumentException.class, () -> Checkpoints.loadSimpleCNN(file)).getMessage();
        assertTrue(msg.contains("bn1.num_batches_tracked: shape [2] in the file, the model expects []"), msg);
        tensors.put("bn1.num_batches_tracked", new NamedArray(new int[]{1}, new float[]{7}, DType.I64));
        tensors.put("bn1.running_mean", new NamedArray(new int[]{1}, new float[]{0}));
        SafeTensors.write(file, tensors);
        msg = assertThrows(IllegalArgumentException.class, () -> Checkpoints.loadSimpleCNN(file)).getMessage();
        assertTrue(msg.contains("bn1.running_mean: shape [1] in the file, the model expects [2]"), msg);
        tensors.put("bn1.running_mean", NamedArray.forPyTorch("bn1.running_mean", new int[]{2}, new float[2]));
        tensors.remove("bn1.running_var");
        SafeTensors.write(file, tensors);
        msg = assertThrows(IllegalArgumentException.class, () -> Checkpoints.loadSimpleCNN(file)).getMessage();
        assertTrue(msg.contains("bn1.running_var: missing"), msg);
    }

    @Test
    void moduleLoadStateDictFollowsTheSameRules() {
        Sequential model = SimpleCNN.create(2, 3, 4, 1);
        Map<String, Tensor> state = new LinkedHashMap<>(model.stateDict());
        state.put("bn1.num_batches_tracked", Tensor.of(new float[]{5}, 1));
        state.remove("bn2.num_batches_tracked");
        model.loadStateDict(state, false);
        assertEquals(5f, model.stateDict().get("bn1.num_batches_tracked").item());
        assertArrayEquals(new int[0], model.stateDict().get("bn1.num_batches_tracked").shape());

        state.remove("bn2.running_mean");
        String msg = assertThrows(IllegalArgumentException.class, () -> model.loadStateDict(state, false)).getMessage();
        assertTrue(msg.contains("missing [bn2.running_mean]"), msg);
        assertFalse(Module.shapeFits(new int[]{2}, new int[0]));
        assertFalse(Module.shapeFits(new int[0], new int[]{1}));
        assertTrue(Module.shapeFits(new int[]{1}, new int[0]));
    }
}
