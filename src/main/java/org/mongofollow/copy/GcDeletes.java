package org.mongofollow.copy;

import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.admin.indices.settings.put.UpdateSettingsRequest;
import org.elasticsearch.client.internal.Client;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.index.IndexSettings;

/**
 * Holds deletion tombstones while a copy runs. A document deleted after the copy's t0 leaves a tombstone with
 * the delete's position as version; the copy may read the document before the delete and write it (version t0)
 * after the tombstone. The write is refused only while Elasticsearch still remembers the tombstone, which it
 * forgets after {@code index.gc_deletes} (60s by default) — shorter than a copy. So a copy raises
 * {@code index.gc_deletes} on the follower index to {@link #WHILE_COPYING} before the shard tasks start, keeps
 * the previous value in the copy's metadata, and restores it when the copy (and its sweep) is done, as CCR holds
 * history while a follower bootstraps. Tombstones are small; only deletes during the copy accumulate.
 */
public final class GcDeletes {

    public static final TimeValue WHILE_COPYING = TimeValue.timeValueDays(365);

    private GcDeletes() {}

    /** The index's current {@code index.gc_deletes} as stored ("" when unset). */
    public static String current(IndexMetadata index) {
        String value = index.getSettings().get(IndexSettings.INDEX_GC_DELETES_SETTING.getKey());
        // our own raised value (a concurrent copy's) is never what to restore
        return value == null || value.equals(WHILE_COPYING.getStringRep()) ? "" : value;
    }

    public static void raise(Client client, String index, ActionListener<Void> listener) {
        UpdateSettingsRequest request = new UpdateSettingsRequest(
            Settings.builder().put(IndexSettings.INDEX_GC_DELETES_SETTING.getKey(), WHILE_COPYING.getStringRep()).build(),
            index
        );
        client.admin().indices().updateSettings(request, listener.map(r -> null));
    }

    /** Sets {@code index.gc_deletes} back to what it was before the copy (blocking, on a copy thread). */
    public static void restore(Client client, String index, String before) {
        client.admin().indices().updateSettings(restoreRequest(index, before)).actionGet(TimeValue.timeValueMinutes(1));
    }

    /** The same, asynchronously (an unfollow during a copy). */
    public static void restore(Client client, String index, String before, ActionListener<Void> listener) {
        client.admin().indices().updateSettings(restoreRequest(index, before), listener.map(r -> null));
    }

    private static UpdateSettingsRequest restoreRequest(String index, String before) {
        Settings.Builder settings = Settings.builder();
        if (before == null || before.isEmpty()) {
            settings.putNull(IndexSettings.INDEX_GC_DELETES_SETTING.getKey());
        } else {
            settings.put(IndexSettings.INDEX_GC_DELETES_SETTING.getKey(), before);
        }
        return new UpdateSettingsRequest(settings.build(), index);
    }
}
