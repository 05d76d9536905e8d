// App-state vectors: chains of patches made by Baileys 6.7.21's encodeSyncdPatch
// (SETs, overwrites and REMOVEs across two collections), each with the state (version,
// LT-hash) Baileys computed after it. The Rust test verifies and decodes them in order.
import { writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

const hex = (b) => Buffer.from(b).toString('hex');

export async function appStateVectors() {
  const B = await import('baileys');
  const { proto, encodeSyncdPatch, newLTHashState } = B;
  const keyId = Buffer.from('00000000aaaa', 'hex');
  const keyData = createHash('sha256').update('wa-proto app state key').digest();
  const getKey = async (id) => (id === keyId.toString('base64') ? { keyData } : undefined);
  const jid = (i) => `4917${String(10000000 + i * 7919)}@s.whatsapp.net`;
  const SET = proto.SyncdMutation.SyncdOperation.SET, REMOVE = proto.SyncdMutation.SyncdOperation.REMOVE;
  const ops = [
    ['regular_high', ['mute', jid(1)], { muteAction: { muted: true, muteEndTimestamp: 1717999999 } }, 2, SET],
    ['regular_low', ['archive', jid(2)], { archiveChatAction: { archived: true, messageRange: { lastMessageTimestamp: 1717171717 } } }, 3, SET],
    ['regular_low', ['pin_v1', jid(3)], { pinAction: { pinned: true } }, 5, SET],
    ['regular_high', ['mute', jid(1)], { muteAction: { muted: false } }, 2, SET],
    ['regular_low', ['archive', jid(2)], { archiveChatAction: { archived: false, messageRange: { lastMessageTimestamp: 1717171800 } } }, 3, SET],
    ['regular_high', ['star', jid(4), '3EB0ABCDEF', '1', '0'], { starAction: { starred: true } }, 2, SET],
    ['regular_low', ['pin_v1', jid(3)], { pinAction: { pinned: false } }, 5, REMOVE],
    ['regular_high', ['markChatAsRead', jid(5)], { markChatAsReadAction: { read: true, messageRange: { lastMessageTimestamp: 1717171999 } } }, 3, SET],
    ['critical_block', ['setting_pushName'], { pushNameSetting: { name: 'Gateway' } }, 1, SET],
  ];
  const states = {};
  const patches = [];
  let t = 1717170000;
  for (const [type, index, action, apiVersion, operation] of ops) {
    const state = states[type] || newLTHashState();
    const syncAction = { timestamp: t++, ...action };
    const { patch, state: next } = await encodeSyncdPatch({ type, index, syncAction, apiVersion, operation }, keyId.toString('base64'), state, getKey);
    states[type] = next;
    const bytes = proto.SyncdPatch.encode({ ...patch, version: { version: next.version } }).finish();
    patches.push({ name: type, index: JSON.stringify(index), api_version: apiVersion, operation, patch: hex(bytes), version: next.version, hash: hex(next.hash), action: hex(proto.SyncActionValue.encode(syncAction).finish()) });
  }
  return { key_id: hex(keyId), key_data: hex(keyData), patches };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const v = await appStateVectors();
  writeFileSync(new URL('../../connector/wa-proto/tests/vectors/appstate.json', import.meta.url), JSON.stringify(v, null, 1) + '\n');
  console.log(`appstate.json: ${v.patches.length} patches`);
}
