//! `cargo xtask bench`: every benchmark of the workspace, then one report.
//!
//! Two kinds of benchmark feed the report:
//!
//! * criterion benchmarks, run with `--output-format bencher` so their results
//!   are one line each; an entry whose name says `baseline` is the baseline of
//!   the entries of its group it resembles most, and each result is shown as a
//!   ratio against it;
//! * load benchmarks (a real `wa-connector serve` process, the simulator, wrk)
//!   that print their own markdown table, with its baseline measured in the
//!   same run; the report keeps everything from the table's first row on.
//!
//! The report goes to standard output and to `<target>/bench-report.md`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::Result;
use crate::components;
use crate::context::Context;
use crate::services::{self, Services};

/// How a benchmark's output becomes part of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    /// Criterion, one `test <id> ... bench: <ns> ns/iter (+/- <ns>)` line each.
    Criterion,
    /// The benchmark prints its own markdown table and notes.
    Table,
}

/// One `cargo bench` invocation.
#[derive(Debug)]
struct Bench {
    title: &'static str,
    package: &'static str,
    name: &'static str,
    output: Output,
    /// Arguments after `--`: (full run, `--quick` run).
    args: (&'static [&'static str], &'static [&'static str]),
}

const CRITERION_FULL: &[&str] = &["--warm-up-time", "1", "--measurement-time", "3"];
const CRITERION_QUICK: &[&str] = &["--warm-up-time", "1", "--measurement-time", "1"];

const BENCHES: &[Bench] = &[
    Bench {
        title: "Send path under load: POST /send/message (wrk against the running server)",
        package: "wa-connector",
        name: "api_load",
        output: Output::Table,
        args: (&["10", "16"], &["3", "16"]),
    },
    Bench {
        title: "Webhook deliveries per second, durability on",
        package: "wa-connector",
        name: "webhook_load",
        output: Output::Table,
        args: (&["500", "8"], &["150", "8"]),
    },
    Bench {
        title: "Resource use by daily volume (the connector process alone)",
        package: "wa-connector",
        name: "resources",
        output: Output::Table,
        args: (&["30", "400"], &["8", "150"]),
    },
    Bench {
        title: "Store writes: SQLite (synchronous=full is the baseline) and PostgreSQL",
        package: "wa-store",
        name: "writes",
        output: Output::Criterion,
        args: (CRITERION_FULL, CRITERION_QUICK),
    },
    Bench {
        title: "Webhook signing (HMAC-SHA256 over the body)",
        package: "webhook-core",
        name: "signing",
        output: Output::Criterion,
        args: (CRITERION_FULL, CRITERION_QUICK),
    },
    Bench {
        title: "Protocol encode/encrypt: Signal sessions and media encryption",
        package: "wa-proto",
        name: "crypto",
        output: Output::Criterion,
        args: (CRITERION_FULL, CRITERION_QUICK),
    },
    Bench {
        title: "Protocol encode/decode: binary nodes",
        package: "wa-proto",
        name: "nodes",
        output: Output::Criterion,
        args: (CRITERION_FULL, CRITERION_QUICK),
    },
    Bench {
        title: "Component instantiation per request",
        package: "wa-host",
        name: "instantiate",
        output: Output::Criterion,
        args: (CRITERION_FULL, CRITERION_QUICK),
    },
    Bench {
        title: "Media transcoding against bare ffmpeg",
        package: "media-transcode",
        name: "overhead",
        // Its interleaved pairs give a steadier ratio than two criterion runs.
        output: Output::Table,
        args: (CRITERION_FULL, CRITERION_QUICK),
    },
];

const USAGE: &str = "usage: cargo xtask bench [--quick] [--only <name>[,<name>…]] [--out <file>]";

