//! Ctrl-C during `asd train` (Unix: SIGINT): the command finishes the training step, writes a checkpoint, exits
//! with code 130 and prints the command line that resumes; that command continues the run to its end. Ctrl-C during
//! `asd monitor` stops the stream cleanly (code 0, a summary).
#![cfg(unix)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Lines of the run's `train_log.csv` (0 before it exists).
fn log_lines(run: &Path) -> usize {
    std::fs::read_to_string(run.join("train_log.csv")).map_or(0, |t| t.lines().count())
}

#[test]
fn ctrl_c_checkpoints_and_the_printed_command_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, run) = (dir.path().join("data"), dir.path().join("run"));
    let synth = Command::new(env!("CARGO_BIN_EXE_asd"))
        .args([
            "synth",
            "--out",
            p(&data),
            "--types",
            "2",
            "--ids",
            "1",
            "--train",
            "8",
            "--test",
            "2",
        ])
        .args(["--seconds", "2"])
        .output()
        .expect("asd synth runs");
    assert!(synth.status.success(), "{}", String::from_utf8_lossy(&synth.stderr));

    const EPOCHS: usize = 10;
    let epochs = EPOCHS.to_string();
    let args = [
        "train",
        "--system",
        "asdnet",
        "--data",
        p(&data),
        "--out",
        p(&run),
        "--epochs",
        &epochs,
    ];
    let child = Command::new(env!("CARGO_BIN_EXE_asd"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("asd train starts");
    // Once the first epoch is logged, interrupt.
    let started = Instant::now();
    while log_lines(&run) < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no epoch logged in 5 minutes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let out = child.wait_with_output().expect("asd train ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let done = log_lines(&run) - 1;
    assert!(done < EPOCHS, "stopped before the end: {done} epochs");
    assert!(run.join("checkpoints/latest.ckpt").is_file());
    let resume = stderr
        .lines()
        .find_map(|l| l.split("Continue with: ").nth(1))
        .unwrap_or_else(|| panic!("no resume command in: {stderr}"));
    for part in [
        "asd train",
        "--system asdnet",
        "--epochs 10",
        &format!("--out {}", p(&run)),
        "--resume",
    ] {
        assert!(resume.contains(part), "{part} missing from: {resume}");
    }

    let resumed = Command::new(env!("CARGO_BIN_EXE_asd"))
        .args(resume.split(' ').skip(1))
        .output()
        .expect("the resume command runs");
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    assert_eq!(log_lines(&run), 1 + EPOCHS, "the resumed run logs every epoch once");
}

/// Runs `asd` with `args`, failing the test with its standard error when it fails.
fn asd_ok(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_asd"))
        .args(args)
        .output()
        .expect("asd runs");
    assert!(
        out.status.success(),
        "asd {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Criterion (issue 18): `asd monitor` feeding a 30-s file at real speed stops within a second of Ctrl-C, with exit
/// code 0, the hops so far on standard output and its summary on standard error.
#[test]
fn ctrl_c_stops_the_monitor_cleanly() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, run) = (dir.path().join("data"), dir.path().join("run"));
    asd_ok(&[
        "synth",
        "--out",
        p(&data),
        "--types",
        "1",
        "--ids",
        "1",
        "--train",
        "8",
        "--test",
        "1",
        "--seconds",
        "30",
    ]);
    let config = dir.path().join("raw.toml");
    std::fs::write(&config, "system = \"raw-logmel\"\nclip_seconds = 2.0\n").expect("config");
    asd_ok(&["run", "--config", p(&config), "--data", p(&data), "--out", p(&run)]);
    let stream = data.join("fan/test/normal_id_00_00000000.wav");
    let mut child = Command::new(env!("CARGO_BIN_EXE_asd"))
        .args(["monitor", "--run", p(&run), "--input", p(&stream), "--realtime"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("asd monitor starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a first hop").expect("utf-8");
    assert!(first.contains("\"t\":2.0"), "{first}");
    let interrupted = Instant::now();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let rest = lines.count();
    let out = child.wait_with_output().expect("asd monitor ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        interrupted.elapsed() < Duration::from_secs(1),
        "stopped {:?} after Ctrl-C",
        interrupted.elapsed()
    );
    assert!(rest < 28, "{rest} more hops: it did not stop");
    assert!(stderr.contains("windows scored"), "{stderr}");
}
