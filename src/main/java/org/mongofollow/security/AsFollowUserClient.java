package org.mongofollow.security;

import org.elasticsearch.action.ActionListener;
import org.elasticsearch.action.ActionRequest;
import org.elasticsearch.action.ActionResponse;
import org.elasticsearch.action.ActionType;
import org.elasticsearch.action.support.ContextPreservingActionListener;
import org.elasticsearch.client.internal.Client;
import org.elasticsearch.client.internal.FilterClient;
import org.elasticsearch.common.util.concurrent.ThreadContext;

import java.util.function.Supplier;

/**
 * A client whose every request runs as a follow's {@link FollowUser}: in a stashed thread context that holds the user's
 * security headers and nothing else, so security authorises it with the user's privileges. The listener runs back in the
 * caller's context. Without headers (security off) requests go out as they are.
 */
public final class AsFollowUserClient extends FilterClient {

    private final FollowUser user;

    public AsFollowUserClient(Client in, FollowUser user) {
        super(in);
        this.user = user;
    }

    @Override
    protected <Request extends ActionRequest, Response extends ActionResponse> void doExecute(
        ActionType<Response> action,
        Request request,
        ActionListener<Response> listener
    ) {
        if (user.isNone()) {
            super.doExecute(action, request, listener);
            return;
        }
        ThreadContext threadContext = threadPool().getThreadContext();
        Supplier<ThreadContext.StoredContext> caller = threadContext.newRestorableContext(false);
        try (ThreadContext.StoredContext ignored = threadContext.stashContext()) {
            threadContext.copyHeaders(user.storedHeaders().entrySet());
            super.doExecute(action, request, new ContextPreservingActionListener<>(caller, listener));
        }
    }
}
