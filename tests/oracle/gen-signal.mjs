// Signal vectors from the oracle (libsignal@6.0.0 for pkmsg/msg, Baileys 6.7.21's group
// cipher for skmsg). Key generation inside libsignal is hooked so every key pair comes
// from a per-party deterministic stream that the vector records: the Rust test replays
// both parties with the same randomness and must produce byte-identical ciphertexts and
// decrypt every delivered message (reordered, lost, replayed) exactly as libsignal did.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { require, rng, fixedKeyPair } from './lib.mjs';

const libsignal = require('libsignal');
const curve = require('libsignal/src/curve.js');
const hex = (b) => Buffer.from(b).toString('hex');

// ---- hooked key generation --------------------------------------------------------
let actor = null;
const streams = {};
const origGenerate = curve.generateKeyPair;
function keyFrom(label) {
  const priv = createHash('sha256').update(label).digest();
  return { privKey: priv, pubKey: curve.getPublicFromPrivateKey(priv) };
}
export function hookKeys(seedLabel) {
  for (const k of Object.keys(streams)) delete streams[k];
  curve.generateKeyPair = () => {
    if (!actor) return origGenerate();
    const s = (streams[actor] ||= []);
    const kp = keyFrom(`${seedLabel}/${actor}/${s.length}`);
    s.push(hex(kp.privKey));
    return kp;
  };
}
export function unhookKeys() { curve.generateKeyPair = origGenerate; actor = null; }
export const setActor = (a) => { actor = a; };
export const keyStream = (a) => streams[a] || [];

/** A libsignal storage for one party. */
export function makeStore(identity, regId) {
  const sessions = new Map(), preKeys = new Map(), signed = new Map();
  return {
    preKeys, signed, sessions,
    getOurIdentity: async () => identity,
    getOurRegistrationId: async () => regId,
    isTrustedIdentity: async () => true,
    loadSession: async (a) => sessions.get(a),
    storeSession: async (a, r) => { sessions.set(a, r); },
    loadPreKey: async (id) => preKeys.get(id),
    removePreKey: async (id) => { preKeys.delete(id); },
    loadSignedPreKey: async (id) => signed.get(id),
  };
}
export const libKey = (label) => { const k = fixedKeyPair(label); return { privKey: k.private, pubKey: Buffer.concat([Buffer.from([5]), k.public]) }; };

async function scenario(name, seed, rounds, withOneTime) {
  hookKeys(`wa-proto signal ${name}`);
  const r = rng(seed);
  const aliceId = libKey(`${name} alice identity`), bobId = libKey(`${name} bob identity`);
  const spk = libKey(`${name} bob spk`), opk = libKey(`${name} bob opk`);
  const aliceReg = 1000 + seed, bobReg = 2000 + seed, spkId = 7, opkId = 31;
  const sig = curve.calculateSignature(bobId.privKey, spk.pubKey);
  const A = makeStore(aliceId, aliceReg), B = makeStore(bobId, bobReg);
  B.signed.set(spkId, spk);
  if (withOneTime) B.preKeys.set(opkId, opk);
  const addrA = new libsignal.ProtocolAddress('alice', 1), addrB = new libsignal.ProtocolAddress('bob', 2);
  setActor('alice');
  await new libsignal.SessionBuilder(A, addrB).initOutgoing({
    registrationId: bobReg, identityKey: bobId.pubKey,
    signedPreKey: { keyId: spkId, publicKey: spk.pubKey, signature: sig },
    preKey: withOneTime ? { keyId: opkId, publicKey: opk.pubKey } : undefined,
  });
  const cipher = { alice: new libsignal.SessionCipher(A, addrB), bob: new libsignal.SessionCipher(B, addrA) };
  const events = [];
  let n = 0;
  for (let round = 0; round < rounds; round++) {
    const from = round % 2 ? 'bob' : 'alice', to = from === 'alice' ? 'bob' : 'alice';
    const k = 1 + r.int(8);
    const sent = [];
    setActor(from);
    for (let i = 0; i < k; i++) {
      const plaintext = Buffer.from(`${name} #${n++} ${from}->${to} ` + 'x'.repeat(r.int(40)));
      const m = await cipher[from].encrypt(plaintext);
      const body = Buffer.from(m.body);
      events.push({ op: 'send', from, type: m.type === 3 ? 'pkmsg' : 'msg', plaintext: hex(plaintext), body: hex(body) });
      sent.push({ idx: events.length - 1, type: m.type, body });
    }
    // Deliver: shuffled, ~10% lost (never in the first round), sometimes a replay.
    const order = sent.filter(() => round === 0 || r.next() > 0.1);
    for (let i = order.length - 1; i > 0; i--) { const j = r.int(i + 1); [order[i], order[j]] = [order[j], order[i]]; }
    if (order.length && r.next() < 0.3) order.splice(r.int(order.length + 1), 0, order[r.int(order.length)]);
    setActor(to);
    for (const m of order) {
      let ok = true, error = null;
      try {
        m.type === 3 ? await cipher[to].decryptPreKeyWhisperMessage(m.body) : await cipher[to].decryptWhisperMessage(m.body);
      } catch (e) { ok = false; error = String(e.message || e); }
      events.push({ op: 'recv', to, send: m.idx, ok, error });
    }
  }
  const out = {
    name, with_one_time: withOneTime,
    alice: { identity_priv: hex(aliceId.privKey), reg_id: aliceReg },
    bob: { identity_priv: hex(bobId.privKey), reg_id: bobReg, spk_id: spkId, spk_priv: hex(spk.privKey), spk_sig: hex(sig), opk_id: opkId, opk_priv: hex(opk.privKey) },
    alice_keys: keyStream('alice'), bob_keys: keyStream('bob'), events,
  };
  unhookKeys();
  return out;
}

