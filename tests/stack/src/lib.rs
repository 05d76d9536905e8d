//! Cross-part tests of the gateway's stack; the tests live in `tests/`.
