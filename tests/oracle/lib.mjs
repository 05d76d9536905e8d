// Shared helpers for the oracle scripts: seeded PRNG, node <-> JSON, the stanza corpus.
import { createRequire } from 'node:module';
export const require = createRequire(import.meta.url);

/** mulberry32: tiny seeded PRNG so every random tree is reproducible from its seed. */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  const pick = (arr) => arr[int(arr.length)];
  const bytes = (n) => Buffer.from(Array.from({ length: n }, () => int(256)));
  return { next, int, pick, bytes };
}

/** Node (Baileys shape) -> JSON fixture shape. */
export function toJson(node) {
  let content = null;
  if (Array.isArray(node.content)) content = { nodes: node.content.map(toJson) };
  else if (Buffer.isBuffer(node.content) || node.content instanceof Uint8Array)
    content = { bytes: Buffer.from(node.content).toString('hex') };
  else if (typeof node.content === 'string') content = { str: node.content };
  return { tag: node.tag, attrs: Object.entries(node.attrs || {}), content };
}

/** JSON fixture shape -> node (Baileys shape). */
export function fromJson(j) {
  const attrs = Object.fromEntries(j.attrs);
  let content;
  if (j.content?.nodes) content = j.content.nodes.map(fromJson);
  else if (j.content?.bytes !== undefined) content = Buffer.from(j.content.bytes, 'hex');
  else if (j.content?.str !== undefined) content = j.content.str;
  return { tag: j.tag, attrs, content };
}

