//! Replays the fuzzers' found cases and seeds (`fuzz/regressions/<target>/`, see `fuzz/README.md`) through the
//! same input functions the fuzz binaries call: every case must now return without a panic, an abort or an
//! allocation the machine cannot give, and every seed (`seed-*`, a valid input) must be accepted. Runs in `.ci/run` with the rest of the tests; the fuzzers themselves
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
            // Seeds are valid inputs (proof that the target reaches its reader's success path); found cases and
            // other files may go either way.
            let seed = case
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seed-"));
            assert!(
                accepted || !seed,
                "{target}: the valid seed {} is refused",
                case.display()
            );
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no case under {}", root.display());
}
