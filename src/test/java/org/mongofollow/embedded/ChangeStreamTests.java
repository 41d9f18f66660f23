package org.mongofollow.embedded;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.Test;

import com.mongodb.MongoCommandException;
import com.mongodb.client.ClientSession;
import com.mongodb.client.MongoChangeStreamCursor;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Aggregates;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.mongodb.client.model.ChangeStreamPreAndPostImagesOptions;
import com.mongodb.client.model.CreateCollectionOptions;
import com.mongodb.client.model.changestream.FullDocument;
import com.mongodb.client.model.changestream.FullDocumentBeforeChange;
import com.mongodb.client.model.changestream.OperationType;

/**
 * The embedded MongoDB's change streams, read through the official driver's {@code watch()}: the events real servers
 * send for inserts, updates, replacements, deletes, transactions, drops and renames, their tokens (checked against real
 * servers' tokens), resuming, the database and cluster scopes, and the errors of a lost history.
 */
public class ChangeStreamTests {

    /** Tokens copied from MongoDB's documentation and from drivers' tests, rebuilt from their decoded fields. */
    @Test
    public void tokensAreTheBytesRealServersWrite() {
        // MongoDB manual, "Resume Tokens": an insert event's token (v2)
        assertEquals(
            "82635019A0000000012B042C0100296E5A1004AB1154ACACD849A48C61756D70D3B21F463C6F7065726174696F6E54797065003C696E736572740046646F63756D656E744B65790046645F69640064635019A078BE67426D7CF4D2000004",
            ResumeTokens.event(
                ts(1666193824, 1), 2, 0, false, UUID.fromString("ab1154ac-acd8-49a4-8c61-756d70d3b21f"),
                new de.bwaldvogel.mongo.bson.Document("operationType", "insert").append("documentKey",
                    new de.bwaldvogel.mongo.bson.Document("_id", new de.bwaldvogel.mongo.bson.ObjectId("635019a078be67426d7cf4d2")))
            ).get("_data")
        );
        // the same page: a postBatchResumeToken (a high-water mark, v2)
        assertEquals("8263515EAC000000022B0429296E1404", ResumeTokens.highWaterMark(ts(1666277036, 2), 2).get("_data"));
        // v1 with a string _id (mongodb-resumetoken-decoder) and a v1 high-water mark
        assertEquals(
            "82612E8513000000012B022C0100296E5A1004A5093ABB38FE4B9EA67F01BB1A96D812463C5F6964003C5F5F5F78000004",
            ResumeTokens.event(ts(1630438675, 1), 1, 0, false, UUID.fromString("a5093abb-38fe-4b9e-a67f-01bb1a96d812"),
                new de.bwaldvogel.mongo.bson.Document("_id", "___x")).get("_data")
        );
        assertEquals("82612F653E000000022B0229296E04", ResumeTokens.highWaterMark(ts(1630496062, 2), 1).get("_data"));
        // a NumberLong _id needs type bits (v1: 81 80)
        de.bwaldvogel.mongo.bson.Document longKey = ResumeTokens.event(ts(1, 1), 1, 0, false, UUID.randomUUID(),
            new de.bwaldvogel.mongo.bson.Document("_id", 5L));
        assertEquals(2, ((de.bwaldvogel.mongo.bson.BinData) longKey.get("_typeBits")).getData().length);
        // decoding, and the invalidate that follows a command
        de.bwaldvogel.mongo.bson.Document drop = ResumeTokens.event(ts(7, 3), 2, 4, false, UUID.randomUUID(),
            new de.bwaldvogel.mongo.bson.Document("operationType", "drop"));
        ResumeTokens.Data data = ResumeTokens.decode(drop);
        assertEquals(new ResumeTokens.Data(ts(7, 3), 2, ResumeTokens.EVENT, 4, false), data);
        assertTrue(ResumeTokens.decode(ResumeTokens.asInvalidate(drop)).fromInvalidate());
        assertTrue(ResumeTokens.compare(ResumeTokens.asInvalidate(drop), drop) > 0);
    }

    private static long ts(int seconds, int increment) {
        return ((long) seconds << 32) | increment;
    }

