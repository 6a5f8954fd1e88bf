//! One module per subcommand: clap arguments (`Args`) and `run`.

pub mod evaluate;
pub mod explain;
pub mod features;
pub mod import;
pub mod index;
pub mod infer;
pub mod info;
pub mod monitor;
pub mod run;
pub mod score;
pub mod scorer;
pub mod synth;
pub mod train;

/// Parses a command-line value through the type's serde name (the names of `spec/cli.md`), so the CLI
/// and TOML configs accept exactly the same spellings.
pub(crate) fn serde_name<T: serde::de::DeserializeOwned>(s: &str) -> std::result::Result<T, String> {
    T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(s)).map_err(|e| e.to_string())
}

/// The detector of the run folder `run` on `--device` and the `--group` given (TYPE/GROUP), checked to be one of
/// its groups.
///
/// # Errors
/// Usage errors for a malformed group or device and for a group the detector has no scorers for (its groups
/// named); the detector's own errors when it cannot be loaded.
pub(crate) fn open_detector(
    run: &std::path::Path,
    group: Option<&str>,
    device: &str,
) -> crate::error::Result<(asd::detector::Detector, Option<asd::detector::GroupName>)> {
    use crate::error::CliError;
    let group: Option<asd::detector::GroupName> = group
        .map(str::parse)
        .transpose()
        .map_err(|e: asd::Error| CliError::Usage(e.to_string()))?;
    let device = asd::pipeline::parse_device(device).map_err(|e| CliError::Usage(e.to_string()))?;
    let detector = asd::detector::Detector::load_on(run, &device)?;
    if let Some(g) = &group
        && !detector.groups().contains(g)
    {
        let known: Vec<String> = detector.groups().iter().map(ToString::to_string).collect();
        return Err(CliError::Usage(format!(
            "--group {g}: the detector has no scorers for it; its groups: {}",
            known.join(", ")
        )));
    }
    Ok((detector, group))
}

/// The parser of `--system`: the registry's names ([`asd::System::all`]) as clap's possible values, so the help
/// and the error for an unknown name list them.
pub(crate) fn system_parser() -> impl clap::builder::TypedValueParser<Value = asd::System> {
    use clap::builder::TypedValueParser;
    let names: Vec<&'static str> = asd::System::all().into_iter().map(asd::System::name).collect();
    // Every name clap accepts is a registered system's, so the lookup finds it.
    clap::builder::PossibleValuesParser::new(names)
        .map(|name: String| asd::System::from_name(&name).unwrap_or_default())
}

/// `--channels`: one of the channel policies by name.
fn channels_parser() -> impl clap::builder::TypedValueParser<Value = asd::audio::ChannelPolicy> {
    use clap::builder::TypedValueParser;
    // Every name clap accepts is a policy's, so the parse succeeds.
    clap::builder::PossibleValuesParser::new(asd::audio::ChannelPolicy::ALL.map(|p| p.as_str()))
        .map(|name: String| name.parse().unwrap_or_default())
}

/// The command line that continues an interrupted `asd train` / `asd run` (without `--resume`, which the
/// message adds).
pub(crate) fn resume_command(
    command: &str,
    config: &ConfigArgs,
    data: Option<&std::path::Path>,
    out: &std::path::Path,
) -> String {
    let mut line = format!("asd {command}");
    if let Some(system) = config.system {
        line.push_str(&format!(" --system {system}"));
    }
    if let Some(path) = &config.config {
        line.push_str(&format!(" --config {}", path.display()));
    }
    if let Some(epochs) = config.epochs {
        line.push_str(&format!(" --epochs {epochs}"));
    }
    if let Some(seed) = config.seed {
        line.push_str(&format!(" --seed {seed}"));
    }
    if let Some(channels) = config.channels {
        line.push_str(&format!(" --channels {channels}"));
    }
    if let Some(data) = data {
        line.push_str(&format!(" --data {}", data.display()));
    }
    line.push_str(&format!(" --out {}", out.display()));
    line
}

