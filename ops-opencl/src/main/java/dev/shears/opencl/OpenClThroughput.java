package dev.shears.opencl;

import dev.shears.core.Backend;
import dev.shears.core.Backends;
import dev.shears.core.ConvOps;
import dev.shears.core.GradMode;
import dev.shears.core.LossOps;
import dev.shears.core.MatrixOps;
import dev.shears.core.NormOps;
import dev.shears.core.Storage;
import dev.shears.core.Tensor;
import dev.shears.core.TensorScope;
import dev.shears.core.reference.ReferenceBackend;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A quick check of a device, for benchmarks/gpu-check.sh: lists the devices, checks one training step against
 * the scalar reference, and prints GEMM GFLOPS and SimpleCNN-shaped training/inference samples/s on OpenCL
 * beside a CPU backend. The network is SimpleCNN's (conv 1→32, bn, relu, pool; conv 32→64, bn, relu, pool;
 * linear 3136→128, relu; linear 128→10) built from core ops, since nn sits above this module.
 *
 * <p>Usage: {@code OpenClThroughput [--device opencl[:P:D]] [--cpu cpu|reference] [--batch 256] [--steps 20] [--cpu-steps 3]
 * [--only opencl|cpu]}; {@code --only cpu} measures the CPU backend alone (run it under {@code taskset} to pin cores).
 */
public final class OpenClThroughput {
    private OpenClThroughput() {}

    /** SimpleCNN's parameters, batch-norm buffers and SGD momentum buffers on one backend. */
    static final class Cnn {
        final List<Tensor> params = new ArrayList<>();
        final List<Tensor> momentum = new ArrayList<>();
        final Tensor[] runMean = new Tensor[2], runVar = new Tensor[2];
        final Backend b;
        boolean firstStep = true;

        Cnn(Backend b, long seed) {
            this.b = b;
            Random r = new Random(seed);
            int[][] shapes = {{32, 1, 3, 3}, {32}, {32}, {32}, {64, 32, 3, 3}, {64}, {64}, {64}, {128, 3136}, {128}, {10, 128}, {10}};
            for (int[] s : shapes) {
                float[] d = new float[dev.shears.core.Shapes.size(s)];
                float scale = s.length == 1 ? 0.05f : (float) Math.sqrt(2.0 / (d.length / s[0]));
                for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian() * scale;
                params.add(Tensor.of(b, d, s).requiresGrad(true));
                momentum.add(Tensor.zeros(b, s));
            }
            for (int i = 0; i < 2; i++) {
                runMean[i] = Tensor.zeros(b, i == 0 ? 32 : 64);
                runVar[i] = Tensor.full(b, 1f, i == 0 ? 32 : 64);
            }
            params.get(2).close();   // the gammas start at 1, as in PyTorch
            params.set(2, Tensor.full(b, 1f, 32).requiresGrad(true));
            params.get(6).close();
            params.set(6, Tensor.full(b, 1f, 64).requiresGrad(true));
        }

        Tensor logits(Tensor x, boolean training) {
            Tensor h = x;
            for (int blk = 0; blk < 2; blk++) {
                int p = 4 * blk;
                h = ConvOps.conv2d(h, params.get(p), params.get(p + 1), 1, 1);
                h = NormOps.batchNorm2d(h, params.get(p + 2), params.get(p + 3), runMean[blk], runVar[blk], training, 0.1f, 1e-5f);
                h = ConvOps.maxPool2d(h.relu(), 2, 2, 0);
            }
            h = MatrixOps.linear(h.flatten(1), params.get(8), params.get(9)).relu();
            return MatrixOps.linear(h, params.get(10), params.get(11));
        }

        /** Forward, backward and SGD with momentum 0.9; returns the loss (read back: one sync per step). */
        float trainStep(Tensor x, int[] labels, float lr) {
            try (TensorScope ignored = TensorScope.open()) {
                Tensor loss = LossOps.crossEntropy(logits(x, true), labels);
                loss.backward();
                for (int i = 0; i < params.size(); i++) {
                    Tensor p = params.get(i);
                    b.sgdStep(p.size(), lr, 0.9f, 0f, 0f, false, firstStep, p.storage(), p.grad().storage(), momentum.get(i).storage());
                    p.zeroGrad();
                }
                firstStep = false;
                return loss.item();
            }
        }

        void infer(Tensor x) {
            try (TensorScope ignored = TensorScope.open(); GradMode g = GradMode.off()) {
                logits(x, false).toArray();
            }
        }
    }

    static Tensor images(Backend b, int n, long seed) {
        Random r = new Random(seed);
        float[] d = new float[n * 28 * 28];
        for (int i = 0; i < d.length; i++) d[i] = r.nextFloat();
        return Tensor.of(b, d, n, 1, 28, 28);
    }

    static int[] labels(int n, long seed) { return new Random(seed).ints(n, 0, 10).toArray(); }

