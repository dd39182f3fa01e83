package dev.shears.nn.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shears.nn.Add;
import dev.shears.nn.AvgPool2d;
import dev.shears.nn.BatchNorm2d;
import dev.shears.nn.Concat;
import dev.shears.nn.Conv2d;
import dev.shears.nn.Dropout;
import dev.shears.nn.Flatten;
import dev.shears.nn.GlobalAvgPool2d;
import dev.shears.nn.Graph;
import dev.shears.nn.Identity;
import dev.shears.nn.Linear;
import dev.shears.nn.MaxPool2d;
import dev.shears.nn.Module;
import dev.shears.nn.ReLU;
import dev.shears.nn.Sequential;

import java.util.Random;
import java.util.function.Predicate;

/**
 * A model's architecture as JSON, stored in a checkpoint's metadata under {@link #KEY} so that
 * {@link Checkpoints#loadModel} can rebuild it: the layers' types and configurations, and for a
 * {@link Graph} its nodes' inputs and output. The sizes are those of the layers' current tensors, so a
 * pruned model is described as the smaller model it now is. Sequential and Graph may nest.
 * <pre>{@code
 * {"type":"Graph","output":"fc","nodes":[
 *   {"name":"conv1","inputs":["input"],"module":{"type":"Conv2d","in":1,"out":8,"kernel":3,"stride":1,"padding":1,"groups":1,"bias":true}},
 *   ...]}
 * }</pre>
 */
public final class Architecture {
    /** The safetensors metadata key. */
    public static final String KEY = "shears.graph";
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private Architecture() {}

    /** {@code model}'s architecture as a JSON string. @throws IllegalArgumentException naming a module type it cannot describe */
    public static String toJson(Module model) { return describe("model", model).toString(); }

    /**
     * A model built from {@link #toJson}'s output with freshly initialised tensors (load the state dict next).
     *
     * @throws IllegalArgumentException naming what is malformed or unknown
     */
    public static Module fromJson(String json) {
        try {
            return build("model", JSON.readTree(json));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(KEY + " is not valid JSON: " + e.getOriginalMessage());
        }
    }

    private static ObjectNode describe(String path, Module m) {
        ObjectNode o = JSON.createObjectNode();
        o.put("type", m.getClass().getSimpleName());
        switch (m) {
            case Conv2d c -> o.put("in", c.inChannels()).put("out", c.outChannels()).put("kernel", c.kernel())
                    .put("stride", c.stride()).put("padding", c.padding()).put("groups", c.groups()).put("bias", c.bias() != null);
            case BatchNorm2d b -> o.put("channels", b.channels()).put("eps", b.eps()).put("momentum", b.momentum());
            case Linear l -> o.put("in", l.inFeatures()).put("out", l.outFeatures()).put("bias", l.bias() != null);
            case MaxPool2d p -> o.put("kernel", p.kernel()).put("stride", p.stride()).put("padding", p.padding());
            case AvgPool2d p -> o.put("kernel", p.kernel()).put("stride", p.stride()).put("padding", p.padding())
                    .put("countIncludePad", p.countIncludePad());
            case Dropout d -> o.put("p", d.p());
            case Concat c -> o.put("dim", c.dim());
            case ReLU r -> { }
            case Flatten f -> { }
            case GlobalAvgPool2d g -> { }
            case Identity i -> { }
            case Add a -> { }
            case Sequential s -> {
                ArrayNode layers = o.putArray("layers");
                for (String name : s.names())
                    layers.addObject().put("name", name).set("module", describe(path + "." + name, s.child(name)));
            }
            case Graph g -> {
                o.put("output", g.outputName());
                ArrayNode nodes = o.putArray("nodes");
                for (String name : g.nodeNames()) {
                    ObjectNode n = nodes.addObject().put("name", name);
                    ArrayNode in = n.putArray("inputs");
                    g.inputsOf(name).forEach(in::add);
                    n.set("module", describe(path + "." + name, g.node(name)));
                }
            }
            default -> throw new IllegalArgumentException("cannot describe " + path + ": " + m.getClass().getName()
                    + " is not a layer type that a checkpoint's architecture knows");
        }
        return o;
    }

