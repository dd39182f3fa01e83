package dev.shears.opencl;

import dev.shears.core.Backend;
import dev.shears.core.BackendProvider;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * "opencl" for {@link dev.shears.core.Backends}. Never the default: OpenCL is used only when asked for, and then
 * a missing runtime is an error with instructions, never a silent fall-back.
 */
public final class OpenClBackendProvider implements BackendProvider {
    private static final Map<String, OpenClBackend> SHARED = new ConcurrentHashMap<>();

    @Override public String name() { return "opencl"; }
    @Override public int priority() { return 50; }
    @Override public boolean isDefaultCandidate() { return false; }
    @Override public boolean isAvailable() { return OpenClDevices.isAvailable(); }

    /** The shared backend of the device {@code spec} names (one per device spec and JVM). */
    @Override
    public Backend create(String spec) {
        String device = OpenClDevices.select(spec).spec();
        return SHARED.computeIfAbsent(device, OpenClBackend::open);
    }
}
