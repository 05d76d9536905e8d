//! `cargo xtask test`: everything the suite needs, then the suite.

use std::process::Command;

use crate::Result;
use crate::components;
use crate::context::{Context, runs};
use crate::services::{self, Services};

pub fn run(args: &[String]) -> Result {
    let cx = Context::new()?;
    let runner_args: Vec<&String> = args.iter().skip_while(|arg| *arg != "--").skip(1).collect();

    services::ensure_ffmpeg()?;
    services::ensure_chromium()?;
    services::ensure_load_tools()?;
    let wasmtime_cli = services::ensure_wasmtime_cli()?;
    let components = components::build(&cx, true)?;
    let services = Services::start(&cx)?;

    let nextest = runs("cargo-nextest", "--version") || cargo_has_nextest(&cx);
    let mut tests = cx.cargo();
    if nextest {
        tests.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        tests.args(["test", "--workspace", "--no-fail-fast"]);
    }
    tests
        .args(&runner_args)
        // A test run rebuilds from a fresh clone: incremental state only
        // fills the shared target folder (gigabytes per run).
        .env("CARGO_INCREMENTAL", "0")
        .env("WA_HTTP_COMPONENT", &components.http_api)
        .env("WA_TEST_GUEST_COMPONENT", &components.test_guest)
        .env("WA_WEBHOOK_COMPONENT", &components.webhook_fanout)
        .env("WA_WASMTIME_CLI", &wasmtime_cli)
        .envs(services.env.iter().map(|(key, value)| (key, value)));

    if nextest {
        // nextest does not run doctests; run them first so the suite's last
        // line stays the summary of everything else.
        let mut doctests = cx.cargo();
        doctests
            .args(["test", "--workspace", "--doc", "--quiet"])
            .env("CARGO_INCREMENTAL", "0");
        crate::context::run(&mut doctests)?;
    }
    eprintln!("xtask: running the test suite");
    let status = tests
        .status()
        .map_err(|error| format!("cannot run the tests: {error}"))?;
    drop(services);
    if status.success() {
        Ok(())
    } else {
        Err(format!("tests failed ({status})"))
    }
}

fn cargo_has_nextest(cx: &Context) -> bool {
    let mut probe: Command = cx.cargo();
    probe
        .args(["nextest", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
