package dev.shears.nn.train;

import dev.shears.data.Dataset;
import dev.shears.nn.Sequential;
import dev.shears.nn.io.Checkpoints;
import dev.shears.nn.io.SafeTensors;
import dev.shears.nn.optim.SGD;
import dev.shears.nn.optim.StepLR;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class TrainingCheckpointTest {
    @TempDir Path dir;

    /** One run: model, SGD with momentum and weight decay, a schedule that changes the rate after epoch 1. */
    record Run(Sequential model, SGD sgd, StepLR schedule, Trainer trainer) {
        static Run fresh() {
            Sequential model = TrainerTest.tinyNet(3);
            SGD sgd = new SGD(model.parameters(), 0.05f, 0.9f, 1e-3f);
            return new Run(model, sgd, new StepLR(sgd, 1, 0.5f), new Trainer(model, sgd));
        }

        void epoch(Dataset data, int e) {
            trainer.trainEpoch(data, 12, 7, e);
            schedule.step();
        }
    }

    @Test
    void aResumedRunEndsBitIdenticalToAnUninterruptedOne() throws Exception {
        Dataset data = TrainerTest.quarters(1);
        Run straight = Run.fresh();
        for (int e = 0; e < 3; e++) straight.epoch(data, e);

        Run first = Run.fresh();
        first.epoch(data, 0);
        TrainingCheckpoint.save(dir, first.model(), first.sgd(), first.schedule(), 1, Map.of("seed", "7"));
        TrainingCheckpoint.State state = TrainingCheckpoint.load(dir);
        assertEquals(1, state.epochs());
        assertNull(state.note(), "model.safetensors is the one written with the state");
        assertEquals(Map.of("seed", "7"), state.recipe());

        Run resumed = Run.fresh();   // other weights than first's: everything must come from the files
        state.restore(resumed.model(), resumed.sgd(), resumed.schedule());
        assertEquals(0.025f, resumed.sgd().lr(), "the schedule's position is restored");
        for (int e = 1; e < 3; e++) resumed.epoch(data, e);

        straight.model().stateDict().forEach((name, t) ->
                assertArrayEquals(t.toArray(), resumed.model().stateDict().get(name).toArray(), 0f, name));
        for (int i = 0; i < straight.sgd().params().size(); i++)
            assertArrayEquals(straight.sgd().momentumBuffer(i), resumed.sgd().momentumBuffer(i), 0f, "momentum of parameter " + i);
        assertEquals(straight.sgd().lr(), resumed.sgd().lr());
        // and the model file is a plain state dict (PyTorch names and dtypes) that loads on its own
        Sequential plain = TrainerTest.tinyNet(9);
        Checkpoints.load(plain, dir.resolve(TrainingCheckpoint.MODEL_FILE), false);
        assertArrayEquals(first.model().stateDict().get("fc.weight").toArray(), plain.stateDict().get("fc.weight").toArray(), 0f);
    }

    @Test
    void aStateFromAnotherShapeOrOptimiserIsRefusedSayingWhatDiffers() throws Exception {
        Run run = Run.fresh();
        run.epoch(TrainerTest.quarters(1), 0);
        TrainingCheckpoint.save(dir, run.model(), run.sgd(), run.schedule(), 1, Map.of("--lr", "0.05", "--seed", "7"));
        TrainingCheckpoint.State state = TrainingCheckpoint.load(dir);

        Sequential wider = new Sequential()
                .add("conv1", new dev.shears.nn.Conv2d(1, 6, 3, 1, new java.util.Random(1))).add("bn1", new dev.shears.nn.BatchNorm2d(6));
        SGD sgdWider = new SGD(wider.parameters(), 0.05f, 0.9f, 1e-3f);
        String shape = assertThrows(IllegalArgumentException.class, () -> state.restore(wider, sgdWider, null)).getMessage();
        assertTrue(shape.contains("conv1.weight: shape [4, 1, 3, 3] in the file, the model expects [6, 1, 3, 3]"), shape);

        Sequential model = TrainerTest.tinyNet(3);
        SGD otherMomentum = new SGD(model.parameters(), 0.05f, 0.5f, 1e-3f);
        String sgd = assertThrows(IllegalArgumentException.class, () -> state.restore(model, otherMomentum, new StepLR(otherMomentum, 1, 0.5f))).getMessage();
        assertTrue(sgd.contains("momentum: 0.9 in the checkpoint, 0.5 now"), sgd);

        assertEquals(java.util.List.of("--lr: 0.05 in the checkpoint, 0.1 now", "--seed: 7 in the checkpoint, not set now"),
                state.recipeDifferences(Map.of("--lr", "0.1")));
    }

    @Test
    void nonFiniteWeightsAreNeverWrittenAndTheOldPairStays() throws Exception {
        Run run = Run.fresh();
        run.epoch(TrainerTest.quarters(1), 0);
        TrainingCheckpoint.save(dir, run.model(), run.sgd(), run.schedule(), 1, Map.of());
        byte[] model = Files.readAllBytes(dir.resolve(TrainingCheckpoint.MODEL_FILE));
        byte[] state = Files.readAllBytes(dir.resolve(TrainingCheckpoint.STATE_FILE));

        var w = run.model().namedParameters().get("conv2.weight");
        float[] v = w.toArray();
        v[3] = Float.NaN;
        try (var poisoned = w.backend().upload(v)) {
            w.backend().copy(v.length, poisoned, w.storage());   // in place: the SGD still owns this tensor
        }
        String msg = assertThrows(IllegalStateException.class,
                () -> TrainingCheckpoint.save(dir, run.model(), run.sgd(), run.schedule(), 2, Map.of())).getMessage();
        assertTrue(msg.contains("conv2.weight[3] is NaN"), msg);
        assertArrayEquals(model, Files.readAllBytes(dir.resolve(TrainingCheckpoint.MODEL_FILE)));
        assertArrayEquals(state, Files.readAllBytes(dir.resolve(TrainingCheckpoint.STATE_FILE)));
    }

    @Test
    void aKillBetweenTheTwoRenamesIsNoticedAndTheStateStillLoads() throws Exception {
        Dataset data = TrainerTest.quarters(1);
        Run run = Run.fresh();
        run.epoch(data, 0);
        TrainingCheckpoint.save(dir, run.model(), run.sgd(), run.schedule(), 1, Map.of());
        Path stateAfter1 = Files.copy(dir.resolve(TrainingCheckpoint.STATE_FILE), dir.resolve("state-1"));
        run.epoch(data, 1);
        TrainingCheckpoint.save(dir, run.model(), run.sgd(), run.schedule(), 2, Map.of());
        // as if killed after the model's rename and before the state's: the new model, the old state
        Files.move(stateAfter1, dir.resolve(TrainingCheckpoint.STATE_FILE), StandardCopyOption.REPLACE_EXISTING);
        // and a temporary file of the killed write, which the next save removes
        Path stale = Files.writeString(dir.resolve("." + TrainingCheckpoint.STATE_FILE + ".1f2e.tmp"), "torn");

        TrainingCheckpoint.State state = TrainingCheckpoint.load(dir);
        assertEquals(1, state.epochs());
        assertTrue(state.note().contains("is from epoch 2, one ahead of the training state"), state.note());
        Run resumed = Run.fresh();
        state.restore(resumed.model(), resumed.sgd(), resumed.schedule());
        TrainingCheckpoint.save(dir, resumed.model(), resumed.sgd(), resumed.schedule(), 1, Map.of());
        assertFalse(Files.exists(stale));
        assertNull(TrainingCheckpoint.load(dir).note());
        assertEquals("1", SafeTensors.read(dir.resolve(TrainingCheckpoint.MODEL_FILE)).metadata().get("shears.epochs"));
    }
}
