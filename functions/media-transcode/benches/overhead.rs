//! What our wrapper costs: each operation through [`Transcoder`] against the
//! very same ffmpeg command line run bare with `std::process::Command`, on the
//! same generated input. The goal is an overhead of at most 5 %.
//!
//! Criterion reports each side; at the end, interleaved pairs (so both sides
//! see the same machine load) give the median ratio, printed per operation.
//! Run with `cargo bench -p media-transcode --bench overhead`.

use std::{
    hint::black_box,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use criterion::{Criterion, criterion_group};
use media_transcode::{FfmpegBinary, Job, Transcoder, VideoOptions, VoiceNoteOptions};

/// Interleaved pairs measured for the printed ratio.
const PAIRS: usize = 15;

/// Generates an input with ffmpeg's lavfi sources.
fn generate(args: &[&str], output: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y"])
        .args(args)
        .arg(output)
        .status()
        .expect("ffmpeg on PATH");
    assert!(status.success(), "generating {}", output.display());
}

/// The two sides of one comparison.
struct Case {
    name: &'static str,
    job: Job,
}

fn cases(dir: &Path) -> Vec<Case> {
    let audio = dir.join("speech.wav");
    generate(
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=300:duration=5:sample_rate=44100",
        ],
        &audio,
    );
    let video = dir.join("clip.avi");
    generate(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=2:size=320x240:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=2",
            "-c:v",
            "mpeg4",
            "-c:a",
            "mp3",
            "-shortest",
        ],
        &video,
    );
    vec![
        Case {
            name: "voice_note",
            job: Job::VoiceNote {
                input: audio,
                output: dir.join("note.ogg"),
                options: VoiceNoteOptions::default(),
            },
        },
        Case {
            name: "video",
            job: Job::Video {
                input: video,
                output: dir.join("clip.mp4"),
                options: VideoOptions::default(),
            },
        },
    ]
}

fn run_ours(transcoder: &Transcoder, job: &Job) {
    black_box(transcoder.run(job).expect("transcoding succeeds"));
}

fn run_bare(transcoder: &Transcoder, job: &Job) {
    let status = transcoder
        .command_line(job)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("ffmpeg starts");
    assert!(status.success());
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn overhead(c: &mut Criterion) {
    let transcoder = Transcoder::new(FfmpegBinary::locate(None).expect("ffmpeg on PATH"));
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = cases(dir.path());
    for case in &cases {
        let mut group = c.benchmark_group(case.name);
        group
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4));
        group.bench_function("transcoder", |b| {
            b.iter(|| run_ours(&transcoder, &case.job))
        });
        group.bench_function("bare ffmpeg (baseline)", |b| {
            b.iter(|| run_bare(&transcoder, &case.job))
        });
        group.finish();
    }
    println!(
        "\n| operation | transcoder (median of {PAIRS}) | bare ffmpeg (median of {PAIRS}) | ratio | overhead |"
    );
    println!("|---|---|---|---|---|");
    for case in &cases {
        let (mut ours, mut bare) = (Vec::new(), Vec::new());
        for _ in 0..PAIRS {
            let started = Instant::now();
            run_bare(&transcoder, &case.job);
            bare.push(started.elapsed());
            let started = Instant::now();
            run_ours(&transcoder, &case.job);
            ours.push(started.elapsed());
        }
        let (ours, bare) = (median(ours), median(bare));
        println!(
            "| {} | {:.1} ms | {:.1} ms | {:.3} | {:+.1} % |",
            case.name,
            ours.as_secs_f64() * 1e3,
            bare.as_secs_f64() * 1e3,
            ours.as_secs_f64() / bare.as_secs_f64(),
            (ours.as_secs_f64() / bare.as_secs_f64() - 1.0) * 100.0,
        );
    }
    println!("\nInterleaved pairs (bare, then ours) so both sides see the same machine load.");
}

criterion_group!(benches, overhead);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
