package org.mongofollow.compat;

import org.elasticsearch.action.ActionRequest;
import org.elasticsearch.action.ActionResponse;
import org.elasticsearch.action.support.TransportAction;
import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.Plugin;

import java.util.Collection;
import java.util.List;

/** Elasticsearch 8.19: {@code ActionHandler} is generic in its request and response. */
public abstract class ActionPluginBase extends Plugin implements ActionPlugin {

    /** The plugin's actions. */
    protected abstract List<ActionRegistration<?>> actionRegistrations();

    @Override
    public final Collection<ActionHandler<? extends ActionRequest, ? extends ActionResponse>> getActions() {
        return actionRegistrations().stream().<ActionHandler<? extends ActionRequest, ? extends ActionResponse>>map(ActionPluginBase::handler).toList();
    }

    @SuppressWarnings({ "unchecked", "rawtypes" })
    private static ActionHandler<?, ?> handler(ActionRegistration<?> registration) {
        return new ActionHandler(registration.type(), (Class<? extends TransportAction>) registration.transportAction());
    }
}
