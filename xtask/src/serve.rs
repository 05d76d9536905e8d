//! `cargo xtask serve`: the embedded default, built and started in one step.

use crate::Result;
use crate::components;
use crate::context::{Context, run};

pub fn run_serve(args: &[String]) -> Result {
    let cx = Context::new()?;
    let release = args
        .iter()
        .take_while(|arg| *arg != "--")
        .any(|arg| arg == "--release");
    let connector_args: Vec<&String> = args.iter().skip_while(|arg| *arg != "--").skip(1).collect();

    let components = components::build(&cx, true)?;
    let mut build = cx.cargo();
    build.args(["build", "--package", "wa-connector"]);
    if release {
        build.arg("--release");
    }
    eprintln!("xtask: building the connector");
    run(&mut build)?;

    let binary = cx
        .target_dir
        .join(if release { "release" } else { "debug" })
        .join("wa-connector");
    let mut connector = std::process::Command::new(&binary);
    connector
        .current_dir(&cx.root)
        .arg("serve")
        .arg("--http-component")
        .arg(&components.http_api)
        .arg("--webhook-component")
        .arg(&components.webhook_fanout)
        .args(connector_args);
    eprintln!("xtask: starting {} (Ctrl-C stops it)", binary.display());
    exec(connector)
}

#[cfg(unix)]
fn exec(mut command: std::process::Command) -> Result {
    use std::os::unix::process::CommandExt;
    // Replace this process, so signals reach the connector directly.
    Err(format!("cannot start the connector: {}", command.exec()))
}

#[cfg(not(unix))]
fn exec(mut command: std::process::Command) -> Result {
    let status = command
        .status()
        .map_err(|error| format!("cannot start the connector: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the connector exited with {status}"))
    }
}