    public static void main(String[] args) {
        String device = "opencl", cpuName = "cpu";
        int batch = 256, steps = 20, cpuSteps = 3;
        String only = "both";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--device" -> device = args[++i];
                case "--cpu" -> cpuName = args[++i];
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--cpu-steps" -> cpuSteps = Integer.parseInt(args[++i]);
                case "--only" -> only = args[++i];
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (only.equals("cpu")) {
            Backend cpu = cpuBackend(cpuName);
            System.out.printf("SimpleCNN batch %d  training:  %10.1f samples/s on %s%n", batch, trainRate(cpu, batch, cpuSteps), cpu.name());
            System.out.printf("SimpleCNN batch %d  inference: %10.1f samples/s on %s%n", batch, inferRate(cpu, batch, cpuSteps), cpu.name());
            return;
        }
        if (!OpenClDevices.isAvailable()) {
            System.err.println(OpenClDevices.problem());
            System.exit(2);
        }
        OpenClDevices.list().forEach(d -> System.out.println("device " + d));
        OpenClBackend ocl = OpenClBackend.open(device);
        System.out.println("using " + ocl.device());

        // correctness first: one small training step against the scalar reference
        Cnn ref = new Cnn(ReferenceBackend.INSTANCE, 1), dev = new Cnn(ocl, 1);
        float lr = ref.trainStep(images(ReferenceBackend.INSTANCE, 8, 2), labels(8, 3), 0.01f);
        float lo = dev.trainStep(images(ocl, 8, 2), labels(8, 3), 0.01f);
        double worst = 0;
        for (int i = 0; i < ref.params.size(); i++) {
            float[] a = ref.params.get(i).toArray(), c = dev.params.get(i).toArray();
            for (int j = 0; j < a.length; j++) worst = Math.max(worst, Math.abs(a[j] - c[j]));
        }
        System.out.printf("check: loss %.6f on OpenCL, %.6f on the reference; max |param difference| after SGD %.2e%n", lo, lr, worst);
        if (Math.abs(lo - lr) > 1e-3 || worst > 1e-3) {
            System.out.println("FAILED: OpenCL disagrees with the reference");
            System.exit(1);
        }

        for (OpenClBackend.GemmKernel k : new OpenClBackend.GemmKernel[]{OpenClBackend.GemmKernel.NAIVE, OpenClBackend.GemmKernel.TILED})
            System.out.printf("GEMM 1024³ %-5s %8.1f GFLOPS%n", k, gemmGflops(ocl, k, 1024));

        if (only.equals("opencl")) {
            System.out.printf("SimpleCNN batch %d  training:  %10.1f samples/s on OpenCL%n", batch, trainRate(ocl, batch, steps));
            if (Boolean.getBoolean("shears.opencl.profile")) System.out.print("time per kernel, training:\n" + ocl.profileReport());
            System.out.printf("SimpleCNN batch %d  inference: %10.1f samples/s on OpenCL%n", batch, inferRate(ocl, batch, steps));
            return;
        }
        Backend cpu = cpuBackend(cpuName);
        double oclTrain = trainRate(ocl, batch, steps), cpuTrain = trainRate(cpu, batch, cpuSteps);
        double oclInfer = inferRate(ocl, batch, steps), cpuInfer = inferRate(cpu, batch, cpuSteps);
        System.out.printf("SimpleCNN batch %d  training:  %10.1f samples/s on OpenCL, %8.1f on %s (x%.1f)%n", batch, oclTrain, cpuTrain, cpu.name(), oclTrain / cpuTrain);
        System.out.printf("SimpleCNN batch %d  inference: %10.1f samples/s on OpenCL, %8.1f on %s (x%.1f)%n", batch, oclInfer, cpuInfer, cpu.name(), oclInfer / cpuInfer);
        System.out.printf("device memory: %d bytes live, %d bytes of workspace%n", ocl.liveBytes(), ocl.workspaceBytes());
    }

    static Backend cpuBackend(String name) {
        try {
            return Backends.byName(name);
        } catch (IllegalArgumentException e) {
            System.out.println("no '" + name + "' backend on the class path; comparing with the scalar reference");
            return ReferenceBackend.INSTANCE;
        }
    }

    static double trainRate(Backend b, int batch, int steps) {
        Cnn net = new Cnn(b, 1);
        Tensor x = images(b, batch, 2);
        int[] y = labels(batch, 3);
        net.trainStep(x, y, 0.01f);   // warm-up: kernel compilation, workspace growth
        if (b instanceof OpenClBackend o) o.profileReport();   // (resets the profile)
        long t0 = System.nanoTime();
        for (int s = 0; s < steps; s++) net.trainStep(x, y, 0.01f);
        return (double) batch * steps / ((System.nanoTime() - t0) * 1e-9);
    }

    static double inferRate(Backend b, int batch, int steps) {
        Cnn net = new Cnn(b, 1);
        Tensor x = images(b, batch, 2);
        net.infer(x);
        long t0 = System.nanoTime();
        for (int s = 0; s < steps; s++) net.infer(x);
        return (double) batch * steps / ((System.nanoTime() - t0) * 1e-9);
    }

    static double gemmGflops(OpenClBackend b, OpenClBackend.GemmKernel kernel, int size) {
        b.gemmKernel(kernel);
        float[] data = new float[size * size];
        java.util.Arrays.fill(data, 0.5f);
        try (Storage a = b.upload(data); Storage bm = b.upload(data); Storage c = b.allocate(size * size)) {
            b.gemm(false, false, size, size, size, 1f, a, bm, 0f, c);
            b.synchronize();
            long best = Long.MAX_VALUE;
            for (int r = 0; r < 3; r++) {
                long t0 = System.nanoTime();
                b.gemm(false, false, size, size, size, 1f, a, bm, 0f, c);
                b.synchronize();
                best = Math.min(best, System.nanoTime() - t0);
            }
            return 2.0 * size * size * size / best;
        } finally {
            b.gemmKernel(OpenClBackend.GemmKernel.AUTO);
        }
    }
}
