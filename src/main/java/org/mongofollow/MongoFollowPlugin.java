package org.mongofollow;

import org.elasticsearch.client.internal.Client;
import org.elasticsearch.cluster.metadata.IndexNameExpressionResolver;
import org.elasticsearch.cluster.node.DiscoveryNodes;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.settings.ClusterSettings;
import org.elasticsearch.common.settings.IndexScopedSettings;
import org.elasticsearch.common.settings.Setting;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.settings.SettingsFilter;
import org.elasticsearch.common.settings.SettingsModule;
import org.elasticsearch.common.util.concurrent.EsExecutors;
import org.elasticsearch.features.NodeFeature;
import org.elasticsearch.persistent.PersistentTaskParams;
import org.elasticsearch.persistent.PersistentTasksExecutor;
import org.elasticsearch.persistent.PersistentTasksService;
import org.elasticsearch.common.breaker.CircuitBreaker;
import org.elasticsearch.indices.breaker.BreakerSettings;
import org.elasticsearch.plugins.CircuitBreakerPlugin;
import org.elasticsearch.plugins.PersistentTaskPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.ReloadablePlugin;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.tasks.Task;
import org.elasticsearch.threadpool.ExecutorBuilder;
import org.elasticsearch.threadpool.FixedExecutorBuilder;
import org.elasticsearch.threadpool.ThreadPool;
import org.elasticsearch.xcontent.NamedXContentRegistry;
import org.elasticsearch.xcontent.ParseField;
import org.mongofollow.action.FollowInfoAction;
import org.mongofollow.action.FollowLifecycleActions;
import org.mongofollow.action.FollowStatsAction;
import org.mongofollow.action.PutFollowAction;
import org.mongofollow.action.ResyncAction;
import org.mongofollow.copy.CopyTask;
import org.mongofollow.copy.CopyTasksExecutor;
import org.mongofollow.action.TransportFollowStatsAction;
import org.mongofollow.apply.ApplyOperationsAction;
import org.mongofollow.apply.TransportApplyOperationsAction;
import org.mongofollow.autofollow.AutoFollowCoordinator;
import org.mongofollow.autofollow.AutoFollowMetadata;
import org.mongofollow.autofollow.AutoFollowStatsAction;
import org.mongofollow.autofollow.AutoFollowUpdates;
import org.mongofollow.autofollow.ChangeAutoFollowPatternAction;
import org.mongofollow.autofollow.GetAutoFollowPatternsAction;
import org.mongofollow.autofollow.PutAutoFollowPatternAction;
import org.mongofollow.compat.ActionPluginBase;
import org.mongofollow.compat.MetadataCustomBase;
import org.mongofollow.compat.ActionRegistration;
import org.mongofollow.metadata.UpdateFollowMetadataAction;
import org.mongofollow.rest.RestAutoFollowActions;
import org.mongofollow.rest.RestCatMongoFollowAction;
import org.mongofollow.rest.RestFollowActions;
import org.mongofollow.rest.RestFollowStatsAction;
import org.mongofollow.security.ConnectionAllowlist;
import org.mongofollow.source.FollowClientSettings;
import org.mongofollow.source.MongoClientService;
import org.mongofollow.task.CheckpointPublisher;
import org.mongofollow.memory.FollowBreaker;
import org.mongofollow.task.FollowEndpoints;
import org.mongofollow.task.FollowTaskCleaner;
import org.mongofollow.task.FollowThreadPool;
import org.mongofollow.task.ShardFollowNodeTask;
import org.mongofollow.task.ShardFollowStatus;
import org.mongofollow.task.ShardFollowTask;
import org.mongofollow.task.ShardFollowTasksExecutor;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The mongo-follow plugin: makes an Elasticsearch index a live follower of a MongoDB collection. One
 * persistent task per follower shard reads the collection's part of the oplog and applies it to the
 * shard; the follow lives in the follower index's metadata, credentials in the keystore.
 */
public class MongoFollowPlugin extends ActionPluginBase implements PersistentTaskPlugin, ReloadablePlugin, CircuitBreakerPlugin {

    /** The thread pool of the MongoDB reads (blocking driver calls) and of the shard tasks' bookkeeping. */
    public static final String THREAD_POOL = FollowThreadPool.NAME;

    private volatile MongoClientService mongoClients;
    private volatile CheckpointPublisher checkpoints;
    private volatile org.mongofollow.source.OplogFeeds feeds;
    private volatile org.mongofollow.action.ResyncService resyncs;
    private volatile ConnectionAllowlist allowlist;
    private volatile ClusterService clusterService;

