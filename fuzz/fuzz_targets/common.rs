//! What every fuzz binary shares: the scratch folder (in memory where the system has one) and the panic hook. A
//! panic the audio decoder's guard catches is not a finding (the hook stays quiet, as the `asd` binary's does);
//! any other panic aborts and is recorded.

#[path = "inputs.rs"]
#[allow(dead_code)] // each binary calls one target
pub mod inputs;

use std::path::PathBuf;

/// This process's scratch folder.
pub fn scratch() -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("asd-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// Installs the panic hook: quiet inside the decoder's guard, abort (a finding) elsewhere.
pub fn init() {
    std::panic::set_hook(Box::new(|info| {
        if !asd::audio::panic_is_guarded() {
            eprintln!("{info}");
            std::process::abort();
        }
    }));
}
