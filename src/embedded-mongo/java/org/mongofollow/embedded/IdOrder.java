package org.mongofollow.embedded;

import de.bwaldvogel.mongo.backend.ValueComparator;
import de.bwaldvogel.mongo.bson.Document;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * A collection's documents in {@code _id} order, as mongod's {@code _id} index holds them: a query sorted on {@code _id}
 * reads the range its {@code _id} bounds allow, in order, and stops once it has its limit, instead of matching and
 * sorting the whole collection. Not thread-safe: the collection's lock guards it.
 * <p>
 * {@code _id}s of the types the library cannot order (those it keeps as {@link RawBsonValue}s: DBPointer, some binary
 * subtypes, ...) turn it off for the collection: its queries then go the library's way, as before it existed.
 */
final class IdOrder {

    private final NavigableMap<Object, Integer> positions = new TreeMap<>(ValueComparator.asc());
    private boolean usable = true;

    void add(Object id, Integer position) {
        if (usable) {
            try {
                positions.put(id, position);
            } catch (RuntimeException e) {
                turnOff();
            }
        }
    }

    void remove(Object id) {
        if (usable) {
            try {
                positions.remove(id);
            } catch (RuntimeException e) {
                turnOff();
            }
        }
    }

    /** Whether it holds every document in order (no {@code _id} it cannot order came in). */
    boolean usable() {
        return usable;
    }

    private void turnOff() {
        usable = false;
        positions.clear();
    }

    /**
     * The positions a query sorted on {@code _id} ({@code direction} 1 or -1) reads: those its {@code _id} bounds allow, in
     * that order; {@code accept} decides which documents match, and the read stops after {@code wanted} of them (0: all).
     */
    List<Integer> read(Document query, int direction, int wanted, java.util.function.IntPredicate accept) {
        NavigableMap<Object, Integer> range = positions;
        for (Document condition : idConditions(query)) {
            for (Map.Entry<String, Object> e : condition.entrySet()) {
                Object bound = e.getValue();
                range = switch (e.getKey()) {
                    case "$gt" -> range.tailMap(bound, false);
                    case "$gte" -> range.tailMap(bound, true);
                    case "$lt" -> range.headMap(bound, false);
                    case "$lte" -> range.headMap(bound, true);
                    case "$eq" -> range.subMap(bound, true, bound, true);
                    default -> range; // the matcher decides
                };
            }
        }
        List<Integer> read = new ArrayList<>();
        for (Integer position : (direction < 0 ? range.descendingMap() : range).values()) {
            if (accept.test(position)) {
                read.add(position);
                if (wanted > 0 && read.size() >= wanted) {
                    break;
                }
            }
        }
        return read;
    }

    /** The {@code _id} operator documents a document must satisfy: top-level, or in a top-level {@code $and}. */
    private static List<Document> idConditions(Document query) {
        List<Document> conditions = new ArrayList<>();
        collect(query, conditions);
        if (query.get("$and") instanceof List<?> all) {
            for (Object clause : all) {
                if (clause instanceof Document document) {
                    collect(document, conditions);
                }
            }
        }
        return conditions;
    }

    private static void collect(Document clause, List<Document> conditions) {
        if (clause.containsKey("_id") == false) {
            return;
        }
        Object id = clause.get("_id");
        if (id instanceof Document operators && operators.keySet().stream().anyMatch(k -> k.startsWith("$"))) {
            conditions.add(operators);
        } else {
            conditions.add(new Document("$eq", id));
        }
    }

    /** The direction of an {@code _id}-only sort (1 or -1), or 0 for any other order. */
    static int direction(Document orderBy) {
        if (orderBy == null || orderBy.size() != 1 || (orderBy.get("_id") instanceof Number n) == false) {
            return 0;
        }
        int direction = ((Number) orderBy.get("_id")).intValue();
        return direction == 1 || direction == -1 ? direction : 0;
    }
}
