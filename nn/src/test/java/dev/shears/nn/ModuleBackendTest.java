package dev.shears.nn;

import dev.shears.core.Backends;
import dev.shears.core.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/** {@link Module#backend}: where a model's tensors live, and a model without any still has one. */
class ModuleBackendTest {

    @Test
    void aModelIsOnItsParametersBackendBeforeAndAfterAMove() {
        Sequential model = SimpleCNN.create(3, 4, 8, 1);
        assertSame(model.parameters().getFirst().backend(), model.backend());
        model.to(ReferenceBackend.INSTANCE);
        assertSame(ReferenceBackend.INSTANCE, model.backend());
    }

    @Test
    void aModelWithoutParametersIsOnTheDefaultBackendAndCanBeSummarised() {
        Sequential chain = new Sequential().add("relu", new ReLU()).add("pool", new MaxPool2d(2)).add("flatten", new Flatten());
        assertSame(Backends.getDefault(), chain.backend());
        List<Summary.Layer> layers = Summary.of(chain, 3, 8, 8);   // used to fail: no first parameter to ask
        assertEquals(3, layers.size());
        assertArrayEquals(new int[]{3 * 4 * 4}, layers.getLast().outputShape(), "per sample");
    }
}
