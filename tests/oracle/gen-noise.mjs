// Noise XX handshake vector: the oracle's initiator (makeNoiseHandler, as Baileys' socket
// drives it) against a responder assembled from the oracle's own Noise handler primitives,
// with fixed keys so the transcript is reproducible (only the XEdDSA signatures inside the
// certificate chain carry the oracle's randomness).
import { makeNoiseHandler, proto, Curve, encodeBinaryNode, generateRegistrationNode } from 'baileys';
import { NOISE_WA_HEADER } from 'baileys/lib/Defaults/index.js';
import { hkdf, aesEncryptGCM } from 'baileys/lib/Utils/crypto.js';
import { fixedKeyPair, quietLogger, toJson, corpus } from './lib.mjs';

export async function noiseVector() {
  const k = Object.fromEntries(['client_ephemeral', 'client_static', 'server_ephemeral', 'server_static', 'root', 'intermediate', 'identity', 'signed_prekey']
    .map((n) => [n, fixedKeyPair(n)]));
  const now = 1717171717;
  // Certificate chain signed with the oracle's XEdDSA (libsignal curve).
  const interDetails = proto.CertChain.NoiseCertificate.Details.encode({ serial: 1, issuerSerial: 0, key: k.intermediate.public, notBefore: now - 3600, notAfter: now + 86400 * 365 }).finish();
  const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({ serial: 2, issuerSerial: 1, key: k.server_static.public, notBefore: now - 3600, notAfter: now + 86400 * 365 }).finish();
  const certChain = Buffer.from(proto.CertChain.encode({
    intermediate: { details: interDetails, signature: Curve.sign(k.root.private, interDetails) },
    leaf: { details: leafDetails, signature: Curve.sign(k.intermediate.private, leafDetails) },
  }).finish());

  // Client = the oracle, exactly as its socket does it.
  const client = makeNoiseHandler({ keyPair: k.client_ephemeral, NOISE_HEADER: NOISE_WA_HEADER, logger: quietLogger });
  const helloMsg = proto.HandshakeMessage.encode({ clientHello: { ephemeral: k.client_ephemeral.public } }).finish();
  const clientHelloWire = client.encodeFrame(helloMsg);

  // Server = the oracle's handler primitives driven in the responder's order.
  const server = makeNoiseHandler({ keyPair: { private: k.server_ephemeral.private, public: k.client_ephemeral.public }, NOISE_HEADER: NOISE_WA_HEADER, logger: quietLogger });
  server.authenticate(k.server_ephemeral.public);
  await server.mixIntoKey(Curve.sharedKey(k.server_ephemeral.private, k.client_ephemeral.public));
  const encStatic = server.encrypt(k.server_static.public);
  await server.mixIntoKey(Curve.sharedKey(k.server_static.private, k.client_ephemeral.public));
  const encCert = server.encrypt(certChain);
  const serverHello = Buffer.from(proto.HandshakeMessage.encode({ serverHello: { ephemeral: k.server_ephemeral.public, static: encStatic, payload: encCert } }).finish());

  // Client processes the hello and finishes with a registration payload.
  const handshake = proto.HandshakeMessage.decode(serverHello);
  const keyEnc = await client.processHandshake(handshake, k.client_static);
  const creds = { registrationId: 0x1234, signedPreKey: { keyId: 1, keyPair: k.signed_prekey, signature: Buffer.alloc(64, 7) }, signedIdentityKey: k.identity };
  const config = { version: [2, 3000, 1023223821], browser: ['Ubuntu', 'Chrome', '22.04.4'], countryCode: 'US', syncFullHistory: false };
  const payload = Buffer.from(proto.ClientPayload.encode(generateRegistrationNode(creds, config)).finish());
  const payloadEnc = client.encrypt(payload);
  const clientFinish = Buffer.from(proto.HandshakeMessage.encode({ clientFinish: { static: keyEnc, payload: payloadEnc } }).finish());
  await client.finishInit();

  // Server side reads the finish with the same primitives.
  const fin = proto.HandshakeMessage.decode(clientFinish).clientFinish;
  const gotStatic = server.decrypt(fin.static);
  if (!Buffer.from(gotStatic).equals(k.client_static.public)) throw new Error('server: client static mismatch');
  await server.mixIntoKey(Curve.sharedKey(k.server_ephemeral.private, gotStatic));
  const gotPayload = server.decrypt(fin.payload);
  if (!Buffer.from(gotPayload).equals(payload)) throw new Error('server: payload mismatch');

  // Transport: client frames from the oracle; server frames encrypted with the responder's
  // key (second half of the split, recomputed from the DH chain) and checked by the oracle client.
  const nodes = corpus().slice(0, 4);
  const c2s = nodes.map((n) => client.encodeFrame(encodeBinaryNode(n)).toString('hex'));
  let ck = Buffer.from('Noise_XX_25519_AESGCM_SHA256\0\0\0\0');
  for (const dh of [Curve.sharedKey(k.client_ephemeral.private, k.server_ephemeral.public), Curve.sharedKey(k.client_ephemeral.private, k.server_static.public), Curve.sharedKey(k.client_static.private, k.server_ephemeral.public)]) {
    ck = (await hkdf(dh, 64, { salt: ck, info: '' })).subarray(0, 32);
  }
  const split = await hkdf(Buffer.alloc(0), 64, { salt: ck, info: '' });
  const s2cKey = split.subarray(32);
  const s2cNodes = corpus().slice(4, 8);
  const s2c = s2cNodes.map((n, i) => {
    const iv = Buffer.alloc(12); iv.writeUInt32BE(i, 8);
    const ct = aesEncryptGCM(encodeBinaryNode(n), s2cKey, iv, Buffer.alloc(0));
    const f = Buffer.alloc(3 + ct.length); f.writeUInt8(ct.length >> 16, 0); f.writeUInt16BE(ct.length & 0xffff, 1); ct.copy(f, 3);
    return f;
  });
  const received = [];
  await client.decodeFrame(Buffer.concat(s2c), (n) => received.push(toJson(n)));
  if (received.length !== s2cNodes.length) throw new Error('oracle client did not decode server frames');
  const hex = (b) => Buffer.from(b).toString('hex');
  return {
    oracle: 'baileys@6.7.21',
    note: 'private keys = sha256("wa-proto vector: <name>"); cert chain signed by the oracle (libsignal XEdDSA)',
    keys: Object.fromEntries(Object.entries(k).map(([n, kp]) => [n, { private: hex(kp.private), public: hex(kp.public) }])),
    now, root_serial: 0,
    cert_chain: hex(certChain),
    client_hello_wire: hex(clientHelloWire), client_hello: hex(helloMsg),
    server_hello: hex(serverHello),
    client_payload: hex(payload),
    client_payload_json: proto.ClientPayload.decode(payload).toJSON(),
    client_finish: hex(clientFinish),
    c2s_frames: c2s, c2s_trees: nodes.map(toJson),
    s2c_frames: s2c.map(hex), s2c_trees: received,
  };
}
