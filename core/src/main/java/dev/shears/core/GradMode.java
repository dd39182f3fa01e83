package dev.shears.core;

/**
 * Whether ops record the graph, per thread. {@code try (var g = GradMode.off()) { ... }} is PyTorch's
 * {@code torch.no_grad()}: nothing inside is recorded, so evaluation keeps no graph alive.
 */
public final class GradMode implements AutoCloseable {
    private static final ThreadLocal<Boolean> ENABLED = ThreadLocal.withInitial(() -> true);
    private final boolean previous;

    private GradMode(boolean enabled) {
        previous = ENABLED.get();
        ENABLED.set(enabled);
    }

    public static GradMode off() { return new GradMode(false); }

    public static GradMode on() { return new GradMode(true); }

    public static boolean isEnabled() { return ENABLED.get(); }

    @Override
    public void close() { ENABLED.set(previous); }
}
