package org.mongofollow.embedded;

import com.carrotsearch.randomizedtesting.ThreadFilter;

/**
 * For {@code ESIntegTestCase} suites that start an {@link EmbeddedMongo}: accepts the server's threads
 * (all named {@code embedded-mongo-*}) and Netty's global executor in randomizedtesting's thread-leak
 * check. {@code @ThreadLeakFilters} replaces ESTestCase's own filters, so list those again:
 *
 * <pre>{@code
 * @ThreadLeakFilters(filters = {TestRuleThreadFilters..., EmbeddedMongoThreadFilter.class, YourDriverThreadFilter.class})
 * }</pre>
 *
 * {@link EmbeddedMongo#close()} stops these threads; the filter covers the moments they take to end.
 */
public final class EmbeddedMongoThreadFilter implements ThreadFilter {

    @Override
    public boolean reject(Thread t) {
        String name = t.getName();
        return name.startsWith("embedded-mongo-") || name.startsWith("globalEventExecutor");
    }
}
