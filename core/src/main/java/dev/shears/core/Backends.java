package dev.shears.core;

import dev.shears.core.reference.ReferenceBackend;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Finds backends at run time. Modules on the class path announce theirs through {@link BackendProvider}
 * (ServiceLoader); the default is the available provider with the highest priority (the SIMD CPU backend
 * when ops-cpu is present, else the scalar reference), or the one named by {@code -Dshears.backend=NAME}.
 */
public final class Backends {
    private static volatile Backend defaultBackend;

    private Backends() {}

    public static List<BackendProvider> providers() {
        List<BackendProvider> list = new ArrayList<>();
        ServiceLoader.load(BackendProvider.class).forEach(list::add);
        list.sort(Comparator.comparingInt(BackendProvider::priority).reversed());
        return list;
    }

    /** The backend new tensors go to unless told otherwise. */
    public static Backend getDefault() {
        Backend b = defaultBackend;
        if (b == null) {
            synchronized (Backends.class) {
                if (defaultBackend == null) {
                    String wanted = System.getProperty("shears.backend");
                    defaultBackend = wanted != null ? byName(wanted) : firstAvailable();
                }
                b = defaultBackend;
            }
        }
        return b;
    }

    public static void setDefault(Backend backend) {
        defaultBackend = backend;
    }

    /** The backend whose provider answers to {@code spec} (e.g. "cpu", "reference", "opencl:0:1"). */
    public static Backend byName(String spec) {
        String name = spec.contains(":") ? spec.substring(0, spec.indexOf(':')) : spec;
        if (name.equals("reference")) return ReferenceBackend.INSTANCE;
        List<String> known = new ArrayList<>(List.of("reference"));
        for (BackendProvider p : providers()) {
            known.add(p.name());
            if (p.name().equals(name)) return p.create(spec);
        }
        throw new IllegalArgumentException("no backend named '" + name + "'; available: " + known);
    }

    private static Backend firstAvailable() {
        for (BackendProvider p : providers()) {
            if (p.isDefaultCandidate() && p.isAvailable()) return p.create(p.name());
        }
        return ReferenceBackend.INSTANCE;
    }
}
