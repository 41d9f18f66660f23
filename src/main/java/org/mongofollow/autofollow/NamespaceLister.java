package org.mongofollow.autofollow;

import com.mongodb.client.MongoClient;
import com.mongodb.client.model.Filters;

import org.bson.Document;
import org.elasticsearch.common.regex.Regex;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Lists the collections a pattern may follow, as MongoDB's {@code listDatabases} and {@code listCollections} give them: the
 * databases that match (only the pattern's one when it names one), and in each its collections, not its views or time
 * series (which have no history of their own to follow). A user without the {@code listDatabases} or {@code
 * listCollections} privilege sees the databases and collections it has privileges on ({@code authorizedDatabases},
 * {@code authorizedCollections}). Blocking: on the plugin's thread pool.
 */
final class NamespaceLister {

    private NamespaceLister() {}

    /** database -> its collections, both sorted. */
    static Map<String, List<String>> list(MongoClient client, AutoFollowPattern pattern) {
        List<String> databases = new ArrayList<>();
        if (Regex.isSimpleMatchPattern(pattern.database())) {
            for (Document database : client.listDatabases().nameOnly(true).authorizedDatabasesOnly(true)) {
                String name = database.getString("name");
                if (name != null && pattern.matchesDatabase(name)) {
                    databases.add(name);
                }
            }
        } else {
            databases.add(pattern.database());
        }
        Map<String, List<String>> listing = new TreeMap<>();
        for (String database : databases) {
            List<String> collections = new ArrayList<>();
            client.getDatabase(database)
                .listCollectionNames()
                .filter(Filters.eq("type", "collection"))
                .authorizedCollections(true)
                .into(collections);
            collections.sort(null);
            listing.put(database, collections);
        }
        return listing;
    }
}
