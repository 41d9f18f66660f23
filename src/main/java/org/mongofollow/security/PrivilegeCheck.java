package org.mongofollow.security;

import org.elasticsearch.ElasticsearchSecurityException;
import org.elasticsearch.ExceptionsHelper;
import org.elasticsearch.common.settings.Setting;
import org.elasticsearch.core.TimeValue;

/**
 * How soon a follow notices that its user lost a privilege while its collection is quiet: every interval, each shard
 * task sends an empty write to its shard as the follow's user, which security authorises like a real one. A refusal
 * stops the task as a real refused write would. With security off (no stored user) nothing is sent.
 */
public final class PrivilegeCheck {

    public static final Setting<TimeValue> INTERVAL = Setting.timeSetting(
        "mongo_follow.privileges.check_interval",
        TimeValue.timeValueMinutes(1),
        TimeValue.timeValueSeconds(1),
        Setting.Property.NodeScope
    );

    private PrivilegeCheck() {}

    /** Whether a failure of the check is security's refusal (fatal), rather than a shard that is unavailable now. */
    public static boolean refused(Exception e) {
        return ExceptionsHelper.unwrapCause(e) instanceof ElasticsearchSecurityException;
    }
}
