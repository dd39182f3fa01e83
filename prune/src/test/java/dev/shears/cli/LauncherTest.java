package dev.shears.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bin/shears hands the CLI the caller's stdout, stderr and exit code. Run on a copy of the script in a tree
 * that needs no build, with a stand-in for JDK 25's java that prints to both streams and exits with 3. (The
 * launcher once redirected its own stderr to /dev/null before starting Java, which hid every log line,
 * progress bar, usage message and error of the CLI.)
 */
@DisabledOnOs(OS.WINDOWS)
class LauncherTest {
    private static final Path ROOT = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().getParent();

    @Test
    void stdoutStderrAndExitCodeReachTheCaller(@TempDir Path dir) throws Exception {
        Path tree = dir.resolve("shears"), target = tree.resolve("prune/target");
        Files.createDirectories(tree.resolve("bin"));
        Files.createDirectories(target);
        Path script = Files.copy(ROOT.resolve("bin/shears"), tree.resolve("bin/shears"));
        Path pom = Files.writeString(tree.resolve("pom.xml"), "");
        Files.writeString(target.resolve("shears.classpath"), "");
        Files.writeString(target.resolve("shears-prune-0.jar"), "");
        Path stamp = Files.writeString(target.resolve("shears.stamp"), "");
        // sources older than the last build: the launcher goes straight to java
        Files.setLastModifiedTime(pom, FileTime.from(Instant.now().minusSeconds(3600)));
        Files.setLastModifiedTime(stamp, FileTime.from(Instant.now()));

        Path java = dir.resolve("jdk/bin/java");
        Files.createDirectories(java.getParent());
        Files.writeString(java, """
                #!/bin/sh
                if [ "$1" = "-version" ]; then echo 'openjdk version "25.0.1" 2025-10-21' >&2; exit 0; fi
                echo "from the CLI, on stderr" >&2
                echo "from the CLI, on stdout"
                exit 3
                """);
        assertTrue(java.toFile().setExecutable(true));

        ProcessBuilder pb = new ProcessBuilder("bash", script.toString(), "train", "--bogus");
        pb.environment().put("JAVA_HOME", dir.resolve("jdk").toString());
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the launcher finished");
        String out = new String(p.getInputStream().readAllBytes()), err = new String(p.getErrorStream().readAllBytes());
        assertEquals(3, p.exitValue(), "exit code; stderr: " + err);
        assertTrue(out.contains("from the CLI, on stdout"), out);
        assertTrue(err.contains("from the CLI, on stderr"), "stderr was: " + err);
    }
}
