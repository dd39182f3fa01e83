package dev.shears.nn.train;

import dev.shears.core.Backend;
import dev.shears.core.Storage;
import dev.shears.core.Tensor;
import dev.shears.nn.Module;
import dev.shears.nn.io.Checkpoints;
import dev.shears.nn.io.NamedArray;
import dev.shears.nn.io.SafeTensors;
import dev.shears.nn.optim.SGD;
import dev.shears.nn.optim.LrSchedule;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.Objects;
import java.util.TreeSet;

/**
 * A training run's checkpoint directory, written after every epoch so that a run can be resumed and end
 * bit-identical to one that was never interrupted (same backend and thread count).
 *
 * <pre>
 * DIR/model.safetensors           the model's state dict, PyTorch's names and dtypes: load_state_dict takes it
 * DIR/training-state.safetensors  everything to go on: the model again (model.*), the SGD momentum buffers
 *                                 (momentum.NAME), and in its metadata the epochs done, the learning rate and the
 *                                 schedule's position, the SGD settings, the caller's recipe (recipe.*) and the
 *                                 SHA-256 of the model.safetensors written with it
 * </pre>
 *
 * <p>The shuffle needs no saved RNG: {@link dev.shears.data.DataLoader} draws epoch e's order from (seed, e)
 * alone, so the seed (in the caller's recipe) and the epoch count are its position.
 *
 * <p>Crash safety: each file is written atomically ({@link SafeTensors#write}: a temporary file, fsync, rename,
 * fsync of the directory), model first, state second. The state file is the commit point and holds its own copy
 * of the weights, so a kill at any moment leaves a state that is complete and self-consistent — the previous
 * epoch's or the new one's. A kill between the two renames leaves model.safetensors one epoch ahead of the state;
 * {@link #load} notices (the hash differs, the model's {@code shears.epochs} is one more) and says so in
 * {@link State#note()}; resuming retrains that epoch bit-identically and rewrites the file.
 *
 * <p>Nothing non-finite is ever written: {@link #save} checks every weight and momentum value first.
 */
public final class TrainingCheckpoint {
    public static final String MODEL_FILE = "model.safetensors";
    public static final String STATE_FILE = "training-state.safetensors";

    private static final String MODEL = "model.", MOMENTUM = "momentum.", RECIPE = "recipe.";
    private static final String FORMAT = "shears.training-state", VERSION = "1";

    private TrainingCheckpoint() {}

    /**
     * What a checkpoint holds.
     *
     * @param epochs   epochs completed; training goes on with epoch index {@code epochs}
     * @param model    the model's state dict, by PyTorch name
     * @param momentum the started momentum buffers, by parameter name
     * @param note     what {@link #load} noticed about model.safetensors, or null when it matches the state
     */
    public record State(int epochs, float lr, int scheduleEpoch, Map<String, String> sgd, Map<String, String> recipe,
                        Map<String, NamedArray> model, Map<String, float[]> momentum, String note) {

        /**
         * Copies the saved weights, buffers and momentum into {@code model} and {@code sgd} (built over
         * {@code model.parameters()} as for a fresh run) and moves {@code schedule} (null for none) to its position.
         *
         * @throws IllegalArgumentException saying what differs: tensor names or shapes, or SGD/schedule settings
         */
        public void restore(Module model, SGD sgd, LrSchedule schedule) {
            Checkpoints.requireFit(model, this.model, Path.of(STATE_FILE), false);
            List<String> problems = differences(this.sgd, settings(sgd, schedule));
            if (!problems.isEmpty())
                throw new IllegalArgumentException("the checkpoint was made with other optimiser settings: " + String.join("; ", problems));
            List<String> names = parameterNames(model, sgd);
            for (String name : momentum.keySet())
                if (!model.namedParameters().containsKey(name))
                    throw new IllegalArgumentException("the checkpoint has a momentum buffer for " + name + ", not a parameter of the model");

            model.stateDict().forEach((name, t) -> copyInto(t, this.model.get(name).data()));
            for (int i = 0; i < sgd.params().size(); i++) {
                float[] m = momentum.get(names.get(i));
                if (m != null) sgd.setMomentumBuffer(i, m);
            }
            if (schedule != null) schedule.resumeAt(scheduleEpoch);
            else sgd.setLr(lr);
            if (Float.floatToIntBits(sgd.lr()) != Float.floatToIntBits(lr))
                throw new IllegalArgumentException("the learning rate after restoring is " + sgd.lr() + ", the checkpoint's is " + lr
                        + ": the schedule differs");
        }

        /** "key: saved in the checkpoint, given now" for every recipe entry that differs (absent: "not set"). */
        public List<String> recipeDifferences(Map<String, String> given) {
            return differences(recipe, given);
        }
    }

