//! Latency of live monitoring: one hop of `asd::monitor::Monitor` (score the last window of a 16-kHz stream and
//! update the alarm) for each system, window = the preset's clip (10 s; ASDNet and SpecMFN score it as 2-s
//! segments), hop 1 s. 1 s divided by a hop's time is how many streams the threads the bench ran with can watch
//! in real time (`RAYON_NUM_THREADS=1` for one core).
//!
//! Each system's detector comes from `asd::run` on a tiny synthetic set (2 machine types, 4 training clips of
//! 10 s, one epoch): the weights do not matter for the latency, only the work per hop. The bench binary uses
//! mimalloc, as the `asd` binary does.

use asd::audio::synth::{SynthConfig, generate};
use asd::detector::{Detector, GroupName};
use asd::monitor::{Monitor, MonitorConfig};
use asd::{RunConfig, RunOptions, System};
use criterion::{Criterion, criterion_group, criterion_main};
use std::time::Duration;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Samples per second of the stream.
const RATE: usize = 16_000;

fn hop(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let data = dir.path().join("data");
    let synth = SynthConfig {
        types: 2,
        ids: 1,
        train: 4,
        test: 1,
        seconds: 10.0,
        ..SynthConfig::default()
    };
    generate(&synth, &data, &mut |_, _| {}).expect("synthetic data");
    let stream = asd::audio::load_16k(&data.join("fan/test/normal_id_00_00000000.wav"))
        .expect("a clip")
        .samples;
    let mut group = c.benchmark_group("monitor-hop");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    for system in [
        System::RAW_LOGMEL,
        System::ASDNET,
        System::SPECMFN,
        System::LOGMEL_MFN,
        System::STGRAM_MFN,
        System::NERI_ATTENTION,
    ] {
        let out = dir.path().join(system.name());
        let config = RunConfig::preset(system).with_epochs(1);
        asd::run(&config, &data, &out, &RunOptions::default(), &()).expect("a detector");
        let detector = Detector::load(&out).expect("the run folder is a detector");
        let group_name: GroupName = "fan/id_00".parse().expect("a group");
        let mut monitor = Monitor::new(&detector, group_name.into(), MonitorConfig::default()).expect("a monitor");
        // Fill the window once; every further second of samples is one hop.
        monitor.push(&stream).expect("the first window");
        let mut at = 0;
        group.bench_function(system.name(), |b| {
            b.iter(|| {
                let second = &stream[at..at + RATE];
                at = (at + RATE) % (stream.len() - RATE);
                let hops = monitor.push(second).expect("a hop");
                assert_eq!(hops.len(), 1);
                hops
            });
        });
    }
    group.finish();
}

criterion_group!(benches, hop);
criterion_main!(benches);
