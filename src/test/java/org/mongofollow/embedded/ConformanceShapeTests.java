package org.mongofollow.embedded;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.bson.BsonBinarySubType;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.bson.Document;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

import com.mongodb.MongoCommandException;
import com.mongodb.MongoNamespace;
import com.mongodb.client.ClientSession;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.CreateCollectionOptions;
import com.mongodb.client.model.RenameCollectionOptions;

/**
 * For the operations this server performs, the entries it writes have the shape of the cases in
 * {@code src/test/resources/conformance/shared/}: same fields in the same order with the same BSON types,
 * same {@code op} and {@code ns}, and the same {@code o}/{@code o2} for the same before-documents and the
 * same operation (ids, UUIDs and times aside).
 */
public class ConformanceShapeTests {

    private EmbeddedMongo mongo;
    private MongoClient client;
    private MongoCollection<BsonDocument> coll;

    @Before
    public void start() {
        mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(0));
        // the cases were written without retryable writes (case 36 has its own client)
        client = MongoClients.create(mongo.connectionString() + "&retryWrites=false");
        coll = client.getDatabase("test").getCollection("coll", BsonDocument.class);
    }

    @After
    public void stop() {
        client.close();
        mongo.close();
    }

    static BsonDocument loadCase(String name) {
        try (InputStream in = ConformanceShapeTests.class.getResourceAsStream("/conformance/shared/" + name + ".json")) {
            return BsonDocument.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static List<BsonDocument> caseOplog(BsonDocument c) {
        List<BsonDocument> out = new ArrayList<>();
        for (BsonValue v : c.getArray("oplog")) {
            out.add(v.asDocument());
        }
        return out;
    }

    /** Inserts the case's before-documents and returns the ts after which the operation's entries come. */
    private BsonTimestamp given(BsonDocument c) {
        for (BsonValue d : c.getArray("before")) {
            coll.insertOne(d.asDocument());
        }
        return mongo.lastAppliedOpTime();
    }

    private List<BsonDocument> entriesAfter(BsonTimestamp ts) {
        List<BsonDocument> out = new ArrayList<>();
        for (BsonDocument e : client.getDatabase("local").getCollection("oplog.rs", BsonDocument.class)
            .find(new BsonDocument("ts", new BsonDocument("$gt", ts)))) {
            if (!e.getString("op").getValue().equals("n")) {
                out.add(e);
            }
        }
        return out;
    }

    /** Same fields in the same order, same BSON types (and binary subtypes), same op and ns. */
    static void assertSameEnvelope(BsonDocument expected, BsonDocument actual) {
        assertEquals("fields of " + actual.toJson(), new ArrayList<>(expected.keySet()), new ArrayList<>(actual.keySet()));
        for (Map.Entry<String, BsonValue> e : expected.entrySet()) {
            BsonValue a = actual.get(e.getKey());
            assertEquals("type of " + e.getKey() + " in " + actual.toJson(), e.getValue().getBsonType(), a.getBsonType());
            if (e.getValue().isBinary()) {
                assertEquals(e.getValue().asBinary().getType(), a.asBinary().getType());
            }
        }
        assertEquals(expected.get("op"), actual.get("op"));
        assertEquals(expected.get("ns"), actual.get("ns"));
        if (expected.containsKey("ui")) {
            assertEquals(BsonBinarySubType.UUID_STANDARD.getValue(), actual.getBinary("ui").getType());
        }
        assertEquals(2L, actual.getInt64("v").getValue());
    }

    static void assertSameJson(String what, BsonValue expected, BsonValue actual) {
        assertEquals(what, new BsonDocument("x", expected).toJson(OplogReplayer.EXACT),
            new BsonDocument("x", actual).toJson(OplogReplayer.EXACT));
    }

    private void assertEntries(BsonDocument c, List<BsonDocument> actual, boolean compareO) {
        List<BsonDocument> expected = caseOplog(c);
        assertEquals("entries: " + actual, expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertSameEnvelope(expected.get(i), actual.get(i));
            if (compareO) {
                assertSameJson("o of entry " + i, expected.get(i).get("o"), actual.get(i).get("o"));
                if (expected.get(i).containsKey("o2")) {
                    assertSameJson("o2 of entry " + i, expected.get(i).get("o2"), actual.get(i).get("o2"));
                }
            }
        }
    }

    private static Document d(String json) {
        return Document.parse(json);
    }

    @Test
    public void insert01() {
        BsonDocument c = loadCase("01_insert_4.4_5.0");
        coll.insertOne(new Document("warm", 1).toBsonDocument()); // the collection exists, as in the case
        BsonTimestamp after = mongo.lastAppliedOpTime();
        coll.insertOne(caseOplog(c).get(0).getDocument("o"));
        assertEntries(c, entriesAfter(after), true);
    }

    @Test
    public void delete03() {
        BsonDocument c = loadCase("03_delete");
        BsonTimestamp after = given(c);
        coll.deleteOne(new BsonDocument("_id", c.getArray("before").get(0).asDocument().get("_id")));
        assertEntries(c, entriesAfter(after), true);
    }

    @Test
    public void replacement05() {
        BsonDocument c = loadCase("05_replacement_update");
        BsonTimestamp after = given(c);
        coll.replaceOne(new BsonDocument("_id", c.getArray("before").get(0).asDocument().get("_id")),
            BsonDocument.parse("{a: 2, c: true}"));
        assertEntries(c, entriesAfter(after), true);
    }

    @Test
    public void topLevelDiff08() {
        BsonDocument c = loadCase("08_update_v2_toplevel_u_i_d");
        BsonTimestamp after = given(c);
        client.getDatabase("test").getCollection("coll").updateOne(d("{_id: 1}"), d("{$set: {a: 2, z: 'new'}, $unset: {b: ''}}"));
        assertEntries(c, entriesAfter(after), true);
    }

    @Test
    public void arrayPush12b() {
        BsonDocument c = loadCase("12b_update_v2_array_push_calculator");
        BsonTimestamp after = given(c);
        client.getDatabase("test").getCollection("coll").updateOne(d("{_id: 1}"), d("{$push: {field2: 4}}"));
        assertEntries(c, entriesAfter(after), true);
    }

    @Test
    public void operatorsRewritten17() {
        BsonDocument c = loadCase("17_update_v2_operators_rewritten_5.0plus");
        BsonTimestamp after = given(c);
        MongoCollection<Document> docs = client.getDatabase("test").getCollection("coll");
        Document id = d("{_id: 7}");
        for (String update : List.of(
            "{$inc: {cnt: 1}}",
            "{$push: {tags: 'b'}}",
            "{$pull: {nums: 0}}",
            "{$addToSet: {set: 'y'}}",
            "{$unset: {'arr2.0': ''}}",
            "{$rename: {cnt: 'count'}}",
            "{$set: {'sub.k': 2, 'sub.new': true}}",
            "{$push: {newarr: 1}}",
            "{$push: {tags: {$each: ['c'], $slice: -2}}}")) {
            docs.updateOne(id, d(update));
        }
        assertEntries(c, entriesAfter(after), true);
        assertSameJson("after", c.getArray("after").get(0), coll.find().first());
    }

    /**
     * mongo-java-server treats a {@code $set} that changes only the numeric type (3.0 to 3) as a no-op, so the
     * server cannot produce case 20a through the driver (it logs nothing, and its data does not change either).
     * The diff the update driver would log for those images is checked on the calculator directly.
     */
    @Test
    public void numericTypeChange20a() {
        BsonDocument c = loadCase("20a_update_v2_numeric_type_change_only");
        de.bwaldvogel.mongo.bson.Document current = LibraryDocuments.of(c.getArray("before").get(0).asDocument());
        for (BsonDocument entry : caseOplog(c)) {
            de.bwaldvogel.mongo.bson.Document next = LibraryDocuments.of(current.isEmpty() ? new BsonDocument()
                : LibraryDocuments.toBson(current));
            Object value = LibraryDocuments.of(entry.getDocument("o").getDocument("diff").getDocument("sc").getDocument("u"))
                .get("subField2");
            ((de.bwaldvogel.mongo.bson.Document) next.get("c")).put("subField2", value);
            de.bwaldvogel.mongo.bson.Document diff = DiffCalculator.operatorDiff(current, next, java.util.Set.of("c.subField2"));
            assertSameJson("20a", entry.getDocument("o").getDocument("diff"), LibraryDocuments.toBson(diff));
            current = next;
        }
    }

    @Test
    public void createImplicitAndExplicit21() {
        BsonDocument c = loadCase("21_cmd_create_implicit_explicit_capped");
        List<BsonDocument> expected = caseOplog(c);
        BsonTimestamp after = mongo.lastAppliedOpTime();
        client.getDatabase("test").getCollection("mango").insertOne(d("{_id: 1, val: 'B'}"));
        client.getDatabase("test").createCollection("cap", new CreateCollectionOptions().capped(true).sizeInBytes(4096).maxDocuments(100));
        List<BsonDocument> actual = entriesAfter(after);
        assertEquals(3, actual.size());
        assertSameEnvelope(expected.get(0), actual.get(0));
        assertSameJson("implicit create", expected.get(0).get("o"), actual.get(0).get("o"));
        assertSameEnvelope(expected.get(1), actual.get(1));
        assertEquals(actual.get(0).get("ui"), actual.get(1).get("ui")); // the create's ui is the collection's
        assertSameEnvelope(expected.get(3), actual.get(2));
        assertEquals(new ArrayList<>(expected.get(3).getDocument("o").keySet()),
            new ArrayList<>(actual.get(2).getDocument("o").keySet()));
        assertFalse(actual.get(2).get("ui").equals(actual.get(0).get("ui")));
    }

    @Test
    public void drop22() {
        BsonDocument c = loadCase("22_cmd_drop");
        given(c);
        BsonTimestamp after = mongo.lastAppliedOpTime();
        BsonValue ui = entriesAfter(new BsonTimestamp(0)).get(0).get("ui");
        coll.drop();
        List<BsonDocument> actual = entriesAfter(after);
        assertEntries(c, actual, false);
        assertSameJson("o", caseOplog(c).get(0).get("o"), actual.get(0).get("o"));
        assertEquals(2, actual.get(0).getDocument("o2").getInt32("numRecords").getValue());
        assertEquals(ui, actual.get(0).get("ui"));
    }

    @Test
    public void dropDatabase23() {
        BsonDocument c = loadCase("23_cmd_dropDatabase");
        given(c);
        client.getDatabase("test").getCollection("mango").insertOne(d("{_id: 1}"));
        BsonTimestamp after = mongo.lastAppliedOpTime();
        client.getDatabase("test").drop();
        List<BsonDocument> actual = entriesAfter(after);
        List<BsonDocument> expected = caseOplog(c);
        assertEquals(3, actual.size());
        for (int i = 0; i < 3; i++) {
            assertSameEnvelope(expected.get(i), actual.get(i));
        }
        List<String> dropped = List.of(actual.get(0).getDocument("o").getString("drop").getValue(),
            actual.get(1).getDocument("o").getString("drop").getValue());
        assertTrue(dropped.containsAll(List.of("coll", "mango")));
        assertSameJson("dropDatabase", expected.get(2).get("o"), actual.get(2).get("o"));
    }

    @Test
    public void renameCollection24() {
        BsonDocument c = loadCase("24_cmd_renameCollection_same_db");
        given(c);
        for (int i = 0; i < 5; i++) {
            client.getDatabase("test").getCollection("other").insertOne(new Document("_id", i));
        }
        BsonTimestamp after = mongo.lastAppliedOpTime();
        coll.renameCollection(new MongoNamespace("test", "coll_renamed"));
        client.getDatabase("test").getCollection("other").renameCollection(new MongoNamespace("test", "coll_renamed"),
            new RenameCollectionOptions().dropTarget(true));
        List<BsonDocument> actual = entriesAfter(after);
        List<BsonDocument> expected = caseOplog(c);
        assertEquals(2, actual.size());
        assertSameEnvelope(expected.get(0), actual.get(0));
        assertSameJson("plain rename", expected.get(0).get("o"), actual.get(0).get("o"));
        assertSameEnvelope(expected.get(1), actual.get(1));
        BsonDocument o = actual.get(1).getDocument("o");
        assertEquals(new ArrayList<>(expected.get(1).getDocument("o").keySet()), new ArrayList<>(o.keySet()));
        assertEquals(actual.get(0).get("ui"), o.get("dropTarget")); // the dropped target is the renamed coll
        assertEquals(2, actual.get(1).getDocument("o2").getInt32("numRecords").getValue());
        assertEquals(7, client.getDatabase("test").getCollection("coll_renamed").countDocuments() + 2);
    }

    @Test
    public void transaction31() {
        BsonDocument c = loadCase("31_txn_unprepared_single_applyOps");
        BsonTimestamp after = given(c);
        MongoCollection<Document> docs = client.getDatabase("test").getCollection("coll");
        try (ClientSession session = client.startSession()) {
            session.startTransaction();
            docs.insertOne(session, d("{_id: 0, x: 0}"));
            docs.updateOne(session, d("{_id: 0}"), d("{$set: {x: 1}}"));
            docs.deleteOne(session, d("{_id: 1}"));
            session.commitTransaction();
        }
        List<BsonDocument> actual = entriesAfter(after);
        BsonDocument expected = caseOplog(c).get(0);
        assertEquals(1, actual.size());
        assertSameEnvelope(expected, actual.get(0));
        assertEquals(new ArrayList<>(expected.getDocument("lsid").keySet()),
            new ArrayList<>(actual.get(0).getDocument("lsid").keySet()));
        assertSameJson("lsid.uid", expected.getDocument("lsid").get("uid"), actual.get(0).getDocument("lsid").get("uid"));
        assertSameJson("prevOpTime", expected.get("prevOpTime"), actual.get(0).get("prevOpTime"));
        List<BsonValue> expectedOps = expected.getDocument("o").getArray("applyOps");
        List<BsonValue> actualOps = actual.get(0).getDocument("o").getArray("applyOps");
        assertEquals(expectedOps.size(), actualOps.size());
        for (int i = 0; i < expectedOps.size(); i++) {
            BsonDocument e = expectedOps.get(i).asDocument();
            BsonDocument a = actualOps.get(i).asDocument();
            assertEquals(new ArrayList<>(e.keySet()), new ArrayList<>(a.keySet()));
            assertSameJson("inner o " + i, e.get("o"), a.get("o"));
        }
    }

    @Test
    public void retryableWrites36() {
        BsonDocument c = loadCase("36_retryable_writes_insert_update");
        coll.insertOne(new BsonDocument("warm", new org.bson.BsonInt32(1)));
        BsonTimestamp after = mongo.lastAppliedOpTime();
        try (MongoClient retrying = MongoClients.create(mongo.connectionString())) {
            MongoCollection<Document> docs = retrying.getDatabase("test").getCollection("coll");
            docs.insertMany(List.of(d("{_id: 1, a: 1}"), d("{_id: 2, a: 1}")));
            docs.updateOne(d("{_id: 1}"), d("{$set: {a: 2}}"));
        }
        List<BsonDocument> actual = entriesAfter(after);
        List<BsonDocument> expected = caseOplog(c);
        assertEntries(c, actual, true);
        assertEquals(0, actual.get(0).getInt32("stmtId").getValue());
        assertEquals(1, actual.get(1).getInt32("stmtId").getValue());
        assertEquals(actual.get(0).get("ts"), actual.get(1).getDocument("prevOpTime").get("ts"));
        assertEquals(actual.get(0).get("txnNumber"), actual.get(1).get("txnNumber"));
        assertSameJson("first prevOpTime", expected.get(0).get("prevOpTime"), actual.get(0).get("prevOpTime"));
    }

    @Test
    public void periodicAndNewPrimaryNoops30() {
        BsonDocument c = loadCase("30_noop_entries");
        List<BsonDocument> expected = caseOplog(c);
        client.close();
        mongo.close();
        mongo = EmbeddedMongo.start(EmbeddedMongo.options().noopIntervalMillis(100));
        client = MongoClients.create(mongo.connectionString());
        long deadline = System.currentTimeMillis() + 10_000;
        BsonDocument noop = null;
        while (noop == null && System.currentTimeMillis() < deadline) {
            noop = client.getDatabase("local").getCollection("oplog.rs", BsonDocument.class)
                .find(new BsonDocument("op", new org.bson.BsonString("n"))).first();
        }
        assertSameEnvelope(expected.get(0), noop);
        assertSameJson("periodic noop", expected.get(0).get("o"), noop.get("o"));
        long termBefore = noop.getInt64("t").getValue();
        mongo.restart();
        BsonDocument newPrimary = client.getDatabase("local").getCollection("oplog.rs", BsonDocument.class)
            .find(new BsonDocument("o.msg", new org.bson.BsonString("new primary"))).first();
        assertSameEnvelope(expected.get(1), newPrimary);
        assertEquals(termBefore + 1, newPrimary.getInt64("t").getValue());
    }

    @Test
    public void calculatorDiffs09And16a() {
        for (String name : List.of("09_update_v2_nested_subdiff_calculator", "16a_update_v2_insert_section_moves_field_to_end")) {
            BsonDocument c = loadCase(name);
            de.bwaldvogel.mongo.bson.Document before = LibraryDocuments.of(c.getArray("before").get(0).asDocument());
            de.bwaldvogel.mongo.bson.Document after = LibraryDocuments.of(c.getArray("after").get(0).asDocument());
            de.bwaldvogel.mongo.bson.Document diff = DiffCalculator.calculatorDiff(before, after);
            assertSameJson(name, caseOplog(c).get(0).getDocument("o").getDocument("diff"), LibraryDocuments.toBson(diff));
        }
    }

    /** Pipeline updates are logged as the calculator logs them: cases 09 and 16a through the wire. */
    @Test
    public void pipelineUpdatesLogCalculatorDiffs() {
        for (String name : List.of("09_update_v2_nested_subdiff_calculator", "16a_update_v2_insert_section_moves_field_to_end")) {
            BsonDocument c = loadCase(name);
            coll.drop();
            BsonTimestamp after = given(c);
            BsonDocument post = c.getArray("after").get(0).asDocument();
            client.getDatabase("test").getCollection("coll").updateOne(d("{_id: 1}"),
                List.of(new Document("$replaceWith", new Document("$literal", post))));
            assertEntries(c, entriesAfter(after), true);
            assertSameJson(name + " stored", post, coll.find().first());
        }
        // a shrinking array is logged with l
        coll.insertOne(BsonDocument.parse("{_id: 2, arr: [1, 2, 3, 4], keep: 'k'}"));
        BsonTimestamp after = mongo.lastAppliedOpTime();
        client.getDatabase("test").getCollection("coll").updateOne(d("{_id: 2}"), List.of(d("{$set: {arr: [1, 2]}}")));
        assertSameJson("l", BsonDocument.parse("{$v: 2, diff: {sarr: {a: true, l: 2}}}"), entriesAfter(after).get(0).get("o"));
    }

    @Test
    public void findAndModifyWithPipelineIsRefusedWithAClearError() {
        coll.insertOne(BsonDocument.parse("{_id: 1, a: 1}"));
        try {
            client.getDatabase("test").getCollection("coll").findOneAndUpdate(d("{_id: 1}"), List.of(d("{$set: {a: 2}}")));
            fail("pipeline findAndModify accepted");
        } catch (com.mongodb.MongoException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("findAndModify with a pipeline-style update is not supported"));
        }
        assertEquals(1, coll.find().first().getInt32("a").getValue());
    }

    @Test
    public void findAndModifyIsLogged() {
        coll.insertOne(BsonDocument.parse("{_id: 1, a: 1}"));
        BsonTimestamp after = mongo.lastAppliedOpTime();
        MongoCollection<Document> docs = client.getDatabase("test").getCollection("coll");
        docs.findOneAndUpdate(d("{_id: 1}"), d("{$inc: {a: 5}}"));
        docs.findOneAndReplace(d("{_id: 1}"), d("{b: 1}"));
        docs.findOneAndDelete(d("{_id: 1}"));
        List<BsonDocument> actual = entriesAfter(after);
        assertEquals(3, actual.size());
        assertSameJson("inc", BsonDocument.parse("{$v: 2, diff: {u: {a: 6}}}"), actual.get(0).get("o"));
        assertSameJson("replace", BsonDocument.parse("{_id: 1, b: 1}"), actual.get(1).get("o"));
        assertSameJson("delete", BsonDocument.parse("{_id: 1}"), actual.get(2).get("o"));
    }

    @Test
    public void failedOrderedInsertLogsOnlyWhatItInserted() {
        coll.insertOne(BsonDocument.parse("{_id: 2}"));
        BsonTimestamp after = mongo.lastAppliedOpTime();
        try {
            client.getDatabase("test").getCollection("coll").insertMany(List.of(d("{_id: 1}"), d("{_id: 2}"), d("{_id: 3}")));
            fail("duplicate accepted");
        } catch (com.mongodb.MongoBulkWriteException expected) {
            // _id 2 exists
        }
        List<BsonDocument> actual = entriesAfter(after);
        assertEquals(1, actual.size());
        assertEquals(1, actual.get(0).getDocument("o").getInt32("_id").getValue());
    }

    @Test
    public void unknownTransactionGetsNoSuchTransaction() {
        try {
            // the driver adds its implicit session's lsid; no transaction 5 was ever started on it
            client.getDatabase("admin").runCommand(new Document("commitTransaction", 1)
                .append("txnNumber", 5L).append("autocommit", false));
            fail("commit of an unknown transaction succeeded");
        } catch (MongoCommandException e) {
            assertEquals(251, e.getErrorCode());
        }
    }

    /** Documents are stored and logged with _id first, as MongoDB does, whatever order the client sent. */
    @Test
    public void idComesFirstWhateverTheClientSent() {
        BsonTimestamp after = mongo.lastAppliedOpTime();
        coll.insertOne(BsonDocument.parse("{a: 1, _id: 5, b: 2}"));
        client.getDatabase("test").getCollection("coll").updateOne(d("{_id: 6}"), d("{$set: {x: 1}}"),
            new com.mongodb.client.model.UpdateOptions().upsert(true));
        client.getDatabase("test").getCollection("coll").replaceOne(d("{_id: 5}"), d("{c: 3}"));
        for (BsonDocument stored : coll.find()) {
            assertEquals("_id", stored.getFirstKey());
        }
        for (BsonDocument e : entriesAfter(after)) {
            if (!e.getString("op").getValue().equals("c")) {
                assertEquals(e.toJson(), "_id", e.getDocument("o").getFirstKey().equals("$v") ? "_id" : e.getDocument("o").getFirstKey());
            }
        }
    }
}
