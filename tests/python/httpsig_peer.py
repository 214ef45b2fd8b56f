"""The Python peer of tests/python_interop.rs for RFC 9421: the
`http-message-signatures` package signs and verifies raw HTTP/1.1 messages
(request or status line, fields, blank line, body; as `curl -i` prints them).

  httpsig_peer.py sign ALG KEY KEYID TAG [REQUEST_FILE] < message > signed
  httpsig_peer.py verify ALG KEY TAG COMPONENTS [REQUEST_FILE] < message

ALG is an RFC 9421 name; KEY a PKCS#8 PEM (sign), an SPKI PEM (verify), or
for hmac-sha256 a file of the secret's bytes. A response's req components
are read from REQUEST_FILE. Signatures carry created, keyid, alg, expires,
nonce and tag, in this package's order (created;keyid;alg;expires;...),
which is not the crate's. verify prints the covered components, one per
line, or exits 1 with the package's refusal on stderr.
"""

import datetime
import os
import sys

from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)

ALGORITHMS = {
    "rsa-pss-sha512": algorithms.RSA_PSS_SHA512,
    "rsa-v1_5-sha256": algorithms.RSA_V1_5_SHA256,
    "hmac-sha256": algorithms.HMAC_SHA256,
    "ecdsa-p256-sha256": algorithms.ECDSA_P256_SHA256,
    "ecdsa-p384-sha384": algorithms.ECDSA_P384_SHA384,
    "ed25519": algorithms.ED25519,
}


class Fields:
    """Field lines in order, as the package's message interface wants them."""

    def __init__(self, lines):
        self.lines = lines

    def items(self):
        return list(self.lines)

    def __iter__(self):
        return iter(dict.fromkeys(name for name, _ in self.lines))

    def __contains__(self, name):
        return any(n.lower() == name.lower() for n, _ in self.lines)

    def __getitem__(self, name):
        values = [v for n, v in self.lines if n.lower() == name.lower()]
        if not values:
            raise KeyError(name)
        return ", ".join(values)

    def __setitem__(self, name, value):
        del self[name]
        self.lines.append((name, value))

    def __delitem__(self, name):
        self.lines = [(n, v) for n, v in self.lines if n.lower() != name.lower()]


class Request:
    def __init__(self, method, url, headers):
        self.method, self.url, self.headers = method, url, headers


class Response:
    def __init__(self, status_code, headers, request):
        self.status_code, self.headers, self.request = status_code, headers, request


def parse(raw, request=None):
    """A message and its body from raw HTTP/1.1 bytes."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        if separator in raw:
            head, body = raw.split(separator, 1)
            break
    else:
        raise SystemExit("the message has no blank line after its fields")
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    fields = Fields([(n.strip(), v.strip()) for n, v in (line.split(":", 1) for line in lines[1:])])
    start = lines[0].split(" ")
    if start[0].startswith("HTTP/"):
        return Response(int(start[1]), fields, request), body
    target = start[1]
    if target.startswith("/"):
        target = "https://" + fields["host"] + target
    return Request(start[0], target, fields), body


def serialize(message, body):
    if isinstance(message, Response):
        start = f"HTTP/1.1 {message.status_code} X"
    else:
        start = f"{message.method} {message.url} HTTP/1.1"
    head = "\r\n".join([start] + [f"{n}: {v}" for n, v in message.headers.items()])
    return head.encode("latin-1") + b"\r\n\r\n" + body


class Keys(HTTPSignatureKeyResolver):
    def __init__(self, alg, path):
        with open(path, "rb") as f:
            self.material = f.read()
        self.algorithm = ALGORITHMS[alg]

    def resolve_private_key(self, key_id):
        return self.material

    def resolve_public_key(self, key_id):
        return self.material


def read_request(args):
    if not args:
        return None
    with open(args[0], "rb") as f:
        return parse(f.read())[0]


def main():
    command, alg, key = sys.argv[1:4]
    keys = Keys(alg, key)
    if command == "sign":
        keyid, tag = sys.argv[4:6]
        message, body = parse(sys.stdin.buffer.read(), read_request(sys.argv[6:]))
        if isinstance(message, Response):
            covered = ("@status", '"@method";req', '"@target-uri";req', '"signature";req;key="sig1"')
        else:
            covered = ("@method", "@target-uri", "@authority", '"@query-param";name="pet"', "content-type")
        now = datetime.datetime.now()
        HTTPMessageSigner(signature_algorithm=keys.algorithm, key_resolver=keys).sign(
            message,
            key_id=keyid,
            created=now,
            expires=now + datetime.timedelta(minutes=5),
            nonce=os.urandom(12).hex(),
            tag=tag,
            label="py",
            covered_component_ids=covered,
            body=body,
        )
        sys.stdout.buffer.write(serialize(message, body))
    elif command == "verify":
        tag, components = sys.argv[4:6]
        message, body = parse(sys.stdin.buffer.read(), read_request(sys.argv[6:]))
        required = [c for c in components.split(" ") if c]
        try:
            results = HTTPMessageVerifier(signature_algorithm=keys.algorithm, key_resolver=keys).verify(
                message, expect_tag=tag, body=body, require_components=required
            )
        except Exception as e:  # the package's refusal, for the test to show
            print(f"{type(e).__name__}: {e}", file=sys.stderr)
            sys.exit(1)
        for result in results:
            for component in result.covered_components:
                print(component)
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