/// Options shared by `asd train` and `asd run`: which system, a configuration file, and overrides.
#[derive(clap::Args, Debug)]
pub struct ConfigArgs {
    /// System (raw-logmel is training-free); `asd info --list` lists every system with its source.
    #[arg(long, value_parser = system_parser())]
    pub system: Option<asd::System>,
    /// A TOML run configuration (the format of `RUN/config.toml`); flags override it.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
    /// Training epochs (the cosine schedule's period follows when it spanned the preset's epochs).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Seed of every random draw (initial weights, shuffling, mixup, scorers).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Which channels of a clip are read: mean, left (DCASE 2026's near microphone), right (the far one), or both
    /// as two inputs (raw-logmel). Default: left for two-channel clips, the mean otherwise (recorded in the run's
    /// config.toml).
    #[arg(long, value_parser = channels_parser())]
    pub channels: Option<asd::audio::ChannelPolicy>,
    /// Device: cpu, or cuda / cuda:<index> in a build with `--features cuda`.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

impl ConfigArgs {
    /// The configuration (file, else the system's preset) with the flags applied, checked; and the device.
    pub fn resolve(&self) -> crate::error::Result<(asd::RunConfig, asd::RunOptions)> {
        use crate::error::CliError;
        let mut config = match &self.config {
            // A file that cannot be read or parsed is a failure (exit 1); settings it holds that cannot work are
            // usage errors (exit 2), as are the flags'.
            Some(path) => asd::RunConfig::load(path)?,
            None => asd::RunConfig::preset(self.system.unwrap_or_default()),
        };
        if let Some(system) = self.system
            && system != config.system
        {
            if self.config.is_some() {
                return Err(CliError::Usage(format!(
                    "--system {system} disagrees with the configuration file's system {}",
                    config.system
                )));
            }
            config = asd::RunConfig::preset(system);
        }
        if let Some(epochs) = self.epochs {
            config = config.with_epochs(epochs);
        }
        if let Some(seed) = self.seed {
            config.seed = seed;
            config.train.seed = seed;
        }
        if let Some(channels) = self.channels {
            config.channels = Some(channels);
        }
        config.check().map_err(|e| CliError::Usage(e.to_string()))?;
        let device = asd::pipeline::parse_device(&self.device).map_err(|e| CliError::Usage(e.to_string()))?;
        Ok((config, asd::RunOptions { device, resume: false }))
    }
}

/// `--scorer` (repeatable) and `--ensemble`: the scorers to evaluate, with their papers' defaults.
#[derive(clap::Args, Debug)]
pub struct ScorerArgs {
    /// Scorer with its paper defaults: prob | cos | kmeans | gmm | lof | knn | domain-knn | domain-mahalanobis |
    /// mse; repeat for several (the first is the headline). Default: the system's.
    #[arg(long = "scorer", value_parser = serde_name::<asd::scorers::ScorerKind>)]
    pub scorers: Vec<asd::scorers::ScorerKind>,
    /// Also report an ensemble of the scorers: rank-average.
    #[arg(long, value_parser = serde_name::<asd::scoring::Ensemble>)]
    pub ensemble: Option<asd::scoring::Ensemble>,
    /// Decision thresholds per group, from the normal training clips' scores: gamma[=QUANTILE] (the DCASE
    /// baseline's, default 0.9), percentile=P (e.g. 90), or false-alarm=RATE (e.g. 0.05).
    #[arg(long, value_parser = threshold_parser)]
    pub threshold: Option<asd::scorers::Threshold>,
}

/// Parses `--threshold`: `gamma`, `gamma=0.95`, `percentile=90`, `false-alarm=0.05`.
fn threshold_parser(text: &str) -> std::result::Result<asd::scorers::Threshold, String> {
    use asd::scorers::Threshold;
    let (method, value) = match text.split_once('=') {
        Some((m, v)) => (m, Some(v.parse::<f64>().map_err(|e| format!("`{v}`: {e}"))?)),
        None => (text, None),
    };
    let threshold = match (method, value) {
        ("gamma", q) => Threshold::Gamma {
            quantile: q.unwrap_or(asd::scorers::threshold::GAMMA_QUANTILE),
        },
        ("percentile", Some(percentile)) => Threshold::Percentile { percentile },
        ("false-alarm", Some(rate)) => Threshold::FalseAlarm { rate },
        _ => return Err("expected gamma[=QUANTILE], percentile=P or false-alarm=RATE".into()),
    };
    threshold.check().map(|()| threshold).map_err(|e| e.to_string())
}

impl ScorerArgs {
    /// The scoring settings `base` with the flags applied, or `None` when no flag is given.
    pub fn apply(&self, base: &asd::scoring::ScoringConfig) -> Option<asd::scoring::ScoringConfig> {
        if self.scorers.is_empty() && self.ensemble.is_none() && self.threshold.is_none() {
            return None;
        }
        let mut scoring = base.clone();
        if !self.scorers.is_empty() {
            scoring.scorers = self
                .scorers
                .iter()
                .map(|&k| asd::scorers::ScorerConfig::new(k))
                .collect();
        }
        if self.ensemble.is_some() {
            scoring.ensemble = self.ensemble;
        }
        if let Some(threshold) = self.threshold {
            scoring.threshold = threshold;
        }
        Some(scoring)
    }
}

/// Prints the results of a scoring run: the side-by-side table of all scorers, then the headline table.
///
/// # Errors
/// A closed or failing standard output ([`crate::error::print`]).
pub fn print_results(output: &asd::pipeline::ScoreOutput) -> crate::error::Result<()> {
    let mut text = String::new();
    if let (Some(first), Some(report)) = (output.reports.first(), output.report()) {
        text.push_str(&format!(
            "{}\n{} (headline scorer):\n{}\n",
            asd::scoring::summary_table(&output.reports),
            first.name,
            report.to_table()
        ));
    }
    if !output.unlabelled.is_empty() {
        text.push_str(&format!("{}\n", asd::pipeline::unlabelled_note(&output.unlabelled)));
    }
    crate::error::print(&text)?;
    let scores = output
        .reports
        .first()
        .map_or_else(String::new, |r| r.scores_dir.display().to_string());
    match &output.metrics_json {
        Some(metrics) => eprintln!(
            "scores in {scores}, metrics in {}, tables in {}",
            metrics.display(),
            output.results_md.display()
        ),
        None => eprintln!(
            "scores in {scores} (no labelled test clips, so no metrics), summary in {}",
            output.results_md.display()
        ),
    }
    Ok(())
}
