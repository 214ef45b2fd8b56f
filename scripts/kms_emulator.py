"""moto's KMS server, corrected where its Sign departs from AWS KMS.

Checked on moto 5.2.5, whose KMS Sign (1) ignores MessageType and hashes a
DIGEST again, (2) signs RSASSA_PSS_* with the largest salt that fits where AWS
(and JOSE) use a salt as long as the digest, and (3) takes a RAW message over
4096 bytes. This launcher makes Sign behave as AWS does on all three, then
runs moto's own server entry point. (Signing with a disabled key, which moto
also allows, is left as it is: refusing such keys is the signer's job.)

A key whose Description is "moto-uncorrected-pss" keeps moto's maximum-salt
PSS, so a test can show that the signer refuses what such a KMS returns.

    python kms_emulator.py -H 127.0.0.1 -p PORT
"""
import sys
import threading

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils as asym_utils
from moto import server
from moto.kms import models, responses, utils
from moto.kms.exceptions import ValidationException

HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
# What the Sign request being served asked for, read by the key's sign.
request = threading.local()


def hash_of(signing_algorithm):
    return HASHES[signing_algorithm[-3:]]()


def rsa_sign(self, message, signing_algorithm):
    utils.validate_signing_algorithm(
        signing_algorithm, utils.SigningAlgorithm.rsa_signing_algorithms()
    )
    algorithm = hash_of(signing_algorithm)
    if signing_algorithm.startswith("RSASSA_PSS"):
        salt = padding.PSS.MAX_LENGTH if request.uncorrected else algorithm.digest_size
        pad = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=salt)
    else:
        pad = padding.PKCS1v15()
    return self.private_key.sign(message, pad, prehashed(algorithm))


def ecdsa_sign(self, message, signing_algorithm):
    utils.validate_signing_algorithm(signing_algorithm, self.valid_signing_algorithms)
    return self.private_key.sign(message, ec.ECDSA(prehashed(hash_of(signing_algorithm))))


def prehashed(algorithm):
    """The hash to sign with: the message is already its digest for DIGEST."""
    if request.message_type != "DIGEST":
        return algorithm
    if len(request.message) != algorithm.digest_size:
        raise ValidationException(
            f"Digest is invalid length for algorithm {request.signing_algorithm}."
        )
    return asym_utils.Prehashed(algorithm)


original_sign = responses.KmsResponse.sign


def sign(self):
    message = self._get_param("Message")  # base64-decoded by moto
    request.message = message
    request.message_type = self._get_param("MessageType") or "RAW"
    request.signing_algorithm = self._get_param("SigningAlgorithm")
    if request.message_type == "RAW" and len(message) > 4096:
        raise ValidationException(
            "1 validation error detected: Value at 'Message' failed to satisfy constraint: "
            "Member must have length less than or equal to 4096"
        )
    key = self.kms_backend.describe_key(self._get_param("KeyId"))
    request.uncorrected = key.description == "moto-uncorrected-pss"
    return original_sign(self)


utils.RSAPrivateKey.sign = rsa_sign
utils.ECDSAPrivateKey.sign = ecdsa_sign
responses.KmsResponse.sign = sign

if __name__ == "__main__":
    server.main(sys.argv[1:])
