package dev.shears.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Map;
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
        Files.copy(ROOT.resolve("bin/find-jdk25"), tree.resolve("bin/find-jdk25"));
        Path pom = Files.writeString(tree.resolve("pom.xml"), "");
        Files.writeString(target.resolve("shears.classpath"), "");
        Files.writeString(target.resolve("shears-prune-0.jar"), "");
        Path stamp = Files.writeString(target.resolve("shears.stamp"), "");
        // sources older than the last build: the launcher goes straight to java
        Files.setLastModifiedTime(pom, FileTime.from(Instant.now().minusSeconds(3600)));
        Files.setLastModifiedTime(stamp, FileTime.from(Instant.now()));

        fakeJdk(dir.resolve("jdk"), "25.0.1", """
                echo "from the CLI, on stderr" >&2
                echo "from the CLI, on stdout"
                exit 3
                """);

        ProcessBuilder pb = new ProcessBuilder("bash", script.toString(), "train", "--bogus");
        pb.environment().put("JAVA_HOME", dir.resolve("jdk").toString());
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the launcher finished");
        String out = new String(p.getInputStream().readAllBytes()), err = new String(p.getErrorStream().readAllBytes());
        assertEquals(3, p.exitValue(), "exit code; stderr: " + err);
        assertTrue(out.contains("from the CLI, on stdout"), out);
        assertTrue(err.contains("from the CLI, on stderr"), "stderr was: " + err);
    }

    /** A stand-in JDK: bin/javac, and bin/java that prints {@code version} for -version and else runs {@code body}. */
    private static Path fakeJdk(Path home, String version, String body) throws Exception {
        Files.createDirectories(home.resolve("bin"));
        Path java = Files.writeString(home.resolve("bin/java"), "#!/bin/sh\n"
                + "if [ \"$1\" = \"-version\" ]; then echo 'openjdk version \"" + version + "\" 2025-10-21' >&2; exit 0; fi\n" + body);
        Path javac = Files.writeString(home.resolve("bin/javac"), "#!/bin/sh\nexit 0\n");
        assertTrue(java.toFile().setExecutable(true) && javac.toFile().setExecutable(true));
        return home;
    }

    /** What {@code find_jdk25} of bin/find-jdk25 prints under /bin/sh (as mvnw sources it), and its exit status. */
    private static String[] findJdk25(Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", "set -euf; . \"$1\"; find_jdk25", "sh", ROOT.resolve("bin/find-jdk25").toString());
        pb.environment().remove("JAVA_HOME");
        pb.environment().putAll(env);
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new String[]{String.valueOf(p.exitValue()), new String(p.getInputStream().readAllBytes()).strip()};
    }

    @Test
    void findsAJdk25WhereJavaHomeIsUnsetOrAnotherVersion(@TempDir Path dir) throws Exception {
        Path jvms = dir.resolve("jvm");
        Path jdk17 = fakeJdk(jvms.resolve("java-17-openjdk-amd64"), "17.0.15", "exit 0\n");
        Path jdk25 = fakeJdk(jvms.resolve("temurin-25-jdk-amd64"), "25.0.3", "exit 0\n");
        String path17 = jdk17.resolve("bin") + ":/usr/bin:/bin";   // the java on PATH is 17, whatever this machine has
        assertEquals(List.of("0", jdk25.toString()), List.of(findJdk25(Map.of("SHEARS_JVM_DIRS", jvms.toString(), "PATH", path17))));
        assertEquals(List.of("0", jdk25.toString()),
                List.of(findJdk25(Map.of("SHEARS_JVM_DIRS", jvms.toString(), "PATH", path17, "JAVA_HOME", jdk17.toString()))));
        Path other25 = fakeJdk(dir.resolve("mine"), "25", "exit 0\n");
        assertEquals(List.of("0", other25.toString()),
                List.of(findJdk25(Map.of("SHEARS_JVM_DIRS", jvms.toString(), "PATH", path17, "JAVA_HOME", other25.toString()))), "JAVA_HOME first");
        assertEquals(List.of("0", other25.toString()),
                List.of(findJdk25(Map.of("SHEARS_JVM_DIRS", jvms.toString(), "PATH", other25.resolve("bin") + ":/usr/bin:/bin"))), "then PATH");
        Files.delete(jdk25.resolve("bin/javac"));   // a JRE is not enough to build
        assertEquals("1", findJdk25(Map.of("SHEARS_JVM_DIRS", jvms.toString(), "PATH", path17))[0]);
    }

    @Test
    void mvnwWithoutAnyJdk25SaysSoInOneLine(@TempDir Path dir) throws Exception {
        Path jdk17 = fakeJdk(dir.resolve("java-17"), "17.0.15", "exit 0\n");
        ProcessBuilder pb = new ProcessBuilder(ROOT.resolve("mvnw").toString(), "-v");
        pb.environment().remove("JAVA_HOME");
        pb.environment().put("PATH", jdk17.resolve("bin") + ":/usr/bin:/bin");
        pb.environment().put("SHEARS_JVM_DIRS", dir.toString());
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        String err = new String(p.getErrorStream().readAllBytes());
        assertEquals(1, p.exitValue(), err);
        assertEquals(1, err.strip().lines().count(), err);
        assertTrue(err.contains("JDK 25") && err.contains("JAVA_HOME"), err);
    }
}
