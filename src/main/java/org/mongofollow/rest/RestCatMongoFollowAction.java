package org.mongofollow.rest;

import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.Table;
import org.elasticsearch.common.unit.ByteSizeValue;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.action.RestResponseListener;
import org.elasticsearch.rest.action.cat.AbstractCatAction;
import org.elasticsearch.rest.action.cat.RestTable;
import org.mongofollow.action.FollowStatsAction;
import org.mongofollow.task.ShardFollowStatus;

import java.util.List;

import static org.elasticsearch.rest.RestRequest.Method.GET;

/** {@code GET /_cat/mongo_follow[/{index}]}: one line per follower shard, for people. */
public class RestCatMongoFollowAction extends AbstractCatAction {

    @Override
    public String getName() {
        return "cat_mongo_follow_action";
    }

    @Override
    public List<Route> routes() {
        return List.of(new Route(GET, "/_cat/mongo_follow"), new Route(GET, "/_cat/mongo_follow/{index}"));
    }

    @Override
    protected void documentation(StringBuilder sb) {
        sb.append("/_cat/mongo_follow\n/_cat/mongo_follow/{index}\n");
    }

    @Override
    protected RestChannelConsumer doCatRequest(RestRequest request, NodeClient client) {
        FollowStatsAction.Request stats = new FollowStatsAction.Request(Strings.splitStringByCommaToArray(request.param("index")));
        return channel -> client.execute(FollowStatsAction.INSTANCE, stats, new RestResponseListener<>(channel) {
            @Override
            public RestResponse buildResponse(FollowStatsAction.Response response) throws Exception {
                return RestTable.buildResponse(buildTable(request, response), channel);
            }
        });
    }

    @Override
    protected Table getTableWithHeader(RestRequest request) {
        return new Table().startHeaders()
            .addCell("index", "alias:i;desc:follower index")
            .addCell("shard", "alias:s;desc:shard")
            .addCell("status", "alias:st;desc:follow status")
            .addCell("checkpoint", "alias:cp;desc:oplog position up to which everything is applied")
            .addCell("lag", "alias:l;text-align:right;desc:lag of the checkpoint behind the source head (a time: ?time= sets its unit), empty before it is known")
            .addCell("buffered_ops", "alias:bo;text-align:right;desc:operations read and waiting to be written")
            .addCell("ops_written", "alias:ow;text-align:right;desc:operations written")
            .addCell("errors", "alias:e;text-align:right;desc:failed read and write requests (each retried)")
            .addCell("copy", "alias:c;desc:the copy (initial copy or resync): percent of the estimated documents copied, done or failed, empty without a copy")
            .addCell("copy_rate", "alias:cr;text-align:right;desc:documents a running copy copies per second, on average since it started")
            .addCell("copy_eta", "alias:ce;text-align:right;desc:time a running copy still needs at that rate for the rest of its estimated documents")
            .addCell("mongodb_shards", "alias:ms;default:false;desc:of a sharded cluster followed from its shards' oplogs, each MongoDB shard "
                + "with the lag of this shard's checkpoint behind how far its oplog is read, in milliseconds (shard:lag, space separated)")
            .addCell("failure_reason", "alias:fr;default:false;desc:why the shard's follow stopped (its fatal error), empty while it runs")
            .addCell("buffered_size", "alias:bs;default:false;text-align:right;desc:size of the operations waiting to be written (?bytes= sets its unit)")
            .addCell("bytes_read", "alias:br;default:false;text-align:right;desc:size of the oplog entries or change events read (?bytes= sets its unit)")
            .addCell("last_read", "alias:lr;default:false;text-align:right;desc:time since the last successful read (?time= sets its unit)")
            .endHeaders();
    }

    private Table buildTable(RestRequest request, FollowStatsAction.Response response) {
        Table table = getTableWithHeader(request);
        for (FollowStatsAction.IndexStats index : response.indices()) {
            if (index.shards().isEmpty()) {
                // a paused follow has no shard tasks: one line, whose shard and shard figures are empty
                table.startRow().addCell(index.index()).addCell(null).addCell(index.status());
                table.addCell(null).addCell(null).addCell(null).addCell(null).addCell(null);
                copyCells(table, index).addCell(null).addCell(null).addCell(null).addCell(null).addCell(null).endRow();
                continue;
            }
            for (ShardFollowStatus shard : index.shards()) {
                table.startRow()
                    .addCell(index.index())
                    .addCell(shard.shardId())
                    .addCell(shard.status())
                    .addCell(shard.checkpoint() == null ? null : shard.checkpoint().toString())
                    .addCell(millis(shard.lagMillis()))
                    .addCell(shard.writeBufferOperationCount())
                    .addCell(shard.operationsWritten())
                    .addCell(shard.failedReadRequests() + shard.failedWriteRequests());
                copyCells(table, index).addCell(mongodbShards(shard))
                    .addCell(shard.fatalException() == null ? null : shard.fatalException().reason())
                    .addCell(ByteSizeValue.ofBytes(shard.writeBufferSizeInBytes()))
                    .addCell(ByteSizeValue.ofBytes(shard.bytesRead()))
                    .addCell(millis(shard.timeSinceLastReadMillis()))
                    .endRow();
            }
        }
        return table;
    }

    /** {@code shard0:0 shard1:1200}: each MongoDB shard read, with the lag behind it; empty when not following shards. */
    private static String mongodbShards(ShardFollowStatus shard) {
        if (shard.mongodbShards().isEmpty()) {
            return null;
        }
        StringBuilder cell = new StringBuilder();
        shard.mongodbShards().forEach((id, readTo) -> cell.append(cell.length() == 0 ? "" : " ").append(id).append(':')
            .append(shard.mongodbShardLagMillis(readTo)));
        return cell.toString();
    }

    private static Table copyCells(Table table, FollowStatsAction.IndexStats index) {
        FollowStatsAction.CopyStats copy = index.initialCopy();
        boolean running = copy.state().equals("running");
        return table.addCell(copy(index)).addCell(running ? copy.rate() : null).addCell(running ? copy.estimatedTimeRemaining() : null);
    }

    private static String copy(FollowStatsAction.IndexStats index) {
        FollowStatsAction.CopyStats copy = index.initialCopy();
        return switch (copy.state()) {
            case "none" -> null;
            case "done" -> "done";
            case "failed" -> "failed";
            default -> copy.percent() + "%";
        };
    }

    /** A duration cell, which {@code ?time=} renders; empty when not known (-1). */
    private static TimeValue millis(long millis) {
        return millis < 0 ? null : TimeValue.timeValueMillis(millis);
    }
}
