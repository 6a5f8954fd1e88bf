//! Ctrl-C during `asd train` (Unix: SIGINT): the command finishes the training step, writes a checkpoint, exits
//! with code 130 and prints the command line that resumes; that command continues the run to its end.
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
