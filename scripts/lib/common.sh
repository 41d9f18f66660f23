# Shared by the project's scripts: where things are, and how to run as an unprivileged user.
#
# Elasticsearch and its test framework refuse to run as root, and CI runs as root. So a script started
# as root re-executes itself as the user $MONGO_FOLLOW_USER (created when missing), with its own HOME
# and Maven local repository. Only the folders that are written (target/, .work/) are handed to that
# user; the checkout stays root's.

PROJECT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN_USER=${MONGO_FOLLOW_USER:-mongofollow}
ES_VERSION=8.19.21
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
