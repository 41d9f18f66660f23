package org.mongofollow.demo;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Projections;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.Updates;

import org.bson.Document;
import org.bson.conversions.Bson;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The demo's workload (scripts/demo): keeps writing to a sample collection of orders at a steady rate,
 * a mix of inserts, updates with several operators ($set, $inc, $push, $unset, nested $set),
 * replacements and deletes, through the real MongoDB driver.
 *
 * <pre>
 *   DemoGenerator --connection URI [--database demo] [--collection orders] [--rate OPS_PER_S (default 100)]
 *                 [--ops N (default 0: until stopped)] [--seed S] [--status-file PATH]
 *   DemoGenerator --connection URI [--database demo] [--collection orders] --create [--docs N]
 * </pre>
 *
 * {@code --create} creates the collection, with N orders in it (none by default: empty), and exits. Otherwise the generator continues from the
 * documents already there, and every second writes a one-line summary (operations so far and the
 * collection's document count) to the status file. It exits when its parent process dies, so a demo
 * script that is killed leaves no generator behind.
 */
public final class DemoGenerator {

    private static final String[] NAMES = { "Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Edsger", "Radia" };
    private static final String[] CITIES = { "Lisbon", "Oslo", "Kyoto", "Quito", "Accra", "Perth", "Tartu", "Lyon" };
    private static final String[] STATUSES = { "new", "paid", "packed", "shipped", "delivered" };
    private static final String[] SKUS = { "book", "lamp", "mug", "pen", "desk", "chair", "cable", "plant" };
    private static final String[] TAGS = { "gift", "express", "fragile", "bulk", "promo" };

    private final MongoCollection<Document> orders;
    private final Random random;
    private final List<Integer> live = new ArrayList<>();
    private int nextId;
    private long inserts, updates, replaces, deletes;

    private DemoGenerator(MongoCollection<Document> orders, long seed) {
        this.orders = orders;
        this.random = new Random(seed);
        for (Document d : orders.find().projection(Projections.include("_id"))) {
            if (d.get("_id") instanceof Integer id) {
                live.add(id);
            }
        }
        Document last = orders.find().sort(Sorts.descending("_id")).limit(1).first();
        nextId = last != null && last.get("_id") instanceof Integer id ? id + 1 : 1001;
        if (live.isEmpty() == false) {
            nextId = Math.max(nextId, live.stream().mapToInt(Integer::intValue).max().getAsInt() + 1);
        }
    }

    public static void main(String[] args) throws Exception {
        String connection = null, database = "demo", collection = "orders";
        double rate = 100;
        long ops = 0;
        long seed = System.nanoTime();
        Path statusFile = null;
        boolean create = false;
        long docs = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--connection" -> connection = args[++i];
                case "--database" -> database = args[++i];
                case "--collection" -> collection = args[++i];
                case "--rate" -> rate = Double.parseDouble(args[++i]);
                case "--ops" -> ops = Long.parseLong(args[++i]);
                case "--seed" -> seed = Long.parseLong(args[++i]);
                case "--status-file" -> statusFile = Path.of(args[++i]);
                case "--create" -> create = true;
                case "--docs" -> docs = Long.parseLong(args[++i]);
                default -> usage("unknown option " + args[i]);
            }
        }
        if (connection == null) {
            usage("--connection is required");
        }
        if (rate <= 0) {
            usage("--rate must be positive");
        }
        if (docs < 0 || (docs > 0 && create == false)) {
            usage("--docs takes a count of documents, with --create");
        }
        ParentWatch.exitWithParent("generator");
        try (MongoClient client = MongoClients.create(connection)) {
            MongoDatabase db = client.getDatabase(database);
            if (create) {
                boolean exists = db.listCollectionNames().into(new ArrayList<>()).contains(collection);
                if (exists == false) {
                    db.createCollection(collection);
                }
                System.out.println((exists ? "collection exists: " : "created collection ") + database + "." + collection);
                if (docs > 0) {
                    new DemoGenerator(db.getCollection(collection), seed).preload(docs);
                }
                return;
            }
            DemoGenerator generator = new DemoGenerator(db.getCollection(collection), seed);
            generator.run(rate, ops, statusFile);
        }
    }

    private void run(double rate, long ops, Path statusFile) throws IOException, InterruptedException {
        long interval = (long) (TimeUnit.SECONDS.toNanos(1) / rate);
        long next = System.nanoTime();
        long lastStatus = 0;
        long done = 0;
        writeStatus(statusFile, done);
        while (ops == 0 || done < ops) {
            long now = System.nanoTime();
            if (next > now) {
                TimeUnit.NANOSECONDS.sleep(next - now);
            }
            next += interval;
            step();
            done++;
            if (System.nanoTime() - lastStatus > TimeUnit.SECONDS.toNanos(1)) {
                writeStatus(statusFile, done);
                lastStatus = System.nanoTime();
            }
        }
        writeStatus(statusFile, done);
        System.out.println(summary(done));
    }

    private void step() {
        int roll = random.nextInt(100);
        if (live.size() < 20 || roll < 35) {
            insert();
        } else if (roll < 85) {
            update();
        } else if (roll < 90) {
            replace();
        } else {
            delete();
        }
    }

    /** Inserts {@code count} new orders in batches, as an application with existing data has them before it is followed. */
    private void preload(long count) {
        List<Document> batch = new ArrayList<>(1000);
        for (long i = 0; i < count; i++) {
            batch.add(newOrder(nextId++));
            if (batch.size() == 1000 || i == count - 1) {
                orders.insertMany(batch);
                batch.clear();
            }
        }
        System.out.println("inserted " + count + " orders");
    }

    private void insert() {
        int id = nextId++;
        orders.insertOne(newOrder(id));
        live.add(id);
        inserts++;
    }

    private Document newOrder(int id) {
        List<Document> items = new ArrayList<>();
        int n = 1 + random.nextInt(3);
        double total = 0;
        for (int i = 0; i < n; i++) {
            Document item = item();
            total += item.getInteger("qty") * item.getDouble("price");
            items.add(item);
        }
        Document order = new Document("_id", id)
            .append("customer", new Document("name", pick(NAMES)).append("city", pick(CITIES)))
            .append("status", "new")
            .append("qty", n)
            .append("total", round(total))
            .append("items", items)
            .append("tags", List.of(pick(TAGS)))
            .append("createdAt", new Date());
        if (random.nextBoolean()) {
            order.append("note", "please ring twice at door " + random.nextInt(100));
        }
        return order;
    }

    private Document item() {
        return new Document("sku", pick(SKUS)).append("qty", 1 + random.nextInt(4)).append("price", round(1 + random.nextDouble() * 99));
    }

    private void update() {
        int id = live.get(random.nextInt(live.size()));
        Bson update = switch (random.nextInt(6)) {
            case 0 -> Updates.combine(Updates.set("status", pick(STATUSES)), Updates.currentDate("updatedAt"));
            case 1 -> Updates.combine(Updates.inc("qty", 1 + random.nextInt(3)), Updates.inc("total", round(random.nextDouble() * 20)));
            case 2 -> Updates.push("items", item());
            case 3 -> Updates.unset("note");
            case 4 -> Updates.set("customer.city", pick(CITIES));
            default -> Updates.combine(Updates.push("tags", pick(TAGS)), Updates.set("priority", random.nextInt(5)));
        };
        orders.updateOne(Filters.eq("_id", id), update);
        updates++;
    }

    private void replace() {
        int id = live.get(random.nextInt(live.size()));
        Document replacement = newOrder(id);
        replacement.put("status", "replaced");
        orders.replaceOne(Filters.eq("_id", id), replacement);
        replaces++;
    }

    private void delete() {
        int index = random.nextInt(live.size());
        int id = live.get(index);
        live.set(index, live.get(live.size() - 1));
        live.remove(live.size() - 1);
        orders.deleteOne(Filters.eq("_id", id));
        deletes++;
    }

    private String summary(long done) {
        return String.format(
            Locale.ROOT,
            "ops=%d inserts=%d updates=%d replaces=%d deletes=%d documents=%d",
            done,
            inserts,
            updates,
            replaces,
            deletes,
            orders.countDocuments()
        );
    }

    private void writeStatus(Path statusFile, long done) throws IOException {
        if (statusFile == null) {
            return;
        }
        Path tmp = statusFile.resolveSibling(statusFile.getFileName() + ".tmp");
        Files.writeString(tmp, summary(done) + "\n");
        Files.move(tmp, statusFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private <T> T pick(T[] values) {
        return values[random.nextInt(values.length)];
    }

    private static double round(double value) {
        return Math.round(value * 100) / 100.0;
    }

    private static void usage(String problem) {
        System.err.println(problem);
        System.err.println(
            "usage: DemoGenerator --connection URI [--database demo] [--collection orders] [--rate OPS_PER_S] [--ops N] [--seed S] "
                + "[--status-file PATH] | --create [--docs N]"
        );
        System.exit(2);
    }
}
