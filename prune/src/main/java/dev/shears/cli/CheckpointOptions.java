package dev.shears.cli;

import dev.shears.nn.SimpleCNN;
import dev.shears.nn.Module;
import dev.shears.nn.io.Checkpoints;
import dev.shears.nn.io.SafeTensors;
import dev.shears.nn.train.TrainingCheckpoint;
import dev.shears.nn.train.TrainingDivergedException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --checkpoint DIR} and {@code --resume DIR} for train and finetune (a picocli mixin), over
 * {@link TrainingCheckpoint}.
 *
 * <p>The recipe of a run is the values of the options that decide its course (data, limit, batch size, seed,
 * starting model, optimiser, schedule, ...), saved with every checkpoint. On {@code --resume} an option not
 * given takes the checkpoint's value, and one given with another value is refused, naming it and both values.
 */
public final class CheckpointOptions {

    @Option(names = "--checkpoint", paramLabel = "DIR",
            description = {"After every epoch, write DIR/model.safetensors (PyTorch's load_state_dict takes it) and "
                    + "DIR/training-state.safetensors (momentum, epoch, schedule, recipe) atomically: a crash or kill "
                    + "leaves the previous or the new pair, never a torn one."})
    Path checkpoint;

    @Option(names = "--resume", paramLabel = "DIR",
            description = {"Go on from the training state in DIR (written by --checkpoint) up to --epochs epochs in all, "
                    + "writing to DIR again. Options not given take the checkpoint's values; a different value is refused. "
                    + "With the same --threads the result is bit-identical to an uninterrupted run."})
    Path resume;

    /** Where checkpoints go: the {@code --resume} or {@code --checkpoint} directory, or null for none. */
    Path dir() {
        return resume != null ? resume : checkpoint;
    }

    /**
     * The one-line failure for a diverged training run: the trainer's facts (epoch, step, learning rate, loss),
     * what the checkpoint directory keeps after {@code savedEpochs} epochs, that {@code out} (null: none) was not
     * written, and the hint.
     */
    IllegalStateException diverged(TrainingDivergedException d, int savedEpochs, Path out) {
        Path dir = dir();
        String kept = dir == null ? "" : savedEpochs > 0 ? "; " + dir + " keeps epoch " + savedEpochs
                : "; nothing written to " + dir;
        return new IllegalStateException(d.getMessage() + kept + (out == null ? "" : "; " + out + " not written")
                + "; try a lower --lr", d);
    }

    /**
     * With {@code --resume}: reads the state and sets every recipe option not given on the command line to the
     * checkpoint's value; null without {@code --resume}.
     *
     * @throws ParameterException if both options are given, there is no state, or a given option differs
     */
    TrainingCheckpoint.State resume(CommandSpec spec, String command, List<String> recipeOptions) throws IOException {
        if (resume == null) return null;
        if (checkpoint != null)
            throw new ParameterException(spec.commandLine(), "--resume DIR writes its checkpoints to DIR; leave out --checkpoint");
        if (!TrainingCheckpoint.exists(resume))
            throw new ParameterException(spec.commandLine(), "--resume " + resume + ": no " + TrainingCheckpoint.STATE_FILE
                    + " there (is it a --checkpoint directory that finished an epoch?)");
        TrainingCheckpoint.State state = TrainingCheckpoint.load(resume);
        var parsed = spec.commandLine().getParseResult();
        for (String name : recipeOptions) {
            if (parsed.hasMatchedOption(name)) continue;   // compared below, with everything else
            OptionSpec option = option(spec, name);
            String saved = state.recipe().get(name);
            option.setValue(saved == null ? null : convert(saved, option.type()));
        }
        List<String> differences = state.recipeDifferences(recipe(spec, command, recipeOptions));
        if (!differences.isEmpty())
            throw new ParameterException(spec.commandLine(), "--resume " + resume + ": the checkpoint was made with another recipe: "
                    + String.join("; ", differences));
        return state;
    }

    /** The command and the current value of every recipe option (those without a value left out). */
    static Map<String, String> recipe(CommandSpec spec, String command, List<String> recipeOptions) {
        Map<String, String> recipe = new LinkedHashMap<>();
        recipe.put("command", command);
        for (String name : recipeOptions) {
            Object value = option(spec, name).getValue();
            if (value != null) recipe.put(name, value.toString());
        }
        return recipe;
    }

    /**
     * The model of a training state, with its saved weights and buffers, so that it can be evaluated before
     * training goes on ({@code State.restore} copies them again, with the optimiser's state): built as the run's
     * {@code --model} (restored from the recipe: a graph or ONNX model keeps its architecture and input shape),
     * else a SimpleCNN of the widths held in the state.
     */
    static Module model(TrainingCheckpoint.State state, Path dir, Options.Model start, ShearsCommand c) throws IOException {
        var contents = new SafeTensors.Contents(state.model(), Map.of());
        Path file = dir.resolve(TrainingCheckpoint.STATE_FILE);
        Module model;
        if (start.file != null) {
            model = start.require(c);
        } else {
            var widths = Checkpoints.simpleCnnWidths(contents, file);
            model = SimpleCNN.create(widths.c1(), widths.c2(), widths.hidden(), 0);
        }
        Checkpoints.load(model, contents, file, false);
        return model;
    }

    private static OptionSpec option(CommandSpec spec, String name) {
        OptionSpec option = spec.findOption(name);
        if (option == null) throw new IllegalStateException("recipe option " + name + " is not an option of " + spec.name());
        return option;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object enumConstant(Class<? extends Enum> type, String value) { return Enum.valueOf(type, value); }

    private static Object convert(String value, Class<?> type) {
        if (type == float.class || type == Float.class) return Float.parseFloat(value);
        if (type == int.class || type == Integer.class) return Integer.parseInt(value);
        if (type == long.class || type == Long.class) return Long.parseLong(value);
        if (type == double.class || type == Double.class) return Double.parseDouble(value);
        if (type == Path.class) return Path.of(value);
        if (type == String.class) return value;
        if (type.isEnum()) return enumConstant(type.asSubclass(Enum.class), value);
        throw new IllegalStateException("a recipe option of type " + type + " cannot be restored");
    }
}
