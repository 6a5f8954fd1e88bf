//! The systems `asd` can run, their networks, and what `asd info` reports about them.
//!
//! A [`System`] names a paper's system; [`ModelConfig`] holds its network settings (the paper's by default, see
//! [`ModelConfig::preset`]); [`Network`] is the built network, one type for the trainer, the extractor and the
//! weight files of every system.

use crate::{Error, Result};
use asd_models::backbone::asdnet::{AsdNet, AsdNetConfig};
use asd_models::backbone::logmel_mfn::{LogMelMfn, LogMelMfnConfig};
use asd_models::backbone::specmfn::{SpecMfn, SpecMfnConfig};
use asd_models::backbone::stgram_mfn::{StgramMfn, StgramMfnConfig};
use asd_models::burn::tensor::Device;
use asd_models::count::{LayerRow, ModelCount};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The systems, by their command-line names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum System {
    /// ASDNet (Kong et al. 2025, seed 000): Conv1d layers on the magnitude spectrum of 2-s segments, ArcFace.
    #[default]
    Asdnet,
    /// SpecMFN (seed 000): SpecNet's Conv1d layers shape the spectrum into an image for MobileFaceNet, ArcFace.
    Specmfn,
    /// LogMel-MFN (Liu et al. 2022, seed 004 §3.3): MobileFaceNet on the 10-s log-Mel, Linear ("CEE") head.
    LogmelMfn,
    /// STgram-MFN (seed 004): log-Mel and TgramNet's learnable Tgram stacked into MobileFaceNet, ArcFace.
    StgramMfn,
    /// No network: the mean and standard deviation over time of each log-Mel band (a training-free baseline).
    RawLogmel,
}

impl System {
    /// Every system, in the order above.
    pub const ALL: [System; 5] = [
        System::Asdnet,
        System::Specmfn,
        System::LogmelMfn,
        System::StgramMfn,
        System::RawLogmel,
    ];

    /// The name used on the command line and in `config.toml`.
    pub fn name(self) -> &'static str {
        match self {
            System::Asdnet => "asdnet",
            System::Specmfn => "specmfn",
            System::LogmelMfn => "logmel-mfn",
            System::StgramMfn => "stgram-mfn",
            System::RawLogmel => "raw-logmel",
        }
    }

    /// The paper the system comes from, as cited in the docs.
    pub fn source(self) -> &'static str {
        match self {
            System::Asdnet | System::Specmfn => "Kong et al., 2025 (seed 000)",
            System::LogmelMfn | System::StgramMfn => "Liu et al., ICASSP 2022 (seed 004)",
            System::RawLogmel => "training-free log-Mel statistics",
        }
    }
}

impl std::fmt::Display for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The network settings of a system; the `[model]` table of `config.toml`, tagged by `kind` (the system name).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ModelConfig {
    /// ASDNet.
    Asdnet(AsdNetConfig),
    /// SpecMFN.
    Specmfn(SpecMfnConfig),
    /// LogMel-MFN.
    LogmelMfn(LogMelMfnConfig),
    /// STgram-MFN.
    StgramMfn(StgramMfnConfig),
}

impl ModelConfig {
    /// The paper's network for `system` (decisions.md §5, §6, §9), `None` for a training-free system. The class
    /// count is the paper's (41 DCASE 2020 machine IDs); [`with_classes`](Self::with_classes) sets it from the data.
    pub fn preset(system: System) -> Option<ModelConfig> {
        Some(match system {
            System::Asdnet => ModelConfig::Asdnet(AsdNetConfig::new()),
            System::Specmfn => ModelConfig::Specmfn(SpecMfnConfig::new()),
            System::LogmelMfn => ModelConfig::LogmelMfn(LogMelMfnConfig::new()),
            System::StgramMfn => ModelConfig::StgramMfn(StgramMfnConfig::new()),
            System::RawLogmel => return None,
        })
    }

    /// The system this network belongs to.
    pub fn system(&self) -> System {
        match self {
            ModelConfig::Asdnet(_) => System::Asdnet,
            ModelConfig::Specmfn(_) => System::Specmfn,
            ModelConfig::LogmelMfn(_) => System::LogmelMfn,
            ModelConfig::StgramMfn(_) => System::StgramMfn,
        }
    }

    /// Number of classes of the head.
    pub fn n_classes(&self) -> usize {
        match self {
            ModelConfig::Asdnet(c) => c.n_classes,
            ModelConfig::Specmfn(c) => c.n_classes,
            ModelConfig::LogmelMfn(c) => c.n_classes,
            ModelConfig::StgramMfn(c) => c.n_classes,
        }
    }

