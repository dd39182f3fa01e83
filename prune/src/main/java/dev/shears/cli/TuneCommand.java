package dev.shears.cli;

import dev.shears.cpu.GemmTuning;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "tune", mixinStandardHelpOptions = true,
        description = {"Times the CPU GEMM's cache blockings on this machine (about a second) and keeps the fastest",
                "in ~/.cache/shears (the machine's wisdom), for every later run with the same CPU and JVM flags.",
                "Without it the blocking comes from the cache sizes the OS reports; -Dshears.gemm.blocking=KC,MC,NC",
                "overrides both, -Dshears.gemm.wisdom=DIR|off moves or ignores the file."})
final class TuneCommand extends ShearsCommand {

    @Option(names = "--dry-run", description = "Time and report, but write no file.")
    boolean dryRun;

    @Override
    protected int run() throws Exception {
        Path file = dryRun ? null : GemmTuning.wisdomFile();
        if (!dryRun && file == null) throw usageError("-Dshears.gemm.wisdom=off: there is nowhere to write; use --dry-run");
        log("tune: timing GEMM blockings on one thread at 512³ and 1024³...");
        GemmTuning.Result r = GemmTuning.tune(file);
        say("%-20s %10s %10s %10s", "KC,MC,NC", "512³", "1024³", "geomean");
        List<Map<String, Object>> trials = new ArrayList<>();
        for (GemmTuning.Trial t : r.trials()) {
            String mark = t.blocking().equals(r.best()) ? "  <- best" : t.blocking().equals(r.fromCaches()) ? "  (from the cache sizes)" : "";
            say("%-20s %10.1f %10.1f %10.1f%s", t.blocking(), t.gflops512(), t.gflops1024(), t.score(), mark);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("blocking", t.blocking().toString());
            row.put("gflops_512", t.gflops512());
            row.put("gflops_1024", t.gflops1024());
            trials.add(row);
        }
        say("GFLOPS per thread-CPU-second (the best of a few calls); the blocking from the cache sizes is %s.", r.fromCaches());
        say(file == null ? "not written (--dry-run)" : "wrote %s: later runs use KC,MC,NC = %s", file, r.best());
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("command", "tune");
        json.put("machine", GemmTuning.machineKey());
        json.put("caches", GemmTuning.Caches.ofThisMachine().toString());
        json.put("from_caches", r.fromCaches().toString());
        json.put("best", r.best().toString());
        json.put("file", file == null ? null : file.toString());
        json.put("trials", trials);
        emitJson(json);
        return 0;
    }
}
