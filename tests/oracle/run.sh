#!/usr/bin/env bash
# Oracle driver for wa-proto (test tool only; Baileys is never a product dependency).
#   ./run.sh install   install the pinned oracle into tests/oracle/node_modules (gitignored)
#   ./run.sh tokens    regenerate the token dictionaries (crate data + fixture)
#   ./run.sh vectors   regenerate the frozen JSON vectors under connector/wa-proto/tests/vectors
#   ./run.sh live      regenerate, run the frozen tests, then have the oracle decode/verify OUR bytes
#   ./run.sh bench     criterion bench of our node encode+decode vs the oracle on the same corpus
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/root/.cache/wa-gateway/target-proto}"
cd "$here"
install() {
  if [ ! -d node_modules/baileys ]; then
    npm install --no-audit --no-fund --ignore-scripts
  fi
}
mkdir -p scratch
case "${1:-live}" in
  install) install ;;
  tokens) install; node gen-tokens.mjs ;;
  vectors) install; node gen-vectors.mjs all ;;
  live)
    install
    node gen-vectors.mjs all
    (cd "$root" && cargo test -p wa-proto)
    (cd "$root" && cargo run -q -p wa-proto --example oracle_emit -- "$here/scratch/ours.json")
    node check-live.mjs "$here/scratch/ours.json"
    ;;
  bench)
    install
    (cd "$root" && cargo bench -p wa-proto --bench nodes -- --noplot)
    node bench.mjs "$CARGO_TARGET_DIR/criterion/nodes_corpus/encode_decode/new/estimates.json"
    ;;
  *) echo "usage: $0 install|tokens|vectors|live|bench" >&2; exit 2 ;;
esac
