// App-state snapshot and external-blob vectors, checked by Baileys 6.7.21 (test tool only).
//
// * snapshot: records made by Baileys' encodeSyncdPatch under two keys (SETs, an
//   overwrite and a REMOVE under the key that set the index); the snapshot holds the live records at the final version and, as its MAC,
//   the snapshot MAC Baileys computed for that version. Baileys' decodeSyncdSnapshot must
//   accept it (it verifies every value/index MAC and the LT-hash); we freeze its state.
// * the same snapshot as an external `md-app-state` blob (Baileys' encryptedStream) with
//   its ExternalBlobReference, as a <snapshot> node carries it.
// * a patch chain whose second patch keeps its mutation in an external SyncdMutations
//   blob; Baileys' decodeSyncdPatch must accept it once the downloaded mutations are
//   appended (what its decodePatches does), and we freeze the resulting LT-hash.
import { writeFileSync, readFileSync, unlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

const hex = (b) => Buffer.from(b).toString('hex');

async function blob(B, bytes, path) {
  const r = await B.encryptedStream({ stream: Readable.from([Buffer.from(bytes)]) }, 'md-app-state', {});
  const want = Math.floor(bytes.length / 16) * 16 + 16 + 10;
  let body;
  for (let i = 0; i < 2000; i++) {
    try { body = readFileSync(r.encFilePath); if (body.length === want) break; } catch {}
    await new Promise((res) => setTimeout(res, 5));
  }
  unlinkSync(r.encFilePath);
  const ref = { mediaKey: r.mediaKey, directPath: path, handle: 'h-' + path.split('/').pop(), fileSizeBytes: r.fileLength, fileSha256: r.fileSha256, fileEncSha256: r.fileEncSha256 };
  // Oracle self-check: Baileys' media keys + node decipher recover the bytes.
  const { cipherKey, iv } = await B.getMediaKeys(r.mediaKey, 'md-app-state');
  const { createDecipheriv } = await import('node:crypto');
  const d = createDecipheriv('aes-256-cbc', cipherKey, iv);
  const plain = Buffer.concat([d.update(body.subarray(0, body.length - 10)), d.final()]);
  if (!plain.equals(Buffer.from(bytes))) throw new Error('oracle blob self-check failed');
  return { ref, body };
}

export async function snapshotVectors() {
  const B = await import('baileys');
  const { proto, encodeSyncdPatch, newLTHashState, decodeSyncdSnapshot, decodeSyncdPatch } = B;
  const keyA = Buffer.from('00000000bbbb', 'hex'), keyB = Buffer.from('00000000cccc', 'hex');
  const dataA = createHash('sha256').update('wa-proto snapshot key A').digest();
  const dataB = createHash('sha256').update('wa-proto snapshot key B').digest();
  const getKey = async (id) => (id === keyA.toString('base64') ? { keyData: dataA } : id === keyB.toString('base64') ? { keyData: dataB } : undefined);
  const jid = (i) => `4917${String(20000000 + i * 6007)}@s.whatsapp.net`;
  const SET = proto.SyncdMutation.SyncdOperation.SET, REMOVE = proto.SyncdMutation.SyncdOperation.REMOVE;
  const name = 'regular_high';
  const ops = [
    [keyA, ['mute', jid(1)], { muteAction: { muted: true, muteEndTimestamp: 1718000000 } }, 2, SET],
    [keyA, ['pin_v1', jid(2)], { pinAction: { pinned: true } }, 5, SET],
    [keyB, ['star', jid(3), '3EB0FEDCBA', '1', '0'], { starAction: { starred: true } }, 2, SET],
    [keyA, ['mute', jid(1)], { muteAction: { muted: false } }, 2, SET],
    [keyA, ['archive', jid(4)], { archiveChatAction: { archived: true, messageRange: { lastMessageTimestamp: 1718000100 } } }, 3, SET],
    [keyA, ['pin_v1', jid(2)], { pinAction: { pinned: false } }, 5, REMOVE],
    [keyA, ['markChatAsRead', jid(5)], { markChatAsReadAction: { read: true, messageRange: { lastMessageTimestamp: 1718000200 } } }, 3, SET],
    [keyB, ['contact', jid(6)], { contactAction: { fullName: 'Snapshot Contact', firstName: 'Snap' } }, 2, SET],
  ];
  let state = newLTHashState(), last;
  const live = new Map();
  let t = 1718000000;
  for (const [kid, index, action, apiVersion, operation] of ops) {
    const { patch, state: next } = await encodeSyncdPatch({ type: name, index, syncAction: { timestamp: t++, ...action }, apiVersion, operation }, kid.toString('base64'), state, getKey);
    state = next; last = { patch, kid };
    const rec = patch.mutations[0].record;
    const k = Buffer.from(rec.index.blob).toString('base64');
    if (operation === REMOVE) live.delete(k); else { live.delete(k); live.set(k, rec); }
  }
  const snapshot = { version: { version: state.version }, records: [...live.values()], mac: last.patch.snapshotMac, keyId: { id: last.kid } };
  const snapBytes = proto.SyncdSnapshot.encode(snapshot).finish();
  const decoded = await decodeSyncdSnapshot(name, proto.SyncdSnapshot.decode(snapBytes), getKey);
  if (!Buffer.from(decoded.state.hash).equals(Buffer.from(state.hash))) throw new Error('oracle snapshot hash differs from the patch chain');
  const records = Object.values(decoded.mutationMap).map((m) => ({ index: JSON.stringify(m.index), action: hex(proto.SyncActionValue.encode(m.syncAction.value).finish()) }));
  const ext = await blob(B, snapBytes, '/v/t62.15575-24/snapshot-regular_high');

  // External mutations: a two-patch chain on regular_low; the second patch's mutation
  // moves to an external SyncdMutations blob.
  const low = 'regular_low';
  let lstate = newLTHashState();
  const chain = [];
  const lowOps = [
    [['archive', jid(7)], { archiveChatAction: { archived: true, messageRange: { lastMessageTimestamp: 1718000300 } } }, 3],
    [['pin_v1', jid(8)], { pinAction: { pinned: true } }, 5],
  ];
  for (const [i, [index, action, apiVersion]] of lowOps.entries()) {
    const { patch, state: next } = await encodeSyncdPatch({ type: low, index, syncAction: { timestamp: t++, ...action }, apiVersion, operation: SET }, keyA.toString('base64'), lstate, getKey);
    const before = lstate;
    lstate = next;
    const full = { ...patch, version: { version: next.version } };
    let entry = { version: next.version, hash: hex(next.hash), index: JSON.stringify(index), action: hex(proto.SyncActionValue.encode({ timestamp: t - 1, ...action }).finish()) };
    if (i === 1) {
      const mb = await blob(B, proto.SyncdMutations.encode({ mutations: patch.mutations }).finish(), '/v/t62.15575-24/mutations-regular_low');
      const extPatch = { ...full, mutations: [], externalMutations: mb.ref };
      const wire = proto.SyncdPatch.decode(proto.SyncdPatch.encode(extPatch).finish());
      // Oracle: decodePatches appends the downloaded mutations, then decodeSyncdPatch.
      wire.mutations.push(...proto.SyncdMutations.decode(proto.SyncdMutations.encode({ mutations: patch.mutations }).finish()).mutations);
      const r = await decodeSyncdPatch(wire, low, { ...before, version: next.version }, getKey, () => {}, true);
      if (!Buffer.from(r.hash).equals(Buffer.from(next.hash))) throw new Error('oracle external patch hash differs');
      entry = { ...entry, patch: hex(proto.SyncdPatch.encode(extPatch).finish()), blob_path: mb.ref.directPath, blob_body: hex(mb.body) };
    } else {
      entry = { ...entry, patch: hex(proto.SyncdPatch.encode(full).finish()) };
    }
    chain.push(entry);
  }
  return {
    keys: [{ id: hex(keyA), data: hex(dataA) }, { id: hex(keyB), data: hex(dataB) }],
    snapshot: {
      name, version: state.version, hash: hex(decoded.state.hash), bytes: hex(snapBytes), records,
      reference: hex(proto.ExternalBlobReference.encode(ext.ref).finish()), body: hex(ext.body),
    },
    external_patches: { name: low, patches: chain },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const v = await snapshotVectors();
  writeFileSync(new URL('../../connector/wa-proto/tests/vectors/appstate_snapshot.json', import.meta.url), JSON.stringify(v, null, 1) + '\n');
  console.log(`appstate_snapshot.json: snapshot with ${v.snapshot.records.length} records at v${v.snapshot.version}, ${v.external_patches.patches.length} patches (1 external)`);
}
