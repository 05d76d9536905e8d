// Oracle side of `run.sh bench-crypto`: libsignal@6.0.0 round trips/s (same pattern as
// our criterion bench: A->B, B->A, two ratchet steps), Baileys' encryptedStream and its
// key logic + node decipher for media MB/s, `openssl speed` for the media floor; reads
// our criterion estimates and prints the ratios.
import { execSync } from 'node:child_process';
import { readFileSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { require, fixedKeyPair } from './lib.mjs';
import { makeStore, libKey } from './gen-signal.mjs';
import { plainStream, baileysEncrypt, baileysDecryptFile, settled } from './gen-media.mjs';

const target = process.argv[2];
function opensslFloorOnly() {
  const sha = opensslMBs('sha256'), aes = opensslMBs('aes-256-cbc');
  return { sha, aes, floor: 1 / (3 / sha + 1 / aes), load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') };
}
if (target === '--floor-only') {
  // Run before criterion, so the report shows the floor on both sides of our numbers.
  writeFileSync(process.argv[3], JSON.stringify(opensslFloorOnly()));
  process.exit(0);
}
const est = (p) => JSON.parse(readFileSync(`${target}/criterion/${p}/new/estimates.json`, 'utf8')).mean.point_estimate; // ns
const libsignal = require('libsignal');
const curve = require('libsignal/src/curve.js');

async function signalRoundTrips() {
  const aliceId = libKey('bench alice'), bobId = libKey('bench bob'), spk = libKey('bench spk');
  const A = makeStore(aliceId, 1), B = makeStore(bobId, 2);
  B.signed.set(1, spk);
  const addrA = new libsignal.ProtocolAddress('alice', 1), addrB = new libsignal.ProtocolAddress('bob', 2);
  await new libsignal.SessionBuilder(A, addrB).initOutgoing({ registrationId: 2, identityKey: bobId.pubKey, signedPreKey: { keyId: 1, publicKey: spk.pubKey, signature: curve.calculateSignature(bobId.privKey, spk.pubKey) } });
  const ca = new libsignal.SessionCipher(A, addrB), cb = new libsignal.SessionCipher(B, addrA);
  const msg = Buffer.alloc(120, 0x42);
  const once = async () => {
    const m = await ca.encrypt(msg);
    m.type === 3 ? await cb.decryptPreKeyWhisperMessage(Buffer.from(m.body)) : await cb.decryptWhisperMessage(Buffer.from(m.body));
    const r = await cb.encrypt(msg);
    await ca.decryptWhisperMessage(Buffer.from(r.body));
  };
  for (let i = 0; i < 200; i++) await once();
  const n = 2000, t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await once();
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function media() {
  const B = await import('baileys');
  const size = 64 << 20;
  let t0 = process.hrtime.bigint();
  const v = await baileysEncrypt(B, 'video', 99, size);
  const encMBs = size / 1048576 / (Number(process.hrtime.bigint() - t0) / 1e9);
  await settled(v.encFilePath, size);
  t0 = process.hrtime.bigint();
  const d = await baileysDecryptFile(B, 'video', v.media_key, v.encFilePath);
  const decMBs = size / 1048576 / (Number(process.hrtime.bigint() - t0) / 1e9);
  unlinkSync(v.encFilePath);
  if (!d.macOk) throw new Error('oracle media self-check failed');
  return { encMBs, decMBs };
}

function opensslMBs(alg) {
  const out = execSync(`openssl speed -evp ${alg} -bytes 16384 -seconds 2 2>/dev/null`, { encoding: 'utf8' });
  const line = out.trim().split('\n').pop();
  const kBs = parseFloat(line.trim().split(/\s+/).pop().replace('k', ''));
  return (kBs * 1000) / 1048576;
}

const ours = {
  rt: 1e9 / est('signal/round_trip'),
  enc: (16 << 20) / 1048576 / (est('media/encrypt') / 1e9),
  dec: (16 << 20) / 1048576 / (est('media/decrypt') / 1e9),
  enc2: (16 << 20) / 1048576 / (est('media/encrypt_2core') / 1e9),
};
const lib = await signalRoundTrips();
const m = await media();
const sha = opensslMBs('sha256'), aes = opensslMBs('aes-256-cbc');
const floor = 1 / (3 / sha + 1 / aes); // encrypt: AES-CBC + three SHA-256 passes on one core
const decFloor = 1 / (3 / sha + 1 / aes);
const f = (x) => x.toFixed(1);
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`load average at report: ${load} on ${(await import('node:os')).cpus().length} cpus`);
console.log(`signal round trips/s: ours ${f(ours.rt)}  libsignal-node ${f(lib)}  ratio ${f(ours.rt / lib)}x (goal >= 5x)`);
console.log(`openssl: sha256 ${f(sha)} MB/s, aes-256-cbc ${f(aes)} MB/s -> one-core media floor ${f(floor)} MB/s`);
const beforePath = `${target}/openssl-floor-before.json`;
if (existsSync(beforePath)) {
  const b = JSON.parse(readFileSync(beforePath, 'utf8'));
  console.log(`openssl before criterion (load ${b.load}): sha256 ${f(b.sha)}, aes-256-cbc ${f(b.aes)} -> floor ${f(b.floor)} MB/s; ours/floor-before: encrypt ${(ours.enc / b.floor).toFixed(2)}, 2 threads ${(ours.enc2 / b.floor).toFixed(2)}, decrypt ${(ours.dec / b.floor).toFixed(2)}`);
}
console.log(`media encrypt MB/s: ours ${f(ours.enc)}  baileys ${f(m.encMBs)}  ours/floor ${(ours.enc / floor).toFixed(2)} (goal >= 0.9)  ours/baileys ${(ours.enc / m.encMBs).toFixed(2)}`);
console.log(`media encrypt 2 threads MB/s: ours ${f(ours.enc2)}  ours/one-core-floor ${(ours.enc2 / floor).toFixed(2)} (goal >= 1.5; needs 2 idle cores)`);
console.log(`media decrypt MB/s: ours ${f(ours.dec)}  baileys-logic ${f(m.decMBs)}  ours/floor ${(ours.dec / decFloor).toFixed(2)}  ours/baileys ${(ours.dec / m.decMBs).toFixed(2)}`);
