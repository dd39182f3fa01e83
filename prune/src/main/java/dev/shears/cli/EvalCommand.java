package dev.shears.cli;

import dev.shears.data.Mnist;
import dev.shears.nn.Module;
import dev.shears.nn.train.Trainer;
import picocli.CommandLine.Command;

import java.util.LinkedHashMap;
import java.util.Map;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Accuracy and mean cross-entropy of a saved model (--model) on the test split of --data.")
final class EvalCommand extends ShearsCommand {

    @Override
    protected int run() throws Exception {
        Module model = requireModel();
        Mnist data = loadData();
        Trainer.Evaluation ev = Trainer.evaluate(model, data.test(), common.batchSize);
        say("%s on %s: accuracy %.2f%%, loss %.4f, %,d samples, %,.0f samples/s on %s",
                common.model, common.data, 100 * ev.accuracy(), ev.loss(), ev.samples(), ev.samplesPerSecond(), deviceName());
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("command", "eval");
        json.put("model", common.model.toString());
        json.put("data", common.data);
        json.put("device", deviceName());
        json.put("accuracy", ev.accuracy());
        json.put("loss", ev.loss());
        json.put("samples", ev.samples());
        json.put("seconds", ev.seconds());
        json.put("samples_per_s", ev.samplesPerSecond());
        json.put("parameters", model.parameterCount());
        emitJson(json);
        return 0;
    }
}
