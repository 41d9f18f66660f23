# Shared by the benchmarks that need one node and one embedded MongoDB (source after common.sh):
#   run_node_and_mongo_benchmark MAIN_CLASS "DEV_MONGO_ARGS" [benchmark args...]
# builds the plugin, starts its own node (BENCH_ES_PORT, default 9400, heap BENCH_ES_HEAP, default 1g, with the
# plugin installed) and embedded MongoDB (BENCH_MONGO_PORT, default 27018, heap BENCH_MONGO_HEAP, default 2g), runs the
# benchmark class of the test sources with --es URL --connection URI and the given arguments (in the environment:
# BENCH_NODE_PID, BENCH_MONGO_PID and BENCH_CLOCK_TICKS; its heap BENCH_CLIENT_HEAP, default 1g), and stops both.

run_node_and_mongo_benchmark() {
  local main_class=$1 mongo_args=$2
  shift 2
  export ES_HTTP_PORT=${BENCH_ES_PORT:-9400}
  export ES_TRANSPORT_PORT=$((ES_HTTP_PORT + 100))
  export ES_HEAP=${BENCH_ES_HEAP:-1g}
  BENCH_MONGO_PORT=${BENCH_MONGO_PORT:-27018}
  local url="http://127.0.0.1:$ES_HTTP_PORT"
  local connection="mongodb://127.0.0.1:$BENCH_MONGO_PORT/?replicaSet=rs0"
  BENCH_ES_NODE="$PROJECT_DIR/scripts/es-node"
  BENCH_DEV_MONGO="$PROJECT_DIR/scripts/dev-mongo"

  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM

  cd "$PROJECT_DIR"
  log "building the plugin and the benchmark (mvn package)"
  mvn -q -B -ntp -Dstyle.color=never -DskipTests package 2>&1 | sed 's/\x1b\[0m//g' >&2 || die "the build failed"
  local zip
  zip=$(ls -t "$PROJECT_DIR"/target/releases/mongo-follow-*-es"$ES_VERSION".zip | head -n 1)
  mkdir -p "$WORK_DIR"
  local dependency_classpath
  dependency_classpath=$(test_dependency_classpath)

  "$BENCH_DEV_MONGO" stop --port "$BENCH_MONGO_PORT" >/dev/null 2>&1 || true
  "$BENCH_ES_NODE" stop >/dev/null 2>&1 || true
  ES_PLUGIN_ZIP="$zip" setsid --wait "$BENCH_ES_NODE" start >/dev/null || die "the node did not start"
  # shellcheck disable=SC2086 # the MongoDB arguments are words
  DEV_MONGO_HEAP=${BENCH_MONGO_HEAP:-2g} setsid --wait "$BENCH_DEV_MONGO" start --port "$BENCH_MONGO_PORT" $mongo_args >/dev/null \
    || die "the embedded MongoDB did not start"
  log "node $url, MongoDB $connection; $(nproc) cores"

  # the two processes, for benchmarks that pin them to cores or read their CPU time (BenchNode)
  BENCH_NODE_PID=$(cat "$WORK_DIR/es-node-$ES_HTTP_PORT/es.pid") BENCH_MONGO_PID=$(cat "$WORK_DIR/dev-mongo-$BENCH_MONGO_PORT/dev-mongo.pid") \
    BENCH_CLOCK_TICKS=$(getconf CLK_TCK) \
  "$JAVA_HOME/bin/java" -Xmx${BENCH_CLIENT_HEAP:-1g} -Dslf4j.internal.verbosity=ERROR \
    -cp "$PROJECT_DIR/target/test-classes:$PROJECT_DIR/target/classes:$dependency_classpath" \
    "$main_class" --es "$url" --connection "$connection" "$@" \
    || die "the benchmark failed (node logs in $WORK_DIR/es-node-$ES_HTTP_PORT/logs)"
}

bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  "$BENCH_DEV_MONGO" stop --port "$BENCH_MONGO_PORT" >/dev/null 2>&1 || true
  "$BENCH_ES_NODE" stop >/dev/null 2>&1 || true
  exit "$rc"
}
