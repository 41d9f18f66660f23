package org.mongofollow.copy;

import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.search.SearchResponse;
import org.elasticsearch.client.internal.Client;
import org.elasticsearch.cluster.metadata.IndexMetadata;
import org.elasticsearch.common.bytes.BytesArray;
import org.elasticsearch.core.TimeValue;
import org.elasticsearch.index.shard.ShardId;
import org.elasticsearch.search.SearchHit;
import org.mongofollow.apply.ApplyOperationsAction;
import org.mongofollow.apply.OnDelete;
import org.mongofollow.apply.ShardOperation;
import org.mongofollow.operation.OplogPosition;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * The last step of a copy: deletes (or marks deleted, {@link OnDelete}), shard by shard, every document of the follower index whose version is below the copy's
 * {@code t0}. Neither the copy (version t0) nor the log after t0 (versions above t0) wrote it, so MongoDB no longer has it
 * (left over from before a resync, or deleted while the follow could not see it). A document written meanwhile makes its
 * delete a harmless version conflict, so the sweep may run again after a failure. Asynchronous: one page of a scroll at a
 * time, no thread waits.
 */
final class CopySweep {

    static final int PAGE_SIZE = 1000;
    private static final TimeValue SCROLL_KEEP_ALIVE = TimeValue.timeValueMinutes(5);

    private final Client client;
    private final IndexMetadata index;
    private final long t0;
    /** The copy's start position, the time a document the sweep finds gone is marked deleted at ({@link OnDelete}). */
    private final OplogPosition t0Position;
    private final OnDelete onDelete;
    private final BooleanSupplier stopping;

    CopySweep(Client client, IndexMetadata index, long t0, OplogPosition t0Position, OnDelete onDelete, BooleanSupplier stopping) {
        this.client = client;
        this.index = index;
        this.t0 = t0;
        this.t0Position = t0Position;
        this.onDelete = onDelete;
        this.stopping = stopping;
    }

    /** Sweeps every shard; completes with the number of documents deleted. */
    void run(ActionListener<Long> listener) {
        client.admin().indices().prepareRefresh(index.getIndex().getName()).execute(listener.delegateFailureAndWrap((l, r) -> shard(0, 0, l)));
    }

    private void shard(int shard, long swept, ActionListener<Long> listener) {
        if (shard >= index.getNumberOfShards() || stopping.getAsBoolean()) {
            listener.onResponse(swept);
            return;
        }
        client.prepareSearch(index.getIndex().getName())
            .setPreference("_shards:" + shard)
            .setVersion(true)
            .setFetchSource(false)
            .setSize(PAGE_SIZE)
            .setScroll(SCROLL_KEEP_ALIVE)
            .execute(listener.delegateFailureAndWrap((l, page) -> page(shard, page, swept, l)));
    }

    /** Deletes a page's documents below t0, then goes on with the next page or the next shard. */
    private void page(int shard, SearchResponse page, long swept, ActionListener<Long> listener) {
        String scrollId = page.getScrollId();
        SearchHit[] hits = page.getHits().getHits();
        boolean lastPage = hits.length < PAGE_SIZE;
        List<ShardOperation> deletes = new ArrayList<>();
        try {
            for (SearchHit hit : hits) {
                if (hit.getVersion() < t0) {
                    deletes.add(onDelete.deleteOf(hit.getId(), t0, t0Position, BytesArray.EMPTY));
                }
            }
        } catch (java.io.IOException e) {
            clearScroll(scrollId);
            listener.onFailure(e);
            return;
        }
        // a failure anywhere after this page gives its scroll back before it is reported
        ActionListener<Long> failing = listener.delegateResponse((l, e) -> {
            clearScroll(scrollId);
            l.onFailure(e);
        });
        ActionListener<Void> next = ActionListener.wrap(v -> {
            long total = swept + deletes.size();
            if (lastPage || stopping.getAsBoolean()) {
                clearScroll(scrollId);
                shard(shard + 1, total, listener);
            } else {
                client.prepareSearchScroll(scrollId)
                    .setScroll(SCROLL_KEEP_ALIVE)
                    .execute(failing.delegateFailureAndWrap((l, nextPage) -> page(shard, nextPage, total, listener)));
            }
        }, failing::onFailure);
        if (deletes.isEmpty()) {
            next.onResponse(null);
        } else {
            ShardId shardId = new ShardId(index.getIndex(), shard);
            client.execute(ApplyOperationsAction.INSTANCE, new ApplyOperationsAction.Request(shardId, deletes), next.map(r -> null));
        }
    }

    private void clearScroll(String scrollId) {
        if (scrollId != null) {
            client.prepareClearScroll().addScrollId(scrollId).execute(ActionListener.noop());
        }
    }
}