/// Runs the benchmarks and writes the report.
pub fn run(args: &[String]) -> Result {
    let mut quick = false;
    let mut only: Option<Vec<String>> = None;
    let mut out: Option<PathBuf> = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--only" => {
                let names = args.next().ok_or(USAGE)?;
                only = Some(names.split(',').map(str::to_owned).collect());
            }
            "--out" => out = Some(args.next().ok_or(USAGE)?.into()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    let selected: Vec<&Bench> = BENCHES
        .iter()
        .filter(|b| {
            only.as_ref()
                .is_none_or(|names| names.iter().any(|n| n == b.name))
        })
        .collect();
    if selected.is_empty() {
        let names: Vec<&str> = BENCHES.iter().map(|b| b.name).collect();
        return Err(format!(
            "no benchmark selected; names: {}",
            names.join(", ")
        ));
    }

    let cx = Context::new()?;
    services::ensure_ffmpeg()?;
    services::ensure_load_tools()?;
    let components = components::build(&cx, true)?;
    let services = Services::start_only(&cx, &["postgres"])?;

    // Built first, each with the command that runs it (so no feature set
    // differs), to keep compile time out of the run time reported below.
    let mut build_times = Vec::new();
    for bench in &selected {
        eprintln!("xtask: building benchmark {}/{}", bench.package, bench.name);
        let started = Instant::now();
        crate::context::run(
            cx.cargo()
                .args([
                    "bench",
                    "-p",
                    bench.package,
                    "--bench",
                    bench.name,
                    "--no-run",
                ])
                .env("CARGO_INCREMENTAL", "0"),
        )?;
        build_times.push(started.elapsed());
    }

    let mut report = String::from("# Benchmark report\n\n");
    let _ = writeln!(
        report,
        "{} run; every ratio is against a baseline measured in the same run.",
        if quick { "Quick" } else { "Full" }
    );
    let mut run_times = Vec::new();
    for bench in &selected {
        eprintln!("xtask: benchmark {}/{}", bench.package, bench.name);
        let started = Instant::now();
        let mut cargo = cx.cargo();
        cargo
            .args(["bench", "-p", bench.package, "--bench", bench.name, "--"])
            .args(if quick { bench.args.1 } else { bench.args.0 })
            .env("CARGO_INCREMENTAL", "0")
            .env("WA_HTTP_COMPONENT", &components.http_api)
            .env("WA_WEBHOOK_COMPONENT", &components.webhook_fanout)
            .env("WA_TEST_GUEST_COMPONENT", &components.test_guest)
            .envs(services.env.iter().map(|(key, value)| (key, value)));
        if bench.output == Output::Criterion {
            cargo.args(["--output-format", "bencher"]);
        }
        // Progress stays on the terminal; only results are captured.
        cargo.stderr(std::process::Stdio::inherit());
        let stdout = crate::context::output(&mut cargo)
            .map_err(|error| format!("benchmark {} failed: {error}", bench.name))?;
        let _ = write!(
            report,
            "\n## {}\n\n`cargo bench -p {} --bench {}`\n\n",
            bench.title, bench.package, bench.name
        );
        report.push_str(&match bench.output {
            Output::Criterion => criterion_table(&stdout),
            Output::Table => printed_table(&stdout),
        });
        run_times.push(started.elapsed());
    }
    drop(services);
    report.push_str(&time_table(&selected, &build_times, &run_times));

    let path = out.unwrap_or_else(|| cx.target_dir.join("bench-report.md"));
    std::fs::write(&path, &report)
        .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    print!("{report}");
    eprintln!("xtask: report written to {}", path.display());
    Ok(())
}

/// How long each benchmark took to build and to run, with the totals.
fn time_table(benches: &[&Bench], built: &[Duration], ran: &[Duration]) -> String {
    let mut table = String::from(
        "\n## Run time of this report\n\n| benchmark | build | run |\n|---|---|---|\n",
    );
    for ((bench, build), run) in benches.iter().zip(built).zip(ran) {
        let _ = writeln!(
            table,
            "| {}/{} | {} | {} |",
            bench.package,
            bench.name,
            minutes(*build),
            minutes(*run)
        );
    }
    let total = |times: &[Duration]| minutes(times.iter().sum());
    let _ = writeln!(table, "| **total** | {} | {} |", total(built), total(ran));
    table
}