    /// The same network with `n_classes` classes.
    pub fn with_classes(self, n_classes: usize) -> ModelConfig {
        match self {
            ModelConfig::Asdnet(c) => ModelConfig::Asdnet(c.with_n_classes(n_classes)),
            ModelConfig::Specmfn(c) => ModelConfig::Specmfn(c.with_n_classes(n_classes)),
            ModelConfig::LogmelMfn(c) => ModelConfig::LogmelMfn(c.with_n_classes(n_classes)),
            ModelConfig::StgramMfn(c) => ModelConfig::StgramMfn(c.with_n_classes(n_classes)),
        }
    }

    /// Checks the network's settings without building it.
    ///
    /// # Errors
    /// [`Error::Models`] naming the invalid setting.
    pub fn check(&self) -> Result<()> {
        match self {
            ModelConfig::Asdnet(c) => c.check().map(|_| ()),
            ModelConfig::Specmfn(c) => c.check(),
            ModelConfig::LogmelMfn(c) => c.check(),
            ModelConfig::StgramMfn(c) => c.check(),
        }
        .map_err(Error::from)
    }

    /// Builds the network with fresh weights (each model's reference initialisation) on `device`.
    ///
    /// # Errors
    /// [`Error::Models`] naming the invalid setting.
    pub fn init(&self, device: &Device) -> Result<Network> {
        Ok(match self {
            ModelConfig::Asdnet(c) => Network::Asdnet(c.init(device)?),
            ModelConfig::Specmfn(c) => Network::Specmfn(c.init(device)?),
            ModelConfig::LogmelMfn(c) => Network::LogmelMfn(c.init(device)?),
            ModelConfig::StgramMfn(c) => Network::StgramMfn(c.init(device)?),
        })
    }

    /// Builds the network and loads the weights saved by [`Network::save`] at `path`.
    ///
    /// # Errors
    /// An invalid setting, or a weight file that cannot be read or does not fit this network (named).
    pub fn load(&self, path: &Path, device: &Device) -> Result<Network> {
        use asd_models::weights::load_burnpack as load;
        Ok(match self.init(device)? {
            Network::Asdnet(m) => Network::Asdnet(load(m, path)?),
            Network::Specmfn(m) => Network::Specmfn(load(m, path)?),
            Network::LogmelMfn(m) => Network::LogmelMfn(load(m, path)?),
            Network::StgramMfn(m) => Network::StgramMfn(load(m, path)?),
        })
    }
}

/// A built network of one of the systems.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "a run holds one network; boxing would only add indirection"
)]
pub enum Network {
    /// ASDNet: input spectra `[batch, bins]`.
    Asdnet(AsdNet),
    /// SpecMFN: input spectra `[batch, bins]`.
    Specmfn(SpecMfn),
    /// LogMel-MFN: input log-Mel `[batch, n_mels, frames]`.
    LogmelMfn(LogMelMfn),
    /// STgram-MFN: input waveform `[batch, samples]` and log-Mel `[batch, n_mels, frames]`.
    StgramMfn(StgramMfn),
}

impl Network {
    /// The layer table in forward order (`asd info`).
    pub fn layers(&self) -> Vec<LayerRow> {
        match self {
            Network::Asdnet(m) => m.layers(),
            Network::Specmfn(m) => m.layers(),
            Network::LogmelMfn(m) => m.layers(),
            Network::StgramMfn(m) => m.layers(),
        }
    }

    /// Parameters (as trained and as the paper counts them) and MACs per input example (decisions.md §9).
    pub fn count(&self) -> ModelCount {
        match self {
            Network::Asdnet(m) => m.count(),
            Network::Specmfn(m) => m.count(),
            Network::LogmelMfn(m) => m.count(),
            Network::StgramMfn(m) => m.count(),
        }
    }

    /// Saves every weight (and BatchNorm statistic) in Burn's burnpack format at `path`.
    ///
    /// # Errors
    /// [`Error::Models`] naming the file when it cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        let save = |r: asd_models::Result<()>| r.map_err(Error::from);
        match self {
            Network::Asdnet(m) => save(asd_models::weights::save_burnpack(m, path)),
            Network::Specmfn(m) => save(asd_models::weights::save_burnpack(m, path)),
            Network::LogmelMfn(m) => save(asd_models::weights::save_burnpack(m, path)),
            Network::StgramMfn(m) => save(asd_models::weights::save_burnpack(m, path)),
        }
    }
}

