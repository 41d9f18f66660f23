package org.mongofollow.embedded;

import java.util.List;
import java.util.Map;

import de.bwaldvogel.mongo.bson.Document;

/**
 * The {@code $v:1} form of an update ({@code {$v: 1, $set: {path: value}, $unset: {path: true}}}), as MongoDB 4.2 and 4.4
 * log it, from the {@code $v:2} diff of the same update and the document it produced: what 4.4 writes for each operator
 * (OPLOG-FORMAT.md, section 3). A field set or added is a {@code $set} of its path, a removed one an {@code $unset}; an
 * array whose elements were only replaced or appended gets a {@code $set} per element ({@code $push}: {@code arr.<n>}),
 * and one that was shortened ({@code $pull}, {@code $pop}, ...) is {@code $set} whole.
 */
final class V1Updates {

    private final Document set = new Document();
    private final Document unset = new Document();

    private V1Updates() {}

    static Document of(Document diff, Document after) {
        V1Updates update = new V1Updates();
        update.document(diff, "", after);
        Document o = new Document("$v", 1);
        if (update.set.isEmpty() == false) {
            o.append("$set", update.set);
        }
        if (update.unset.isEmpty() == false) {
            o.append("$unset", update.unset);
        }
        return o;
    }

    private void document(Document diff, String prefix, Document after) {
        for (Map.Entry<String, Object> section : diff.entrySet()) {
            String key = section.getKey();
            switch (key) {
                case "d" -> ((Document) section.getValue()).keySet().forEach(field -> unset.put(prefix + field, true));
                case "u", "i" -> ((Document) section.getValue()).forEach((field, value) -> set.put(prefix + field, value));
                default -> {
                    if (key.startsWith("s")) {
                        String field = key.substring(1);
                        sub((Document) section.getValue(), prefix + field, after == null ? null : after.get(field));
                    }
                }
            }
        }
    }

    private void sub(Document diff, String path, Object after) {
        if (Boolean.TRUE.equals(diff.get("a"))) {
            array(diff, path, after);
        } else {
            document(diff, path + ".", after instanceof Document d ? d : null);
        }
    }

    private void array(Document diff, String path, Object after) {
        if (diff.containsKey("l") || !(after instanceof List<?> elements)) {
            set.put(path, BsonValues.deepCopy(after)); // shortened: the whole array
            return;
        }
        for (Map.Entry<String, Object> entry : diff.entrySet()) {
            String key = entry.getKey();
            if (key.startsWith("u")) {
                set.put(path + "." + key.substring(1), entry.getValue());
            } else if (key.startsWith("s")) {
                int index = Integer.parseInt(key.substring(1));
                sub((Document) entry.getValue(), path + "." + index, index < elements.size() ? elements.get(index) : null);
            }
        }
    }
}
