package dev.shears.cli;

import dev.shears.nn.SimpleCNN;
import dev.shears.nn.io.Checkpoints;
import dev.shears.nn.train.TrainingCheckpoint;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static dev.shears.cli.ShearsTest.shears;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Crash safety of {@code --checkpoint}: a child JVM trains with one-step epochs into one directory and is killed
 * (SIGKILL) at random moments, 20 times — while starting, training, or writing the pair. After every kill what is
 * left must load (or be absent, before the first epoch) and {@code --resume} must go on from it. Excluded with
 * {@code -DexcludedGroups=kill} where child processes cannot be started.
 */
@Tag("kill")
class KillResumeTest {
    private static final int KILLS = 20;
    @TempDir Path dir;

    @Test
    void killingTheProcessAtAnyMomentLeavesAPairThatLoadsAndResumes() throws Exception {
        Path ckpt = dir.resolve("ckpt"), tiny = dir.resolve("tiny.safetensors");
        // a pruned-width SimpleCNN (1,774 parameters): a cold child JVM gets through its first epoch in about a second
        Checkpoints.save(SimpleCNN.create(2, 4, 8, 0), tiny);
        Random random = new Random(19);
        int withState = 0, midWrite = 0, lastEpochs = 0;
        List<String> log = new ArrayList<>();
        for (int kill = 0; kill < KILLS; kill++) {
            boolean resume = TrainingCheckpoint.exists(ckpt);
            Process child = new ProcessBuilder(childCommand(tiny, resume ? "--resume" : "--checkpoint", ckpt))
                    .redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
            // the first two kills come before any epoch can end; until one has been written, each try waits longer,
            // so that a slow machine gets there too
            long delay = kill < 2 ? 100 + random.nextInt(400) : 500 + random.nextInt(2500) + (withState == 0 ? 700L * kill : 0);
            if (child.waitFor(delay, TimeUnit.MILLISECONDS))
                fail("the child ended by itself (exit " + child.exitValue() + "): " + Files.readString(dir.resolve("child.log")));
            // every third kill aims at a write: as soon as a temporary file shows (or 3 s later)
            if (kill % 3 == 2) for (long end = System.nanoTime() + 3_000_000_000L; !stale(ckpt) && System.nanoTime() < end; ) Thread.onSpinWait();
            child.destroyForcibly();   // SIGKILL on Unix: no shutdown hooks, no finally blocks
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));

            if (stale(ckpt)) midWrite++;
            Path model = ckpt.resolve(TrainingCheckpoint.MODEL_FILE);
            if (Files.exists(model)) Checkpoints.loadSimpleCNN(model);   // whatever model file is there is whole
            if (!TrainingCheckpoint.exists(ckpt)) {
                assertEquals(0, lastEpochs, "a state, once written, is never lost");
                log.add(delay + " ms: no state yet");
                continue;
            }
            withState++;
            TrainingCheckpoint.State state = TrainingCheckpoint.load(ckpt);
            assertTrue(state.epochs() >= lastEpochs, "epochs went back from " + lastEpochs + " to " + state.epochs());
            log.add(delay + " ms: state after epoch " + state.epochs() + (state.note() == null ? "" : " (" + state.note() + ")"));
            // resume in-process for one more epoch: it loads everything and writes the pair again
            var r = shears("train", "--resume", ckpt.toString(), "--epochs", String.valueOf(state.epochs() + 1), "--threads", "1", "--quiet");
            assertEquals(0, r.exitCode(), r.err());
            lastEpochs = state.epochs() + 1;
            assertEquals(lastEpochs, TrainingCheckpoint.load(ckpt).epochs());
            assertNull(TrainingCheckpoint.load(ckpt).note());
        }
        System.out.println("KillResumeTest: " + KILLS + " kills, " + withState + " left a state, " + midWrite
                + " interrupted a write (temporary file left); " + log);
        assertTrue(withState >= KILLS / 2, "most kills should come after the first epoch: " + log);
    }

    /** java, the test's class path, and a train command with one step per epoch that would run for days (C1 only: it starts faster). */
    private static List<String> childCommand(Path model, String option, Path ckpt) {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), Shears.class.getName(),
                "train", "--model", model.toString(), "--limit", "16", "--batch-size", "16", "--threads", "1", "--epochs", "1000000", "--quiet"));
        cmd.add(option);
        cmd.add(ckpt.toString());
        return cmd;
    }

    /** Whether a killed write left its temporary file (the next save deletes it). */
    private static boolean stale(Path ckpt) throws Exception {
        if (!Files.isDirectory(ckpt)) return false;
        try (var files = Files.list(ckpt)) {
            return files.anyMatch(f -> f.getFileName().toString().endsWith(".tmp"));
        }
    }
}
