package dev.shears.cli;

import dev.shears.nn.Module;
import dev.shears.nn.SimpleCNN;
import dev.shears.nn.Summary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "info", mixinStandardHelpOptions = true,
        description = {"Per-layer output shapes, parameters and FLOPs of SimpleCNN (or of --model: pruned or not, a saved graph model, or an .onnx file), with totals.",
                "FLOPs are per image, forward, a multiply-add counting 2."})
final class InfoCommand extends BackendCommand {

    @Mixin Options.Model model;

    @Override
    protected int run() throws Exception {
        Module model = this.model.loadOr(this, () -> SimpleCNN.create(0));   // weights do not matter here
        int[] input = this.model.sampleShape;
        List<Summary.Layer> layers = Summary.of(model, input);
        long params = 0, flops = 0;
        String format = "%-8s %-46s %-14s %,12d %,14d";
        say("%-8s %-46s %-14s %12s %14s", "layer", "type", "output", "parameters", "FLOPs");
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Summary.Layer l : layers) {
            params += l.parameters();
            flops += l.flops();
            say(format, l.name(), l.description(), Arrays.toString(l.outputShape()), l.parameters(), l.flops());
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("name", l.name());
            row.put("layer", l.description());
            row.put("output_shape", l.outputShape());
            row.put("parameters", l.parameters());
            row.put("flops", l.flops());
            rows.add(row);
        }
        say(format, "total", "input " + Arrays.toString(input), "", params, flops);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("command", "info");
        json.put("model", this.model.describe("SimpleCNN"));
        json.put("input_shape", input);
        json.put("layers", rows);
        json.put("parameters", params);
        json.put("flops", flops);
        emitJson(json);
        return 0;
    }
}