// ---- group: Baileys' GroupCipher ----------------------------------------------------
export async function groupModule() {
  await import('baileys');
  return await import('baileys/lib/Signal/Group/index.js');
}
export function senderKeyStore(G) {
  const m = new Map();
  return {
    loadSenderKey: async (name) => m.get(name.toString()) || new G.SenderKeyRecord(),
    storeSenderKey: async (name, rec) => { m.set(name.toString(), rec); },
  };
}

async function groupVectors() {
  const G = await groupModule();
  hookKeys('wa-proto group');
  setActor('sender');
  const r = rng(4242);
  const sender = new G.SenderKeyName('120363025246125888@g.us', { id: 'alice', deviceId: 3, toString() { return 'alice.3'; } });
  const sstore = senderKeyStore(G);
  const skdm = await new G.GroupSessionBuilder(sstore).create(sender);
  const messages = [];
  for (let i = 0; i < 60; i++) {
    const plaintext = Buffer.from(`group message ${i} ` + 'g'.repeat(r.int(50)));
    const body = await new G.GroupCipher(sstore, sender).encrypt(plaintext);
    messages.push({ plaintext: hex(plaintext), body: hex(body) });
  }
  // Receiver side in the oracle: deliver shuffled with replays, record outcomes.
  const rstore = senderKeyStore(G);
  await new G.GroupSessionBuilder(rstore).process(sender, new G.SenderKeyDistributionMessage(null, null, null, null, Buffer.from(skdm.serialize())));
  const order = messages.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) { const j = r.int(i + 1); [order[i], order[j]] = [order[j], order[i]]; }
  order.splice(10, 0, order[3]);
  const deliveries = [];
  for (const i of order) {
    let ok = true;
    try { await new G.GroupCipher(rstore, sender).decrypt(Buffer.from(messages[i].body, 'hex')); } catch { ok = false; }
    deliveries.push({ msg: i, ok });
  }
  const state = (await sstore.loadSenderKey(sender)).getSenderKeyState();
  unhookKeys();
  return {
    skdm: hex(skdm.serialize()), messages, deliveries,
    signing_priv: hex(state.getSigningKeyPrivate()),
  };
}

export async function signalVectors() {
  return {
    sessions: [
      await scenario('otk', 11, 40, true),
      await scenario('nootk', 12, 30, false),
    ],
    group: await groupVectors(),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const v = await signalVectors();
  writeFileSync(new URL('../../connector/wa-proto/tests/vectors/signal.json', import.meta.url), JSON.stringify(v, null, 1) + '\n');
  const n = v.sessions.reduce((a, s) => a + s.events.filter((e) => e.op === 'send').length, 0);
  console.log(`signal.json: ${n} session messages, ${v.group.messages.length} group messages`);
}
