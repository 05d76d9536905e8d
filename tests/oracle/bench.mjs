// Oracle side of the node benchmark: encode+decode of the same corpus the criterion
// bench uses, then the ratio against criterion's estimate (path given as argv[2]).
import { readFileSync, existsSync } from 'node:fs';
import { encodeBinaryNode, decodeDecompressedBinaryNode } from 'baileys';
import * as constants from 'baileys/lib/WABinary/constants.js';

const vec = JSON.parse(readFileSync(new URL('../../connector/wa-proto/tests/vectors/nodes.json', import.meta.url), 'utf8'));
const nodes = vec.corpus.map((c) => decodeDecompressedBinaryNode(Buffer.from(c.hex, 'hex').subarray(1), constants));
const round = () => {
  for (const n of nodes) {
    const enc = encodeBinaryNode(n);
    decodeDecompressedBinaryNode(enc.subarray(1), constants);
  }
};
for (let i = 0; i < 2000; i++) round(); // warm-up (JIT)
let iters = 0;
const start = process.hrtime.bigint();
let elapsed = 0n;
while (elapsed < 3_000_000_000n) {
  for (let i = 0; i < 100; i++) round();
  iters += 100;
  elapsed = process.hrtime.bigint() - start;
}
const oracleNs = Number(elapsed) / iters;
console.log(`oracle (baileys@6.7.21, node ${process.version}): ${(oracleNs / 1000).toFixed(1)} µs per corpus round (${nodes.length} stanzas)`);
const est = process.argv[2];
if (est && existsSync(est)) {
  const oursNs = JSON.parse(readFileSync(est, 'utf8')).mean.point_estimate;
  console.log(`ours (criterion mean): ${(oursNs / 1000).toFixed(1)} µs per corpus round`);
  console.log(`ratio: wa-proto is ${(oracleNs / oursNs).toFixed(1)}x the oracle's throughput (goal >= 5x)`);
} else {
  console.log('criterion estimate not found; run `cargo bench -p wa-proto --bench nodes` first');
}
