// Two-way live check of wa-proto's crypto against the oracle, driving our
// `crypto_peer` example over stdin/stdout (one JSON line each way):
//  1. Signal: libsignal initiates to us and we to libsignal; hundreds of messages each,
//     in batches delivered shuffled, ~10% lost, some replayed (must fail on both sides).
//  2. Groups: Baileys' GroupCipher decrypts our skmsg and we decrypt its, shuffled.
//  3. Media: Baileys' encryptedStream output decrypts in ours and ours verifies with
//     Baileys' key logic + node's AES-CBC, for every type and sizes 0 B .. 65 MiB + 3.
//  4. App-state: our patches verify and decode in Baileys' decodeSyncdPatch (MACs,
//     LT-hash equal to ours).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createWriteStream, unlinkSync, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { require, rng } from './lib.mjs';
import { makeStore, libKey, groupModule, senderKeyStore } from './gen-signal.mjs';
import { plainStream, baileysEncrypt, baileysDecryptFile, settled, TYPES } from './gen-media.mjs';

const hex = (b) => Buffer.from(b).toString('hex');
const unhex = (s) => Buffer.from(s, 'hex');
const libsignal = require('libsignal');
const curve = require('libsignal/src/curve.js');
const scratch = new URL('./scratch/', import.meta.url).pathname;

