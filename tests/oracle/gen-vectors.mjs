// Generates the frozen oracle vectors under connector/wa-proto/tests/vectors/.
// Everything is derived from fixed seeds/keys, so re-running reproduces the same files
// (except fields that embed oracle randomness, which the Rust tests only verify).
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { encodeBinaryNode, decodeBinaryNode } from 'baileys';
import * as C from 'baileys/lib/WABinary/constants.js';
import { toJson, corpus, randomTree } from './lib.mjs';
import { noiseVector } from './gen-noise.mjs';
import { pairVectors } from './gen-pair.mjs';
import { messageVectors } from './gen-messages.mjs';

const VEC = new URL('../../connector/wa-proto/tests/vectors/', import.meta.url);
const tokens = [...C.SINGLE_BYTE_TOKENS.slice(1), ...C.DOUBLE_BYTE_TOKENS.flat()];
const write = (name, obj) => writeFileSync(new URL(name, VEC), JSON.stringify(obj, null, 1) + '\n');

async function nodes() {
  const entry = async (node, extra = {}) => {
    const bytes = encodeBinaryNode(node);
    const decoded = await decodeBinaryNode(bytes);
    return { ...extra, hex: bytes.toString('hex'), tree: toJson(decoded) };
  };
  const sample = await entry({ tag: 'iq', attrs: { id: '123-45.6', to: 's.whatsapp.net', type: 'get', xmlns: 'w:p' }, content: [{ tag: 'ping', attrs: {} }, { tag: 'enc', attrs: { v: '2', type: 'pkmsg' }, content: Buffer.from([1, 2, 3]) }] });
  const corpusVecs = [];
  for (const n of corpus()) corpusVecs.push(await entry(n));
  const random = [];
  for (let seed = 1; seed <= 400; seed++) random.push(await entry(randomTree(seed, tokens), { seed }));
  const wide = await entry({ tag: 'list', attrs: {}, content: Array.from({ length: 300 }, (_, i) => ({ tag: 'item', attrs: { id: String(i) } })) });
  // Compressed frames: flag 0x02 then zlib(deflate) of the node bytes.
  const compressed = [];
  for (const n of corpus().slice(0, 5)) {
    const plain = encodeBinaryNode(n);
    const frame = Buffer.concat([Buffer.from([2]), deflateSync(plain.subarray(1))]);
    compressed.push({ hex: frame.toString('hex'), tree: toJson(await decodeBinaryNode(frame)) });
  }
  // BINARY_32: 1 MiB + 5 bytes of content i % 251; only a digest is frozen.
  const bigLen = (1 << 20) + 5;
  const big = Buffer.from(Array.from({ length: bigLen }, (_, i) => i % 251));
  const bigBytes = encodeBinaryNode({ tag: 'media', attrs: { type: 'image' }, content: big });
  const { createHash } = await import('node:crypto');
  const bigDecoded = await decodeBinaryNode(bigBytes);
  if (!Buffer.from(bigDecoded.content).equals(big)) throw new Error('oracle BINARY_32 round trip failed');
  write('nodes.json', {
    oracle: 'baileys@6.7.21',
    note: 'hex = oracle encodeBinaryNode (leading 0 flag byte); tree = oracle decodeBinaryNode of hex. Random trees: mulberry32(seed), see tests/oracle/lib.mjs.',
    sample, corpus: corpusVecs, random, wide, compressed,
    big: { len: bigLen, pattern: 'i % 251', sha256: createHash('sha256').update(bigBytes).digest('hex'), head: bigBytes.subarray(0, 16).toString('hex') },
  });
  console.log(`nodes: ${corpusVecs.length} corpus, ${random.length} random, ${compressed.length} compressed`);
}

const which = process.argv[2] || 'all';
if (which === 'all' || which === 'nodes') await nodes();
if (which === 'all' || which === 'noise') {
  write('noise.json', await noiseVector());
  console.log('noise: handshake transcript written');
}
if (which === 'all' || which === 'pair') {
  write('pair.json', await pairVectors());
  console.log('pair: pairing vectors written');
}
if (which === 'all' || which === 'messages') {
  write('messages.json', messageVectors());
  console.log('messages: protobuf vectors written');
}