/** Order-insensitive comparison of two JSON trees (attribute order differs between implementations). */
export function sameTree(a, b) {
  const norm = (j) => ({
    tag: j.tag,
    attrs: [...j.attrs].sort((x, y) => (x[0] < y[0] ? -1 : 1)),
    content: j.content?.nodes ? { nodes: j.content.nodes.map(norm) } : j.content,
  });
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

/** A realistic mix of stanzas, as a client and server exchange them. */
export function corpus() {
  const r = rng(20240601);
  const me = '491701234567:12@s.whatsapp.net';
  const peer = (i) => `4917${String(10000000 + i * 7919)}@s.whatsapp.net`;
  const id = (i) => `3EB0${(0xa1b2c3d4 + i * 977).toString(16).toUpperCase()}`;
  const out = [];
  out.push({ tag: 'iq', attrs: { id: '123-45.6', to: 's.whatsapp.net', type: 'get', xmlns: 'w:p' }, content: [{ tag: 'ping', attrs: {} }] });
  out.push({ tag: 'iq', attrs: { from: 's.whatsapp.net', id: '123-45.6', type: 'result', t: '1717171717' } });
  for (let i = 0; i < 6; i++) {
    out.push({
      tag: 'message',
      attrs: { id: id(i), to: peer(i), type: 'text' },
      content: [{ tag: 'enc', attrs: { v: '2', type: i % 2 ? 'msg' : 'pkmsg' }, content: r.bytes(120 + i * 40) }],
    });
    out.push({ tag: 'receipt', attrs: { id: id(i), from: peer(i), t: String(1717171717 + i), type: 'read' } });
    out.push({ tag: 'ack', attrs: { id: id(i), class: 'receipt', to: peer(i), type: 'read' } });
  }
  out.push({
    tag: 'message',
    attrs: { id: id(99), to: '120363025246125888@g.us', type: 'text' },
    content: [
      { tag: 'participants', attrs: {}, content: Array.from({ length: 12 }, (_, i) => ({ tag: 'to', attrs: { jid: `4917${String(20000000 + i)}:${1 + (i % 3)}@s.whatsapp.net` }, content: [{ tag: 'enc', attrs: { v: '2', type: 'pkmsg' }, content: r.bytes(180) }] })) },
      { tag: 'enc', attrs: { v: '2', type: 'skmsg' }, content: r.bytes(90) },
      { tag: 'device-identity', attrs: {}, content: r.bytes(150) },
    ],
  });
  out.push({ tag: 'message', attrs: { id: id(7), to: peer(7), type: 'media', mediatype: 'image' }, content: [{ tag: 'enc', attrs: { v: '2', type: 'msg' }, content: r.bytes(2100) }] });
  out.push({ tag: 'notification', attrs: { from: '120363025246125888@g.us', id: '2873871', t: '1717171700', type: 'w:gp2', participant: peer(3) }, content: [{ tag: 'add', attrs: {}, content: [{ tag: 'participant', attrs: { jid: peer(4) } }] }] });
  out.push({ tag: 'presence', attrs: { type: 'available', name: 'Gateway' } });
  out.push({ tag: 'chatstate', attrs: { to: peer(2) }, content: [{ tag: 'composing', attrs: {} }] });
  out.push({
    tag: 'iq', attrs: { id: '9812-3', xmlns: 'usync', to: 's.whatsapp.net', type: 'get' },
    content: [{ tag: 'usync', attrs: { sid: 'sync-1', mode: 'query', last: 'true', index: '0', context: 'message' }, content: [
      { tag: 'query', attrs: {}, content: [{ tag: 'devices', attrs: { version: '2' } }] },
      { tag: 'list', attrs: {}, content: Array.from({ length: 8 }, (_, i) => ({ tag: 'user', attrs: { jid: peer(i) } })) },
    ] }],
  });
  out.push({
    tag: 'iq', attrs: { id: '771-2', xmlns: 'encrypt', type: 'set', to: 's.whatsapp.net' },
    content: [
      { tag: 'registration', attrs: {}, content: r.bytes(4) },
      { tag: 'type', attrs: {}, content: Buffer.from([5]) },
      { tag: 'identity', attrs: {}, content: r.bytes(32) },
      { tag: 'list', attrs: {}, content: Array.from({ length: 30 }, (_, i) => ({ tag: 'key', attrs: {}, content: [{ tag: 'id', attrs: {}, content: Buffer.from([0, 0, i + 1]) }, { tag: 'value', attrs: {}, content: r.bytes(32) }] })) },
      { tag: 'skey', attrs: {}, content: [{ tag: 'id', attrs: {}, content: Buffer.from([0, 0, 1]) }, { tag: 'value', attrs: {}, content: r.bytes(32) }, { tag: 'signature', attrs: {}, content: r.bytes(64) }] },
    ],
  });
  out.push({ tag: 'iq', attrs: { from: 's.whatsapp.net', id: 'pd-1', type: 'set', xmlns: 'md' }, content: [{ tag: 'pair-device', attrs: {}, content: Array.from({ length: 6 }, () => ({ tag: 'ref', attrs: {}, content: Buffer.from(r.bytes(40).toString('base64')) })) }] });
  out.push({ tag: 'success', attrs: { t: '1717171717', props: '12', abprops: '34', location: 'frc', creation: '1700000000', lid: '123456789012345@lid' } });
  out.push({ tag: 'ib', attrs: { from: 's.whatsapp.net' }, content: [{ tag: 'offline', attrs: { count: '0' } }] });
  out.push({ tag: 'stream:error', attrs: { code: '515' } });
  out.push({ tag: 'iq', attrs: { id: 'x1', to: me, type: 'result' } });
  return out;
}

const SERVERS = ['s.whatsapp.net', 'g.us', 'lid', 'broadcast', 'newsletter', 'c.us'];
const ASCII = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -._:/=+';

/** A random string of one of the kinds the encoder distinguishes (token, nibble, hex, JID, raw). */
export function randomString(r, tokens) {
  switch (r.int(8)) {
    case 0: case 1: return r.pick(tokens);
    case 2: return Array.from({ length: 1 + r.int(20) }, () => r.pick('0123456789-.')).join('');
    case 3: return Array.from({ length: 1 + r.int(20) }, () => r.pick('0123456789ABCDEF')).join('');
    case 4: {
      const server = r.pick(SERVERS);
      const user = String(1000 + r.int(1e9));
      if ((server === 's.whatsapp.net' || server === 'lid') && r.int(2)) return `${user}:${1 + r.int(99)}@${server}`;
      if (r.int(10) === 0) return `@${server}`;
      return `${user}@${server}`;
    }
    case 5: return Array.from({ length: r.int(4) }, () => r.pick(['é', '日本', '🙂', 'ß'])).join('') + 'x';
    case 6: return Array.from({ length: 250 + r.int(120) }, () => r.pick(ASCII)).join('');
    default: return Array.from({ length: r.int(30) }, () => r.pick(ASCII)).join('');
  }
}

/** A random node tree; `seed` is recorded with the vector. */
export function randomTree(seed, tokens, depth = 0, r = rng(seed)) {
  const attrs = {};
  const nAttrs = r.int(5);
  for (let i = 0; i < nAttrs; i++) {
    const k = r.int(3) ? r.pick(tokens) : Array.from({ length: 1 + r.int(8) }, () => r.pick('abcdefghij_-')).join('');
    if (k === '' || /^\d+$/.test(k)) continue;
    attrs[k] = randomString(r, tokens);
  }
  let tag = r.pick(tokens);
  if (!tag) tag = 'x';
  let content;
  const c = r.int(depth >= 3 ? 3 : 4);
  if (c === 1) content = r.bytes(r.int(8) === 0 ? 256 + r.int(800) : r.int(80));
  else if (c === 2) { const s = randomString(r, tokens); content = s.includes('@') || s === '' ? 'ok' : s; }
  else if (c === 3) content = Array.from({ length: r.int(5) }, () => randomTree(0, tokens, depth + 1, r));
  return { tag, attrs, content };
}

import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** A fixed key pair derived from a label (private = sha256(label)); public via Node's own X25519. */
export function fixedKeyPair(label) {
  const priv = createHash('sha256').update(`wa-proto vector: ${label}`).digest();
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, priv]), format: 'der', type: 'pkcs8' });
  const pub = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32);
  return { private: priv, public: Buffer.from(pub) };
}

/** A logger that swallows everything (the oracle's handlers require one). */
export const quietLogger = { child: () => quietLogger, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