/// What `asd info` reports about a system's network.
#[derive(Clone, Debug, Serialize)]
pub struct SystemInfo {
    /// The system's name.
    pub system: String,
    /// Where it comes from.
    pub source: String,
    /// One input example, in words (e.g. `"2-s segment spectrum [16001]"`).
    pub input: String,
    /// Trainable parameters (decisions.md §9: front end, backbone, embedding and classification head).
    pub params: usize,
    /// Parameters as the paper counts them.
    pub params_paper: usize,
    /// Multiply-accumulates (conv + linear) per input example.
    pub macs: u64,
    /// The layer table, in forward order.
    pub layers: Vec<LayerInfo>,
}

/// One row of [`SystemInfo::layers`].
#[derive(Clone, Debug, Serialize)]
pub struct LayerInfo {
    /// Field path of the layer (as in weight files).
    pub name: String,
    /// Output shape of one example, without the batch axis.
    pub output_shape: Vec<usize>,
    /// Parameters of the layer.
    pub params: usize,
    /// MACs of the layer per example.
    pub macs: u64,
    /// `network`, `head` or `reference-only` (built by the reference but unused: counted only in `params_paper`).
    pub role: String,
}

/// Counts and layer table of `system`'s paper network (41 classes), built on the CPU.
///
/// # Errors
/// [`Error::Config`] for a training-free system.
pub fn info(system: System) -> Result<SystemInfo> {
    let config = ModelConfig::preset(system)
        .ok_or_else(|| Error::Config(format!("system {system} has no network to describe")))?;
    let network = config.init(&Device::flex())?;
    let count = network.count();
    let input = match &config {
        ModelConfig::Asdnet(c) => format!("spectrum of a 2-s segment [{}]", c.input_bins),
        ModelConfig::Specmfn(c) => format!("spectrum of a 2-s segment [{}]", c.input_bins),
        ModelConfig::LogmelMfn(c) => format!("log-Mel of a 10-s clip [{}, {}]", c.n_mels, c.frames),
        ModelConfig::StgramMfn(c) => format!(
            "waveform [{}] and log-Mel [{}, {}] of a 10-s clip",
            c.samples, c.n_mels, c.frames
        ),
    };
    let layers = network
        .layers()
        .into_iter()
        .map(|row| LayerInfo {
            name: row.name,
            output_shape: row.output_shape,
            params: row.count.params,
            macs: row.count.macs,
            role: match row.role {
                asd_models::count::LayerRole::Network => "network",
                asd_models::count::LayerRole::Head => "head",
                asd_models::count::LayerRole::ReferenceOnly => "reference-only",
            }
            .into(),
        })
        .collect();
    Ok(SystemInfo {
        system: system.name().into(),
        source: system.source().into(),
        input,
        params: count.params,
        params_paper: count.params_paper,
        macs: count.macs,
        layers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Criterion: decisions.md §9 — params / params_paper / MACs of each preset, exact integers.
    #[test]
    fn info_gives_the_decided_counts() {
        let expected = [
            (System::Asdnet, 515_456, 510_208, 85_695_744),
            (System::Specmfn, 1_052_288, 1_052_329, 184_037_376),
            (System::LogmelMfn, 1_064_105, 1_064_105, 704_717_952),
            (System::StgramMfn, 1_345_046, 1_350_335, 797_684_864),
        ];
        for (system, params, params_paper, macs) in expected {
            let info = info(system).unwrap();
            assert_eq!(
                (info.params, info.params_paper, info.macs),
                (params, params_paper, macs),
                "{system}"
            );
            let sum: usize = info
                .layers
                .iter()
                .filter(|l| l.role != "reference-only")
                .map(|l| l.params)
                .sum();
            assert_eq!(sum, params, "{system}: the layer table adds up");
        }
        assert!(matches!(info(System::RawLogmel), Err(Error::Config(_))));
    }

    #[test]
    fn model_configs_round_trip_through_toml_and_keep_their_kind() {
        for system in System::ALL {
            let Some(config) = ModelConfig::preset(system) else {
                continue;
            };
            let text = toml::to_string(&config).unwrap();
            let back: ModelConfig = toml::from_str(&text).unwrap();
            assert_eq!(back.system(), system, "{text}");
            assert_eq!(back.with_classes(7).n_classes(), 7);
        }
    }
}
