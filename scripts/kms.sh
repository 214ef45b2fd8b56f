#!/usr/bin/env bash
# Starts the AWS KMS emulator the KMS tests sign through: moto's server from
# PyPI (pinned), in a venv under target/, on 127.0.0.1, launched by
# scripts/kms_emulator.py, which corrects the ways moto's Sign departs from
# AWS KMS. Prints the standard AWS environment that points the SDK at it
# (endpoint, region, dummy credentials):
#
#   eval "$(scripts/kms.sh start)"
#   scripts/kms.sh stop
#
# Settings (environment): KMS_PORT (default 45678).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$root/target/kms-emulator
dir=${KMS_DIR:-/tmp/signed-payloads-kms}
port=${KMS_PORT:-45678}
say() { echo "$@" >&2; }

start() {
    mkdir -p "$dir"
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv" >&2
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "moto[server]==5.2.5" >&2
    stop >/dev/null 2>&1 || true
    "$venv/bin/python" "$root/scripts/kms_emulator.py" -H 127.0.0.1 -p "$port" \
        >"$dir/moto.log" 2>&1 &
    echo $! >"$dir/moto.pid"
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            say "AWS KMS emulator (moto 5.2.5, corrected Sign) on 127.0.0.1:$port"
            printf 'export AWS_ENDPOINT_URL_KMS=%q\n' "http://127.0.0.1:$port"
            printf 'export AWS_REGION=%q\n' "us-east-1"
            printf 'export AWS_DEFAULT_REGION=%q\n' "us-east-1"
            printf 'export AWS_ACCESS_KEY_ID=%q\n' "testing"
            printf 'export AWS_SECRET_ACCESS_KEY=%q\n' "testing"
            # pyca/cryptography, for the tests' independent verification.
            printf 'export SIGNED_PAYLOADS_KMS_PYTHON=%q\n' "$venv/bin/python"
            return 0
        fi
        sleep 0.1
    done
    say "the KMS emulator did not start; its log:"
    cat "$dir/moto.log" >&2
    return 1
}

stop() {
    if [ -f "$dir/moto.pid" ]; then
        local pid
        pid=$(cat "$dir/moto.pid")
        kill "$pid" 2>/dev/null || true
        # Wait until it is gone, so that a restart finds the port free.
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        rm -f "$dir/moto.pid"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
