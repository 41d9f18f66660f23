# Shared by the project's scripts: where things are, and how to run as an unprivileged user.
#
# Elasticsearch and its test framework refuse to run as root, and CI runs as root. So a script started
# as root re-executes itself as the user $MONGO_FOLLOW_USER (created when missing), with its own HOME
# and Maven local repository. Only the folders that are written (target/, .work/) are handed to that
# user; the checkout stays root's.

PROJECT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN_USER=${MONGO_FOLLOW_USER:-mongofollow}
# The Elasticsearch version the scripts run (scripts/es-node, the demo, the benchmarks): 8.19.21 unless
# MONGO_FOLLOW_ES_VERSION names another supported one (a 9.x one needs JAVA_HOME on a JDK 21 or newer).
ES_VERSION=${MONGO_FOLLOW_ES_VERSION:-8.19.21}
# Elasticsearch 9 releases the plugin is compiled against in every test run, but not tested on: 9.1.0, the newest release
# of the 9.0/9.1 API (the compat layer's other branch), and 9.3.2, the newest 9.x with a server jar on Maven Central and no
# test framework. The tested 9.x release is the pom's es9 profile's elasticsearch.version.
ES9_COMPILE_ONLY_VERSIONS="9.1.0 9.3.2"

# The tested 9.x release: the pom's es9 profile's elasticsearch.version.
es9_tested_version() {
  sed -n 's#^ *<elasticsearch.version>\(9\.[0-9.]*\)</elasticsearch.version>#\1#p' "$PROJECT_DIR/pom.xml" | head -n 1
}
WORK_DIR="$PROJECT_DIR/.work"

die() { echo "error: $*" >&2; exit 1; }
log() { echo "[$(basename "$0")] $*" >&2; }

detect_java_home() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then return; fi
  local java
  java=$(command -v java) || die "no java on PATH: install a JDK 17"
  JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$java")")")
  export JAVA_HOME
}

