#!/usr/bin/env python3
"""Header-mode response signatures made by an independent implementation.

Uses pyca/cryptography (not this crate) to sign `{body};{status};{token}` with
RSASSA-PSS, SHA-384, MGF1-SHA-384, 48-byte salt (PS384), encode the signature
as standard padded base64, and write `python_signed.json` with the SPKI public
key (bare base64 DER, as a key-exchange API returns it). Run once:

    python3 make_vectors.py            # writes python_signed.json
    python3 make_vectors.py --verify   # checks rust_signed.json, written by this crate
"""
import base64
import json
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)


def sign():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    cases = []
    for body, status, token in [
        ('{"InstallmentPlanNumber":"58285955768857556214","Status":"Active"}', 200, "0f8b2d0c5e0b4c6f9a8e"),
        ("", 200, "c5ad9a1d-4b2e-4a57-9c1e-7f2b9b0e8d11"),
        ('{"error":"not found"}', 404, "Zm9vYmFy"),
        ("caf\u00e9 \u2013 ;200; inside", 201, "t-1"),
    ]:
        message = f"{body};{status};{token}".encode()
        signature = base64.b64encode(key.sign(message, PSS, hashes.SHA384())).decode()
        cases.append({"body": body, "status": status, "token": token, "signature": signature})
    out = {
        "about": "PS384 header-mode signatures made with pyca/cryptography by make_vectors.py",
        "key_id": "python-key",
        "public_key_base64_der": base64.b64encode(spki).decode(),
        "cases": cases,
    }
    with open("python_signed.json", "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)


def verify():
    with open("rust_signed.json") as f:
        data = json.load(f)
    key = serialization.load_der_public_key(base64.b64decode(data["public_key_base64_der"]))
    for case in data["cases"]:
        message = f"{case['body']};{case['status']};{case['token']}".encode()
        key.verify(base64.b64decode(case["signature"], validate=True), message, PSS, hashes.SHA384())
    print(f"verified {len(data['cases'])} signatures made by signed-payloads")


if __name__ == "__main__":
    verify() if "--verify" in sys.argv else sign()
