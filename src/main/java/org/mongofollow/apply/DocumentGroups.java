package org.mongofollow.apply;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** The order a write request carries its operations in: each document's together. */
public final class DocumentGroups {

    private DocumentGroups() {}

    /**
     * The operations with each document's together, in the order of the document's first operation, keeping their order
     * per document (the order that matters: operations of different documents commute). Consecutive updates of one
     * document can then be combined into one write, and a request can be cut between two documents. A list already in
     * this order is returned as it is.
     */
    public static <T> List<T> byDocument(List<T> operations, Function<T, String> id) {
        Map<String, List<T>> documents = new LinkedHashMap<>();
        for (T operation : operations) {
            documents.computeIfAbsent(id.apply(operation), k -> new ArrayList<>(1)).add(operation);
        }
        if (documents.size() == operations.size()) {
            return operations;
        }
        List<T> grouped = new ArrayList<>(operations.size());
        documents.values().forEach(grouped::addAll);
        return grouped;
    }
}
