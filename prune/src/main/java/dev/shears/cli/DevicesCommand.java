package dev.shears.cli;

import dev.shears.core.Backend;
import dev.shears.core.Backends;
import dev.shears.opencl.OpenClDevices;
import picocli.CommandLine.Command;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "devices", mixinStandardHelpOptions = true,
        description = {"The backends this machine can run, each with the name --device takes;",
                "for OpenCL every platform and device, or why there is none."})
final class DevicesCommand extends ShearsCommand {

    @Override
    protected int run() throws Exception {
        List<Map<String, Object>> rows = new ArrayList<>();
        Backend cpu = Backends.byName("cpu");
        rows.add(row("cpu", cpu.toString(), "the default: SIMD kernels on the Vector API"));
        rows.add(row("reference", "reference", "plain loops, one thread: the specification the others are tested against"));
        for (OpenClDevices.Device d : OpenClDevices.list())
            rows.add(row(d.spec(), d.name(), d.type() + ", " + d.computeUnits() + " compute units, "
                    + (d.globalMemBytes() >> 20) + " MiB, " + d.version() + " on " + d.platformName()));
        for (Map<String, Object> r : rows) say("%-14s %-32s %s", r.get("device"), r.get("name"), r.get("about"));
        if (!OpenClDevices.isAvailable()) say("opencl: none. %s", OpenClDevices.problem());

        Map<String, Object> json = new LinkedHashMap<>();
        json.put("command", "devices");
        json.put("devices", rows);
        json.put("opencl_problem", OpenClDevices.isAvailable() ? null : OpenClDevices.problem());
        emitJson(json);
        return 0;
    }

    private static Map<String, Object> row(String device, String name, String about) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("device", device);
        r.put("name", name);
        r.put("about", about);
        return r;
    }
}
