package dev.shears.opencl;

import dev.shears.core.Backend;
import dev.shears.core.BackendProvider;
import dev.shears.core.Backends;
import dev.shears.core.Storage;
import dev.shears.core.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Device listing and choice, the provider, and storages' life cycle and misuse. */
class OpenClDevicesTest {

    @Test
    void listsDevicesAndExplainsBadSpecs() {
        OpenClTesting.backend();
        assertFalse(OpenClDevices.list().isEmpty());
        for (OpenClDevices.Device d : OpenClDevices.list()) System.out.println("OpenCL device: " + d);
        OpenClDevices.Device first = OpenClDevices.list().getFirst();
        assertEquals(first, OpenClDevices.select("opencl:" + first.platformIndex() + ":" + first.deviceIndex()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OpenClDevices.select("opencl:9:9"));
        assertTrue(e.getMessage().contains("no OpenCL device 9:9") && e.getMessage().contains(first.name()), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> OpenClDevices.select("opencl:x"));
    }

    @Test
    void providerIsNamedOpenclAndNeverTheDefault() {
        OpenClTesting.backend();
        BackendProvider p = Backends.providers().stream().filter(q -> q.name().equals("opencl")).findFirst().orElseThrow();
        assertFalse(p.isDefaultCandidate());
        assertTrue(p.isAvailable());
        Backend b = Backends.byName("opencl");
        assertSame(b, Backends.byName("opencl"), "one shared backend per device");
        assertEquals("opencl", b.name());
        assertEquals("opencl(" + ((OpenClBackend) b).device().name() + ")", b.toString(), "reports name the device");
    }

    @Test
    void storagesCloseOnceAndFailClearlyWhenMisused() {
        // a backend of its own, so that the GC closing other tests' forgotten storages cannot move its counters
        try (OpenClBackend b = OpenClBackend.open(OpenClTesting.backend().device().spec())) {
            storagesOf(b);
        }
    }

    private static void storagesOf(OpenClBackend b) {
        long before = b.liveBytes();
        Storage s = b.upload(new float[]{1, 2, 3});
        assertEquals(before + 12, b.liveBytes());
        s.close();
        s.close();
        assertTrue(s.isClosed());
        assertEquals(before, b.liveBytes());
        IllegalStateException closed = assertThrows(IllegalStateException.class, () -> b.download(s));
        assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
        Storage heap = ReferenceBackend.INSTANCE.upload(new float[]{1});
        IllegalArgumentException foreign = assertThrows(IllegalArgumentException.class, () -> b.download(heap));
        assertTrue(foreign.getMessage().contains("Tensor.to(backend)"), foreign.getMessage());
        try (Storage ints = b.uploadInts(new int[]{4, -1, 7})) {
            assertArrayEquals(new int[]{4, -1, 7}, b.downloadInts(ints));
        }
        // another backend on the same device has its own queue (and buffer pool): its storages are refused
        OpenClBackend other = OpenClTesting.backend();
        try (Storage theirs = other.upload(new float[]{1})) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.download(theirs));
            assertTrue(e.getMessage().contains("another backend instance"), e.getMessage());
            assertArrayEquals(new float[]{1}, other.download(theirs));
        }
    }
}
