package dev.shears.nn;

import dev.shears.core.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A directed acyclic graph of named modules, {@link Sequential}'s sibling for networks with branches
 * (residual additions, concatenations). Nodes are added in topological order: each names its inputs among
 * the nodes before it or {@link #INPUT}, the graph's one input. A plain {@link Module} takes exactly one
 * input, a {@link MultiInput} one or more. Node names are the state-dict prefixes ({@code conv1.weight}),
 * as in Sequential, so they are {@code [A-Za-z0-9_]+}.
 *
 * <pre>{@code
 * Graph block = new Graph()
 *         .add("conv1", new Conv2d(16, 16, 3, 1, 1, false, init))
 *         .add("bn1", new BatchNorm2d(16), "conv1")
 *         .add("relu1", new ReLU(), "bn1")
 *         .add("conv2", new Conv2d(16, 16, 3, 1, 1, false, init), "relu1")
 *         .add("add", new Add(), "conv2", Graph.INPUT);
 * }</pre>
 * With no inputs named, a node takes the node added just before it (the graph's input for the first).
 */
public final class Graph extends Module {
    /** The name by which nodes refer to the graph's input. */
    public static final String INPUT = "input";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_]+");

    private final List<String> order = new ArrayList<>();
    private final Map<String, List<String>> inputs = new HashMap<>();
    private String output;
    /** the wiring by position, computed at the first forward after a change */
    private Plan plan;

    /**
     * Per node (in order): its inputs' positions (−1: the graph's input), the values it is the last to read,
     * and the last node of the chain it starts (itself if none: see {@link #run}); and the output's position.
     */
    private record Plan(int[][] inputAt, int[][] lastUse, int[] chainEnd, int output) {}

    /**
     * Appends a node computing {@code module} of the named {@code inputs} (earlier nodes or {@link #INPUT});
     * with none named, of the previous node.
     *
     * @throws IllegalArgumentException naming a bad or duplicate name, an unknown input, or a plain module
     *                                  given other than one input
     */
    public Graph add(String name, Module module, String... inputs) {
        if (name == null || !NAME.matcher(name).matches())
            throw new IllegalArgumentException("Graph: node name '" + name + "' must match [A-Za-z0-9_]+ (it prefixes state-dict names)");
        if (name.equals(INPUT) || this.inputs.containsKey(name))
            throw new IllegalArgumentException("Graph: node name '" + name + "' is already taken"
                    + (name.equals(INPUT) ? " by the graph's input" : ""));
        List<String> in = inputs.length > 0 ? List.of(inputs) : List.of(order.isEmpty() ? INPUT : order.getLast());
        for (String i : in)
            if (!i.equals(INPUT) && !this.inputs.containsKey(i))
                throw new IllegalArgumentException("Graph: node '" + name + "' reads '" + i + "', which is neither "
                        + INPUT + " nor an earlier node; nodes so far: " + order);
        requireArity(name, module, in.size());
        registerModule(name, module);
        order.add(name);
        this.inputs.put(name, in);
        plan = null;
        return this;
    }

    private static void requireArity(String name, Module module, int n) {
        if (!(module instanceof MultiInput) && n != 1)
            throw new IllegalArgumentException("Graph: node '" + name + "' is a " + module.getClass().getSimpleName()
                    + ", which takes one input, but " + n + " are named");
    }

    /** Makes {@code name} the node whose value {@link #forward} returns (by default the last one added). */
    public Graph output(String name) {
        if (!inputs.containsKey(name))
            throw new IllegalArgumentException("Graph: no node '" + name + "' to make the output; nodes: " + order);
        output = name;
        plan = null;
        return this;
    }

    public String outputName() {
        if (order.isEmpty()) throw new IllegalStateException("Graph: empty graph has no output");
        return output != null ? output : order.getLast();
    }

    /** The node names in evaluation (topological) order. */
    public List<String> nodeNames() { return List.copyOf(order); }

    /** The inputs of {@code node}, in the order its module receives them. */
    public List<String> inputsOf(String node) {
        List<String> in = inputs.get(node);
        if (in == null) throw new IllegalArgumentException("Graph: no node '" + node + "'; nodes: " + order);
        return in;
    }

    /** The module of node {@code name} (the same as {@link #child}). */
    public Module node(String name) { return child(name); }

    /** Swaps the module of node {@code name}, keeping its inputs (pruning builds smaller layers this way). */
    public void replace(String name, Module m) {
        requireArity(name, m, inputsOf(name).size());
        replaceChild(name, m);
    }

    /** Evaluates the nodes in order, dropping each value once no later node (nor the output) needs it. */
    @Override
    public Tensor forward(Tensor x) { return run(x, null); }

    /** Called with every node's value as it is computed ({@link Summary} reads shapes this way). */
    interface NodeListener { void computed(String node, Module module, List<Tensor> inputs, Tensor value); }

    /**
     * The evaluation. Without a listener and with gradients off, each chain of plain nodes (each the only
     * reader of the one before, none of them the output) runs through {@link Inference}, the rewrites a
     * {@link Sequential} gets: Conv2d → BatchNorm2d folded, a pooling fused with its convolution, ReLU in
     * place, the chain's own intermediates handed back to the backend. Values read by several nodes are
     * never among those intermediates, so no rewrite can touch them.
     */
    Tensor run(Tensor x, NodeListener listener) {
        Plan p = plan();
        List<Module> modules = childModules();   // registration order = node order (replace keeps the slot)
        Tensor[] values = new Tensor[order.size()];
        boolean inference = listener == null && Inference.applies();
        for (int i = 0; i < values.length; i++) {
            int[] at = p.inputAt[i];
            Module m = modules.get(i);
            int last = i;
            Tensor y;
            List<Tensor> args = null;
            if (m instanceof MultiInput multi) {
                Tensor[] a = new Tensor[at.length];
                for (int j = 0; j < at.length; j++) a[j] = at[j] < 0 ? x : values[at[j]];
                args = Arrays.asList(a);
                y = multi.forward(args);
            } else {
                Tensor in = at[0] < 0 ? x : values[at[0]];
                if (listener != null) args = List.of(in);
                if (inference && p.chainEnd[i] > i) {
                    last = p.chainEnd[i];
                    y = Inference.forward(modules.subList(i, last + 1), in);
                } else {
                    y = m.forward(in);
                }
            }
            values[last] = y;
            if (listener != null) listener.computed(order.get(i), m, args, y);
            for (int node = i; node <= last; node++)
                for (int free : p.lastUse[node]) values[free] = null;   // last itself only when nothing reads it
            i = last;
        }
        return values[p.output];
    }

    private Plan plan() {
        if (plan != null) return plan;
        if (order.isEmpty()) throw new IllegalStateException("Graph: forward on a graph with no nodes");
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < order.size(); i++) index.put(order.get(i), i);
        int n = order.size(), out = index.get(outputName());
        int[][] inputAt = new int[n][];
        int[] lastReader = new int[n];
        Arrays.fill(lastReader, -1);
        for (int i = 0; i < n; i++) {
            List<String> in = inputs.get(order.get(i));
            inputAt[i] = new int[in.size()];
            for (int j = 0; j < in.size(); j++) {
                int from = in.get(j).equals(INPUT) ? -1 : index.get(in.get(j));
                inputAt[i][j] = from;
                if (from >= 0) lastReader[from] = i;
            }
        }
        List<List<Integer>> freed = new ArrayList<>();
        for (int i = 0; i < n; i++) freed.add(new ArrayList<>());
        for (int v = 0; v < n; v++) {
            if (v == out) continue;                                   // the output is kept to the end
            freed.get(Math.max(lastReader[v], v)).add(v);             // a value nobody reads goes at once
        }
        int[][] lastUse = new int[n][];
        for (int i = 0; i < n; i++) lastUse[i] = freed.get(i).stream().mapToInt(Integer::intValue).toArray();
        int[] readers = new int[n], chainEnd = new int[n];
        for (int[] at : inputAt) for (int from : at) if (from >= 0) readers[from]++;
        List<Module> modules = childModules();
        for (int i = 0; i < n; i++) {
            // node j continues the chain when it is a plain module reading only j − 1, j − 1's only reader
            int j = i;
            while (!(modules.get(j) instanceof MultiInput) && j + 1 < n && !(modules.get(j + 1) instanceof MultiInput)
                    && j != out && readers[j] == 1 && inputAt[j + 1][0] == j) j++;
            chainEnd[i] = modules.get(i) instanceof MultiInput ? i : j;
        }
        return plan = new Plan(inputAt, lastUse, chainEnd, out);
    }

    @Override
    public String describe() {
        StringBuilder sb = new StringBuilder("Graph(\n");
        for (String name : order) {
            sb.append("  (").append(name).append("): ").append(child(name).describe());
            List<String> in = inputs.get(name);
            sb.append(" <- ").append(String.join(", ", in)).append('\n');
        }
        return sb.append("  output: ").append(order.isEmpty() ? "-" : outputName()).append("\n)").toString();
    }
}
