package dev.shears.opencl;

/**
 * The reproducer of the test JVMs' rare SIGSEGV (exit 139, no hs_err file) after PoCL started; not a test, since
 * it crashes by chance. Spinning threads run compiled loops, PoCL starts (its LLVM installs a one-shot SIGSEGV
 * handler in place of the JVM's, {@link SignalHandlers}), and System.gc() asks for safepoints: every spinner
 * faults on the safepoint poll page at once, and one that faults while LLVM's handler is putting the JVM's back
 * meets the default action. Exit 0 is a survival; count the 139s over a few hundred runs, with and without
 * {@code LD_PRELOAD=$JAVA_HOME/lib/libjsig.so} (docs/opencl.md has the commands and the counts):
 * <pre>
 * java -cp ops-opencl/target/classes:ops-opencl/target/test-classes:$JOCL_JAR dev.shears.opencl.SafepointRace [threads]
 * </pre>
 */
public final class SafepointRace {
    private static volatile boolean stop;
    private static volatile long sink;

    public static void main(String[] args) throws InterruptedException {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 4;
        for (int t = 0; t < threads; t++) {
            Thread spinner = new Thread(() -> {
                long s = 0;
                while (!stop) for (int i = 0; i < 1_000_000; i++) s += i ^ (s >>> 3);
                sink = s;
            });
            spinner.setDaemon(true);
            spinner.start();
        }
        Thread.sleep(300);          // the spinners' loops get compiled, with their safepoint polls
        OpenClDevices.list();       // PoCL starts
        for (int i = 0; i < 20; i++) {
            System.gc();            // a safepoint: each spinner faults on its poll
            Thread.sleep(5);
        }
        stop = true;
        System.out.println("survived; SIGSEGV handled by " + SignalHandlers.handlerLibrary(SignalHandlers.SIGSEGV));
    }
}
