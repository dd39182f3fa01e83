package dev.shears.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
        pb.environment().put("XDG_CACHE_HOME", dir.resolve("cache").toString());   // the AOT cache's tries stay here
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the launcher finished");
        String out = new String(p.getInputStream().readAllBytes()), err = new String(p.getErrorStream().readAllBytes());
        assertEquals(3, p.exitValue(), "exit code; stderr: " + err);
        assertTrue(out.contains("from the CLI, on stdout"), out);
        assertTrue(err.contains("from the CLI, on stderr"), "stderr was: " + err);
    }

    /** A copy of bin/shears in {@code dir}/shears that needs no build: its jar holds {@code jarText}, its classpath file {@code classpath}. */
    private static Path launcherTree(Path dir, String jarText, String classpath) throws Exception {
        Path tree = dir.resolve("shears"), target = tree.resolve("prune/target");
        Files.createDirectories(tree.resolve("bin"));
        Files.createDirectories(target);
        Path script = Files.copy(ROOT.resolve("bin/shears"), tree.resolve("bin/shears"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(ROOT.resolve("bin/find-jdk25"), tree.resolve("bin/find-jdk25"), StandardCopyOption.REPLACE_EXISTING);
        Path pom = Files.writeString(tree.resolve("pom.xml"), "");
        Files.writeString(target.resolve("shears.classpath"), classpath);
        Files.writeString(target.resolve("shears-prune-0.jar"), jarText);
        Path stamp = Files.writeString(target.resolve("shears.stamp"), "");
        Files.setLastModifiedTime(pom, FileTime.from(Instant.now().minusSeconds(3600)));
        Files.setLastModifiedTime(stamp, FileTime.from(Instant.now()));
        return script;
    }

    /** Runs the launcher with these environment variables; returns {exit code, stdout, stderr}. */
    private static String[] launch(Path script, Map<String, String> env, String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("bash", script.toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().remove("SHEARS_JAVA_OPTS");
        pb.environment().remove("SHEARS_AOT");
        pb.environment().putAll(env);
        Process p = pb.start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the launcher finished");
        return new String[]{String.valueOf(p.exitValue()), new String(p.getInputStream().readAllBytes()), new String(p.getErrorStream().readAllBytes())};
    }

    /**
     * A stand-in java that appends its arguments to {@code log}, one line per start: a record run
     * (-XX:AOTMode=record) exits with {@code recordExit}, a create run writes "cache" to its -XX:AOTCache file.
     */
    private static Path recordingJdk(Path home, Path log, int recordExit) throws Exception {
        return fakeJdk(home, "25.0.3", "echo \"$*\" >> '" + log + "'\n"
                + "case \"$*\" in *AOTMode=record*) exit " + recordExit + " ;; esac\n"
                + "for a; do case \"$a\" in -XX:AOTCache=*) case \"$*\" in *AOTMode=create*) echo cache > \"${a#-XX:AOTCache=}\" ;; esac ;; esac; done\n"
                + "echo ran\n");
    }

    @Test
    void theAotCacheIsMadeOncePerKeyAndThenUsed(@TempDir Path dir) throws Exception {
        Path script = launcherTree(dir, "jar v1", "/deps/a.jar"), log = dir.resolve("java.log"), cache = dir.resolve("cache");
        Path jdk = recordingJdk(dir.resolve("jdk"), log, 0);
        Map<String, String> env = Map.of("JAVA_HOME", jdk.toString(), "XDG_CACHE_HOME", cache.toString(), "SHEARS_AOT", "1");

        String[] first = launch(script, env, "info");
        assertEquals("0", first[0], first[2]);
        List<String> runs = Files.readAllLines(log);
        assertEquals(3, runs.size(), "record, create, the command: " + runs);
        assertTrue(runs.get(0).contains("-XX:AOTMode=record") && runs.get(0).contains("train --data digits"), runs.get(0));
        assertTrue(runs.get(1).contains("-XX:AOTMode=create"), runs.get(1));
        String used = aotCacheOf(runs.get(2));
        assertTrue(used.matches(java.util.regex.Pattern.quote(cache + "/shears/aot/") + "[0-9a-f]{16}\\.aot"), used);
        assertTrue(runs.get(2).contains("-Xlog:aot*=off") && runs.get(2).endsWith("dev.shears.cli.Shears info"), runs.get(2));
        try (var files = Files.list(cache.resolve("shears/aot"))) {
            assertEquals(List.of(Path.of(used)), files.toList(), "only the cache, no temporary files");
        }

        Files.delete(log);
        launch(script, env, "info");
        assertEquals(1, Files.readAllLines(log).size(), "made once");
        assertEquals(used, aotCacheOf(Files.readAllLines(log).get(0)));

        // options that change the code, and a new build, have caches of their own
        Files.delete(log);
        launch(script, Map.of("JAVA_HOME", jdk.toString(), "XDG_CACHE_HOME", cache.toString(), "SHEARS_AOT", "1",
                "SHEARS_JAVA_OPTS", "-XX:UseAVX=2"), "info");
        List<String> avx2 = Files.readAllLines(log);
        assertEquals(3, avx2.size(), avx2.toString());
        assertTrue(avx2.get(0).contains("-XX:UseAVX=2"), "the record run has the options too: " + avx2.get(0));
        assertTrue(!aotCacheOf(avx2.get(2)).equals(used), "UseAVX=2 has another key");
        Files.delete(log);
        Files.writeString(script.getParent().getParent().resolve("prune/target/shears-prune-0.jar"), "jar v2");
        launch(script, env, "info");
        assertEquals(3, Files.readAllLines(log).size(), "a rebuilt jar has another key");
        assertTrue(!aotCacheOf(Files.readAllLines(log).get(2)).equals(used));

        Files.delete(log);
        launch(script, Map.of("JAVA_HOME", jdk.toString(), "XDG_CACHE_HOME", cache.toString()), "info");
        assertEquals(List.of(false), Files.readAllLines(log).stream().map(l -> l.contains("AOT")).toList(), "off by default");
    }

    @Test
    void aFailedRecordRunLeavesTheCommandRunningWithoutACacheAndIsNotRetried(@TempDir Path dir) throws Exception {
        Path script = launcherTree(dir, "jar", "/deps/a.jar"), log = dir.resolve("java.log");
        Map<String, String> env = Map.of("JAVA_HOME", recordingJdk(dir.resolve("jdk"), log, 1).toString(),
                "XDG_CACHE_HOME", dir.resolve("cache").toString(), "SHEARS_AOT", "1");
        String[] first = launch(script, env, "info");
        assertEquals(List.of("0", "ran"), List.of(first[0], first[1].strip()), first[2]);
        assertTrue(first[2].contains("could not make the start-up cache"), first[2]);
        List<String> runs = Files.readAllLines(log);
        assertEquals(2, runs.size(), "record, then the command: " + runs);
        assertTrue(!runs.get(1).contains("AOTCache"), runs.get(1));
        Files.delete(log);
        launch(script, env, "info");
        assertEquals(1, Files.readAllLines(log).size(), "no second try");
    }

    /**
     * The real JDK 25 given a damaged cache (what a create run writes here: random bytes) starts all the same,
     * and says nothing about it on stdout, which --json keeps for its one JSON object.
     */
    @Test
    void aDamagedCacheIsIgnoredByTheRealJvm(@TempDir Path dir) throws Exception {
        Path realJava = Path.of(System.getProperty("java.home"), "bin", "java");
        // the classes come from this test's classpath; the jar is an empty file
        Path script = launcherTree(dir, "", System.getProperty("java.class.path")), log = dir.resolve("java.log");
        Path jdk = fakeJdk(dir.resolve("jdk"), "25.0.3", "echo \"$*\" >> '" + log + "'\n"
                + "case \"$*\" in *AOTMode=record*) exit 0 ;; esac\n"
                + "for a; do case \"$a\" in -XX:AOTCache=*) case \"$*\" in *AOTMode=create*)"
                + " head -c 100000 /dev/urandom > \"${a#-XX:AOTCache=}\"; exit 0 ;; esac ;; esac; done\n"
                + "exec '" + realJava + "' \"$@\"\n");
        String[] r = launch(script, Map.of("JAVA_HOME", jdk.toString(), "XDG_CACHE_HOME", dir.resolve("cache").toString(), "SHEARS_AOT", "1"), "--version");
        assertEquals("0", r[0], r[2]);
        assertTrue(r[1].startsWith("shears ") && r[1].strip().lines().count() == 1, "stdout: " + r[1]);
        List<String> runs = Files.readAllLines(log);
        assertTrue(runs.getLast().contains("-XX:AOTCache="), "the damaged cache was given to the JVM: " + runs);
    }

    private static String aotCacheOf(String javaArgs) {
        for (String a : javaArgs.split(" ")) if (a.startsWith("-XX:AOTCache=")) return a.substring("-XX:AOTCache=".length());
        throw new AssertionError("no -XX:AOTCache in: " + javaArgs);
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
