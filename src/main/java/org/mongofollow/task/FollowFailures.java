package org.mongofollow.task;

import com.mongodb.MongoCommandException;
import com.mongodb.MongoException;
import com.mongodb.MongoNodeIsRecoveringException;
import com.mongodb.MongoNotPrimaryException;
import com.mongodb.MongoSocketException;
import com.mongodb.MongoTimeoutException;
import com.mongodb.MongoWriteConcernException;

import org.elasticsearch.ElasticsearchTimeoutException;
import org.elasticsearch.ElasticsearchException;
import org.elasticsearch.ExceptionsHelper;
import org.elasticsearch.common.io.stream.NotSerializableExceptionWrapper;
import org.elasticsearch.action.NoShardAvailableActionException;
import org.elasticsearch.action.UnavailableShardsException;
import org.elasticsearch.action.support.TransportActions;
import org.elasticsearch.cluster.NotMasterException;
import org.elasticsearch.cluster.block.ClusterBlockException;
import org.elasticsearch.cluster.coordination.FailedToCommitClusterStateException;
import org.elasticsearch.cluster.metadata.ProcessClusterEventTimeoutException;
import org.elasticsearch.common.breaker.CircuitBreakingException;
import org.elasticsearch.common.util.concurrent.EsRejectedExecutionException;
import org.elasticsearch.discovery.MasterNotDiscoveredException;
import org.elasticsearch.index.shard.IllegalIndexShardStateException;
import org.elasticsearch.indices.IndexClosedException;
import org.elasticsearch.node.NodeClosedException;
import org.elasticsearch.transport.ConnectTransportException;
import org.elasticsearch.transport.NodeNotConnectedException;
import org.elasticsearch.transport.ReceiveTimeoutTransportException;

import org.mongofollow.apply.ApplyOperationsAction;

import java.util.Set;

/** The one decision between a transient failure (retry with backoff) and a fatal one (stop, explained). */
public final class FollowFailures {

    /**
     * Server error codes worth retrying: the replica set is electing, stepping down, shutting down or busy, or a
     * rollback killed the read's cursor (CursorNotFound 43, QueryPlanKilled 175, CursorKilled 237).
     */
    private static final Set<Integer> RETRYABLE_MONGO_CODES = Set.of(
        6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 50, 112, 117, 43, 175, 237
    );

    /** CappedPositionLost: the oplog no longer holds the position the read started from. */
    public static final int CAPPED_POSITION_LOST = 136;

    private FollowFailures() {}

    public static boolean shouldRetry(Exception e) {
        Throwable cause = ExceptionsHelper.unwrapCause(e);
        if (cause instanceof FollowFatalException) {
            return false;
        }
        if (cause instanceof org.mongofollow.source.OplogReader.PrimaryChangedException) {
            return true; // an election during a read: read again from the new primary
        }
        if (cause instanceof MongoSocketException || cause instanceof MongoTimeoutException || cause instanceof MongoNotPrimaryException
            || cause instanceof MongoNodeIsRecoveringException || cause instanceof MongoWriteConcernException) {
            return true;
        }
        if (cause instanceof MongoCommandException command) {
            return RETRYABLE_MONGO_CODES.contains(command.getErrorCode()) || command.hasErrorLabel(MongoException.TRANSIENT_TRANSACTION_ERROR_LABEL)
                || command.hasErrorLabel("RetryableError");
        }
        if (cause instanceof MongoException mongo) {
            return mongo.getCode() != CAPPED_POSITION_LOST && mongo.getCode() != 13 && mongo.getCode() != 18
                && (mongo.getCode() < 0 || RETRYABLE_MONGO_CODES.contains(mongo.getCode()));
        }
        if (cause instanceof IllegalStateException && String.valueOf(cause.getMessage()).startsWith("state should be: ")) {
            // the driver's client (or its session pool) was closed: by a settings reload, whose next read uses the new
            // client, or by the node shutting down ("state should be: open", "state should be: server session pool is open")
            return true;
        }
        return TransportActions.isShardNotAvailableException(cause)
            || cause instanceof EsRejectedExecutionException
            || cause instanceof CircuitBreakingException
            || cause instanceof NodeClosedException
            || cause instanceof ConnectTransportException
            || cause instanceof NodeNotConnectedException
            || cause instanceof UnavailableShardsException
            || cause instanceof NoShardAvailableActionException
            || cause instanceof IllegalIndexShardStateException
            || cause instanceof ClusterBlockException
            || cause instanceof IndexClosedException
            || cause instanceof ElasticsearchTimeoutException
            // the master is unavailable or failing over (a dynamic mapping update, a metadata update)
            || cause instanceof MasterNotDiscoveredException
            || cause instanceof NotMasterException
            || cause instanceof FailedToCommitClusterStateException
            || cause instanceof ProcessClusterEventTimeoutException
            || cause instanceof ReceiveTimeoutTransportException
            || cause instanceof ApplyOperationsAction.IncompleteWriteException
            || cause instanceof org.mongofollow.ingest.PipelineUnavailableException
            // the plugin's own exceptions cross the transport wrapped, by name
            || cause instanceof NotSerializableExceptionWrapper wrapper && RETRYABLE_WRAPPED.contains(wrapper.getExceptionName());
    }

    /** The names of the plugin's retryable exceptions when another node threw them. */
    private static final Set<String> RETRYABLE_WRAPPED = Set.of(
        ElasticsearchException.getExceptionName(new ApplyOperationsAction.IncompleteWriteException("")),
        org.mongofollow.ingest.PipelineUnavailableException.NAME
    );
}
