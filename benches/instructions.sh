#!/usr/bin/env bash
# Instructions per operation, counted by callgrind inside the harness's
# `repeat` loop only (setup and aws-lc's jitter-entropy seeding, whose cost
# varies between runs, are not counted); each operation runs at N and 2N
# iterations and the difference is divided by N. Deterministic for a given
# binary, whatever else the machine is doing. Usage: bash benches/instructions.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
# With a PKCS#11 token set up (scripts/softhsm.sh), also count signing through it.
features=(--features httpsig)
pkcs11_ops=()
if [ -n "${SIGNED_PAYLOADS_PKCS11_MODULE:-}" ]; then
    features=(--features httpsig,pkcs11)
    pkcs11_ops=(sign-pkcs11)
fi
cargo bench --bench instructions --no-run "${features[@]}" 2>/dev/null
bin=$(ls -t target/release/deps/instructions-* | grep -v '\.d$' | head -1)
count() {
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect='instructions::repeat*' \
        --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 | sed -n 's/.*Collected : //p'
}
for op in sign-raw sign-request "${pkcs11_ops[@]}" verify-raw verify-bytes verify-typed verify-borrowed request-typed wide-floor wide-typed wide-borrowed wide-request verify-jsonwebtoken headers-raw headers-ours \
          detached-raw detached-ours detached-ours-b64false \
          verify-1MiB-raw verify-1MiB-bytes verify-1MiB-jsonwebtoken \
          es256-sign-raw es256-sign-jws es256-sign-request es256-sign-jsonwebtoken es256-verify-raw es256-verify-floor es256-verify-bytes es256-verify-typed es256-verify-jsonwebtoken \
          httpsig-raw httpsig-ours \
          ed25519-sign-raw ed25519-sign-jws ed25519-sign-request ed25519-sign-jsonwebtoken ed25519-verify-raw ed25519-verify-floor ed25519-verify-bytes ed25519-verify-typed ed25519-verify-jsonwebtoken; do
    m=$n
    case $op in verify-1MiB-*) m=$((n / 20 > 2 ? n / 20 : 2)) ;; esac
    a=$(count "$op" "$m"); b=$(count "$op" $((2 * m)))
    echo "$op $(( (b - a) / m ))"
done
