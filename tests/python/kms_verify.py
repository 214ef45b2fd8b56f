"""Verifies a compact JWS with pyca/cryptography alone, against a PEM public
key: the independent check of tests/aws_kms.rs on what AWS KMS signed.

    python kms_verify.py ALG PUBLIC.pem TOKEN     exits 0 when it verifies
"""
import base64
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def main():
    alg, pem_file, token = sys.argv[1:4]
    key = serialization.load_pem_public_key(open(pem_file, "rb").read())
    header, payload, signature = token.split(".")
    message = f"{header}.{payload}".encode()
    signature = unb64(signature)
    hash_ = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}[alg[2:]]()
    try:
        if alg.startswith("RS"):
            key.verify(signature, message, padding.PKCS1v15(), hash_)
        elif alg.startswith("PS"):
            pss = padding.PSS(mgf=padding.MGF1(hash_), salt_length=hash_.digest_size)
            key.verify(signature, message, pss, hash_)
        else:
            half = len(signature) // 2
            r = int.from_bytes(signature[:half], "big")
            s = int.from_bytes(signature[half:], "big")
            key.verify(utils.encode_dss_signature(r, s), message, ec.ECDSA(hash_))
    except InvalidSignature:
        print(f"cryptography refused the {alg} signature", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