    @Test
    public void collectionStreamShowsEveryChangeInOrder() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoCollection<Document> items = client.getDatabase("shop").getCollection("items");
            items.insertOne(new Document("_id", 0).append("before", true)); // before the stream: not seen
            BsonTimestamp first;
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = items.watch().cursor()) {
                items.insertOne(new Document("_id", 1).append("name", "lamp").append("tags", List.of("a", "b")));
                items.updateOne(Filters.eq("_id", 1), Updates.combine(Updates.set("name", "desk"), Updates.unset("tags")));
                items.updateOne(Filters.eq("_id", 1), Updates.push("colors", "red"));
                items.replaceOne(Filters.eq("_id", 1), new Document("name", "chair"));
                items.deleteOne(Filters.eq("_id", 1));
                client.getDatabase("shop").getCollection("other").insertOne(new Document("_id", 9)); // another collection

                List<ChangeStreamDocument<Document>> events = take(stream, 5);
                first = events.get(0).getClusterTime();
                assertEquals(List.of(OperationType.INSERT, OperationType.UPDATE, OperationType.UPDATE, OperationType.REPLACE, OperationType.DELETE),
                    events.stream().map(ChangeStreamDocument::getOperationType).toList());
                for (ChangeStreamDocument<Document> event : events) {
                    assertEquals(new BsonDocument("_id", new BsonInt32(1)), event.getDocumentKey());
                    assertEquals("shop", event.getNamespace().getDatabaseName());
                    assertEquals("items", event.getNamespace().getCollectionName());
                    assertNotNull(event.getClusterTime());
                    assertNotNull(event.getWallTime());
                }
                assertEquals(new Document("_id", 1).append("name", "lamp").append("tags", List.of("a", "b")), events.get(0).getFullDocument());
                assertEquals(new BsonDocument("name", new BsonString("desk")), events.get(1).getUpdateDescription().getUpdatedFields());
                assertEquals(List.of("tags"), events.get(1).getUpdateDescription().getRemovedFields());
                assertEquals(List.of(), events.get(1).getUpdateDescription().getTruncatedArrays());
                assertEquals(new BsonDocument("colors", new BsonArray(List.of(new BsonString("red")))), events.get(2).getUpdateDescription().getUpdatedFields());
                assertNull(events.get(1).getFullDocument()); // fullDocument: default
                assertEquals(new Document("_id", 1).append("name", "chair"), events.get(3).getFullDocument());
                // tokens and cluster times only grow
                for (int i = 1; i < events.size(); i++) {
                    assertTrue(events.get(i).getClusterTime().compareTo(events.get(i - 1).getClusterTime()) > 0);
                    assertTrue(token(events.get(i)).compareTo(token(events.get(i - 1))) > 0);
                }
                assertNull("no more events", stream.tryNext());
                assertNotNull(stream.getResumeToken());
            }
            // the stages after $changeStream run on the events
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> deletes = items.watch(
                List.of(Aggregates.match(Filters.eq("operationType", "delete")))).startAtOperationTime(first).cursor()) {
                assertEquals(List.of(OperationType.DELETE), take(deletes, 1).stream().map(ChangeStreamDocument::getOperationType).toList());
            }
        }
    }

    /**
     * With {@code showExpandedEvents}: the collection's UUID, {@code disambiguatedPaths} for a numeric field name (always
     * present, empty when nothing is ambiguous), and a pipeline update's shortened array as {@code truncatedArrays}.
     */
    @Test
    public void expandedEventsDisambiguatePathsAndShowTruncatedArrays() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoCollection<Document> items = client.getDatabase("shop").getCollection("items");
            List<String> long20 = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                long20.add("element " + i + " of an array long enough that cutting it is logged as a new length");
            }
            items.insertOne(new Document("_id", 1).append("o", new Document("1", "x")).append("arr", long20));
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = items.watch().showExpandedEvents(true).cursor()) {
                items.updateOne(Filters.eq("_id", 1), Updates.set("o.1", "y"));
                items.updateOne(Filters.eq("_id", 1), List.of(new Document("$set", new Document("arr", new Document("$slice", List.of("$arr", 10))))));
                items.updateOne(Filters.eq("_id", 1), Updates.set("plain", true));
                List<ChangeStreamDocument<Document>> events = take(stream, 3);
                assertNotNull(events.get(0).getExtraElements());
                assertTrue(events.get(0).getExtraElements().containsKey("collectionUUID"));
                assertEquals(new BsonDocument("o.1", new BsonString("y")), events.get(0).getUpdateDescription().getUpdatedFields());
                assertEquals(new BsonDocument("o.1", new BsonArray(List.of(new BsonString("o"), new BsonString("1")))),
                    events.get(0).getUpdateDescription().getDisambiguatedPaths());
                assertEquals(1, events.get(1).getUpdateDescription().getTruncatedArrays().size());
                assertEquals("arr", events.get(1).getUpdateDescription().getTruncatedArrays().get(0).getField());
                assertEquals(10, events.get(1).getUpdateDescription().getTruncatedArrays().get(0).getNewSize());
                assertEquals(new BsonDocument(), events.get(2).getUpdateDescription().getDisambiguatedPaths());
            }
        }
    }

    @Test
    public void resumingAfterATokenOrFromATimeGivesTheRest() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoCollection<Document> items = client.getDatabase("shop").getCollection("items");
            BsonDocument start;
            List<ChangeStreamDocument<Document>> all;
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = items.watch().cursor()) {
                assertNull(stream.tryNext());
                start = stream.getResumeToken(); // the first batch's postBatchResumeToken: a high-water mark
                for (int i = 0; i < 5; i++) {
                    items.insertOne(new Document("_id", i));
                }
                all = take(stream, 5);
            }
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> resumed = items.watch().resumeAfter(all.get(1).getResumeToken()).cursor()) {
                assertEquals(List.of(2, 3, 4), ids(take(resumed, 3)));
            }
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> fromStart = items.watch().resumeAfter(start).cursor()) {
                assertEquals(List.of(0, 1, 2, 3, 4), ids(take(fromStart, 5)));
            }
            BsonTimestamp third = all.get(2).getClusterTime();
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> fromTime = items.watch().startAtOperationTime(third).cursor()) {
                assertEquals(List.of(2, 3, 4), ids(take(fromTime, 3)));
            }
            // updateLookup: the document as it is now
            items.updateOne(Filters.eq("_id", 4), Updates.set("x", 1));
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> lookup = items.watch().fullDocument(FullDocument.UPDATE_LOOKUP)
                .resumeAfter(all.get(4).getResumeToken()).cursor()) {
                assertEquals(new Document("_id", 4).append("x", 1), take(lookup, 1).get(0).getFullDocument());
            }
        }
    }

    @Test
    public void transactionEventsShareTheirCommitTime() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoCollection<Document> items = client.getDatabase("shop").getCollection("items");
            items.insertOne(new Document("_id", 0));
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = items.watch().cursor();
                 ClientSession session = client.startSession()) {
                session.withTransaction(() -> {
                    items.insertOne(session, new Document("_id", 1));
                    client.getDatabase("shop").getCollection("other").insertOne(session, new Document("_id", 1));
                    items.updateOne(session, Filters.eq("_id", 0), Updates.set("n", 1));
                    return null;
                });
                List<ChangeStreamDocument<Document>> events = take(stream, 2);
                assertEquals(events.get(0).getClusterTime(), events.get(1).getClusterTime());
                assertNotNull(events.get(0).getLsid());
                assertNotNull(events.get(0).getTxnNumber());
                assertEquals(events.get(0).getTxnNumber(), events.get(1).getTxnNumber());
                assertTrue(token(events.get(1)).compareTo(token(events.get(0))) > 0);
                // the operation of the other collection counts in the index: the update is the transaction's third
                assertEquals(2, ResumeTokens.decode(new de.bwaldvogel.mongo.bson.Document("_data", token(events.get(1)))).txnOpIndex());
            }
        }
    }

    @Test
    public void preAndPostImagesOfACollectionThatRecordsThem() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoDatabase shop = client.getDatabase("shop");
            shop.createCollection("imaged", new CreateCollectionOptions().changeStreamPreAndPostImagesOptions(new ChangeStreamPreAndPostImagesOptions(true)));
            MongoCollection<Document> imaged = shop.getCollection("imaged");
            MongoCollection<Document> plain = shop.getCollection("plain");
            imaged.insertOne(new Document("_id", 1).append("n", 0));
            plain.insertOne(new Document("_id", 1).append("n", 0));
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = shop.watch()
                     .fullDocument(FullDocument.WHEN_AVAILABLE).fullDocumentBeforeChange(FullDocumentBeforeChange.WHEN_AVAILABLE).cursor();
                 ClientSession session = client.startSession()) {
                imaged.updateOne(Filters.eq("_id", 1), Updates.set("n", 1));
                imaged.updateOne(Filters.eq("_id", 1), Updates.set("n", 2));
                session.withTransaction(() -> {
                    imaged.updateOne(session, Filters.eq("_id", 1), Updates.inc("n", 10));
                    return null;
                });
                imaged.replaceOne(Filters.eq("_id", 1), new Document("r", true));
                plain.updateOne(Filters.eq("_id", 1), Updates.set("n", 1));
                imaged.deleteOne(Filters.eq("_id", 1));
                List<ChangeStreamDocument<Document>> events = take(stream, 6);
                // each update carries the document right after it, not as it is later (unlike updateLookup)
                assertEquals(new Document("_id", 1).append("n", 1), events.get(0).getFullDocument());
                assertEquals(new Document("_id", 1).append("n", 0), events.get(0).getFullDocumentBeforeChange());
                assertEquals(new Document("_id", 1).append("n", 2), events.get(1).getFullDocument());
                assertEquals(new Document("_id", 1).append("n", 12), events.get(2).getFullDocument());
                assertEquals(new Document("_id", 1).append("n", 2), events.get(2).getFullDocumentBeforeChange());
                assertEquals(OperationType.REPLACE, events.get(3).getOperationType());
                assertEquals(new Document("_id", 1).append("n", 12), events.get(3).getFullDocumentBeforeChange());
                // a collection that does not record images: null, whenAvailable
                assertEquals("plain", events.get(4).getNamespace().getCollectionName());
                assertNull(events.get(4).getFullDocument());
                assertNull(events.get(4).getFullDocumentBeforeChange());
                assertEquals(OperationType.DELETE, events.get(5).getOperationType());
                assertEquals(new Document("_id", 1).append("r", true), events.get(5).getFullDocumentBeforeChange());
            }
            // collMod turns it on for an existing collection (logged as mongod logs it); required fails without images
            shop.runCommand(new Document("collMod", "plain").append("changeStreamPreAndPostImages", new Document("enabled", true)));
            Document collMod = client.getDatabase("local").getCollection("oplog.rs").find(Filters.exists("o.collMod")).first();
            assertEquals(new Document("collMod", "plain").append("changeStreamPreAndPostImages", new Document("enabled", true)), collMod.get("o"));
            assertEquals(false, ((Document) ((Document) collMod.get("o2")).get("collectionOptions_old")).get("changeStreamPreAndPostImages", Document.class).get("enabled"));
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = plain.watch().fullDocument(FullDocument.REQUIRED).cursor()) {
                plain.updateOne(Filters.eq("_id", 1), Updates.set("n", 2));
                assertEquals(new Document("_id", 1).append("n", 2), take(stream, 1).get(0).getFullDocument());
            }
            MongoCommandException unknownOption = org.junit.Assert.assertThrows(MongoCommandException.class,
                () -> shop.runCommand(new Document("collMod", "plain").append("validator", new Document())));
            assertEquals(72, unknownOption.getErrorCode());
            BsonTimestamp before = mongo.majorityCommitPoint();
            shop.runCommand(new Document("collMod", "plain").append("changeStreamPreAndPostImages", new Document("enabled", false)));
            plain.updateOne(Filters.eq("_id", 1), Updates.set("n", 3));
            // (the first batch holds the event: the aggregate itself fails)
            com.mongodb.MongoServerException missing = org.junit.Assert.assertThrows(com.mongodb.MongoServerException.class, () -> {
                try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = plain.watch().fullDocument(FullDocument.REQUIRED)
                         .startAtOperationTime(before).cursor()) {
                    take(stream, 1);
                }
            });
            assertEquals(47, missing.getCode());
        }
    }

    @Test
    public void eachReleaseServesItsOwnOptionsEventsAndTokens() {
        for (String version : List.of("4.2", "4.4", "5.0", "6.0", "7.0", "8.0")) {
            int wire = switch (version) {
                case "4.2" -> 8;
                case "4.4" -> 9;
                case "5.0" -> 13;
                case "6.0" -> 17;
                case "7.0" -> 21;
                default -> 25;
            };
            boolean six = wire >= 17;
            try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0).serverVersion(version));
                 MongoClient client = MongoClients.create(mongo.connectionString())) {
                Document hello = client.getDatabase("admin").runCommand(new Document("hello", 1));
                assertEquals(version, wire, hello.getInteger("maxWireVersion").intValue());
                assertTrue(client.getDatabase("admin").runCommand(new Document("buildInfo", 1)).getString("version").startsWith(version + "."));
                MongoCollection<Document> items = client.getDatabase("shop").getCollection("items");
                items.insertOne(new Document("_id", 1).append("list", List.of(1, 2, 3)).append("m", new Document("a.b", 1)));
                try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = items.watch().cursor()) {
                    // a pipeline update that shortens the array (logged as a diff with a new length from 5.0)
                    items.updateOne(Filters.eq("_id", 1), List.of(new Document("$set", new Document("list", new Document("$slice", List.of("$list", 2))))));
                    ChangeStreamDocument<Document> update = take(stream, 1).get(0);
                    assertEquals(version + ": wallTime from 6.0", six, update.getWallTime() != null);
                    // 5.0 and later log a diff (truncatedArrays); 4.x a $v:1 $set of the whole array
                    if (wire >= 13) {
                        assertEquals(version, 1, update.getUpdateDescription().getTruncatedArrays().size());
                    } else {
                        assertTrue(version, update.getUpdateDescription().getTruncatedArrays().isEmpty());
                        assertEquals(version, new org.bson.BsonArray(List.of(new BsonInt32(1), new BsonInt32(2))),
                            update.getUpdateDescription().getUpdatedFields().get("list"));
                    }
                    int tokenVersion = ResumeTokens.decode(new de.bwaldvogel.mongo.bson.Document("_data", token(update))).version();
                    assertEquals(version, wire >= 21 ? 2 : 1, tokenVersion);
                }
                MongoCommandException expanded = null;
                try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = items.watch().showExpandedEvents(true).cursor()) {
                    assertTrue(version, six);
                } catch (MongoCommandException e) {
                    expanded = e;
                }
                if (six == false) {
                    assertNotNull(version, expanded);
                    assertEquals(version, 40415, expanded.getErrorCode());
                    MongoCommandException images = org.junit.Assert.assertThrows(MongoCommandException.class,
                        () -> items.watch().fullDocument(FullDocument.WHEN_AVAILABLE).cursor().close());
                    assertEquals(version, 40575, images.getErrorCode());
                }
            }
        }
    }

    @Test
    public void aDropInvalidatesACollectionStreamAndADatabaseStreamSeesItsCollections() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoDatabase shop = client.getDatabase("shop");
            MongoCollection<Document> items = shop.getCollection("items");
            items.insertOne(new Document("_id", 0));
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = items.watch().cursor();
                 MongoChangeStreamCursor<ChangeStreamDocument<Document>> database = shop.watch().cursor();
                 MongoChangeStreamCursor<ChangeStreamDocument<Document>> cluster = client.watch().cursor()) {
                shop.getCollection("other").insertOne(new Document("_id", 1));
                items.drop();
                List<ChangeStreamDocument<Document>> events = take(stream, 2);
                assertEquals(List.of(OperationType.DROP, OperationType.INVALIDATE), events.stream().map(ChangeStreamDocument::getOperationType).toList());
                List<ChangeStreamDocument<Document>> all = take(database, 2);
                assertEquals(List.of(OperationType.INSERT, OperationType.DROP), all.stream().map(ChangeStreamDocument::getOperationType).toList());
                assertEquals("other", all.get(0).getNamespace().getCollectionName());
                assertEquals(List.of(OperationType.INSERT, OperationType.DROP),
                    take(cluster, 2).stream().map(ChangeStreamDocument::getOperationType).toList());
                // startAfter the invalidate: a new stream on the collection, recreated
                BsonDocument invalidate = events.get(1).getResumeToken();
                items.insertOne(new Document("_id", 7));
                try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> after = items.watch().startAfter(invalidate).cursor()) {
                    assertEquals(List.of(7), ids(take(after, 1)));
                }
                try {
                    items.watch().resumeAfter(invalidate).cursor().close();
                    fail("resumeAfter an invalidate");
                } catch (MongoCommandException e) {
                    assertEquals(260, e.getErrorCode());
                }
            }
        }
    }

    @Test
    public void aStartBeforeTheOplogsOldestEntryIsHistoryLost() {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0).oplogMaxEntries(10));
             MongoClient client = MongoClients.create(mongo.connectionString())) {
            MongoCollection<Document> items = client.getDatabase("shop").getCollection("items");
            BsonDocument early;
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = items.watch().cursor()) {
                items.insertOne(new Document("_id", 0));
                early = take(stream, 1).get(0).getResumeToken();
            }
            for (int i = 1; i < 30; i++) {
                items.insertOne(new Document("_id", i));
            }
            try {
                items.watch().resumeAfter(early).cursor().close();
                fail("the oplog no longer holds the token's position");
            } catch (MongoCommandException e) {
                assertEquals(286, e.getErrorCode());
                assertEquals("ChangeStreamHistoryLost", e.getErrorCodeName());
                assertFalse(e.getErrorLabels().contains("ResumableChangeStreamError"));
            }
        }
    }

    private static String token(ChangeStreamDocument<Document> event) {
        return event.getResumeToken().getString("_data").getValue();
    }

    private static List<Integer> ids(List<ChangeStreamDocument<Document>> events) {
        return events.stream().map(e -> e.getDocumentKey().getInt32("_id").getValue()).toList();
    }

    private static List<ChangeStreamDocument<Document>> take(MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream, int count) {
        List<ChangeStreamDocument<Document>> events = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (events.size() < count) {
            ChangeStreamDocument<Document> next = stream.tryNext();
            if (next != null) {
                events.add(next);
            } else if (System.nanoTime() > deadline) {
                fail("only " + events.size() + " of " + count + " events: " + events);
            }
        }
        return events;
    }

    /**
     * A getMore waiting for events does not hold the event loop that other connections share: with one event-loop thread,
     * an insert made while a stream waits lands, and the waiting getMore returns its event.
     */
    @Test
    public void aWaitingChangeStreamDoesNotBlockOtherConnections() throws Exception {
        try (EmbeddedMongo mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0).eventLoopThreads(1));
             MongoClient watcher = MongoClients.create(mongo.connectionString());
             MongoClient writer = MongoClients.create(mongo.connectionString())) {
            writer.getDatabase("wait").createCollection("c");
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> cursor = watcher.getDatabase("wait").getCollection("c").watch()
                .maxAwaitTime(20, TimeUnit.SECONDS).cursor()) {
                java.util.concurrent.CompletableFuture<ChangeStreamDocument<Document>> next =
                    java.util.concurrent.CompletableFuture.supplyAsync(cursor::tryNext);
                Thread.sleep(300); // (its getMore is then waiting; if not yet, the insert lands first and it returns at once)
                writer.getDatabase("wait").getCollection("c").insertOne(new Document("_id", 1));
                ChangeStreamDocument<Document> event = next.get(60, TimeUnit.SECONDS);
                assertNotNull("the waiting getMore returns the insert made meanwhile", event);
                assertEquals(OperationType.INSERT, event.getOperationType());
            }
        }
    }
}