# Prints the home of a JDK 21 or newer, for the Elasticsearch 9 build (its jars are Java 21 code): $ES9_JAVA_HOME when set,
# else the newest such JDK under /usr/lib/jvm. Fails with what to do when there is none.
detect_es9_java_home() {
  local candidates=() home major best="" best_major=0
  if [ -n "${ES9_JAVA_HOME:-}" ]; then candidates=("$ES9_JAVA_HOME"); else candidates=(/usr/lib/jvm/*); fi
  for home in "${candidates[@]}"; do
    [ -x "$home/bin/javac" ] || continue
    major=$("$home/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
    [[ "$major" =~ ^[0-9]+$ ]] || continue
    if [ "$major" -ge 21 ] && [ "$major" -gt "$best_major" ]; then best=$home; best_major=$major; fi
  done
  local where="under /usr/lib/jvm"
  [ -z "${ES9_JAVA_HOME:-}" ] || where="at ES9_JAVA_HOME=$ES9_JAVA_HOME"
  [ -n "$best" ] || die "the Elasticsearch 9 build needs a JDK 21 or newer: none found $where; install one (Temurin 21 or 25) and set ES9_JAVA_HOME to it, or set MONGO_FOLLOW_SKIP_ES9=true to leave the 9 target out"
  echo "$best"
}

# Re-executes the calling script as $RUN_USER when started as root; returns when not root.
run_as_unprivileged_user() {
  [ "$(id -u)" -eq 0 ] || return 0
  if ! id -u "$RUN_USER" >/dev/null 2>&1; then
    log "creating the unprivileged user $RUN_USER (Elasticsearch refuses to run as root)"
    useradd --create-home --shell /bin/bash "$RUN_USER" || die "could not create user $RUN_USER"
  fi
  local home
  home=$(getent passwd "$RUN_USER" | cut -d: -f6)
  # The user must reach the checkout: every folder above it needs search (x) permission for others.
  local dir="$PROJECT_DIR"
  while [ "$dir" != "/" ]; do
    if ! runuser -u "$RUN_USER" -- test -x "$dir" 2>/dev/null; then
      log "granting others search permission on $dir so $RUN_USER can reach the checkout"
      chmod o+x "$dir"
    fi
    dir=$(dirname "$dir")
  done
  runuser -u "$RUN_USER" -- test -r "$PROJECT_DIR/pom.xml" || die "$RUN_USER cannot read $PROJECT_DIR"
  mkdir -p "$PROJECT_DIR/target" "$WORK_DIR"
  chown -R "$RUN_USER:" "$PROJECT_DIR/target" "$WORK_DIR"
  detect_java_home
  exec runuser -u "$RUN_USER" -- env HOME="$home" USER="$RUN_USER" JAVA_HOME="$JAVA_HOME" PATH="$PATH" \
    "$(cd "$(dirname "$0")" && pwd)/$(basename "$0")" "$@"
}

# Prints the test classpath's dependency jars (resolved once into $WORK_DIR/dev-mongo-classpath.txt, again when the pom
# is newer or the file names jars this user cannot read, as a file an older version wrote as root did).
test_dependency_classpath() {
  local cp_file="$WORK_DIR/dev-mongo-classpath.txt" first_jar
  first_jar=$([ -s "$cp_file" ] && cut -d: -f1 "$cp_file" || true)
  if [ ! -s "$cp_file" ] || [ "$PROJECT_DIR/pom.xml" -nt "$cp_file" ] || [ ! -r "$first_jar" ]; then
    mkdir -p "$WORK_DIR"
    log "resolving the test classpath (mvn dependency:build-classpath)"
    (cd "$PROJECT_DIR" && (mvn -q -o -B dependency:build-classpath -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=test >&2 2>/dev/null \
      || mvn -q -B -ntp -Dstyle.color=never dependency:build-classpath -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=test >&2)) \
      || die "could not resolve the test classpath"
  fi
  cat "$cp_file"
}
# Elasticsearch's test framework depends on its transport-netty4 module, which Maven Central lacks for some releases
# (9.2.4 among them) though the release's distribution ships it. Installs it into the local Maven repository from that
# distribution (org.elasticsearch.distribution.integ-test-zip, on Maven Central), with a pom naming the jars beside it
# (Netty, elasticsearch-ssl-config), so that the framework resolves. Does nothing when the module resolves already.
ensure_netty4_module() {
  local version=$1 java_home=$2 work="$WORK_DIR/netty4-$1"
  if JAVA_HOME="$java_home" mvn -q -o -B dependency:get -Dartifact="org.elasticsearch.plugin:transport-netty4:$version" -Dtransitive=false >/dev/null 2>&1 \
    || JAVA_HOME="$java_home" mvn -q -B -ntp dependency:get -Dartifact="org.elasticsearch.plugin:transport-netty4:$version" -Dtransitive=false >/dev/null 2>&1; then
    return 0
  fi
  log "transport-netty4 $version is not on Maven Central: installing it from the $version distribution"
  rm -rf "$work" && mkdir -p "$work"
  JAVA_HOME="$java_home" mvn -q -B -ntp dependency:copy -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$version:zip" \
    -DoutputDirectory="$work" || die "could not fetch the Elasticsearch $version distribution"
  unzip -q -j "$work/elasticsearch-$version.zip" "elasticsearch-$version/modules/transport-netty4/*.jar" -d "$work/module" \
    || die "the $version distribution has no transport-netty4 module"
  local deps="" jar name
  for jar in "$work"/module/*.jar; do
    name=$(basename "$jar" .jar)
    case "$name" in
      transport-netty4-*) ;;
      netty-*) deps+="<dependency><groupId>io.netty</groupId><artifactId>${name%-*}</artifactId><version>${name##*-}</version></dependency>" ;;
      elasticsearch-*) deps+="<dependency><groupId>org.elasticsearch</groupId><artifactId>${name%-*}</artifactId><version>${name##*-}</version></dependency>" ;;
    esac
  done
  cat > "$work/transport-netty4.pom" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>org.elasticsearch.plugin</groupId><artifactId>transport-netty4</artifactId><version>$version</version>
<dependencies>$deps</dependencies></project>
POM
  JAVA_HOME="$java_home" mvn -q -B -ntp install:install-file -Dfile="$work/module/transport-netty4-$version.jar" -DpomFile="$work/transport-netty4.pom" \
    || die "could not install transport-netty4 $version into the local Maven repository"
  rm -rf "$work"
}
