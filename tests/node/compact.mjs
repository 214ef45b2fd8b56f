// Compact JWS of every key kind, made and checked by panva/jose, the
// independent peer of tests/node_interop.rs.
//
//   node compact.mjs sign ALG PKCS8.pem KID < payload
//     prints the compact JWS
//   node compact.mjs verify ALG SPKI.pem TOKEN
//     prints the payload, or exits 1 with the reason
import { CompactSign, compactVerify, importPKCS8, importSPKI } from 'jose';
import { readFileSync } from 'node:fs';

const [mode, alg, keyFile, arg] = process.argv.slice(2);
const pem = readFileSync(keyFile, 'utf8');

if (mode === 'sign') {
  const key = await importPKCS8(pem, alg);
  const jws = await new CompactSign(readFileSync(0))
    .setProtectedHeader({ alg, kid: arg })
    .sign(key);
  process.stdout.write(jws);
} else if (mode === 'verify') {
  const key = await importSPKI(pem, alg);
  try {
    const { payload } = await compactVerify(arg, key, { algorithms: [alg] });
    process.stdout.write(Buffer.from(payload));
  } catch (e) {
    console.error(`jose refused: ${e.code ?? ''} ${e.message}`);
    process.exit(1);
  }
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
