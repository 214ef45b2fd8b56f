#!/usr/bin/env bash
# Makes the PKCS#11 token that tests/pkcs11.rs, the CLI tests and
# examples/hsm_signer.rs sign through: SoftHSM2 from Debian's packages
# (installed if missing), its configuration and token files in a scratch
# folder, one token holding
#
#   rsa-2048  id 01  tests/data/keys/rsa2048.pkcs8.pem, imported (so the
#                    software copy of the same key is the benchmark's baseline)
#   rsa-3072  id 02  generated here by openssl and imported
#   ec-p256   id 03  tests/data/keys/ec-p256.pem (ES256)
#   ec-p384   id 04  tests/data/keys/ec-p384.pem (ES384)
#   ed25519   id 05  tests/data/keys/ed25519.pkcs8.pem (EdDSA)
#
#   scripts/softhsm.sh start   # prints the `export ...` lines to run
#   scripts/softhsm.sh stop
#
# Settings (environment): SOFTHSM_DIR (default /tmp/signed-payloads-softhsm).
set -euo pipefail

dir=${SOFTHSM_DIR:-/tmp/signed-payloads-softhsm}
root=$(cd "$(dirname "$0")/.." && pwd)
token=signed-payloads

say() { printf '%s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
    local missing=()
    command -v softhsm2-util >/dev/null 2>&1 || missing+=(softhsm2)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing ${missing[*]} from Debian's packages"
        as_root apt-get update -qq >&2
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
    fi
}

# The module the softhsm2 package installed.
module_path() {
    local found
    found=$(dpkg -L libsofthsm2 softhsm2 2>/dev/null | grep '/libsofthsm2\.so$' | head -n 1 || true)
    [ -n "$found" ] || found=$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -n 1 || true)
    [ -n "$found" ] || { say "libsofthsm2.so not found"; exit 1; }
    printf '%s\n' "$found"
}

start() {
    install_missing
    rm -rf "$dir"
    mkdir -p "$dir/tokens"
    chmod 700 "$dir"
    cat >"$dir/softhsm2.conf" <<EOF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
    export SOFTHSM2_CONF=$dir/softhsm2.conf

    # A fresh random PIN each run, kept in a file only the owner reads.
    local pin so_pin
    pin=$(openssl rand -hex 8)
    so_pin=$(openssl rand -hex 8)
    (umask 077 && printf '%s' "$pin" >"$dir/user.pin")

    softhsm2-util --init-token --free --label "$token" --pin "$pin" --so-pin "$so_pin" >&2

    (umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$dir/rsa3072.pem" 2>/dev/null)
    openssl pkcs8 -topk8 -nocrypt -in "$root/tests/data/keys/ec-p256.pem" -out "$dir/ec-p256.pkcs8.pem"
    openssl pkcs8 -topk8 -nocrypt -in "$root/tests/data/keys/ec-p384.pem" -out "$dir/ec-p384.pkcs8.pem"

    softhsm2-util --import "$root/tests/data/keys/rsa2048.pkcs8.pem" --token "$token" --label rsa-2048 --id 01 --pin "$pin" >&2
    softhsm2-util --import "$dir/rsa3072.pem" --token "$token" --label rsa-3072 --id 02 --pin "$pin" >&2
    softhsm2-util --import "$dir/ec-p256.pkcs8.pem" --token "$token" --label ec-p256 --id 03 --pin "$pin" >&2
    softhsm2-util --import "$dir/ec-p384.pkcs8.pem" --token "$token" --label ec-p384 --id 04 --pin "$pin" >&2
    softhsm2-util --import "$root/tests/data/keys/ed25519.pkcs8.pem" --token "$token" --label ed25519 --id 05 --pin "$pin" >&2
    rm -f "$dir/rsa3072.pem" "$dir/ec-p256.pkcs8.pem" "$dir/ec-p384.pkcs8.pem"

    say "SoftHSM2 token '$token' ready in $dir"
    printf 'export SOFTHSM2_CONF=%q\n' "$SOFTHSM2_CONF"
    printf 'export SIGNED_PAYLOADS_PKCS11_MODULE=%q\n' "$(module_path)"
    printf 'export SIGNED_PAYLOADS_PKCS11_TOKEN=%q\n' "$token"
    printf 'export SIGNED_PAYLOADS_PKCS11_PIN_FILE=%q\n' "$dir/user.pin"
}

stop() {
    rm -rf "$dir"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*)
    say "usage: $0 start|stop"
    exit 2
    ;;
esac
