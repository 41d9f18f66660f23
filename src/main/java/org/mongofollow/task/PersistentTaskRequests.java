package org.mongofollow.task;

import org.elasticsearch.core.TimeValue;

/** What the plugin's requests to start and remove persistent tasks have in common. */
public final class PersistentTaskRequests {
    private PersistentTaskRequests() {}

    /**
     * How long a start or remove request waits for a master: Elasticsearch's default master node timeout, which 8.19 applied
     * when none was given; 9.x requires one.
     */
    public static final TimeValue MASTER_NODE_TIMEOUT = TimeValue.timeValueSeconds(30);
}
