//! Project automation, run as `cargo xtask <command>`.
//!
//! - `serve`: build what the embedded default needs (the WebAssembly components
//!   and the connector) and start the connector on port 3000 with SQLite and a
//!   local media folder. Arguments after `--` go to `wa-connector serve`.
//! - `test`: install and start what the tests need (WASM toolchain, PostgreSQL,
//!   an S3-compatible server, ffmpeg, the `wasmtime` CLI), then run the whole
//!   test suite.
//! - `bench`: run every benchmark (criterion and load benchmarks against the
//!   running server) and write one report with same-run baselines.
//! - `build-components`: build the WebAssembly components only.
//! - `package-lambdas`: build the AWS Lambda functions in release and zip each
//!   as `bootstrap` into `target/lambda/<function>.zip`.
//!
//! It depends on nothing but `std`, so that `cargo xtask` starts in seconds on a
//! fresh clone.

mod bench;
mod components;
mod context;
mod install;
mod lambdas;
mod serve;
mod services;
mod test;
mod zip;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  serve [--release] [-- <wa-connector serve args>]
                      build the components and the connector, then serve the
                      API on http://127.0.0.1:3000 (SQLite + local media folder)
  test [-- <test runner args>]
                      install/start what the tests need, then run every test
  bench [--quick] [--only <name>,…] [--out <file>]
                      run the benchmarks (load tests against the running
                      server, criterion suites) and write a report with
                      same-run baselines to <target>/bench-report.md
  build-components [--release]
                      build the WebAssembly components (wasm32-wasip2)
  package-lambdas [--target <triple>] [--out-dir <dir>]
                      build the Lambda functions (release, host target by
                      default) and zip each as `bootstrap`:
                      target/lambda/webhook-fanout.zip, media-transcode.zip;
                      another target needs its std (`rustup target add`) and
                      a linker (CARGO_TARGET_<TRIPLE>_LINKER)

environment:
  CARGO_TARGET_DIR    where builds go (default: ./target; on CI,
                      ~/.cache/wa-gateway/target so that runs share a cache)
";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(command) = args.next() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest: Vec<String> = args.collect();
    let result = match command.as_str() {
        "serve" => serve::run_serve(&rest),
        "test" => test::run(&rest),
        "package-lambdas" => lambdas::run_package(&rest),
        "bench" => bench::run(&rest),
        "build-components" => context::Context::new().and_then(|cx| {
            let release = rest.iter().any(|arg| arg == "--release");
            components::build(&cx, release).map(|_| ())
        }),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => {
            eprintln!("xtask: unknown command `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error}");
            ExitCode::FAILURE
        }
    }
}

/// What every xtask step returns: a one-line, human-readable failure.
pub type Result<T = ()> = std::result::Result<T, String>;