    /** Set by the node before the components are created (see {@link #setCircuitBreaker}). */
    private volatile CircuitBreaker breaker;

    @Override
    public BreakerSettings getCircuitBreaker(Settings settings) {
        return FollowBreaker.settings(settings);
    }

    @Override
    public void setCircuitBreaker(CircuitBreaker circuitBreaker) {
        this.breaker = circuitBreaker;
    }

    @Override
    public List<Setting<?>> getSettings() {
        List<Setting<?>> settings = new ArrayList<>(FollowClientSettings.all());
        settings.add(ConnectionAllowlist.SETTING);
        settings.add(org.mongofollow.security.PrivilegeCheck.INTERVAL);
        settings.add(org.mongofollow.source.OplogFeeds.WINDOW_SIZE);
        settings.add(CheckpointPublisher.IDLE_INTERVAL);
        settings.add(AutoFollowCoordinator.POLL_INTERVAL);
        return settings;
    }

    @Override
    public List<ExecutorBuilder<?>> getExecutorBuilders(Settings settings) {
        return List.of(
            new FixedExecutorBuilder(settings, THREAD_POOL, 32, 1000, "mongo_follow.thread_pool", EsExecutors.TaskTrackingConfig.DO_NOT_TRACK)
        );
    }

    @Override
    public Collection<?> createComponents(PluginServices services) {
        clusterService = services.clusterService();
        // the keystore is open now: read the named clients' credentials, then let them go
        mongoClients = new MongoClientService(services.environment().settings());
        checkpoints = CheckpointPublisher.create(services.client(), services.threadPool(), services.clusterService().getClusterSettings());
        PersistentTasksService persistentTasks = new PersistentTasksService(services.clusterService(), services.threadPool(), services.client());
        services.clusterService().addListener(new FollowTaskCleaner(persistentTasks));
        FollowEndpoints.closeUnusedPeriodically(services.clusterService(), services.threadPool(), mongoClients);
        allowlist = ConnectionAllowlist.of(services.clusterService().getClusterSettings());
        mongoClients.setShardHostCheck(allowlist::check); // the shards a connection string's mongos names are checked too
        if (breaker == null) {
            throw new IllegalStateException("the node did not set the [" + FollowBreaker.NAME + "] circuit breaker");
        }
        feeds = new org.mongofollow.source.OplogFeeds(
            mongoClients,
            org.mongofollow.source.OplogFeeds.WINDOW_SIZE.get(services.environment().settings()),
            breaker
        );
        resyncs = new org.mongofollow.action.ResyncService(
            services.clusterService(),
            services.client(),
            persistentTasks,
            mongoClients,
            services.threadPool(),
            allowlist
        );
        AutoFollowUpdates autoFollowUpdates = new AutoFollowUpdates(services.clusterService());
        AutoFollowCoordinator autoFollow = new AutoFollowCoordinator(
            services.clusterService(),
            services.threadPool(),
            services.client(),
            mongoClients,
            allowlist,
            autoFollowUpdates
        );
        return List.of(mongoClients, checkpoints, allowlist, feeds, resyncs, autoFollowUpdates, autoFollow);
    }

    @Override
    public List<PersistentTasksExecutor<?>> getPersistentTasksExecutor(
        ClusterService clusterService,
        ThreadPool threadPool,
        Client client,
        SettingsModule settingsModule,
        IndexNameExpressionResolver expressionResolver
    ) {
        ShardFollowNodeTask.Services services = new ShardFollowNodeTask.Services(
            client,
            clusterService,
            threadPool,
            threadPool.executor(THREAD_POOL),
            mongoClients,
            checkpoints,
            org.mongofollow.security.PrivilegeCheck.INTERVAL.get(settingsModule.getSettings()),
            feeds,
            resyncs,
            allowlist,
            breaker
        );
        return List.of(new ShardFollowTasksExecutor(clusterService, services), new CopyTasksExecutor(clusterService, services));
    }

