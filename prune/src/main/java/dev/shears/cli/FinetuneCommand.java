package dev.shears.cli;

import dev.shears.data.Mnist;
import dev.shears.nn.Module;
import dev.shears.nn.train.Trainer;
import dev.shears.prune.Training;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = {"Fine-tune a (pruned) model at its own widths with a fresh SGD over its parameters, and save it.",
                "Prints test accuracy before and after."})
final class FinetuneCommand extends ShearsCommand {

    @Mixin TrainingOptions training;
    @Mixin ScheduleOptions schedule;

    @Override
    protected int run() throws Exception {
        if (training.epochs < 0) throw usageError("--epochs must be >= 0, got " + training.epochs);
        if (common.out == null) throw usageError("--out FILE is required");
        if (schedule.problem() != null) throw usageError(schedule.problem());
        Module model = requireModel();
        Mnist data = loadData();
        double before = Training.accuracy(model, data.test());
        var options = new Training.Options(training.epochs, training.lr, training.momentum, training.weightDecay,
                common.batchSize, common.seed, schedule.stepSize(), schedule.gamma);
        List<Map<String, Object>> epochs = new ArrayList<>();
        Training.fineTune(model, data.train(), options, r -> {
            double test = Training.accuracy(model, data.test());
            log("epoch %d/%d: loss %.4f, train accuracy %.2f%%, %.1f s; test accuracy %.2f%%",
                    r.epoch() + 1, training.epochs, r.loss(), 100 * r.accuracy(), r.seconds(), 100 * test);
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("epoch", r.epoch() + 1);
            e.put("loss", r.loss());
            e.put("accuracy", r.accuracy());
            e.put("seconds", r.seconds());
            e.put("test_accuracy", test);
            epochs.add(e);
        });
        double after = Trainer.evaluate(model, data.test(), TrainCommand.EVAL_BATCH).accuracy();
        saveModel(model, Map.of("shears.command", "finetune", "shears.data", common.data));
        say("fine-tuned %s for %d epoch(s): test accuracy %.2f%% → %.2f%% (%,d parameters); saved %s",
                common.model, training.epochs, 100 * before, 100 * after, model.parameterCount(), common.out);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("command", "finetune");
        json.put("model", common.out.toString());
        json.put("parameters", model.parameterCount());
        json.put("accuracy_before", before);
        json.put("accuracy_after", after);
        json.put("epochs", epochs);
        emitJson(json);
        return 0;
    }
}
