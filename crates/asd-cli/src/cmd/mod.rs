//! One module per subcommand: clap arguments (`Args`) and `run`.

pub mod evaluate;
pub mod features;
pub mod index;
pub mod run;
pub mod scorer;
pub mod synth;

/// Parses a command-line value through the type's serde name (the names of `spec/cli.md`), so the CLI
/// and TOML configs accept exactly the same spellings.
pub(crate) fn serde_name<T: serde::de::DeserializeOwned>(s: &str) -> std::result::Result<T, String> {
    T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(s)).map_err(|e| e.to_string())
}