    /** Whether {@code dir} holds a training state to resume from. */
    public static boolean exists(Path dir) {
        return Files.isRegularFile(dir.resolve(STATE_FILE));
    }

    /**
     * Writes the pair after {@code epochs} completed epochs (model first, then the state: see the class comment).
     * {@code schedule} may be null; {@code recipe} is whatever the caller needs to check on resume (options,
     * data, seed: the seed is the shuffle's position). Creates {@code dir} if needed.
     *
     * @throws IllegalStateException before writing anything, if a weight or momentum value is not finite
     */
    public static void save(Path dir, Module model, SGD sgd, LrSchedule schedule, int epochs, Map<String, String> recipe) throws IOException {
        Files.createDirectories(dir);
        Path modelFile = dir.resolve(MODEL_FILE), stateFile = dir.resolve(STATE_FILE);
        Map<String, NamedArray> weights = Checkpoints.stateDict(model);
        Map<String, NamedArray> momentum = new LinkedHashMap<>();
        List<String> names = parameterNames(model, sgd);
        for (int i = 0; i < names.size(); i++) {
            float[] m = sgd.momentumBuffer(i);
            if (m != null) momentum.put(MOMENTUM + names.get(i), new NamedArray(sgd.params().get(i).shape(), m));
        }
        Checkpoints.requireFinite(momentum, stateFile);
        Checkpoints.requireFinite(weights, modelFile);

        SafeTensors.deleteStaleTemporaries(modelFile);
        SafeTensors.deleteStaleTemporaries(stateFile);
        Checkpoints.save(weights, modelFile, Map.of("shears.epochs", String.valueOf(epochs)));

        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("version", VERSION);
        meta.put("epochs", String.valueOf(epochs));
        meta.put("lr", Float.toString(sgd.lr()));
        meta.put("schedule.epoch", String.valueOf(schedule == null ? epochs : schedule.position()));
        meta.put("model.sha256", sha256(modelFile));
        settings(sgd, schedule).forEach((k, v) -> meta.put("sgd." + k, v));
        recipe.forEach((k, v) -> meta.put(RECIPE + k, v));
        Map<String, NamedArray> tensors = new LinkedHashMap<>();
        weights.forEach((name, a) -> tensors.put(MODEL + name, a));
        tensors.putAll(momentum);
        SafeTensors.write(stateFile, tensors, meta);
    }

    /**
     * Reads {@code dir}'s training state and checks model.safetensors against it (see {@link State#note()}).
     *
     * @throws IllegalArgumentException if the state file is not a Shears training state
     */
    public static State load(Path dir) throws IOException {
        Path stateFile = dir.resolve(STATE_FILE);
        SafeTensors.Contents c = SafeTensors.read(stateFile);
        Map<String, String> meta = c.metadata();
        if (!FORMAT.equals(meta.get("format")) || !VERSION.equals(meta.get("version")))
            throw new IllegalArgumentException(stateFile + ": not a Shears training state (format " + meta.get("format")
                    + ", version " + meta.get("version") + "; expected " + FORMAT + " " + VERSION + ")");
        Map<String, NamedArray> model = new LinkedHashMap<>();
        Map<String, float[]> momentum = new LinkedHashMap<>();
        c.tensors().forEach((name, a) -> {
            if (name.startsWith(MODEL)) model.put(name.substring(MODEL.length()), a);
            else if (name.startsWith(MOMENTUM)) momentum.put(name.substring(MOMENTUM.length()), a.data());
            else throw new IllegalArgumentException(stateFile + ": unexpected tensor " + name);
        });
        Map<String, String> sgd = new LinkedHashMap<>(), recipe = new LinkedHashMap<>();
        meta.forEach((k, v) -> {
            if (k.startsWith("sgd.")) sgd.put(k.substring(4), v);
            else if (k.startsWith(RECIPE)) recipe.put(k.substring(RECIPE.length()), v);
        });
        int epochs = Integer.parseInt(required(meta, "epochs", stateFile));
        return new State(epochs, Float.parseFloat(required(meta, "lr", stateFile)),
                Integer.parseInt(required(meta, "schedule.epoch", stateFile)), sgd, recipe, model, momentum,
                note(dir.resolve(MODEL_FILE), required(meta, "model.sha256", stateFile), epochs));
    }

