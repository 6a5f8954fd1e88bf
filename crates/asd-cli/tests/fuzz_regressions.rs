//! Replays the fuzzers' found cases (`fuzz/regressions/<target>/`, see `fuzz/README.md`) through the same input
//! functions the fuzz binaries call: every case must now return (accepted or refused) without a panic, an abort
//! or an allocation the machine cannot give. Runs in `.ci/run` with the rest of the tests; the fuzzers themselves
//! need nightly Rust and run by hand.

#[path = "../../../fuzz/fuzz_targets/inputs.rs"]
mod inputs;

use std::path::Path;

#[test]
fn found_cases_of_every_target_are_handled() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions");
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut replayed = 0;
    for (target, run) in inputs::TARGETS {
        let dir = root.join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut cases: Vec<_> = entries.map(|e| e.expect("entry").path()).collect();
        cases.sort();
        for case in cases {
            let data = std::fs::read(&case).expect("case");
            let accepted = std::panic::catch_unwind(|| run(scratch.path(), &data))
                .unwrap_or_else(|_| panic!("{target}: {} panics", case.display()));
            println!(
                "{target}: {} {}",
                case.display(),
                if accepted { "accepted" } else { "refused" }
            );
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no case under {}", root.display());
}
