package org.mongofollow.source;

import java.util.Locale;

/**
 * Where a follow reads MongoDB's history: the oplog (the default, and the fast path wherever it is readable), the followed
 * collection's change stream (where the oplog cannot be read: a user without read access to {@code local}, a hosted
 * offering that withholds it, a mongos), or {@code auto}: the oplog when it is readable, else the change stream. A follow
 * decides {@code auto} once, when it starts, and keeps what it decided.
 */
public enum SourceMode {
    OPLOG,
    CHANGE_STREAM,
    AUTO;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static SourceMode parse(String value) {
        for (SourceMode mode : values()) {
            if (mode.label().equals(value)) {
                return mode;
            }
        }
        throw new IllegalArgumentException("[source] must be [oplog], [change_stream] or [auto], got [" + value + "]");
    }
}
