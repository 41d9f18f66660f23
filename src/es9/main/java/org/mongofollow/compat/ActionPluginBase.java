package org.mongofollow.compat;

import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.Plugin;

import java.util.Collection;
import java.util.List;

/** Elasticsearch 9.x: {@code ActionHandler} is not generic. */
public abstract class ActionPluginBase extends Plugin implements ActionPlugin {

    /** The plugin's actions. */
    protected abstract List<ActionRegistration<?>> actionRegistrations();

    @Override
    public final Collection<ActionHandler> getActions() {
        return actionRegistrations().stream().map(r -> new ActionHandler(r.type(), r.transportAction())).toList();
    }
}
