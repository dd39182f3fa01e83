package dev.shears.nn.optim;

import java.util.Map;

/** A learning-rate schedule over one {@link SGD}, as a checkpoint saves and resumes it. */
public interface LrSchedule {

    /** The rate at position 0, the optimiser's when the schedule was made. */
    float baseLr();

    /** Steps taken so far (epochs for {@link StepLR}, batches for {@link CosineLR}). */
    int position();

    /** Moves the schedule to {@code position} and sets the optimiser's rate to the schedule's rate there. */
    void resumeAt(int position);

    /** The settings a resumed run must share with the saved one, as "schedule.*" keys. */
    Map<String, String> settings();
}
