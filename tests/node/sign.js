// Signs each body as a Node service does: jwt.sign(JSON.parse(body), key,
// { algorithm, keyid, expiresIn }). Input: one JSON object per line,
// {"body": string, "expiresIn": number|null, "noTimestamp": bool}; output:
// one line per input, the token or "error: <message>". The clock is fixed
// (argv[3], Unix seconds) so that iat is the same on both sides.
'use strict';
const fs = require('fs');
const readline = require('readline');
const jwt = require('jsonwebtoken');

const key = fs.readFileSync(process.argv[2], 'utf8');
const now = Number(process.argv[3]) * 1000;
Date.now = () => now;

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const job = JSON.parse(line);
  const options = { algorithm: 'RS256', keyid: 'k1' };
  if (job.expiresIn !== null) options.expiresIn = job.expiresIn;
  if (job.noTimestamp) options.noTimestamp = true;
  try {
    process.stdout.write(jwt.sign(JSON.parse(job.body), key, options) + '\n');
  } catch (e) {
    process.stdout.write('error: ' + e.message.replace(/\n/g, ' ') + '\n');
  }
});
