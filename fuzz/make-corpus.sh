#!/usr/bin/env bash
# Seeds fuzz/corpus/ with valid inputs, made by the CLI from the test keys,
# so that the byte-level targets start from tokens that pass the signature:
#   jws_verify        compact JWTs signed by the keys the target registers
#   response_headers  [status: 2 bytes][header lines]\0[body] (the target's layout)
# The structure-aware targets (signed_request, signed_response, jwe_nested)
# sign their own inputs and need no seeds. Usage: bash fuzz/make-corpus.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --features cli --bin signed-payloads
cli=target/debug/signed-payloads
out=fuzz/corpus
mkdir -p "$out/jws_verify" "$out/response_headers"
a=tests/data/keys/rsa2048.pkcs8.pem
b=tests/data/rfc7515/A2.rsa_private_pkcs8.pem
n=0
for payload in '{}' '{"amount":100}' '{"exp":1800000000,"jti":"p-1"}' \
    '{"aud":["api"],"iss":"program-1","nbf":1}' '{"data_points":{"data":[{"type":"phone"}]}}'; do
    n=$((n + 1))
    printf '%s' "$payload" | "$cli" sign --key "$a" --kid a >"$out/jws_verify/rs256-$n"
    printf '%s' "$payload" | "$cli" sign --key "$b" --kid b --alg PS384 --no-iat >"$out/jws_verify/ps384-$n"
done
n=0
for status in 200 201 404; do
    for body in '' '{"Status":"Active"}' '{"a":"1.2.3.4"}'; do
        n=$((n + 1))
        headers=$(printf '%s' "$body" | "$cli" response sign --key "$a" --kid api-1 --status "$status" -)
        python3 - "$status" "$headers" "$body" "$out/response_headers/headers-$n" <<'PY'
import struct, sys
status, headers, body, path = sys.argv[1:]
data = struct.pack(">H", int(status)) + headers.strip().encode() + b"\0" + body.encode()
open(path, "wb").write(data)
PY
    done
done
echo "seeded $(find "$out" -type f | wc -l) inputs under $out"