const child = spawn(process.argv[2], [], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
async function peer(cmd) {
  child.stdin.write(JSON.stringify(cmd) + '\n');
  const { value } = await lines.next();
  return JSON.parse(value);
}
let failures = 0;
const check = (cond, what) => { if (!cond) { failures++; console.error('FAIL:', what); } };

async function signal(weInitiate, seed, rounds) {
  const r = rng(seed);
  const me = await peer({ op: 'new_identity', reg_id: 77 });
  const them = libKey(`live ${seed} identity`), spk = libKey(`live ${seed} spk`), opk = libKey(`live ${seed} opk`);
  const S = makeStore(them, 88);
  S.signed.set(3, spk); S.preKeys.set(4, opk);
  const ourAddr = new libsignal.ProtocolAddress('ours', 1);
  const theirName = 'oracle.2';
  if (weInitiate) {
    const res = await peer({ op: 'bundle', peer: theirName, reg_id: 88, identity: hex(them.pubKey), spk_id: 3, spk: hex(spk.pubKey), spk_sig: hex(curve.calculateSignature(them.privKey, spk.pubKey)), opk_id: 4, opk: hex(opk.pubKey) });
    check(res.ok, 'bundle accepted');
  } else {
    await new libsignal.SessionBuilder(S, ourAddr).initOutgoing({ registrationId: 77, identityKey: unhex(me.identity), signedPreKey: { keyId: me.spk_id, publicKey: unhex(me.spk), signature: unhex(me.spk_sig) }, preKey: { keyId: me.opk_id, publicKey: unhex(me.opk) } });
  }
  const lib = new libsignal.SessionCipher(S, ourAddr);
  let sent = 0, delivered = 0, replays = 0;
  for (let round = 0; round < rounds; round++) {
    const ours = (round % 2 === 0) === weInitiate;
    const k = 1 + r.int(10);
    const batch = [];
    for (let i = 0; i < k; i++) {
      const pt = Buffer.from(`live ${seed} #${sent++} ` + 'z'.repeat(r.int(60)));
      if (ours) { const m = await peer({ op: 'encrypt', peer: theirName, plaintext: hex(pt) }); batch.push({ pt, type: m.type, body: unhex(m.body) }); }
      else { const m = await lib.encrypt(pt); batch.push({ pt, type: m.type === 3 ? 'pkmsg' : 'msg', body: Buffer.from(m.body) }); }
    }
    const order = batch.filter(() => round === 0 || r.next() > 0.1);
    for (let i = order.length - 1; i > 0; i--) { const j = r.int(i + 1); [order[i], order[j]] = [order[j], order[i]]; }
    const seen = new Set();
    if (order.length && r.next() < 0.3) order.push(order[r.int(order.length)]);
    for (const m of order) {
      const replay = seen.has(m); seen.add(m);
      let ok, pt;
      if (ours) {
        try { pt = m.type === 'pkmsg' ? await lib.decryptPreKeyWhisperMessage(m.body) : await lib.decryptWhisperMessage(m.body); ok = true; } catch { ok = false; }
      } else {
        const res = await peer({ op: 'decrypt', peer: theirName, type: m.type, body: hex(m.body) });
        ok = res.ok; pt = ok && unhex(res.plaintext);
      }
      if (replay) { replays++; check(!ok, `replay rejected (${ours ? 'libsignal' : 'ours'})`); }
      else { delivered++; check(ok && Buffer.compare(pt, m.pt) === 0, `decrypt ${ours ? 'ours by libsignal' : 'libsignal by ours'} round ${round}`); }
    }
  }
  console.log(`signal (${weInitiate ? 'we initiate' : 'libsignal initiates'}): ${sent} sent, ${delivered} delivered both ways, ${replays} replays rejected`);
}

async function groups() {
  const G = await groupModule();
  const r = rng(515);
  // Baileys sender -> ours.
  const sender = new G.SenderKeyName('1203630@g.us', { id: 'oracle', deviceId: 2, toString() { return 'oracle.2'; } });
  const sstore = senderKeyStore(G);
  const skdm = await new G.GroupSessionBuilder(sstore).create(sender);
  await peer({ op: 'group_process', group: '1203630@g.us', sender: 'oracle.2', skdm: hex(skdm.serialize()) });
  const msgs = [];
  for (let i = 0; i < 200; i++) { const pt = Buffer.from(`g${i}`); msgs.push({ pt, body: await new G.GroupCipher(sstore, sender).encrypt(pt) }); }
  for (let i = msgs.length - 1; i > 0; i--) { const j = r.int(i + 1); [msgs[i], msgs[j]] = [msgs[j], msgs[i]]; }
  let ok = 0;
  for (const m of msgs) { const res = await peer({ op: 'group_decrypt', group: '1203630@g.us', sender: 'oracle.2', body: hex(m.body) }); if (res.ok && res.plaintext === hex(m.pt)) ok++; }
  check(ok === msgs.length, `group: ours decrypted ${ok}/${msgs.length} of Baileys'`);
  const dup = await peer({ op: 'group_decrypt', group: '1203630@g.us', sender: 'oracle.2', body: hex(msgs[0].body) });
  check(!dup.ok, 'group replay rejected by ours');
  // Ours -> Baileys.
  const mine = await peer({ op: 'group_create', group: '1203630@g.us', sender: 'ours.1' });
  const ourName = new G.SenderKeyName('1203630@g.us', { id: 'ours', deviceId: 1, toString() { return 'ours.1'; } });
  const rstore = senderKeyStore(G);
  await new G.GroupSessionBuilder(rstore).process(ourName, new G.SenderKeyDistributionMessage(null, null, null, null, unhex(mine.skdm)));
  const ours = [];
  for (let i = 0; i < 200; i++) { const pt = Buffer.from(`o${i}`); ours.push({ pt, body: unhex((await peer({ op: 'group_encrypt', group: '1203630@g.us', sender: 'ours.1', plaintext: hex(pt) })).body) }); }
  for (let i = ours.length - 1; i > 0; i--) { const j = r.int(i + 1); [ours[i], ours[j]] = [ours[j], ours[i]]; }
  let ok2 = 0;
  for (const m of ours) { try { const p = await new G.GroupCipher(rstore, ourName).decrypt(m.body); if (Buffer.compare(Buffer.from(p), m.pt) === 0) ok2++; } catch (e) { console.error(e.message); } }
  check(ok2 === ours.length, `group: Baileys decrypted ${ok2}/${ours.length} of ours`);
  console.log(`groups: ${ok} Baileys->ours, ${ok2} ours->Baileys (shuffled)`);
}

async function mediaCheck() {
  const B = await import('baileys');
  const sizes = [0, 1, 15, 16, 17, 1000, (1 << 20) + 5];
  const jobs = [];
  for (const t of TYPES) for (const s of sizes) jobs.push([t, s]);
  jobs.push(['video', (65 << 20) + 3], ['document', (64 << 20) + 1]);
  let seed = 1000;
  for (const [type, len] of jobs) {
    seed++;
    // Baileys -> ours
    const v = await baileysEncrypt(B, type, seed, len);
    await settled(v.encFilePath, len);
    const res = await peer({ op: 'media_decrypt_file', type, media_key: v.media_key, in: v.encFilePath, file_enc_sha256: v.file_enc_sha256, file_sha256: v.file_sha256 });
    check(res.ok && res.file_length === len, `media ${type} ${len}: ours decrypts Baileys' (${res.error || ''})`);
    unlinkSync(v.encFilePath);
    // ours -> Baileys' key logic
    const plainPath = `${scratch}plain-${seed}`, encPath = `${scratch}enc-${seed}`;
    await pipeline(plainStream(seed, len), createWriteStream(plainPath));
    const key = createHash('sha256').update(`live media key ${seed}`).digest();
    // Files of 1 MiB and more also go through our two-thread encryptor.
    for (const threads of len >= (1 << 20) ? [1, 2] : [1]) {
      const ours = await peer({ op: 'media_encrypt_file', type, media_key: hex(key), in: plainPath, out: encPath, threads });
      const d = await baileysDecryptFile(B, type, hex(key), encPath);
      check(d.macOk && d.file_sha256 === ours.file_sha256 && d.file_enc_sha256 === ours.file_enc_sha256 && d.file_length === len, `media ${type} ${len} (${threads} thread${threads > 1 ? 's' : ''}): Baileys' logic decrypts ours`);
      unlinkSync(encPath);
    }
    unlinkSync(plainPath);
  }
  console.log(`media: ${jobs.length} files both ways (${TYPES.length} types, up to ${(65 << 20) + 3} bytes)`);
}

async function appState() {
  const B = await import('baileys');
  const { proto, decodeSyncdPatch, newLTHashState } = B;
  const keyId = Buffer.from('0000000bbbbb', 'hex');
  const keyData = createHash('sha256').update('live app state key').digest();
  const getKey = async (id) => (id === keyId.toString('base64') ? { keyData } : undefined);
  const states = {};
  const ops = [
    ['regular_high', ['mute', '1@s.whatsapp.net'], { muteAction: { muted: true } }, 2, 0],
    ['regular_low', ['archive', '2@s.whatsapp.net'], { archiveChatAction: { archived: true } }, 3, 0],
    ['regular_low', ['pin_v1', '3@s.whatsapp.net'], { pinAction: { pinned: true } }, 5, 0],
    ['regular_high', ['mute', '1@s.whatsapp.net'], { muteAction: { muted: false } }, 2, 0],
    ['regular_low', ['pin_v1', '3@s.whatsapp.net'], { pinAction: { pinned: false } }, 5, 1],
  ];
  let n = 0;
  for (const [name, index, action, api, op] of ops) {
    const value = proto.SyncActionValue.encode({ timestamp: 1717000000 + n, ...action }).finish();
    const res = await peer({ op: 'appstate_encode', name, index: JSON.stringify(index), value: hex(value), api_version: api, operation: op, key_id: hex(keyId), key_data: hex(keyData) });
    const patch = proto.SyncdPatch.decode(unhex(res.patch));
    patch.version = { version: res.version };
    const muts = [];
    const out = await decodeSyncdPatch(patch, name, states[name] || newLTHashState(), getKey, (m) => muts.push(m), true);
    check(hex(out.hash) === res.hash, `app-state ${name} v${res.version}: Baileys' LT-hash equals ours`);
    check(muts.length === 1 && JSON.stringify(muts[0].index) === JSON.stringify(index), 'app-state mutation decoded');
    states[name] = { ...out, version: res.version };
    n++;
  }
  console.log(`app-state: ${n} of our patches verified and decoded by Baileys`);
}

await signal(false, 1, 80);
await signal(true, 2, 80);
await groups();
await appState();
await mediaCheck();
child.stdin.end();
if (failures) { console.error(`${failures} live check(s) failed`); process.exit(1); }
console.log('crypto live check: all passed');