    @Override
    protected List<ActionRegistration<?>> actionRegistrations() {
        return List.of(
            new ActionRegistration<>(FollowStatsAction.INSTANCE, TransportFollowStatsAction.class),
            new ActionRegistration<>(FollowStatsAction.SHARDS, org.mongofollow.action.TransportShardFollowStatsAction.class),
            new ActionRegistration<>(org.mongofollow.action.FeedStatsAction.INSTANCE, org.mongofollow.action.FeedStatsAction.TransportAction.class),
            new ActionRegistration<>(PutFollowAction.INSTANCE, PutFollowAction.TransportAction.class),
            new ActionRegistration<>(FollowLifecycleActions.PAUSE, FollowLifecycleActions.TransportPauseAction.class),
            new ActionRegistration<>(FollowLifecycleActions.RESUME, FollowLifecycleActions.TransportResumeAction.class),
            new ActionRegistration<>(FollowLifecycleActions.UNFOLLOW, FollowLifecycleActions.TransportUnfollowAction.class),
            new ActionRegistration<>(FollowInfoAction.INSTANCE, FollowInfoAction.TransportAction.class),
            new ActionRegistration<>(ResyncAction.INSTANCE, ResyncAction.TransportAction.class),
            new ActionRegistration<>(
                org.mongofollow.action.WaitForPositionAction.INSTANCE,
                org.mongofollow.action.WaitForPositionAction.TransportAction.class
            ),
            new ActionRegistration<>(UpdateFollowMetadataAction.INSTANCE, UpdateFollowMetadataAction.TransportAction.class),
            new ActionRegistration<>(PutAutoFollowPatternAction.INSTANCE, PutAutoFollowPatternAction.TransportAction.class),
            new ActionRegistration<>(ChangeAutoFollowPatternAction.DELETE, ChangeAutoFollowPatternAction.TransportDeleteAction.class),
            new ActionRegistration<>(ChangeAutoFollowPatternAction.ACTIVATE, ChangeAutoFollowPatternAction.TransportActivateAction.class),
            new ActionRegistration<>(GetAutoFollowPatternsAction.INSTANCE, GetAutoFollowPatternsAction.TransportAction.class),
            new ActionRegistration<>(AutoFollowStatsAction.INSTANCE, AutoFollowStatsAction.TransportAction.class),
            new ActionRegistration<>(ApplyOperationsAction.INSTANCE, TransportApplyOperationsAction.class),
            new ActionRegistration<>(
                org.mongofollow.ingest.IngestDocumentsAction.INSTANCE,
                org.mongofollow.ingest.TransportIngestDocumentsAction.class
            )
        );
    }

    @Override
    public Collection<RestHandler> getRestHandlers(
        Settings settings,
        NamedWriteableRegistry namedWriteableRegistry,
        RestController restController,
        ClusterSettings clusterSettings,
        IndexScopedSettings indexScopedSettings,
        SettingsFilter settingsFilter,
        IndexNameExpressionResolver indexNameExpressionResolver,
        Supplier<DiscoveryNodes> nodesInCluster,
        Predicate<NodeFeature> clusterSupportsFeature
    ) {
        List<RestHandler> handlers = new ArrayList<>(RestFollowActions.all());
        handlers.addAll(RestAutoFollowActions.all());
        handlers.add(new RestFollowStatsAction());
        handlers.add(new RestCatMongoFollowAction());
        return handlers;
    }

    /** Only a follow writes into its follower index (see {@link org.mongofollow.action.FollowerWriteBlock}). */
    @Override
    public Collection<org.elasticsearch.action.support.ActionFilter> getActionFilters() {
        return List.of(new org.mongofollow.action.FollowerWriteBlock(() -> clusterService == null ? null : clusterService.state()));
    }

    @Override
    public List<NamedWriteableRegistry.Entry> getNamedWriteables() {
        List<NamedWriteableRegistry.Entry> entries = new ArrayList<>(List.of(
            new NamedWriteableRegistry.Entry(PersistentTaskParams.class, ShardFollowTask.NAME, ShardFollowTask::new),
            new NamedWriteableRegistry.Entry(PersistentTaskParams.class, CopyTask.NAME, CopyTask::new),
            new NamedWriteableRegistry.Entry(Task.Status.class, ShardFollowStatus.NAME, ShardFollowStatus::new)
        ));
        entries.addAll(MetadataCustomBase.namedWriteables(AutoFollowMetadata.TYPE, AutoFollowMetadata::new));
        return entries;
    }

    @Override
    public List<NamedXContentRegistry.Entry> getNamedXContent() {
        return List.of(
            new NamedXContentRegistry.Entry(PersistentTaskParams.class, new ParseField(ShardFollowTask.NAME), ShardFollowTask::fromXContent),
            new NamedXContentRegistry.Entry(PersistentTaskParams.class, new ParseField(CopyTask.NAME), CopyTask::fromXContent),
            MetadataCustomBase.namedXContent(AutoFollowMetadata.TYPE, AutoFollowMetadata::fromXContent)
        );
    }

    @Override
    public void reload(Settings settings) {
        mongoClients.reload(settings);
    }

    @Override
    public void close() throws IOException {
        if (mongoClients != null) {
            mongoClients.close();
        }
    }
}
