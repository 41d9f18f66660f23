package org.mongofollow.it;

import com.mongodb.client.ClientSession;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;

import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.elasticsearch.client.ResponseException;
import org.elasticsearch.test.ESIntegTestCase;
import org.mongofollow.embedded.EmbeddedMongo;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

/**
 * Follows of MongoDB releases older and newer than the default 7.0, as the embedded MongoDB serves them: 4.4 logs updates
 * as {@code $v:1} and its change events have neither {@code truncatedArrays} nor {@code wallTime}, 5.0 refuses
 * {@code showExpandedEvents} and writes version 1 resume tokens, 8.0 reports wire version 25. Each is followed from its
 * oplog and from its change stream through a random workload with transactions, and every follow ends exact.
 */
@ESIntegTestCase.ClusterScope(scope = ESIntegTestCase.Scope.TEST, numDataNodes = 1, numClientNodes = 0)
public class ServerVersionsFollowIT extends MongoFollowIntegTestCase {

    public void testEveryReleaseIsFollowedExactlyFromItsOplogAndItsChangeStream() throws Exception {
        List<EmbeddedMongo> servers = new ArrayList<>();
        List<MongoClient> clients = new ArrayList<>();
        try {
            Random random = new Random(randomLong());
            List<String> versions = List.of("4.4", "5.0", "8.0");
            List<MongoCollection<BsonDocument>> collections = new ArrayList<>();
            List<RandomWorkload> workloads = new ArrayList<>();
            for (String version : versions) {
                EmbeddedMongo server = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(200).serverVersion(version));
                servers.add(server);
                MongoClient client = MongoClients.create(server.connectionString());
                clients.add(client);
                MongoCollection<BsonDocument> items = client.getDatabase("shop").getCollection("items", BsonDocument.class);
                collections.add(items);
                RandomWorkload workload = new RandomWorkload(items, random.nextLong(), 100);
                workload.run(100); // copied
                workloads.add(workload);
                String suffix = version.replace('.', '-');
                for (String source : List.of("oplog", "change_stream")) {
                    call(followRequest(source + "-" + suffix, server.connectionString(), "shop", "items",
                        "\"source\": \"" + source + "\", \"settings\": {\"number_of_shards\": 2, \"number_of_replicas\": 0}"));
                }
            }
            for (int round = 0; round < 10; round++) {
                for (int i = 0; i < versions.size(); i++) {
                    workloads.get(i).run(20);
                    MongoCollection<BsonDocument> items = collections.get(i);
                    try (ClientSession session = clients.get(i).startSession()) {
                        session.withTransaction(() -> {
                            items.updateMany(session, Filters.lt("_id", random.nextInt(100)), Updates.inc("qty", 1));
                            items.deleteOne(session, Filters.eq("_id", random.nextInt(100)));
                            return null;
                        });
                    }
                }
            }
            for (int i = 0; i < versions.size(); i++) {
                String suffix = versions.get(i).replace('.', '-');
                assertConverges("oplog-" + suffix, collections.get(i));
                assertConverges("change_stream-" + suffix, collections.get(i));
                for (String source : List.of("oplog", "change_stream")) {
                    for (Map<String, Object> shard : shardStats(source + "-" + suffix)) {
                        assertThat(shard.toString(), shard.get("fatal_exception"), equalTo(null));
                    }
                }
            }
            // 4.4's updates are $v:1 in its oplog (what the oplog follow applied above)
            BsonDocument update = clients.get(0).getDatabase("local").getCollection("oplog.rs", BsonDocument.class)
                .find(Filters.and(Filters.eq("op", "u"), Filters.eq("ns", "shop.items"), Filters.exists("o._id", false))).first();
            assertThat(update.toJson(), update.getDocument("o").getInt32("$v"), equalTo(new BsonInt32(1)));

            // post-images need 6.0: refused before anything changes, with the reason
            ResponseException refused = expectThrows(ResponseException.class, () -> call(followRequest("images", servers.get(1).connectionString(),
                "shop", "items", "\"source\": \"change_stream\", \"full_document\": \"when_available\"")));
            assertThat(refused.getResponse().getStatusLine().getStatusCode(), equalTo(400));
            assertThat(new String(refused.getResponse().getEntity().getContent().readAllBytes(), StandardCharsets.UTF_8),
                containsString("[full_document] [when_available] needs MongoDB 6.0 or later"));
            assertFalse(indexExists("images"));
        } finally {
            clients.forEach(MongoClient::close);
            servers.forEach(EmbeddedMongo::close);
        }
    }
}
