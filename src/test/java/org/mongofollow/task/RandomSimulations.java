package org.mongofollow.task;

import java.util.function.LongFunction;

/**
 * The seed loop of the coordinators' random simulations: fixed seeds ({@code -Dtests.seed=N} changes the first one,
 * {@code -Dtests.iters=N} the count), every seed's summary printed, a failure named with its seed and summary.
 */
public final class RandomSimulations {

    /** A failure that a simulated source or sink reports and that the coordinator must retry. */
    public static final class TransientException extends RuntimeException {
        public TransientException(String message) {
            super(message, null, false, false);
        }
    }

    /** One simulation: runs to its end, asserting as it goes, and describes itself. */
    public interface Simulation {
        void run();

        String describe();
    }

    private RandomSimulations() {}

    /** Runs the seeds' simulations, handing each finished one to {@code done}; prints the count and the time. */
    public static <S extends Simulation> void run(long defaultFirstSeed, int defaultIterations, LongFunction<S> create, java.util.function.Consumer<S> done) {
        long first = Long.getLong("tests.seed", defaultFirstSeed);
        int iterations = Integer.getInteger("tests.iters", defaultIterations);
        long start = System.nanoTime();
        for (int i = 0; i < iterations; i++) {
            long seed = first + i;
            S simulation = create.apply(seed);
            try {
                simulation.run();
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("simulation failed, seed [" + seed + "] (" + simulation.describe() + "): " + e, e);
            }
            System.out.println("seed " + seed + ": " + simulation.describe());
            done.accept(simulation);
        }
        System.out.printf("%d simulations, %d ms%n", iterations, (System.nanoTime() - start) / 1_000_000);
    }
}
