//! Hosts the gateway's WebAssembly components in-process with wasmtime.
