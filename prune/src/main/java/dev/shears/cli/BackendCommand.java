package dev.shears.cli;

import dev.shears.core.Backend;
import dev.shears.core.Backends;
import picocli.CommandLine.Mixin;

/**
 * A subcommand that computes: {@code --device} and {@code --threads} ({@link Options.Compute}) choose the
 * backend and its worker threads before any tensor exists, and the backend is the default for the whole
 * {@link #run()}.
 */
abstract class BackendCommand extends ShearsCommand {

    @Mixin protected Options.Compute compute;

    /** The backend of this run, chosen from {@code --device} before {@link #run()}. */
    protected Backend backend;

    @Override
    public final Integer call() throws Exception {
        // read by the CPU backend when it starts its worker pool, so it must be set before the first tensor
        if (compute.threads != null) System.setProperty("shears.threads", String.valueOf(compute.threads));
        Backend previous = Backends.getDefault();
        backend = compute.device.equals("auto") ? previous : Backends.byName(compute.device);
        Backends.setDefault(backend);   // models and tensors built by this command go to the chosen backend
        try {
            return super.call();
        } finally {
            Backends.setDefault(previous);
        }
    }

    protected String deviceName() {
        return backend.name();
    }

    /** The worker threads asked for (--threads, or -Dshears.threads), else the number of cores. */
    protected int threads() {
        return compute.threads != null ? compute.threads : Integer.getInteger("shears.threads", Runtime.getRuntime().availableProcessors());
    }
}
