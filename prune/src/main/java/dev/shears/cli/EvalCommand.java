package dev.shears.cli;

import dev.shears.data.Mnist;
import dev.shears.nn.Module;
import dev.shears.nn.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.LinkedHashMap;
import java.util.Map;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Accuracy and mean cross-entropy of a saved model (--model) on the test split of --data.")
final class EvalCommand extends BackendCommand {

    @Mixin Options.Data data;
    @Mixin Options.Model model;
    @Mixin Options.Batch batch;

    @Override
    protected int run() throws Exception {
        Module model = this.model.require(this);
        Mnist data = this.data.load(this);
        this.model.requireFits(data.test(), this.data);
        Trainer.Evaluation ev = Trainer.evaluate(model, data.test(), batch.size);
        say("%s on %s: accuracy %.2f%%, loss %.4f, %,d samples, %,.0f samples/s on %s",
                this.model.file, this.data.name, 100 * ev.accuracy(), ev.loss(), ev.samples(), ev.samplesPerSecond(), deviceName());
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("command", "eval");
        json.put("model", this.model.file.toString());
        json.put("data", this.data.name);
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
