package org.mongofollow;

import org.elasticsearch.plugins.ActionPlugin;
import org.elasticsearch.plugins.Plugin;

/**
 * The mongo-follow plugin: makes an Elasticsearch index a live follower of a MongoDB collection.
 */
public class MongoFollowPlugin extends Plugin implements ActionPlugin {
}
