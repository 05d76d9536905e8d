// Live re-check: the oracle decodes and verifies OUR bytes (written by the Rust example
// oracle_emit). Exits non-zero on any mismatch.
import { readFileSync } from 'node:fs';
import { decodeBinaryNode, makeNoiseHandler, proto, Curve, encodeBinaryNode } from 'baileys';
import { NOISE_WA_HEADER } from 'baileys/lib/Defaults/index.js';
import { toJson, sameTree, fromJson, quietLogger } from './lib.mjs';

const ours = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const noise = JSON.parse(readFileSync(new URL('../../connector/wa-proto/tests/vectors/noise.json', import.meta.url), 'utf8'));
const pairV = JSON.parse(readFileSync(new URL('../../connector/wa-proto/tests/vectors/pair.json', import.meta.url), 'utf8'));
let failures = 0;
const fail = (m) => { failures++; console.error('MISMATCH', m); };

// 1. Nodes encoded by us decode in the oracle to the same tree.
for (const v of ours.nodes) {
  const decoded = toJson(await decodeBinaryNode(Buffer.from(v.hex, 'hex')));
  if (!sameTree(decoded, v.tree)) fail(`node seed=${v.seed}`);
}
console.log(`nodes: ${ours.nodes.length} of our encodings decoded by the oracle`);

// 2. The oracle's initiator completes a handshake against our responder's server hello
//    (cert chain signed by our XEdDSA) and exchanges transport frames both ways.
const h = ours.handshake;
const kp = (n) => ({ private: Buffer.from(noise.keys[n].private, 'hex'), public: Buffer.from(noise.keys[n].public, 'hex') });
const chain = proto.CertChain.decode(Buffer.from(h.cert_chain, 'hex'));
if (!Curve.verify(Buffer.from(h.root_public, 'hex'), chain.intermediate.details, chain.intermediate.signature)) fail('our intermediate signature');
const interKey = proto.CertChain.NoiseCertificate.Details.decode(chain.intermediate.details).key;
if (!Curve.verify(interKey, chain.leaf.details, chain.leaf.signature)) fail('our leaf signature');
const client = makeNoiseHandler({ keyPair: kp('client_ephemeral'), NOISE_HEADER: NOISE_WA_HEADER, logger: quietLogger });
client.encodeFrame(proto.HandshakeMessage.encode({ clientHello: { ephemeral: kp('client_ephemeral').public } }).finish());
const keyEnc = await client.processHandshake(proto.HandshakeMessage.decode(Buffer.from(h.server_hello, 'hex')), kp('client_static'));
const payloadEnc = client.encrypt(Buffer.from(noise.client_payload, 'hex'));
const finish = Buffer.from(proto.HandshakeMessage.encode({ clientFinish: { static: keyEnc, payload: payloadEnc } }).finish());
await client.finishInit();
if (finish.toString('hex') !== h.client_finish) fail('client finish differs from our initiator');
const got = [];
await client.decodeFrame(Buffer.concat(h.s2c_frames.map((x) => Buffer.from(x, 'hex'))), (n) => got.push(toJson(n)));
if (got.length !== h.trees.length || !got.every((g, i) => sameTree(g, h.trees[i]))) fail('oracle could not read our responder frames');
h.trees.forEach((t, i) => {
  const f = client.encodeFrame(encodeBinaryNode(fromJson(t))).toString('hex');
  if (f !== h.c2s_frames[i]) fail(`c2s frame ${i} differs`);
});
console.log('noise: oracle initiator <-> our responder, frames both ways');

// 3. Our pair-device-sign verifies with the oracle's logic.
const identity = kp('identity');
for (const r of ours.pair_device_sign) {
  const reply = await decodeBinaryNode(Buffer.from(r.reply_hex, 'hex'));
  const di = reply.content[0].content[0];
  const signed = proto.ADVSignedDeviceIdentity.decode(di.content);
  if (signed.accountSignatureKey?.length) fail('reply leaks the account signature key');
  const accountKey = proto.ADVSignedDeviceIdentity.decode(proto.ADVSignedDeviceIdentityHMAC.decode(
    (await decodeBinaryNode(Buffer.from(pairV.pair_success.find((p) => p.hosted === r.hosted && !p.oracle_error).stanza, 'hex'))).content[0].content[0].content).details).accountSignatureKey;
  const prefix = r.hosted ? Buffer.from([6, 6]) : Buffer.from([6, 1]);
  const msg = Buffer.concat([prefix, signed.details, identity.public, accountKey]);
  if (!Curve.verify(identity.public, msg, signed.deviceSignature)) fail(`device signature (hosted=${r.hosted})`);
  if (di.attrs['key-index'] !== String(proto.ADVDeviceIdentity.decode(signed.details).keyIndex)) fail('key-index');
}
console.log(`pair: ${ours.pair_device_sign.length} pair-device-sign replies verified by the oracle`);
if (failures) { console.error(`${failures} failure(s)`); process.exit(1); }
console.log('live re-check OK');
