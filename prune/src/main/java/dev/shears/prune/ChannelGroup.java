package dev.shears.prune;

import java.util.List;

/**
 * One coupled channel dimension: pruning channel c removes it from every member at once.
 *
 * <ul>
 *   <li>{@code producers}: the layers whose output channels (Conv2d filters, Linear rows) these are — one in
 *       a chain; several where a residual add would tie them together (not traced yet);</li>
 *   <li>{@code norms}: BatchNorm2d layers over the same channels (γ, β and the running statistics);</li>
 *   <li>{@code between}: the channel-wise layers on the way (ReLU, MaxPool2d, Flatten), in order — they carry
 *       a pruned channel's leftover constant to the consumers, see {@link Slicer};</li>
 *   <li>{@code consumers}: the layers that read these channels as inputs.</li>
 * </ul>
 *
 * The group's name is its first producer's path ("conv1"). {@code channels} is the width at analysis time; a
 * group describes the model as it was analysed — after slicing, analyse again.
 */
public record ChannelGroup(String name, int channels, List<String> producers, List<String> norms,
                           List<String> between, List<Consumer> consumers) {
    public ChannelGroup {
        producers = List.copyOf(producers);
        norms = List.copyOf(norms);
        between = List.copyOf(between);
        consumers = List.copyOf(consumers);
    }

    public boolean hasNorm() { return !norms.isEmpty(); }
}
