// The Open Banking detached signature (x-jws-signature) made and checked by
// panva/jose, the independent peer of tests/node_interop.rs.
//
//   node detached.mjs sign b64false|encoded KEY.pem KID IAT ISS TAN < body
//     prints BASE64URL(header)..BASE64URL(signature)
//   node detached.mjs verify SPKI.pem SIGNATURE < body
//     prints the protected header as JSON, or exits 1 with the reason
import { FlattenedSign, flattenedVerify, importPKCS8, importSPKI } from 'jose';
import { readFileSync } from 'node:fs';

const IAT = 'http://openbanking.org.uk/iat';
const ISS = 'http://openbanking.org.uk/iss';
const TAN = 'http://openbanking.org.uk/tan';
// The members jose is told it understands (it refuses any other crit entry).
const crit = { [IAT]: true, [ISS]: true, [TAN]: true };

const [mode, ...args] = process.argv.slice(2);
const body = readFileSync(0);

if (mode === 'sign') {
  const [variant, keyFile, kid, iat, iss, tan] = args;
  const key = await importPKCS8(readFileSync(keyFile, 'utf8'), 'PS256');
  const unencoded = variant === 'b64false';
  const header = {
    alg: 'PS256',
    kid,
    ...(unencoded ? { b64: false } : {}),
    crit: [...(unencoded ? ['b64'] : []), IAT, ISS, TAN],
    typ: 'JOSE',
    cty: 'application/json',
    [IAT]: Number(iat),
    [ISS]: iss,
    [TAN]: tan,
  };
  const jws = await new FlattenedSign(body).setProtectedHeader(header).sign(key, { crit });
  process.stdout.write(`${jws.protected}..${jws.signature}`);
} else if (mode === 'verify') {
  const [keyFile, signature] = args;
  const key = await importSPKI(readFileSync(keyFile, 'utf8'), 'PS256');
  const [protectedB64, payloadSegment, sig] = signature.split('.');
  if (payloadSegment !== '') {
    console.error('the payload segment is not empty');
    process.exit(1);
  }
  const header = JSON.parse(Buffer.from(protectedB64, 'base64url').toString('utf8'));
  const payload = header.b64 === false ? body.toString('utf8') : body.toString('base64url');
  try {
    const { protectedHeader } = await flattenedVerify(
      { protected: protectedB64, payload, signature: sig },
      key,
      { crit, algorithms: ['PS256'] },
    );
    process.stdout.write(JSON.stringify(protectedHeader));
  } catch (e) {
    console.error(`${e.code}: ${e.message}`);
    process.exit(1);
  }
} else {
  console.error('usage: detached.mjs sign|verify ...');
  process.exit(2);
}
