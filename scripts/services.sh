#!/usr/bin/env bash
# Starts (or stops) the PostgreSQL and Redis that the service-backed tests and
# examples/fleet.rs use: Debian's packages, installed if missing, each on
# 127.0.0.1 only, with its data in a scratch folder. Both speak TLS only,
# with server certificates from a CA this script makes (openssl); the URLs
# it prints verify them.
#
#   scripts/services.sh start   # prints the `export ...` lines to run
#   scripts/services.sh stop
#
# Settings (environment): SERVICES_DIR (default /tmp/signed-payloads-services),
# PG_PORT (default 54329), REDIS_PORT (default 63799).
set -euo pipefail

dir=${SERVICES_DIR:-/tmp/signed-payloads-services}
pg_port=${PG_PORT:-54329}
redis_port=${REDIS_PORT:-63799}

say() { printf '%s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
    local missing=()
    pg_bin >/dev/null 2>&1 || missing+=(postgresql)
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing ${missing[*]} from Debian's packages"
        as_root apt-get update -qq >&2
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
    fi
}

# The newest installed server's bin folder.
pg_bin() {
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$bin" ] && [ -x "$bin/initdb" ] && echo "$bin"
}


# A CA, and a certificate it issues for 127.0.0.1 and localhost, made once.
make_certificates() {
    local tls=$dir/tls
    [ -s "$tls/server.pem" ] && return
    mkdir -p "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=signed-payloads test CA" \
        -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
        "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$tls/server.ext"
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
        -CAcreateserial -days 365 -extfile "$tls/server.ext" -out "$tls/server.pem" 2>/dev/null
    chmod 600 "$tls/server.key"
    # PostgreSQL reads its key as its own user.
    [ "$(id -u)" -eq 0 ] && chown postgres: "$tls/server.key" "$tls/server.pem"
    return 0
}

# PostgreSQL refuses to run as root; the Debian package makes a `postgres` user.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
    local bin data=$dir/postgres
    bin=$(pg_bin)
    mkdir -p "$dir"
    if [ ! -s "$data/PG_VERSION" ]; then
        mkdir -p "$data"
        [ "$(id -u)" -eq 0 ] && chown postgres: "$data"
        as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 ||
            { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    # TCP only over TLS; the local socket (for setup_roles) without.
    printf '%s\n' "local all all trust" "hostssl all all 127.0.0.1/32 trust" \
        "hostnossl all all 0.0.0.0/0 reject" >"$dir/pg_hba.conf"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/pg_hba.conf"
    if as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        say "postgresql already running"
    else
        [ "$(id -u)" -eq 0 ] && { touch "$dir/postgres.log"; chown postgres: "$dir/postgres.log"; }
        as_pg "$bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $data -c max_connections=200 -c fsync=off \
                -c hba_file=$dir/pg_hba.conf -c ssl=on \
                -c ssl_cert_file=$dir/tls/server.pem -c ssl_key_file=$dir/tls/server.key" \
            start >&2 || { cat "$dir/postgres.log" >&2; exit 1; }
    fi
}

# The least-privilege setup README describes: a database owned by a role
# that runs the migrations, and an application role with only the grants
# `PostgresKeyStore::grant_access` gives (the tests apply both). Neither is
# a superuser, so neither can turn the triggers off. No temporary tables
# either: a trigger on one would run the application's own code one level
# down. Idempotent.
setup_roles() {
    local psql
    psql="$(pg_bin)/psql"
    as_pg "$psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/postgres" -p "$pg_port" -U postgres -d postgres >&2 <<'SQL'
SELECT 'CREATE ROLE signed_payloads_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'signed_payloads_owner') \gexec
SELECT 'CREATE ROLE signed_payloads_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'signed_payloads_app') \gexec
SELECT 'CREATE DATABASE signed_payloads OWNER signed_payloads_owner'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'signed_payloads') \gexec
REVOKE ALL ON DATABASE signed_payloads FROM PUBLIC;
GRANT CONNECT ON DATABASE signed_payloads TO signed_payloads_app;
SQL
}

redis_cli() {
    timeout 5 redis-cli --tls --cacert "$dir/tls/ca.pem" -h 127.0.0.1 -p "$redis_port" "$@"
}

# TLS only (no plain port). No persistence: tests/services.rs restarts a
# Redis of its own to check what the nonce store does when Redis forgets.
start_redis() {
    if redis_cli ping >/dev/null 2>&1; then
        say "redis already running"
        return
    fi
    mkdir -p "$dir/redis"
    redis-server --bind 127.0.0.1 --port 0 --tls-port "$redis_port" --daemonize yes \
        --tls-cert-file "$dir/tls/server.pem" --tls-key-file "$dir/tls/server.key" \
        --tls-ca-cert-file "$dir/tls/ca.pem" --tls-auth-clients no \
        --dir "$dir/redis" --save '' --appendonly no \
        --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
    for _ in $(seq 1 50); do
        redis_cli ping >/dev/null 2>&1 && return
        sleep 0.1
    done
    cat "$dir/redis.log" >&2
    exit 1
}

case "${1:-}" in
start)
    install_missing
    make_certificates
    start_postgres
    setup_roles
    start_redis
    tls="sslmode=verify-full&sslrootcert=$dir/tls/ca.pem"
    # The application's role, and the schema owner's (for migrate and grants).
    echo "export SIGNED_PAYLOADS_POSTGRES_URL='postgres://signed_payloads_app@127.0.0.1:$pg_port/signed_payloads?$tls'"
    echo "export SIGNED_PAYLOADS_POSTGRES_OWNER_URL='postgres://signed_payloads_owner@127.0.0.1:$pg_port/signed_payloads?$tls'"
    echo "export SIGNED_PAYLOADS_REDIS_URL=rediss://127.0.0.1:$redis_port/"
    echo "export SIGNED_PAYLOADS_REDIS_CA=$dir/tls/ca.pem"
    ;;
stop)
    if bin=$(pg_bin) && [ -d "$dir/postgres" ]; then
        as_pg "$bin/pg_ctl" -D "$dir/postgres" -m fast -w stop >&2 || true
    fi
    redis_cli shutdown nosave >/dev/null 2>&1 || true
    ;;
*)
    say "usage: $0 start|stop"
    exit 2
    ;;
esac
