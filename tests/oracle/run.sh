#!/usr/bin/env bash
# Oracle driver for wa-proto (test tool only; Baileys is never a product dependency).
#   ./run.sh install   install the pinned oracle into tests/oracle/node_modules (gitignored)
#   ./run.sh tokens    regenerate the token dictionaries (crate data + fixture)
#   ./run.sh vectors   regenerate the frozen JSON vectors under connector/wa-proto/tests/vectors
#   ./run.sh live      regenerate, run the frozen tests, then have the oracle decode/verify OUR bytes
#   ./run.sh bench     criterion bench of our node encode+decode vs the oracle on the same corpus
#   ./run.sh crypto-vectors  regenerate signal.json, media.json, appstate.json,
#                            appstate_snapshot.json (libsignal/Baileys)
#   ./run.sh crypto-live     regenerate the crypto vectors, run the frozen tests, then the
#                            two-way live check (our Signal/group/media/app-state outputs
#                            consumed by libsignal/Baileys, media up to 65 MiB + 3 streamed)
#   ./run.sh bench-crypto    criterion Signal/media benches beside libsignal/Baileys and
#                            openssl speed; prints the ratios, then the media peak RSS
#                            for 1 MiB vs 256 MiB (examples/media_memory.rs)
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
  crypto-vectors) install; node gen-signal.mjs; node gen-media.mjs; node gen-appstate.mjs; node gen-appstate-snapshot.mjs ;;
  crypto-live)
    install
    node gen-signal.mjs; node gen-media.mjs; node gen-appstate.mjs; node gen-appstate-snapshot.mjs
    (cd "$root" && cargo test -p wa-proto --test signal_oracle --test media_oracle --test appstate_oracle --test appstate_snapshot_oracle --test signal_props)
    (cd "$root" && cargo build -q -p wa-proto --release --example crypto_peer)
    node check-crypto-live.mjs "$CARGO_TARGET_DIR/release/examples/crypto_peer"
    ;;
  bench-crypto)
    install
    (cd "$root" && cargo bench -p wa-proto --bench crypto --no-run)
    node bench-crypto.mjs --floor-only "$CARGO_TARGET_DIR/openssl-floor-before.json"
    (cd "$root" && cargo bench -p wa-proto --bench crypto -- --noplot)
    node bench-crypto.mjs "$CARGO_TARGET_DIR"
    (cd "$root" && cargo build -q -p wa-proto --release --example media_memory)
    echo "media peak RSS (VmHWM), encrypt streamed into decrypt, nothing kept:"
    for mib in 1 256; do for par in one two; do
      "$CARGO_TARGET_DIR/release/examples/media_memory" "$mib" "$par"
    done; done
    ;;
  *) echo "usage: $0 install|tokens|vectors|live|bench|crypto-vectors|crypto-live|bench-crypto" >&2; exit 2 ;;
esac
