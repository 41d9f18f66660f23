package org.mongofollow.compat;

import org.elasticsearch.action.ActionResponse;
import org.elasticsearch.action.ActionType;
import org.elasticsearch.action.support.TransportAction;

/**
 * One action the plugin registers: its type and its transport action. {@link ActionPluginBase} turns these into the
 * {@code ActionPlugin.ActionHandler}s of the Elasticsearch version built for, whose generic shape differs between 8.x and 9.x.
 */
public record ActionRegistration<Response extends ActionResponse>(
    ActionType<Response> type,
    Class<? extends TransportAction<?, Response>> transportAction
) {}
