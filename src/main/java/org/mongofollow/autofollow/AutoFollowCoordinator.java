package org.mongofollow.autofollow;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.elasticsearch.action.ActionListener;
import org.elasticsearch.client.internal.Client;
import org.elasticsearch.cluster.ClusterChangedEvent;
import org.elasticsearch.cluster.ClusterState;
import org.elasticsearch.cluster.ClusterStateListener;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.settings.Setting;
import org.elasticsearch.common.util.concurrent.EsRejectedExecutionException;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.threadpool.Scheduler;
import org.elasticsearch.threadpool.ThreadPool;
import org.mongofollow.action.PutFollowAction;
import org.mongofollow.compat.ClusterMetadata;
import org.mongofollow.metadata.FollowMetadata;
import org.mongofollow.security.AsFollowUserClient;
import org.mongofollow.security.ConnectionAllowlist;
import org.mongofollow.source.MongoClientService;
import org.mongofollow.source.MongoEndpoint;
import org.mongofollow.task.FollowThreadPool;
import org.mongofollow.task.ShardFollowStatus.ExceptionInfo;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * Runs the auto-follow patterns on the elected master, as CCR's {@code AutoFollowCoordinator} does: every
 * {@link #POLL_INTERVAL} (and at once when a pattern is put or resumed, or a node becomes master) it lists each active
 * pattern's collections in MongoDB, and starts the follow of each new one with {@code PUT /{index}/_mongo_follow}, as the
 * pattern's user, one at a time. A collection created between two polls loses nothing: its follow starts with an initial
 * copy of what it holds (unless the pattern turns the copy off). What it followed goes into the pattern's metadata once per
 * poll; its counts, skips and errors stay in memory ({@link AutoFollowStats}) until another node becomes master.
 */
public final class AutoFollowCoordinator implements ClusterStateListener {

    private static final Logger logger = LogManager.getLogger(AutoFollowCoordinator.class);

    public static final Setting<TimeValue> POLL_INTERVAL = Setting.timeSetting(
        "mongo_follow.auto_follow.poll_interval",
        TimeValue.timeValueSeconds(10),
        TimeValue.timeValueMillis(100),
        Setting.Property.NodeScope,
        Setting.Property.Dynamic
    );

    private final ClusterService clusterService;
    private final ThreadPool threadPool;
    private final Client client;
    private final MongoClientService clients;
    private final ConnectionAllowlist allowlist;
    private final AutoFollowUpdates updates;
    private final Executor executor;
    private volatile TimeValue pollInterval;
    private final Map<String, AutoFollowStats.Recorder> recorders = new ConcurrentHashMap<>();

    private final Object lock = new Object();
    /** Whether this node is the elected master, as the last cluster state applied said. */
    private boolean master;
    /** Whether a poll runs now. */
    private boolean polling;
    /** Whether a pattern changed while a poll ran: poll again right after it. */
    private boolean pollAgain;
    private Scheduler.ScheduledCancellable next;

    public AutoFollowCoordinator(
        ClusterService clusterService,
        ThreadPool threadPool,
        Client client,
        MongoClientService clients,
        ConnectionAllowlist allowlist,
        AutoFollowUpdates updates
    ) {
        this.clusterService = clusterService;
        this.threadPool = threadPool;
        this.client = client;
        this.clients = clients;
        this.allowlist = allowlist;
        this.updates = updates;
        this.executor = threadPool.executor(FollowThreadPool.NAME);
        this.pollInterval = POLL_INTERVAL.get(clusterService.getSettings());
        clusterService.getClusterSettings().addSettingsUpdateConsumer(POLL_INTERVAL, v -> pollInterval = v);
        clusterService.addListener(this);
    }

    @Override
    public void clusterChanged(ClusterChangedEvent event) {
        synchronized (lock) {
            if (event.localNodeMaster() == false) {
                if (master) {
                    master = false;
                    cancelNext();
                    recorders.clear();
                }
                return;
            }
            boolean becameMaster = master == false;
            master = true;
            AutoFollowMetadata current = AutoFollowMetadata.of(event.state());
            recorders.keySet().retainAll(current.patterns().keySet());
            if (becameMaster || definitionsChanged(AutoFollowMetadata.of(event.previousState()), current)) {
                pollSoon();
            }
        }
    }

    /** Whether a pattern came, went, changed or was paused or resumed (not merely what it followed: the coordinator's own record). */
    private static boolean definitionsChanged(AutoFollowMetadata previous, AutoFollowMetadata current) {
        if (previous == current) {
            return false; // the usual case on the applier thread: a state that changed something else (a checkpoint, say)
        }
        if (previous.patterns().keySet().equals(current.patterns().keySet()) == false) {
            return true;
        }
        for (Map.Entry<String, AutoFollowPattern> entry : current.patterns().entrySet()) {
            AutoFollowPattern before = previous.patterns().get(entry.getKey());
            if (entry.getValue().withFollowed(new TreeSet<>()).equals(before.withFollowed(new TreeSet<>())) == false) {
                return true;
            }
        }
        return false;
    }

    private void pollSoon() {
        assert Thread.holdsLock(lock);
        if (polling) {
            pollAgain = true;
        } else {
            cancelNext();
            next = schedulePoll(TimeValue.ZERO);
        }
    }

    /** Schedules the next poll; none once the node shuts down. */
    private Scheduler.ScheduledCancellable schedulePoll(TimeValue delay) {
        try {
            return threadPool.schedule(this::poll, delay, executor);
        } catch (EsRejectedExecutionException e) {
            if (e.isExecutorShutdown()) {
                return null;
            }
            throw e;
        }
    }

    /** Runs the next step of a poll on the plugin's pool; nothing once the node shuts down (a new master polls again). */
    private void fork(Runnable step) {
        try {
            executor.execute(step);
        } catch (EsRejectedExecutionException e) {
            if (e.isExecutorShutdown() == false) {
                throw e;
            }
        }
    }

    private void cancelNext() {
        if (next != null) {
            next.cancel();
            next = null;
        }
    }

    private void poll() {
        synchronized (lock) {
            if (master == false || polling) {
                return;
            }
            polling = true;
            next = null;
        }
        List<Map.Entry<String, AutoFollowPattern>> active = new ArrayList<>();
        AutoFollowMetadata.of(clusterService.state()).patterns().entrySet().stream().filter(e -> e.getValue().active()).forEach(active::add);
        pollEach(active.iterator());
    }

    private void pollEach(Iterator<Map.Entry<String, AutoFollowPattern>> patterns) {
        if (patterns.hasNext() == false) {
            finishPoll();
            return;
        }
        Map.Entry<String, AutoFollowPattern> pattern = patterns.next();
        // the next pattern's poll runs once, whether this one ends as planned or with an unexpected error
        Runnable next = new org.elasticsearch.common.util.concurrent.RunOnce(() -> fork(() -> pollEach(patterns)));
        try {
            pollPattern(pattern.getKey(), pattern.getValue(), next);
        } catch (RuntimeException e) {
            logger.warn(() -> "auto-follow pattern [" + pattern.getKey() + "] failed its poll", e);
            next.run();
        }
    }

    private void finishPoll() {
        synchronized (lock) {
            polling = false;
            if (master == false) {
                return;
            }
            boolean anyActive = AutoFollowMetadata.of(clusterService.state()).patterns().values().stream().anyMatch(AutoFollowPattern::active);
            if (pollAgain || anyActive) {
                next = schedulePoll(pollAgain ? TimeValue.ZERO : pollInterval);
            }
            pollAgain = false;
        }
    }

    /** One poll of one pattern: list, plan, follow the new collections one at a time, record; then {@code done}. */
    private void pollPattern(String name, AutoFollowPattern pattern, Runnable done) {
        AutoFollowStats.Recorder recorder = recorders.computeIfAbsent(name, n -> new AutoFollowStats.Recorder());
        Map<String, List<String>> listing;
        try {
            MongoEndpoint endpoint = pattern.endpoint();
            allowlist.check(endpoint);
            listing = NamespaceLister.list(clients.client(endpoint), pattern);
        } catch (Exception e) {
            logger.warn("auto-follow pattern [{}] could not list its collections: {}", name, ExceptionInfo.of(e).reason());
            recorder.error(null, e, threadPool.absoluteTimeInMillis());
            recorder.polled(List.of(), threadPool.absoluteTimeInMillis());
            done.run();
            return;
        }
        List<AutoFollowPlan.Decision> plan = AutoFollowPlan.plan(pattern, listing, indices(clusterService.state()));
        Set<String> listed = new TreeSet<>();
        listing.forEach((database, collections) -> collections.forEach(c -> listed.add(database + "." + c)));
        SortedSet<String> followed = new TreeSet<>(pattern.followed());
        followed.retainAll(listed); // a dropped collection is forgotten: created again, it is followed again
        List<AutoFollowStats.Skipped> skipped = new ArrayList<>();
        List<AutoFollowPlan.Decision> toFollow = new ArrayList<>();
        for (AutoFollowPlan.Decision decision : plan) {
            switch (decision.kind()) {
                case FOLLOWED -> followed.add(decision.namespace());
                case SKIP -> skipped.add(new AutoFollowStats.Skipped(decision.namespace(), decision.index(), decision.reason()));
                case FOLLOW -> toFollow.add(decision);
            }
        }
        followEach(name, pattern, toFollow.iterator(), recorder, followed, () -> {
            recorder.polled(skipped, threadPool.absoluteTimeInMillis());
            if (followed.equals(pattern.followed()) == false) {
                updates.submit("followed of [" + name + "]", metadata -> {
                    AutoFollowPattern current = metadata.patterns().get(name);
                    return current == null ? metadata : metadata.with(name, current.withFollowed(followed));
                }, TimeValue.THIRTY_SECONDS, ActionListener.wrap(v -> {}, e -> logger.debug(() -> "could not record what [" + name + "] followed", e)));
            }
            done.run();
        });
    }

    private void followEach(
        String name,
        AutoFollowPattern pattern,
        Iterator<AutoFollowPlan.Decision> decisions,
        AutoFollowStats.Recorder recorder,
        SortedSet<String> followed,
        Runnable done
    ) {
        if (decisions.hasNext() == false) {
            done.run();
            return;
        }
        AutoFollowPlan.Decision decision = decisions.next();
        Runnable followNext = () -> fork(() -> {
            try {
                followEach(name, pattern, decisions, recorder, followed, done);
            } catch (RuntimeException e) {
                // never leave the poll hanging: the next poll starts over from the listing
                logger.warn(() -> "auto-follow pattern [" + name + "] failed its poll", e);
                done.run();
            }
        });
        if (ClusterMetadata.index(clusterService.state(), decision.index()) != null) {
            followNext.run(); // created since the plan: the next poll skips or records it
            return;
        }
        PutFollowAction.Request request;
        try {
            request = pattern.followRequest(decision.index(), decision.database(), decision.collection());
        } catch (RuntimeException e) {
            recorder.failed(decision.namespace(), e, threadPool.absoluteTimeInMillis());
            followNext.run();
            return;
        }
        new AsFollowUserClient(client, pattern.user()).execute(PutFollowAction.INSTANCE, request, ActionListener.wrap(response -> {
            logger.info("auto-follow pattern [{}] started the follow of [{}] into [{}]", name, decision.namespace(), decision.index());
            recorder.followed();
            followed.add(decision.namespace()); // one follow at a time: the next step runs after this one
            followNext.run();
        }, e -> {
            logger.warn(
                "auto-follow pattern [{}] could not follow [{}] into [{}]: {}",
                name,
                decision.namespace(),
                decision.index(),
                ExceptionInfo.of(e).reason()
            );
            recorder.failed(decision.namespace(), e, threadPool.absoluteTimeInMillis());
            followNext.run();
        }));
    }

    private static AutoFollowPlan.Indices indices(ClusterState state) {
        return new AutoFollowPlan.Indices() {
            @Override
            public boolean exists(String index) {
                return ClusterMetadata.index(state, index) != null;
            }

            @Override
            public String followedNamespace(String index) {
                IndexMetadata metadata = ClusterMetadata.index(state, index);
                FollowMetadata follow = metadata == null ? null : FollowMetadata.of(metadata);
                return follow == null ? null : follow.parameters().namespace();
            }
        };
    }

    /** The stats of the patterns of {@code metadata} (this node's record: the elected master's is the one that polls). */
    public List<AutoFollowStats> stats(AutoFollowMetadata metadata) {
        List<AutoFollowStats> stats = new ArrayList<>();
        metadata.patterns().forEach((name, pattern) -> stats.add(recorders.getOrDefault(name, new AutoFollowStats.Recorder()).snapshot(name, pattern)));
        return stats;
    }
}
