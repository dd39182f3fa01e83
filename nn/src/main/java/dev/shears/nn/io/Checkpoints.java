package dev.shears.nn.io;

import dev.shears.core.Backend;
import dev.shears.core.Tensor;
import dev.shears.nn.Graph;
import dev.shears.nn.Module;
import dev.shears.nn.Sequential;
import dev.shears.nn.SimpleCNN;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A module's state dict as a safetensors file, with PyTorch's names and layouts ({@code conv1.weight}
 * [out, in, kh, kw], {@code fc1.weight} [out, in], {@code bn1.num_batches_tracked} as I64), so that
 * {@code model.load_state_dict(safetensors.torch.load_file(path))} loads a Shears model in PyTorch and the
 * other way round. Writes are atomic (see {@link SafeTensors#write}), and a model with a NaN or infinite value
 * is never written (a diverged training run must not overwrite a good file) nor loaded.
 *
 * <p>A {@link Graph}'s architecture is saved with it as JSON in the metadata ({@link Architecture#KEY},
 * {@code shears.graph}), so that {@link #loadModel} rebuilds it without the code that built it.
 */
public final class Checkpoints {

    /** The widths of a SimpleCNN as found in a checkpoint; a pruned network has smaller ones. */
    public record SimpleCnnWidths(int c1, int c2, int hidden) {}

    private Checkpoints() {}

    /** Saves every parameter and buffer of {@code model}. */
    public static void save(Module model, Path file) throws IOException {
        save(model, file, Map.of());
    }

    /**
     * Saves the state dict with extra string metadata in the header (safetensors' {@code __metadata__}); for a
     * {@link Graph}, with its architecture under {@link Architecture#KEY} too.
     *
     * @throws IllegalStateException naming the first non-finite value, before anything is written
     */
    public static void save(Module model, Path file, Map<String, String> metadata) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        if (model instanceof Graph) meta.put(Architecture.KEY, Architecture.toJson(model));
        meta.putAll(metadata);
        save(stateDict(model), file, meta);
    }

    /** Saves host copies of a state dict (from {@link #stateDict}) as {@link #save(Module, Path, Map)} does. */
    public static void save(Map<String, NamedArray> stateDict, Path file, Map<String, String> metadata) throws IOException {
        requireFinite(stateDict, file);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");   // what safetensors.torch.save_file writes; some loaders look for it
        meta.putAll(metadata);
        SafeTensors.write(file, stateDict, meta);
    }

    /** Host copies of {@code model}'s parameters and buffers, by PyTorch name, with PyTorch's dtypes, in a new map the caller may edit. */
    public static Map<String, NamedArray> stateDict(Module model) {
        Map<String, NamedArray> tensors = new LinkedHashMap<>();
        model.stateDict().forEach((name, t) -> tensors.put(name, NamedArray.forPyTorch(name, t.shape(), t.toArray())));
        return tensors;
    }

    /** Throws naming the first NaN or infinite value of {@code tensors} and the file that is therefore not written. */
    public static void requireFinite(Map<String, NamedArray> tensors, Path file) {
        tensors.forEach((name, a) -> {
            int i = a.firstNonFinite();
            if (i >= 0)
                throw new IllegalStateException("not saving " + file + ": " + name + "[" + i + "] is " + a.data()[i]
                        + " (did training diverge?)");
        });
    }

    /**
     * Loads {@code file} into {@code model}, tensor by name, onto the model's backend, as PyTorch's strict
     * {@code load_state_dict} would. Every tensor of the model must be in the file, except those that
     * {@link Module#mayBeMissing may be missing} (BatchNorm's {@code num_batches_tracked}), and the file may
     * hold nothing else. With {@code allowResize} a tensor may have another shape than the model's (the layer
     * then takes the file's size, as when loading a pruned checkpoint into a full-width model); otherwise
     * shapes must {@link Module#shapeFits fit} (equal, or [1] for a scalar).
     *
     * @throws IllegalArgumentException naming the file and every missing, unexpected or misshapen tensor, and
     *                                  each that holds a NaN or an infinity
     */
    public static void load(Module model, Path file, boolean allowResize) throws IOException {
        load(model, SafeTensors.read(file), file, allowResize);
    }

    /**
     * The model saved in {@code file}: the {@link Graph} its {@link Architecture#KEY} metadata describes, else
     * (a checkpoint without it) a SimpleCNN as {@link #loadSimpleCNN} finds it. Built on the default backend.
     *
     * @throws IllegalArgumentException naming the file and what does not fit
     */
    public static Module loadModel(Path file) throws IOException {
        SafeTensors.Contents contents = SafeTensors.read(file);
        String json = contents.metadata().get(Architecture.KEY);
        if (json == null) return simpleCnn(contents, file);
        Module model;
        try {
            model = Architecture.fromJson(json);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
        load(model, contents, file, false);
        return model;
    }

    /**
     * Builds a SimpleCNN with the widths found in {@code file} and loads it: the way to reload a pruned
     * model. The network is created on the default backend.
     */
    public static Sequential loadSimpleCNN(Path file) throws IOException {
        return simpleCnn(SafeTensors.read(file), file);
    }

    private static Sequential simpleCnn(SafeTensors.Contents contents, Path file) {
        SimpleCnnWidths w = simpleCnnWidths(contents, file);
        Sequential model = SimpleCNN.create(w.c1(), w.c2(), w.hidden(), 0);
        load(model, contents, file, false);
        return model;
    }

    /**
     * Reads c1, c2 and hidden from the shapes of conv1.weight [c1, 1, 3, 3], conv2.weight [c2, c1, 3, 3] and
     * fc1.weight [hidden, c2·7·7], checking that they agree with each other and with fc2.weight [10, hidden].
     */
    public static SimpleCnnWidths simpleCnnWidths(SafeTensors.Contents contents, Path file) {
        int[] conv1 = shape(contents, file, "conv1.weight", 4);
        int[] conv2 = shape(contents, file, "conv2.weight", 4);
        int[] fc1 = shape(contents, file, "fc1.weight", 2);
        int[] fc2 = shape(contents, file, "fc2.weight", 2);
        int c1 = conv1[0], c2 = conv2[0], hidden = fc1[0];
        expect(file, "conv1.weight", conv1, new int[]{c1, 1, 3, 3});
        expect(file, "conv2.weight", conv2, new int[]{c2, c1, 3, 3});
        expect(file, "fc1.weight", fc1, new int[]{hidden, c2 * 7 * 7});
        expect(file, "fc2.weight", fc2, new int[]{10, hidden});
        return new SimpleCnnWidths(c1, c2, hidden);
    }

    /** As {@link #load(Module, Path, boolean)}, from tensors already read ({@code file} only names them in errors). */
    public static void load(Module model, SafeTensors.Contents contents, Path file, boolean allowResize) {
        requireFit(model, contents.tensors(), file, allowResize);
        Backend backend = model.backend();
        Map<String, Tensor> state = new LinkedHashMap<>();
        contents.tensors().forEach((name, a) -> state.put(name, Tensor.of(backend, a.data(), a.shape())));
        model.loadStateDict(state, allowResize);
    }

    /**
     * Checks that {@code tensors} has exactly {@code model}'s state-dict names, with its shapes unless
     * {@code allowResize}, and only finite values.
     *
     * @throws IllegalArgumentException naming {@code file} and every missing, unexpected or misshapen tensor, and
     *                                  the first NaN or infinity of each tensor that holds one
     */
    public static void requireFit(Module model, Map<String, NamedArray> tensors, Path file, boolean allowResize) {
        Map<String, Tensor> mine = model.stateDict();
        List<String> problems = new ArrayList<>();
        for (var e : mine.entrySet()) {
            NamedArray a = tensors.get(e.getKey());
            if (a == null) {
                if (!model.mayBeMissing(e.getKey()))
                    problems.add(e.getKey() + ": missing (the model expects shape " + Arrays.toString(e.getValue().shape()) + ")");
            } else if (!allowResize && !Module.shapeFits(a.shape(), e.getValue().shape()))
                problems.add(e.getKey() + ": shape " + Arrays.toString(a.shape()) + " in the file, the model expects "
                        + Arrays.toString(e.getValue().shape()));
        }
        for (String name : tensors.keySet())
            if (!mine.containsKey(name)) problems.add(name + ": not a tensor of this model");
        // one NaN or infinity makes every output NaN (and a pruning criterion meaningless): say where, at once
        tensors.forEach((name, a) -> {
            int i = a.firstNonFinite();
            if (i >= 0) problems.add(name + ": " + a.data()[i] + " at flat index " + i + " (weights must be finite)");
        });
        if (!problems.isEmpty())
            throw new IllegalArgumentException(file + " does not fit " + model.getClass().getSimpleName() + ": "
                    + String.join("; ", problems));
    }

    private static int[] shape(SafeTensors.Contents contents, Path file, String name, int rank) {
        NamedArray a = contents.tensors().get(name);
        if (a == null)
            throw new IllegalArgumentException(file + ": not a SimpleCNN checkpoint: tensor " + name + " is missing; the file has "
                    + contents.tensors().keySet());
        if (a.shape().length != rank || Arrays.stream(a.shape()).anyMatch(d -> d == 0))
            throw new IllegalArgumentException(file + ": tensor " + name + " has shape " + Arrays.toString(a.shape())
                    + "; a SimpleCNN expects " + rank + " non-zero dimensions");
        return a.shape();
    }

    private static void expect(Path file, String name, int[] found, int[] expected) {
        if (!Arrays.equals(found, expected))
            throw new IllegalArgumentException(file + ": tensor " + name + " has shape " + Arrays.toString(found)
                    + "; the SimpleCNN implied by the other tensors expects " + Arrays.toString(expected));
    }
}