    /** Null when model.safetensors is the one written with the state, else what is the matter with it. */
    private static String note(Path modelFile, String expectedHash, int epochs) throws IOException {
        if (!Files.isRegularFile(modelFile))
            return modelFile + " is missing; it is written again after the next epoch";
        if (sha256(modelFile).equals(expectedHash)) return null;
        String modelEpochs;
        try {
            modelEpochs = SafeTensors.read(modelFile).metadata().get("shears.epochs");
        } catch (IOException | RuntimeException unreadable) {
            modelEpochs = null;
        }
        if (String.valueOf(epochs + 1).equals(modelEpochs))
            return modelFile + " is from epoch " + (epochs + 1) + ", one ahead of the training state (the run was stopped between "
                    + "writing the two); resuming from epoch " + epochs + " trains epoch " + (epochs + 1) + " again and rewrites it";
        return modelFile + " is not the one written with the training state (changed since?); resuming uses the state's own copy "
                + "of the weights and rewrites it after the next epoch";
    }

    /** The settings a resumed optimiser and schedule must share with the saved ones. */
    private static Map<String, String> settings(SGD sgd, LrSchedule schedule) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("lr", Float.toString(schedule == null ? sgd.lr() : schedule.baseLr()));
        s.put("momentum", Float.toString(sgd.momentum()));
        s.put("dampening", Float.toString(sgd.dampening()));
        s.put("weight_decay", Float.toString(sgd.weightDecay()));
        s.put("nesterov", String.valueOf(sgd.nesterov()));
        if (schedule != null) new TreeMap<>(schedule.settings()).forEach(s::put);
        return s;
    }

    /** The model's name of each of {@code sgd}'s parameters, in the optimiser's order. */
    private static List<String> parameterNames(Module model, SGD sgd) {
        Map<Tensor, String> byTensor = new java.util.IdentityHashMap<>();
        model.namedParameters().forEach((name, t) -> byTensor.put(t, name));
        List<String> names = new ArrayList<>();
        for (Tensor p : sgd.params()) {
            String name = byTensor.get(p);
            if (name == null)
                throw new IllegalArgumentException("the SGD optimises a tensor that is not a parameter of the model (build it over model.parameters())");
            names.add(name);
        }
        return names;
    }

    private static void copyInto(Tensor t, float[] values) {
        Backend b = t.backend();
        try (Storage s = b.upload(values)) {
            b.copy(values.length, s, t.storage());
        }
    }

    private static String required(Map<String, String> meta, String key, Path file) {
        String v = meta.get(key);
        if (v == null) throw new IllegalArgumentException(file + ": metadata " + key + " is missing; it has " + meta.keySet());
        return v;
    }

    /** "key: saved in the checkpoint, now now" for every key whose values differ, in key order. */
    private static List<String> differences(Map<String, String> saved, Map<String, String> now) {
        TreeSet<String> keys = new TreeSet<>(saved.keySet());
        keys.addAll(now.keySet());
        List<String> out = new ArrayList<>();
        for (String key : keys) {
            String a = saved.get(key), b = now.get(key);
            if (!Objects.equals(a, b))
                out.add(key + ": " + (a == null ? "not set" : a) + " in the checkpoint, " + (b == null ? "not set" : b) + " now");
        }
        return out;
    }

    static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) d.update(buf, 0, n);
            return HexFormat.of().formatHex(d.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