/// `2 min 05 s`, `45 s`.
fn minutes(time: Duration) -> String {
    let seconds = time.as_secs_f64().round() as u64;
    match seconds {
        s if s >= 60 => format!("{} min {:02} s", s / 60, s % 60),
        s => format!("{s} s"),
    }
}

/// One criterion result.
#[derive(Debug, Clone, PartialEq)]
struct Measured {
    id: String,
    nanos: f64,
    deviation: f64,
}

impl Measured {
    fn group(&self) -> &str {
        self.id.split('/').next().unwrap_or(&self.id)
    }

    fn is_baseline(&self) -> bool {
        self.id.contains("baseline")
    }
}

/// Parses criterion's `bencher` lines; a result printed twice counts once.
fn parse_bencher(stdout: &str) -> Vec<Measured> {
    let mut results: Vec<Measured> = Vec::new();
    for result in parse_bencher_lines(stdout) {
        match results.iter_mut().find(|r| r.id == result.id) {
            Some(earlier) => *earlier = result,
            None => results.push(result),
        }
    }
    results
}

fn parse_bencher_lines(stdout: &str) -> impl Iterator<Item = Measured> + '_ {
    stdout.lines().filter_map(|line| {
        let rest = line.strip_prefix("test ")?;
        let (id, measured) = rest.rsplit_once(" ... bench:")?;
        let mut numbers = measured
            .split(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.'))
            .filter(|s| !s.is_empty())
            .map(|s| s.replace(',', "").parse::<f64>());
        let nanos = numbers.next()?.ok()?;
        let deviation = numbers.next().and_then(|n| n.ok()).unwrap_or(0.0);
        Some(Measured {
            id: id.trim().to_owned(),
            nanos,
            deviation,
        })
    })
}

/// The baseline `result` is compared with: a `baseline` entry of its group,
/// the one sharing most of its name at both ends.
fn baseline_for<'a>(result: &Measured, all: &'a [Measured]) -> Option<&'a Measured> {
    all.iter()
        .filter(|b| b.is_baseline() && b.group() == result.group())
        .max_by_key(|b| common_prefix(&b.id, &result.id) + common_suffix(&b.id, &result.id))
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

