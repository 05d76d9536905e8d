// Media vectors from the oracle: Baileys 6.7.21 `encryptedStream` encrypts deterministic
// plaintexts (AES-256-CTR keystream of zeros under sha256("wa-proto media <seed>"), so
// the Rust test regenerates them instead of storing files). The vector keeps the random
// media key Baileys chose and the hashes/MAC it reported; small bodies are kept whole.
import { createHash, createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { readFileSync, unlinkSync, writeFileSync, createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';

const hex = (b) => Buffer.from(b).toString('hex');

/** The deterministic plaintext stream for `seed`, `len` bytes, in chunks. */
export function plainStream(seed, len, chunk = 1 << 20) {
  const key = createHash('sha256').update(`wa-proto media ${seed}`).digest();
  const ctr = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  let left = len;
  return Readable.from((function* () {
    while (left > 0) {
      const n = Math.min(chunk, left);
      left -= n;
      yield ctr.update(Buffer.alloc(n));
    }
  })());
}

export const TYPES = ['image', 'video', 'audio', 'document', 'sticker', 'ptt', 'gif', 'thumbnail-image', 'thumbnail-video', 'thumbnail-document', 'thumbnail-link', 'md-msg-hist', 'md-app-state', 'payment-bg-image'];

/** Encrypts with Baileys; returns the vector entry (and leaves the file for the caller). */
export async function baileysEncrypt(B, type, seed, len) {
  const r = await B.encryptedStream({ stream: plainStream(seed, len) }, type, {});
  return {
    type, seed, len,
    media_key: hex(r.mediaKey), mac: hex(r.mac),
    file_sha256: hex(r.fileSha256), file_enc_sha256: hex(r.fileEncSha256), file_length: r.fileLength,
    encFilePath: r.encFilePath,
  };
}

/** Baileys ends its write stream without waiting: wait until the file is complete. */
export async function settled(path, len) {
  const want = Math.floor(len / 16) * 16 + 16 + 10;
  for (let i = 0; i < 2000; i++) {
    try { if (statSync(path).size === want) return; } catch {}
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`encrypted file ${path} never reached ${want} bytes`);
}

/** Baileys' key logic + node's AES-CBC: decrypts and verifies an encrypted file. */
export async function baileysDecryptFile(B, type, mediaKey, path) {
  const { cipherKey, iv, macKey } = await B.getMediaKeys(Buffer.from(mediaKey, 'hex'), type);
  const aes = createDecipheriv('aes-256-cbc', cipherKey, iv);
  const hmac = createHmac('sha256', macKey).update(iv);
  const plainHash = createHash('sha256'), encHash = createHash('sha256');
  let tail = Buffer.alloc(0), len = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    encHash.update(chunk);
    const all = Buffer.concat([tail, chunk]);
    const body = all.subarray(0, Math.max(0, all.length - 10));
    tail = all.subarray(body.length);
    hmac.update(body);
    const p = aes.update(body); plainHash.update(p); len += p.length;
  }
  const p = aes.final(); plainHash.update(p); len += p.length;
  const macOk = hmac.digest().subarray(0, 10).equals(tail);
  return { macOk, file_sha256: hex(plainHash.digest()), file_enc_sha256: hex(encHash.digest()), file_length: len };
}

export async function mediaVectors() {
  const B = await import('baileys');
  const cases = [];
  const sizes = [0, 1, 15, 16, 17, 31, 32, 33, 1000, 65536 + 3, 300001];
  let seed = 1;
  for (const type of TYPES) {
    for (const len of (type === 'image' || type === 'video' ? sizes : [0, 17, 5000])) {
      const v = await baileysEncrypt(B, type, seed++, len);
      await settled(v.encFilePath, len);
      const body = readFileSync(v.encFilePath);
      unlinkSync(v.encFilePath);
      delete v.encFilePath;
      if (len <= 64) v.body = hex(body);
      cases.push(v);
    }
  }
  return { cases };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const v = await mediaVectors();
  writeFileSync(new URL('../../connector/wa-proto/tests/vectors/media.json', import.meta.url), JSON.stringify(v, null, 1) + '\n');
  console.log(`media.json: ${v.cases.length} cases`);
}
