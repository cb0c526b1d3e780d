#!/usr/bin/env bash
# Smoke test of a single-file build, as a user would run it: from an empty temporary folder,
# in a clean environment (env -i PATH=/usr/bin:/bin HOME=<that folder>: no virtualenv, no
# PYTHONPATH, nothing of this checkout on the path).
#
#   bash contrib/single-file/smoke.sh dist/commentd
#   bash contrib/single-file/smoke.sh python3 dist/commentd.pyz
#
# With COMMENTD_SMOKE_POSTGRES=postgresql://user@host:port/db it also migrates, checks and
# imports into that PostgreSQL database (psycopg2 in the bundle). Exits non-zero at the first
# failure; prints the file's size and the times from start to the first answer of GET /health.
set -euo pipefail

if [[ -z ${SMOKE_TMP:-} ]]; then
  (($# > 0)) || { echo "usage: $0 COMMAND... (e.g. dist/commentd, or python3 dist/commentd.pyz)" >&2; exit 2; }
  here=$(cd "$(dirname "$0")" && pwd)
  command=()
  for word in "$@"; do
    if [[ -e $word ]]; then command+=("$(realpath "$word")"); else command+=("$word"); fi
  done
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/commentd-smoke.XXXXXX")
  exec env -i PATH=/usr/bin:/bin HOME="$tmp" LANG=C.UTF-8 SMOKE_TMP="$tmp" \
    SMOKE_ROOT="$(cd "$here/../.." && pwd)" \
    COMMENTD_SMOKE_POSTGRES="${COMMENTD_SMOKE_POSTGRES:-}" \
    bash "$here/smoke.sh" "${command[@]}"
fi

ROOT=$SMOKE_ROOT
COMMAND=("$@")
FILE=${COMMAND[-1]}
VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$ROOT/commentd/version.py")
cd "$SMOKE_TMP"
server=
cleanup() {
  if [[ -n $server ]] && kill -0 "$server" 2>/dev/null; then kill -KILL "$server"; fi
  rm -rf "$SMOKE_TMP"
}
trap cleanup EXIT

fail() {
  echo "SMOKE FAILED (${COMMAND[*]}): $*" >&2
  if [[ -f serve.log ]]; then sed "s/^/  | /" serve.log >&2; fi
  exit 1
}
commentd() { "${COMMAND[@]}" "$@"; }
expect() { # expect WHAT PATTERN TEXT: TEXT must match the extended regex PATTERN
  grep -Eq -- "$2" <<<"$3" || fail "$1: no match for /$2/ in: ${3:0:500}"
}
command -v curl >/dev/null || fail "curl is needed"
now_ms() { echo $(($(date +%s%N) / 1000000)); }

echo "== smoke test of ${COMMAND[*]} in $SMOKE_TMP"
size=$(stat -c %s "$FILE")
echo "size: $size bytes ($((size / 1024 / 1024)).$((size * 10 / 1024 / 1024 % 10)) MiB)"

started=$(now_ms) # the first run: a pyz unpacks itself into ~/.shiv here
expect "--version" "^commentd, version $VERSION\$" "$(commentd --version)"
version_ms=$(($(now_ms) - started))
started=$(now_ms)
commentd --version >/dev/null
again_ms=$(($(now_ms) - started))
echo "--version: ${version_ms} ms (first run), ${again_ms} ms (again)"

# The CLI loads every command module on start: --help lists exactly the documented commands.
listed=$(commentd --help | sed -n '/^Commands:/,$p' | awk 'NR > 1 {print $1}' | sort | tr '\n' ' ')
documented=$(sed -n 's/^## commentd \([a-z][a-z-]*\)$/\1/p' "$ROOT/docs/cli.md" | sort | tr '\n' ' ')
[[ -n $listed && $listed == "$documented" ]] ||
  fail "commentd --help lists [$listed], docs/cli.md documents [$documented]"
echo "--help: the $(wc -w <<<"$listed") commands of docs/cli.md"

# A free port of 18300-18399 (the range this project's tests use).
port=
for candidate in $(seq 18300 18399); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
done
[[ -n $port ]] || fail "no free port in 18300-18399"
BASE=http://127.0.0.1:$port
# The comment below has a link, which asks a new reader for proof of work (solved by the
# embed in a browser, not by curl): the smoke test checks the build, tests/web/test_pow.py and
# tests/browser/test_embed_pow.py check proof of work.
export COMMENTD_SPAM_PROOF_OF_WORK=off

# serve_and_time: start `commentd serve` in the background, wait for GET /health; sets $server
# and $answer_ms (start to first answer).
serve_and_time() {
  local started
  started=$(now_ms)
  # The command itself in the background (not the commentd function: $! would be a subshell).
  "${COMMAND[@]}" serve --port "$port" >>serve.log 2>&1 &
  server=$!
  until curl -fsS -o /dev/null "$BASE/health" 2>/dev/null; do
    kill -0 "$server" 2>/dev/null || fail "serve exited before answering"
    (($(now_ms) - started < 30000)) || fail "no answer from /health within 30 s"
    sleep 0.01
  done
  answer_ms=$(($(now_ms) - started))
}
stop() {
  local status=0
  kill -TERM "$server"
  wait "$server" || status=$?
  server=
  ((status == 0)) || fail "serve exited with $status after SIGTERM"
  expect "serve's log after SIGTERM" "commentd stopped" "$(cat serve.log)"
}
get() { # get PATH [curl options]: the body; fails unless 2xx
  curl -fsS "$@" "$BASE$1" 2>&1 || fail "GET $1"
}

serve_and_time
first_ms=$answer_ms
expect "GET /health" '"status": ?"ok"' "$(get /health)"
expect "GET / (the demo page)" 'embed\.js' "$(get /)"
expect "GET /js/embed.js" 'commentd' "$(get /js/embed.js)"
get /js/i18n/de.json >/dev/null
get /static/demo.css >/dev/null
expect "GET /admin (its templates)" 'commentd admin' "$(get /admin)"
get /admin/static/admin.css >/dev/null
links=$(curl -sS -o /dev/null -w '%{http_code} %{content_type}' "$BASE/unsubscribe/nothing")
expect "GET /unsubscribe/... (the links templates)" '^404 text/html' "$links"

posted=$(curl -sS -w '\n%{http_code}' -X POST "$BASE/api/comments?uri=/smoke/" \
  -H "Content-Type: application/json" -H "Origin: $BASE" \
  -d '{"text": "Hello from the *smoke* test, see www.example.org", "author": "Smoke"}')
expect "POST /api/comments" '^201$' "$(tail -n 1 <<<"$posted")"
expect "POST /api/comments" '"status": ?"approved"' "$posted"
thread=$(get "/api/comments?uri=/smoke/")
# Markdown (markdown-it-py), links (linkify-it-py) and sanitizing (nh3) in the bundle:
expect "GET /api/comments (rendered)" 'u003cem\\u003esmoke\\u003c/em' "$thread"
expect "GET /api/comments (linkified)" 'href=\\"http://www.example.org\\"' "$thread"
expect "GET /api/comments (total)" '"total": ?1' "$thread"
stop

# a restart: the database exists and is migrated; the Fediverse account on (cryptography's
# RSA in the bundle: the key pair is made on the first read of the actor)
export COMMENTD_FEDIVERSE_ACCOUNT=blog
serve_and_time
restart_ms=$answer_ms
expect "the comment after a restart" '"total": ?1' "$(get "/api/comments?uri=/smoke/")"
expect "GET /ap/actor (its RSA key)" 'BEGIN PUBLIC KEY' "$(get /ap/actor)"
expect "GET /.well-known/webfinger" '"subject": ?"acct:blog@' \
  "$(get "/.well-known/webfinger?resource=acct:blog@127.0.0.1:$port")"
stop
unset COMMENTD_FEDIVERSE_ACCOUNT
echo "serve: demo page, static files, admin, a comment posted and read back, the Fediverse actor, SIGTERM: ok"

# init writes a config that check accepts.
commentd init --site-url https://blog.example.com -o commentd.ini >/dev/null
[[ $(stat -c %a commentd.ini) == 600 ]] || fail "commentd.ini is not mode 600"
expect "check --config commentd.ini" '^ok +database' "$(commentd check --config commentd.ini)"
expect "migrate" 'up to date' "$(commentd migrate)"

# import a Disqus export into a fresh database; count what arrived; export, import it again.
mkdir imported
export COMMENTD_DATABASE_URL=sqlite:///$SMOKE_TMP/imported/commentd.db
expect "import disqus.xml" '^imported 6 comments in 2 new threads \(disqus\)' \
  "$(commentd import "$ROOT/tests/fixtures/import/disqus.xml")"
stats=$(commentd stats --json)
expect "stats after the import" '"approved": ?4' "$stats"
expect "stats after the import" '"threads": ?2' "$stats"
expect "comments list" 'Ann Onymous' "$(commentd comments list --status all 2>/dev/null)"
commentd export export.jsonl 2>/dev/null
commentd backup backup.db >/dev/null 2>&1
expect "import export.jsonl" '^imported 6 comments in 2 new threads \(json\)' \
  "$(COMMENTD_DATABASE_URL=sqlite:///$SMOKE_TMP/imported/again.db commentd import export.jsonl)"
unset COMMENTD_DATABASE_URL
echo "init, check, migrate, import (Disqus, commentd's own export), stats, export, backup: ok"

if [[ -n $COMMENTD_SMOKE_POSTGRES ]]; then
  export COMMENTD_DATABASE_URL=$COMMENTD_SMOKE_POSTGRES
  commentd migrate >/dev/null
  expect "check on PostgreSQL" '^ok +database +schema version' "$(commentd check)"
  # A second run finds the same comments there: the import is idempotent.
  expect "import into PostgreSQL" '^imported [0-6] comments' \
    "$(commentd import "$ROOT/tests/fixtures/import/disqus.xml")"
  expect "stats on PostgreSQL" '"approved": ?4' "$(commentd stats --json)"
  unset COMMENTD_DATABASE_URL
  echo "PostgreSQL (psycopg2): migrate, check, import, stats: ok"
fi

echo "SMOKE OK ${COMMAND[*]##*/}: $size bytes; --version ${version_ms} ms (first run)," \
  "${again_ms} ms (again); serve's start to first answer ${first_ms} ms (new database)," \
  "${restart_ms} ms (restart)"