fn common_suffix(a: &str, b: &str) -> usize {
    a.bytes()
        .rev()
        .zip(b.bytes().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// A markdown table of criterion results with their ratios.
fn criterion_table(stdout: &str) -> String {
    let results = parse_bencher(stdout);
    if results.is_empty() {
        return "(no results)\n".into();
    }
    let mut table = String::from("| benchmark | time | ± | vs baseline |\n|---|---|---|---|\n");
    for result in &results {
        let ratio = match baseline_for(result, &results) {
            Some(b) if b.id == result.id => "1.00× (baseline)".to_owned(),
            Some(b) => format!("{:.2}×", result.nanos / b.nanos),
            None => "–".to_owned(),
        };
        let _ = writeln!(
            table,
            "| {} | {} | {} | {ratio} |",
            result.id,
            duration(result.nanos),
            duration(result.deviation)
        );
    }
    table
}

/// `1.23 µs`, `45.6 ms`…
fn duration(nanos: f64) -> String {
    match nanos {
        n if n >= 1e9 => format!("{:.2} s", n / 1e9),
        n if n >= 1e6 => format!("{:.2} ms", n / 1e6),
        n if n >= 1e3 => format!("{:.2} µs", n / 1e3),
        n => format!("{n:.0} ns"),
    }
}

/// Everything a load benchmark printed from its table's first row on.
fn printed_table(stdout: &str) -> String {
    let lines: Vec<&str> = stdout.lines().collect();
    match lines.iter().position(|l| l.starts_with('|')) {
        Some(first) => lines[first..].join("\n") + "\n",
        None => "(no table printed)\n".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BENCHER: &str = "\
Gnuplot not found, using plotters backend
test store_writes/enqueue (POST /send/message)/sqlite (baseline) ... bench:      250,360 ns/iter (+/- 12,001)
test store_writes/commit (message received)/sqlite (baseline) ... bench:      300,000 ns/iter (+/- 9)
test store_writes/enqueue (POST /send/message)/postgres ... bench:      843,270 ns/iter (+/- 40,000)
test webhook_signing/unsigned headers (baseline)/1024 ... bench:          312 ns/iter (+/- 3)
test webhook_signing/signed (HMAC-SHA256)/1024 ... bench:        1,433 ns/iter (+/- 10)
test webhook_signing/unsigned headers (baseline)/65536 ... bench:          323 ns/iter (+/- 4)
test webhook_signing/signed (HMAC-SHA256)/65536 ... bench:       46,432 ns/iter (+/- 100)
test media/encrypt ... bench:       10,000 ns/iter (+/- 1)
";

    #[test]
    fn run_times_are_listed_with_their_totals() {
        let benches: Vec<&Bench> = BENCHES.iter().take(2).collect();
        let table = time_table(
            &benches,
            &[Duration::from_secs(125), Duration::from_millis(400)],
            &[Duration::from_secs(40), Duration::from_secs(30)],
        );
        assert!(
            table.contains("| wa-connector/api_load | 2 min 05 s | 40 s |"),
            "{table}"
        );
        assert!(
            table.contains("| wa-connector/webhook_load | 0 s | 30 s |"),
            "{table}"
        );
        assert!(
            table.contains("| **total** | 2 min 05 s | 1 min 10 s |"),
            "{table}"
        );
    }

    #[test]
    fn bencher_lines_parse_with_thousands_separators_and_slashes_in_names() {
        let results = parse_bencher(BENCHER);
        assert_eq!(results.len(), 8);
        assert_eq!(
            results[0],
            Measured {
                id: "store_writes/enqueue (POST /send/message)/sqlite (baseline)".into(),
                nanos: 250_360.0,
                deviation: 12_001.0,
            }
        );
        assert_eq!(results[4].nanos, 1_433.0);
        // Printed again (criterion's final summary): counted once, last value.
        let again =
            format!("{BENCHER}test media/encrypt ... bench:       12,000 ns/iter (+/- 1)\n");
        let results = parse_bencher(&again);
        assert_eq!(results.len(), 8);
        assert_eq!(results[7].nanos, 12_000.0);
    }

    #[test]
    fn each_result_is_compared_with_the_baseline_most_like_it() {
        let results = parse_bencher(BENCHER);
        let base = |i: usize| baseline_for(&results[i], &results).map(|b| b.id.as_str());
        // The PostgreSQL enqueue against the SQLite enqueue, not the commit.
        assert_eq!(
            base(2),
            Some("store_writes/enqueue (POST /send/message)/sqlite (baseline)")
        );
        // The signed 64 KiB body against the unsigned 64 KiB body.
        assert_eq!(
            base(6),
            Some("webhook_signing/unsigned headers (baseline)/65536")
        );
        assert_eq!(
            base(4),
            Some("webhook_signing/unsigned headers (baseline)/1024")
        );
        // No baseline in its group: shown without a ratio.
        assert_eq!(base(7), None);
    }

    #[test]
    fn criterion_table_shows_ratios() {
        let table = criterion_table(BENCHER);
        assert!(table.contains(
            "| store_writes/enqueue (POST /send/message)/postgres | 843.27 µs | 40.00 µs | 3.37× |"
        ));
        assert!(table.contains(
            "| webhook_signing/signed (HMAC-SHA256)/65536 | 46.43 µs | 100 ns | 143.75× |"
        ));
        assert!(table.contains("| media/encrypt | 10.00 µs | 1 ns | – |"));
        assert!(table.contains("1.00× (baseline)"));
        assert_eq!(criterion_table("no results here"), "(no results)\n");
    }

    #[test]
    fn printed_tables_keep_everything_from_the_first_row() {
        let stdout = "setting up\nlinked\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nnote after\n";
        assert_eq!(
            printed_table(stdout),
            "| a | b |\n|---|---|\n| 1 | 2 |\n\nnote after\n"
        );
        assert_eq!(printed_table("nothing"), "(no table printed)\n");
    }
}
