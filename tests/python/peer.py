"""Compact JWS of every key kind, made and checked by PyJWT (with
pyca/cryptography), the independent peer of tests/python_interop.rs.

  python peer.py sign ALG PKCS8.pem KID < payload     prints the compact JWS
  python peer.py verify ALG SPKI.pem TOKEN            prints the payload,
                                                      or exits 1 with the reason
"""
import sys

import jwt


def main() -> int:
    mode, alg, key_file, arg = sys.argv[1:5]
    with open(key_file, "rb") as f:
        key = f.read()
    jws = jwt.api_jws.PyJWS()
    if mode == "sign":
        payload = sys.stdin.buffer.read()
        token = jws.encode(payload, key, algorithm=alg, headers={"kid": arg})
        sys.stdout.write(token)
        return 0
    if mode == "verify":
        try:
            payload = jws.decode(arg, key, algorithms=[alg])
        except jwt.PyJWTError as e:
            print(f"PyJWT refused: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        sys.stdout.buffer.write(payload)
        return 0
    print(f"unknown mode {mode}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
