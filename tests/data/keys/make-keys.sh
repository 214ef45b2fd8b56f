#!/usr/bin/env bash
# Regenerates the key-format matrix with OpenSSL 3. Run from this folder.
# The committed files were made with OpenSSL 3.0.19; rerunning makes new keys.
set -euo pipefail
openssl genrsa -traditional -out rsa2048.pkcs1.pem 2048           # "RSA PRIVATE KEY" (OpenSSL 1.x style)
openssl pkcs8 -topk8 -nocrypt -in rsa2048.pkcs1.pem -out rsa2048.pkcs8.pem   # "PRIVATE KEY" (OpenSSL 3 style)
openssl rsa -in rsa2048.pkcs1.pem -traditional -outform DER -out rsa2048.pkcs1.der
openssl pkcs8 -topk8 -nocrypt -in rsa2048.pkcs1.pem -outform DER -out rsa2048.pkcs8.der
openssl rsa -in rsa2048.pkcs1.pem -pubout -out rsa2048.spki.pem           # "PUBLIC KEY"
openssl rsa -in rsa2048.pkcs1.pem -pubout -outform DER -out rsa2048.spki.der
openssl rsa -in rsa2048.pkcs1.pem -RSAPublicKey_out -out rsa2048.pkcs1-public.pem   # "RSA PUBLIC KEY"
openssl rsa -in rsa2048.pkcs1.pem -RSAPublicKey_out -outform DER -out rsa2048.pkcs1-public.der
openssl req -new -x509 -key rsa2048.pkcs1.pem -subj "/CN=signed-payloads test" -days 36500 -out rsa2048.cert.pem
openssl x509 -in rsa2048.cert.pem -outform DER -out rsa2048.cert.der
base64 -w0 rsa2048.spki.der > rsa2048.spki.b64                           # bare base64, like a key-exchange "Key"
python3 - <<'PY'
import base64, json, re, subprocess
def b64u(i): return base64.urlsafe_b64encode(i.to_bytes((i.bit_length()+7)//8,'big')).rstrip(b'=').decode()
text = subprocess.run(["openssl","rsa","-in","rsa2048.pkcs1.pem","-text","-noout"],capture_output=True,text=True,check=True).stdout
fields = {}
cur = None
for line in text.splitlines():
    m = re.match(r"^(\w+):\s*(\d+)?", line)
    if m and not line.startswith(" "):
        cur = m.group(1); fields[cur] = m.group(2) or ""
    elif cur and line.startswith(" "):
        fields[cur] += line.strip()
def num(name): return int(fields[name].replace(":",""),16) if not fields[name].isdigit() else int(fields[name])
names = {"n":"modulus","e":"publicExponent","d":"privateExponent","p":"prime1","q":"prime2","dp":"exponent1","dq":"exponent2","qi":"coefficient"}
priv = {"kty":"RSA"} | {k: b64u(num(v)) for k,v in names.items()}
json.dump(priv, open("rsa2048.private.jwk","w"))
json.dump({"kty":"RSA","n":priv["n"],"e":priv["e"]}, open("rsa2048.public.jwk","w"))
PY
# Keys that must be refused.
openssl genrsa -traditional -out rsa1024.pkcs1.pem 1024
openssl genrsa -traditional -3 -out rsa2048-e3.pkcs1.pem 2048            # e = 3 is allowed
openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:test -in rsa2048.pkcs1.pem -out rsa2048.encrypted-pkcs8.pem
openssl rsa -in rsa2048.pkcs1.pem -traditional -aes256 -passout pass:test -out rsa2048.encrypted-pkcs1.pem
openssl ecparam -genkey -name prime256v1 -noout -out ec-p256.pem
openssl pkey -in ec-p256.pem -pubout -out ec-p256.spki.pem
openssl rsa -in rsa2048.pkcs1.pem -modulus -noout | cut -d= -f2 | tr 'A-F' 'a-f' > rsa2048.modulus.hex

# A second, unrelated 2048-bit key for tests that need two (rotation, races).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2048-second.pkcs8.pem

# Other key kinds (issue #23): SEC1 and PKCS#8 EC keys, Ed25519, certificates.
openssl pkcs8 -topk8 -nocrypt -in ec-p256.pem -out ec-p256.pkcs8.pem            # PKCS#8 around SEC1
openssl ec -in ec-p256.pem -no_public -out ec-p256.no-public.pem               # SEC1 without its public point
openssl ecparam -genkey -name secp384r1 -noout -out ec-p384.pem
openssl pkey -in ec-p384.pem -pubout -out ec-p384.spki.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out ec-p521.pkcs8.pem
openssl pkey -in ec-p521.pkcs8.pem -pubout -out ec-p521.spki.pem
openssl genpkey -algorithm ED25519 -out ed25519.pkcs8.pem                       # PKCS#8 v1
openssl pkey -in ed25519.pkcs8.pem -pubout -out ed25519.spki.pem
openssl req -new -x509 -key ec-p256.pem -subj "/CN=signed-payloads test" -days 36500 -out ec-p256.cert.pem
# Kinds that must be refused, each named in the error.
openssl ecparam -genkey -name secp256k1 -noout -out ec-secp256k1.pem
openssl ecparam -genkey -name prime256v1 -param_enc explicit -noout -out ec-p256-explicit.pem
openssl genpkey -algorithm X25519 -out x25519.pkcs8.pem
openssl genpkey -algorithm ED448 -out ed448.pkcs8.pem
