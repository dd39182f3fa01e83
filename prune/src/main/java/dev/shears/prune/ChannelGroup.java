package dev.shears.prune;

import java.util.List;
import java.util.Map;

/**
 * One coupled channel dimension: pruning channel c removes it from every member at once (one decision for the
 * whole group, as in Torch-Pruning's DepGraph).
 *
 * <ul>
 *   <li>{@code producers}: the layers whose output channels (Conv2d filters, Linear rows) these are — one in
 *       a chain; several where a residual {@code Add} ties their outputs together, channel c with channel c;</li>
 *   <li>{@code norms}: BatchNorm2d layers over the same channels (γ, β and the running statistics);</li>
 *   <li>{@code depthwise}: depthwise convolutions (groups = channels) on the way: filter c reads and writes
 *       channel c, so it loses its filter c and its group count shrinks;</li>
 *   <li>{@code between}: every layer on the way that keeps channels apart (the norms and depthwise convs, ReLU,
 *       pools, Flatten, Dropout, Identity, Add, Concat), in forward order — they carry a pruned channel's leftover constant to
 *       the consumers, see {@link Slicer};</li>
 *   <li>{@code consumers}: the layers that read these channels as inputs;</li>
 *   <li>{@code offsets}: where channel 0 of the group sits in a member's channels, for members after a
 *       {@code Concat} (a BatchNorm over a concatenation); absent means 0.</li>
 * </ul>
 *
 * The group's name is its first producer's path ("conv1"), the key of plans and scores; {@link #label} is what
 * reports show. {@code channels} is the width at analysis time; a
 * group describes the model as it was analysed — after slicing, analyse again.
 */
public record ChannelGroup(String name, int channels, List<String> producers, List<String> norms, List<String> depthwise,
                           List<String> between, List<Consumer> consumers, Map<String, Integer> offsets) {
    public ChannelGroup {
        producers = List.copyOf(producers);
        norms = List.copyOf(norms);
        depthwise = List.copyOf(depthwise);
        between = List.copyOf(between);
        consumers = List.copyOf(consumers);
        offsets = Map.copyOf(offsets);
    }

    /** A group of a chain: no depthwise member, every offset 0. */
    public ChannelGroup(String name, int channels, List<String> producers, List<String> norms,
                        List<String> between, List<Consumer> consumers) {
        this(name, channels, producers, norms, List.of(), between, consumers, Map.of());
    }

    public boolean hasNorm() { return !norms.isEmpty(); }

    /**
     * The group as reports name it: the name for a single producer; for a residual group (several producers
     * tied by an {@code Add}) every producer, in forward order, and that it is one: "layer1.conv2+layer2.conv2 (residual)".
     */
    public String label() { return producers.size() == 1 ? name : String.join("+", producers) + " (residual)"; }

    /** Where channel 0 of this group sits in the channels of member {@code path} (0 unless after a Concat). */
    public int offsetIn(String path) { return offsets.getOrDefault(path, 0); }
}
