//! Live monitoring: the alarm rises inside the anomalous part of a stream and not in its normal part, and an hour
//! of stream does not grow the monitor's memory.

use asd::audio::synth::{SynthConfig, SynthLayout, generate};
use asd::data::{Condition, Dataset, Selection, Split};
use asd::detector::{Detector, GroupName};
use asd::monitor::{Monitor, MonitorConfig};
use asd::scorers::Threshold;
use asd::{RunConfig, RunOptions, System, run};
use std::path::Path;
use std::sync::Mutex;

/// The memory test reads the process's resident memory: the tests of this file run one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A training-free detector (raw log-Mel statistics, KNN) of one synthetic fan with faults at twice the
/// benchmark's strongest, 2-s windows, thresholds at a 5 % false-alarm rate; returns the data root too.
fn detector(dir: &Path) -> (Detector, std::path::PathBuf) {
    let data = dir.join("data");
    let synth = SynthConfig {
        layout: SynthLayout::Dcase2020,
        types: 1,
        ids: 1,
        train: 60,
        test: 24,
        seconds: 2.0,
        seed: 9,
        supplemental: None,
        severity: Some(2.0),
    };
    generate(&synth, &data, &mut |_, _| {}).expect("synthetic data");
    let mut config = RunConfig::preset(System::RAW_LOGMEL);
    config.clip_seconds = 2.0;
    config.scoring.threshold = Threshold::FalseAlarm { rate: 0.05 };
    let out = dir.join("run");
    run(&config, &data, &out, &RunOptions::default(), &()).expect("run");
    (Detector::load(&out).expect("detector"), data)
}

/// The samples of the test clips of one condition, one after another.
fn concatenated(data: &Path, condition: Condition) -> Vec<f32> {
    let clips = Dataset::open(data)
        .unwrap()
        .select(&Selection::new().with_split(Split::Test).with_condition(condition));
    clips
        .iter()
        .flat_map(|c| asd::audio::load_16k(&c.path).unwrap().samples)
        .collect()
}

/// Criterion: on a stream of the machine's normal test clips followed by its anomalous ones (2-s windows and
/// hops, so each window is one clip: the synthetic clips differ in gain and noise level, and a window across two
/// of them is itself unusual; alarm 3 of 5), fed in uneven chunks, the alarm is never raised in the normal part,
/// is raised in the anomalous part, hops come every 2 s with `t` the end of each window, and every decision is
/// `score > threshold`.
#[test]
fn the_alarm_rises_in_the_anomalous_part_only() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let tmp = tempfile::tempdir().unwrap();
    let (detector, data) = detector(tmp.path());
    let normal = concatenated(&data, Condition::Normal);
    let anomalous = concatenated(&data, Condition::Anomaly);
    let boundary = normal.len() as f64 / 16_000.0;
    let stream: Vec<f32> = normal.into_iter().chain(anomalous).collect();
    let group: GroupName = "fan/id_00".parse().unwrap();
    let config = MonitorConfig {
        hop_seconds: 2.0,
        ..MonitorConfig::default()
    };
    let mut monitor = Monitor::new(&detector, group.into(), config).unwrap();
    let mut hops = Vec::new();
    for chunk in stream.chunks(1_000 + 537) {
        hops.extend(monitor.push(chunk).unwrap());
    }
    assert_eq!(hops.len(), stream.len() / 32_000, "one hop per window");
    for (i, hop) in hops.iter().enumerate() {
        assert!((hop.t - 2.0 * (1 + i) as f64).abs() < 1e-9);
        assert_eq!(hop.decision == 1, hop.score > hop.threshold);
    }
    let normal_alarms = hops.iter().filter(|h| h.t <= boundary && h.alarm).count();
    let anomalous_alarms = hops.iter().filter(|h| h.t > boundary && h.alarm).count();
    let flagged = |from: f64, to: f64| {
        let part: Vec<_> = hops.iter().filter(|h| h.t > from && h.t <= to).collect();
        part.iter().filter(|h| h.decision == 1).count() as f64 / part.len() as f64
    };
    eprintln!(
        "normal part: {:.2} of windows anomalous, {normal_alarms} alarmed hops; anomalous part: {:.2}, \
         {anomalous_alarms} alarmed hops",
        flagged(0.0, boundary),
        flagged(boundary, f64::INFINITY)
    );
    assert_eq!(normal_alarms, 0, "false alarm in the normal part");
    assert!(anomalous_alarms > 0, "no alarm in the anomalous part");
}

/// Resident memory of this process in bytes (Linux `/proc/self/statm`: pages × 4096).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Criterion: an hour of stream (3600 windows scored) leaves the monitor's buffers at their size after the first
/// window, and the process's resident memory grows by less than 16 MB between minute 10 and minute 60.
#[test]
fn an_hour_of_stream_does_not_grow_memory() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let tmp = tempfile::tempdir().unwrap();
    let (detector, data) = detector(tmp.path());
    let normal = concatenated(&data, Condition::Normal);
    let group: GroupName = "fan/id_00".parse().unwrap();
    let mut monitor = Monitor::new(&detector, group.into(), MonitorConfig::default()).unwrap();
    let (mut hops, mut buffered, mut at_ten) = (0usize, None, None);
    let second = 16_000;
    for s in 0..3_600 {
        let start = (s * second) % (normal.len() - second);
        hops += monitor.push(&normal[start..start + second]).unwrap().len();
        let now = monitor.buffered_samples();
        assert_eq!(*buffered.get_or_insert(now), now, "buffers grew at second {s}");
        if s == 600 {
            at_ten = resident_bytes();
        }
    }
    assert_eq!(hops, 3_599);
    if let (Some(before), Some(after)) = (at_ten, resident_bytes()) {
        eprintln!("resident memory: {before} B at 10 min, {after} B at 60 min");
        assert!(
            after < before + (16 << 20),
            "memory grew from {before} to {after} bytes"
        );
    }
}
