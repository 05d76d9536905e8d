//! `wa-connector`: the gateway's one long-lived process (the binary's edge: parse the
//! command line, start the runtime, report errors in one line). Everything else is
//! in the library.

use std::process::ExitCode;

use clap::Parser;
use wa_connector::{config, serve};

fn main() -> ExitCode {
    let cli = match config::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return report_cli_error(error),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        config::Command::Serve(config) => runtime.block_on(serve::run(config)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line that says what failed and why, with its causes; no backtrace.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `--help` and `--version` print as usual; a bad setting is one line.
fn report_cli_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            ExitCode::from(2)
        }
        _ => {
            let rendered = error.render().to_string();
            let first = rendered
                .lines()
                .next()
                .unwrap_or("error: invalid arguments");
            match env_var_of(&error) {
                Some(variable) => {
                    eprintln!("{first} (flag or env {variable}; see `wa-connector serve --help`)")
                }
                None => eprintln!("{first} (see `wa-connector serve --help`)"),
            }
            ExitCode::from(2)
        }
    }
}

/// The environment variable behind the argument a clap error names, so that a
/// bad value set in the environment is traced back to its variable.
fn env_var_of(error: &clap::Error) -> Option<String> {
    use clap::CommandFactory;
    use clap::error::{ContextKind, ContextValue};
    let ContextValue::String(invalid) = error.get(ContextKind::InvalidArg)? else {
        return None;
    };
    let long = invalid.trim_start_matches('-').split([' ', '=']).next()?;
    let command = config::Cli::command();
    command
        .get_subcommands()
        .flat_map(|sub| sub.get_arguments())
        .find(|arg| arg.get_long() == Some(long))
        .and_then(|arg| arg.get_env())
        .map(|env| env.to_string_lossy().into_owned())
}