    private static Module build(String path, JsonNode o) {
        Random init = new Random(0);   // every tensor is overwritten by the state dict
        return switch (text(path, o, "type")) {
            case "Conv2d" -> new Conv2d(integer(path, o, "in"), integer(path, o, "out"), integer(path, o, "kernel"),
                    integer(path, o, "stride"), integer(path, o, "padding"), integer(path, o, "groups"), bool(path, o, "bias"), init);
            case "BatchNorm2d" -> new BatchNorm2d(integer(path, o, "channels"), (float) number(path, o, "eps"), (float) number(path, o, "momentum"));
            case "Linear" -> new Linear(integer(path, o, "in"), integer(path, o, "out"), bool(path, o, "bias"), init);
            case "MaxPool2d" -> new MaxPool2d(integer(path, o, "kernel"), integer(path, o, "stride"), integer(path, o, "padding"));
            case "AvgPool2d" -> new AvgPool2d(integer(path, o, "kernel"), integer(path, o, "stride"), integer(path, o, "padding"),
                    bool(path, o, "countIncludePad"));
            case "Dropout" -> new Dropout((float) number(path, o, "p"));
            case "Concat" -> new Concat(integer(path, o, "dim"));
            case "ReLU" -> new ReLU();
            case "Flatten" -> new Flatten();
            case "GlobalAvgPool2d" -> new GlobalAvgPool2d();
            case "Identity" -> new Identity();
            case "Add" -> new Add();
            case "Sequential" -> {
                Sequential s = new Sequential();
                for (JsonNode layer : array(path, o, "layers")) {
                    String name = text(path, layer, "name");
                    s.add(name, build(path + "." + name, field(path, layer, "module")));
                }
                yield s;
            }
            case "Graph" -> {
                Graph g = new Graph();
                for (JsonNode node : array(path, o, "nodes")) {
                    String name = text(path, node, "name");
                    JsonNode in = array(path + "." + name, node, "inputs");
                    String[] inputs = new String[in.size()];
                    for (int i = 0; i < inputs.length; i++) {
                        if (!in.get(i).isTextual()) throw new IllegalArgumentException(KEY + ": " + path + "." + name + ".inputs holds a non-string");
                        inputs[i] = in.get(i).asText();
                    }
                    if (inputs.length == 0) throw new IllegalArgumentException(KEY + ": " + path + "." + name + " has no inputs");
                    g.add(name, build(path + "." + name, field(path, node, "module")), inputs);
                }
                yield g.output(text(path, o, "output"));
            }
            default -> throw new IllegalArgumentException(KEY + ": " + path + " has unknown layer type '" + o.get("type").asText() + "'");
        };
    }

    private static JsonNode field(String path, JsonNode o, String name) {
        JsonNode v = o == null ? null : o.get(name);
        if (v == null || v.isNull()) throw new IllegalArgumentException(KEY + ": " + path + " lacks '" + name + "'");
        return v;
    }

    private static JsonNode typed(String path, JsonNode o, String name, Predicate<JsonNode> ok, String what) {
        JsonNode v = field(path, o, name);
        if (!ok.test(v)) throw new IllegalArgumentException(KEY + ": " + path + "." + name + " must be " + what + ", found " + v);
        return v;
    }

    private static String text(String path, JsonNode o, String name) { return typed(path, o, name, JsonNode::isTextual, "a string").asText(); }
    private static int integer(String path, JsonNode o, String name) { return typed(path, o, name, JsonNode::isInt, "an int").asInt(); }
    private static double number(String path, JsonNode o, String name) { return typed(path, o, name, JsonNode::isNumber, "a number").asDouble(); }
    private static boolean bool(String path, JsonNode o, String name) { return typed(path, o, name, JsonNode::isBoolean, "true or false").asBoolean(); }
    private static JsonNode array(String path, JsonNode o, String name) { return typed(path, o, name, JsonNode::isArray, "an array"); }
}
