package org.mongofollow.embedded;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.bson.Document;

/** What {@link WireServer} serves: a backend that counts what it serves and may hold a {@code getMore} waiting. */
interface ServedBackend extends MongoBackend {

    /** What the server has served ({@code serverStatus}). */
    ServerCounters counters();

    /** Whether a {@code getMore} may wait for new data (served off the event loop). */
    boolean isAwaitingGetMore(Document command);
}
