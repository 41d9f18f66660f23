package org.mongofollow.action;

import org.elasticsearch.core.Nullable;
import org.elasticsearch.xcontent.ToXContentFragment;
import org.elasticsearch.xcontent.XContentBuilder;
import org.mongofollow.operation.OplogPosition;
import org.mongofollow.task.ShardFollowStatus;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A follow's figures over its follower shards, for the index's line of {@code _stats}: the lowest {@code checkpoint} (what
 * every shard has applied: the follow is exact up to there), the highest {@code lag_millis}, and for a follow of a sharded
 * cluster's oplogs, per MongoDB shard, the lowest {@code read_to} and the highest {@code lag_millis} of the follower shards
 * (the follower shard furthest behind that MongoDB shard).
 *
 * @param checkpoint    null when a shard has none yet, or the follow has no shard tasks (paused)
 * @param mongodbShards by MongoDB shard id; empty unless the follow reads a sharded cluster's oplogs
 */
public record FollowSummary(@Nullable OplogPosition checkpoint, long lagMillis, Map<String, MongodbShard> mongodbShards)
    implements
        ToXContentFragment {

    /** One MongoDB shard over the follower shards: the lowest position read to, the highest lag behind it. */
    public record MongodbShard(OplogPosition readTo, long lagMillis) {}

    /**
     * The summary of {@code shards}, the statuses that answered of a follower index of {@code numberOfShards} shards (0: not
     * known): no checkpoint while a shard has not answered (its task not running, or its node not reached), since the
     * lowest would then overstate what the whole index holds.
     */
    public static FollowSummary of(List<ShardFollowStatus> shards, int numberOfShards) {
        OplogPosition checkpoint = null;
        boolean everyCheckpoint = shards.isEmpty() == false && (numberOfShards <= 0 || shards.size() >= numberOfShards);
        long lag = -1; // as a shard's: -1 before anything is known
        Map<String, MongodbShard> mongodbShards = new TreeMap<>();
        for (ShardFollowStatus shard : shards) {
            if (shard.checkpoint() == null) {
                everyCheckpoint = false;
            } else {
                checkpoint = checkpoint == null ? shard.checkpoint() : OplogPosition.min(checkpoint, shard.checkpoint());
            }
            lag = Math.max(lag, shard.lagMillis());
            for (Map.Entry<String, OplogPosition> read : shard.mongodbShards().entrySet()) {
                MongodbShard own = new MongodbShard(read.getValue(), shard.mongodbShardLagMillis(read.getValue()));
                mongodbShards.merge(
                    read.getKey(),
                    own,
                    (a, b) -> new MongodbShard(OplogPosition.min(a.readTo(), b.readTo()), Math.max(a.lagMillis(), b.lagMillis()))
                );
            }
        }
        return new FollowSummary(everyCheckpoint ? checkpoint : null, lag, mongodbShards);
    }

    /** The index's fields: nothing unless every shard answered with a checkpoint (a paused follow has no shard tasks). */
    @Override
    public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
        if (checkpoint == null) {
            return builder; // (not every shard known: no summary that would overstate the index)
        }
        builder.field(ShardFollowStatus.CHECKPOINT.getPreferredName(), checkpoint.toString());
        ShardFollowStatus.millisField(builder, ShardFollowStatus.LAG_MILLIS, "lag", lagMillis);
        if (mongodbShards.isEmpty() == false) {
            builder.startArray(ShardFollowStatus.MONGODB_SHARDS.getPreferredName());
            for (Map.Entry<String, MongodbShard> shard : mongodbShards.entrySet()) {
                builder.startObject()
                    .field(ShardFollowStatus.SHARD.getPreferredName(), shard.getKey())
                    .field(ShardFollowStatus.READ_TO.getPreferredName(), shard.getValue().readTo().toString());
                ShardFollowStatus.millisField(builder, ShardFollowStatus.LAG_MILLIS, "lag", shard.getValue().lagMillis());
                builder.endObject();
            }
            builder.endArray();
        }
        return builder;
    }
}
