package dev.shears.cpu;

import dev.shears.core.Backend;
import dev.shears.core.BackendProvider;

/** Announces {@link CpuBackend} as "cpu" with priority 100: the default whenever ops-cpu is on the class path. */
public final class CpuBackendProvider implements BackendProvider {
    private static volatile CpuBackend shared;

    @Override public String name() { return "cpu"; }

    @Override public int priority() { return 100; }

    @Override public boolean isAvailable() { return true; }

    /** The one shared backend (one pool for the whole JVM), configured by shears.simd and shears.threads. */
    @Override public Backend create(String spec) {
        CpuBackend b = shared;
        if (b == null) {
            synchronized (CpuBackendProvider.class) {
                if (shared == null) shared = new CpuBackend();
                b = shared;
            }
        }
        return b;
    }
}
