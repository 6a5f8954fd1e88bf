//! The DCASE 2025 first-shot system (Chu & Qian, DCASE 2025 Task 2 technical report, seed 003; firstshot2025.md):
//! pseudo attribute labels for the machine types without attributes ([`pseudo`]), SE-ResNet18 on the high-pass
//! log-Mel of 10-s repeat-padded clips, trained with AdaCos on every type × section × domain × attribute class and
//! Wilkinghoff's mixup / StatEx / FeatEx label expansion ([`step`]), the supplemental clean-machine and noise-only
//! clips as classes of their own and mixed into simulated clips, and a domain-wise kNN (k 1, cosine) on the
//! normalised embeddings.
//!
//! Classes are named `type/section/domain/attribute`, the attribute being the clip's own, its pseudo attribute
//! (`pcA<j>`, `peB<j>`, or empty for one per domain), `supp_clean` / `supp_noise` for a raw supplemental clip, or
//! `sim` for the simulated clips of a type's clean supplemental clips (listed in `classes.json` under
//! `type/simulated/<clean clip>`).

pub mod pseudo;
mod step;

use super::stgram_mfn::{check_image, frames, wave_and_mel_inputs};
use super::{EmbedJob, LabelJob, Network, Recipe, SystemDef, TrainJob, model_config, model_table};
use crate::config::RunConfig;
use crate::scoring::ExampleOutputs;
use crate::{Error, Result};
use asd_data::{ClassMap, Clip, SupplementalClip, SupplementalKind};
use asd_features::{FeatureKind, FeatureSpec, Frontend, FrontendPreset};
use asd_losses::adacos::AdaCosScale;
use asd_losses::{AdaCosLossConfig, LossConfig};
use asd_models::backbone::firstshot::{FirstShot, FirstShotConfig, SSL_CLASS_FACTOR};
use asd_models::backbone::se_resnet::{SE_REDUCTION, SE_RESNET_EMBEDDING, SE_RESNET_WIDTHS, SeResNetConfig};
use asd_models::burn::module::Module;
use asd_models::burn::tensor::{Device, Tensor};
use asd_models::count::{LayerRow, ModelCount};
use asd_scorers::{ScorerConfig, ScorerKind, Threshold};
use asd_train::{Chained, Clips, EpochLog, Examples, FeatureStore, OptimizerConfig, Schedule, TrainConfig};
use pseudo::PseudoMethod;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use step::{FirstShotStep, Item, WaveItems};

/// Epochs ([W24]'s 10, firstshot2025.md §9.1).
pub const FIRSTSHOT_EPOCHS: usize = 10;
/// Clips per batch ([W24], §9.1).
pub const FIRSTSHOT_BATCH_SIZE: usize = 64;
/// Adam's learning rate, constant (Keras's default in [W24], §9.1).
pub const FIRSTSHOT_LR: f64 = 1e-3;
/// Adam's ε (Keras's default in [W24], §9.1).
pub const FIRSTSHOT_ADAM_EPS: f64 = 1e-7;
/// The smallest last batch trained on: BatchNorm cannot normalise a batch of one.
pub const FIRSTSHOT_MIN_LAST_BATCH: usize = 2;
/// Mel bands of the input (§3).
pub const FIRSTSHOT_MELS: usize = 128;
/// Frames of a 10-s clip's log-Mel (§3: hop 512, centred).
pub const FIRSTSHOT_FRAMES: usize = 313;
/// The percentile of the training clips' scores the decision threshold is set at (§9.4, [W24]).
pub const FIRSTSHOT_THRESHOLD_PERCENTILE: f64 = 90.0;
/// The attribute of a raw clean-machine supplemental clip's class (§5).
pub const SUPP_CLEAN: &str = "supp_clean";
/// The attribute of a raw noise-only supplemental clip's class (§5).
pub const SUPP_NOISE: &str = "supp_noise";
/// The attribute of the simulated clips' class (§5).
pub const SIMULATED: &str = "sim";
/// The pseudo split under which `classes.json` lists the simulated clips (`type/simulated/<clean clip>`).
const SIMULATED_SPLIT: &str = "simulated";

/// The `firstshot2025` system.
pub(super) struct FirstShot2025;

/// The `[model]` table of `firstshot2025`: the network's sizes, the pseudo-label method and the use of the
/// supplemental clips (firstshot2025.md §11: every reconstructed choice is a setting).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirstShotSettings {
    /// Classes C of the main head; set from the data.
    pub n_classes: usize,
    /// Mel bands of the input log-Mel.
    pub n_mels: usize,
    /// Frames of the input log-Mel; set from the clip length.
    pub frames: usize,
    /// Channels of SE-ResNet18's four stages.
    pub widths: [usize; 4],
    /// The squeeze-and-excitation reduction ratio.
    pub reduction: usize,
    /// Embedding width (even: FeatEx exchanges its second half).
    pub embedding_dim: usize,
    /// Centres per class of both AdaCos heads (1: AdaCos; more: Wilkinghoff's sub-cluster AdaCos, §8.2).
    pub n_subclusters: usize,
    /// Pseudo attributes for the types without attributes (§4.4; `auto`, `cluster`, `envelope` or `none`).
    pub pseudo_labels: PseudoMethod,
    /// The method for named machine types, overriding `pseudo_labels` (ablations).
    #[serde(default)]
    pub pseudo_label_types: BTreeMap<String, PseudoMethod>,
    /// Train on the raw supplemental clips with their own classes (§5).
    pub use_supplemental_raw: bool,
    /// Train on clean supplemental clips mixed with noise-only ones (§6.1).
    pub use_simulated: bool,
}

impl Default for FirstShotSettings {
    /// The spec's network at 10 s; three classes until the data set them.
    fn default() -> Self {
        Self {
            n_classes: 3,
            n_mels: FIRSTSHOT_MELS,
            frames: FIRSTSHOT_FRAMES,
            widths: SE_RESNET_WIDTHS,
            reduction: SE_REDUCTION,
            embedding_dim: SE_RESNET_EMBEDDING,
            n_subclusters: 1,
            pseudo_labels: PseudoMethod::Auto,
            pseudo_label_types: BTreeMap::new(),
            use_supplemental_raw: true,
            use_simulated: true,
        }
    }
}

impl FirstShotSettings {
    /// The network's settings.
    fn network(&self) -> FirstShotConfig {
        let backbone = SeResNetConfig::new()
            .with_widths(self.widths)
            .with_reduction(self.reduction)
            .with_embedding_dim(self.embedding_dim);
        FirstShotConfig::new(backbone, self.n_classes, self.n_mels, self.frames).with_n_subclusters(self.n_subclusters)
    }
}

/// A class name: `type/section/domain/attribute` (an absent domain is an empty field).
fn class_name(clip: &Clip, attribute: &str) -> String {
    let domain = clip.domain.map_or("", |d| d.as_str());
    format!("{}/{}/{domain}/{attribute}", clip.machine_type, clip.group)
}

/// The simulated class beside a `supp_clean` class name.
fn simulated_class(clean_class: &str) -> Option<String> {
    clean_class
        .strip_suffix(SUPP_CLEAN)
        .map(|prefix| format!("{prefix}{SIMULATED}"))
}

/// The network as a [`Network`].
struct FirstShotNetwork(FirstShot);

/// The training items: every training clip, the raw supplemental clips (`use_supplemental_raw`), and one simulated
/// clip per clean supplemental clip when there is noise to mix in (`use_simulated`); and the noise pool.
fn items(settings: &FirstShotSettings, job: &TrainJob<'_>) -> Result<(Vec<Item>, Vec<usize>)> {
    let n = job.labels.len();
    let item = |clip, label, simulate| Item { clip, label, simulate };
    let mut items: Vec<Item> = job.labels.iter().enumerate().map(|(i, &l)| item(i, l, false)).collect();
    let supplemental = job.supplemental_labels.iter().zip(job.supplemental_kinds).enumerate();
    let noise: Vec<usize> = supplemental
        .clone()
        .filter(|(_, (_, kind))| **kind == SupplementalKind::NoiseOnly)
        .map(|(j, _)| n + j)
        .collect();
    if settings.use_supplemental_raw {
        items.extend(supplemental.clone().map(|(j, (&label, _))| item(n + j, label, false)));
    }
    if settings.use_simulated && !noise.is_empty() {
        for (j, (&label, kind)) in supplemental {
            if *kind != SupplementalKind::CleanMachine {
                continue;
            }
            let name = job.classes.names().get(label).and_then(|c| simulated_class(c));
            let simulated = name
                .as_deref()
                .and_then(|c| job.classes.class_named(c))
                .ok_or_else(|| Error::Setting {
                    field: "model.use_simulated".into(),
                    reason: "a clean supplemental clip's class has no simulated class beside it in the class map"
                        .into(),
                })?;
            items.push(item(n + j, simulated, true));
        }
    }
    Ok((items, noise))
}

impl Network for FirstShotNetwork {
    fn count(&self) -> ModelCount {
        self.0.count()
    }

    fn layers(&self) -> Vec<LayerRow> {
        self.0.layers()
    }

    fn train(self: Box<Self>, job: &TrainJob<'_>) -> Result<(Box<dyn Network>, Vec<EpochLog>)> {
        let settings: FirstShotSettings = model_config(job.config)?;
        let LossConfig::AdaCos(loss) = &job.config.loss else {
            return Err(Error::Setting {
                field: "loss.kind".into(),
                reason: "firstshot2025 trains with the adacos loss".into(),
            });
        };
        let samples = job.config.clip_samples();
        let empty = ndarray::Array3::<f32>::zeros((0, 1, samples));
        let extra: &dyn FeatureStore = job.supplemental.get(1).map_or(&empty, |c| c);
        let waves = Chained::new(&job.inputs[1], extra)?;
        let (items, noise) = items(&settings, job)?;
        let frontend: Arc<dyn Frontend> = Arc::from(job.config.features.build()?);
        let (c, k) = (settings.n_classes, settings.n_subclusters);
        let mut step = FirstShotStep {
            frontend,
            n_classes: c,
            l2: loss.l2,
            main: AdaCosScale::new(c, k, loss.dynamic_scale),
            ssl: AdaCosScale::new(SSL_CLASS_FACTOR * c, k, loss.dynamic_scale),
            waves: &waves,
            noise,
        };
        let examples = WaveItems { waves: &waves, items };
        let trained = asd_train::train(
            self.0,
            &examples,
            &mut step,
            &job.config.train,
            job.device,
            &job.session,
        )?;
        Ok((Box::new(FirstShotNetwork(trained.model)), trained.history))
    }

    /// The unit-length embedding of each clip's log-Mel, in evaluation mode (§9.2).
    fn embed(&self, job: &EmbedJob<'_>) -> Result<ExampleOutputs> {
        let labels = job.labels_or_zeros();
        let clips = Clips::new(&job.inputs[0], &labels)?;
        let device = job.device.clone().without_autodiff();
        let model = self.0.valid().to_device(&device);
        let n = clips.len();
        let mut rows = Vec::with_capacity(n);
        let indices: Vec<usize> = (0..n).collect();
        for chunk in indices.chunks(crate::pipeline::EXTRACT_BATCH) {
            let e: Tensor<2> = model.embed(clips.batch(chunk, &device)?);
            let unit = e.clone() / e.square().sum_dim(1).sqrt().clamp_min(f32::EPSILON);
            let values = unit
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .map_err(|err| asd_train::Error::Burn(format!("embedding readback: {err:?}")))?;
            rows.extend(values.into_iter().map(f64::from));
            (job.progress)(chunk.last().map_or(0, |&i| i + 1), n);
        }
        let width = rows.len() / n.max(1);
        let embeddings = ndarray::Array2::from_shape_vec((n, width), rows)
            .map_err(|err| asd_train::Error::Burn(format!("embedding readback: {err}")))?;
        Ok(ExampleOutputs {
            embeddings,
            class_scores: None,
            logits: None,
            clip: (0..n).collect(),
        })
    }

    fn save(&self, path: &Path) -> Result<()> {
        Ok(asd_models::weights::save_burnpack(&self.0, path)?)
    }

    fn load(self: Box<Self>, path: &Path) -> Result<Box<dyn Network>> {
        Ok(Box::new(FirstShotNetwork(asd_models::weights::load_burnpack(
            self.0, path,
        )?)))
    }
}

impl SystemDef for FirstShot2025 {
    fn name(&self) -> &'static str {
        "firstshot2025"
    }

    fn source(&self) -> &'static str {
        "Chu & Qian, DCASE 2025 Task 2 technical report (seed 003)"
    }

    /// firstshot2025.md §3, §8–9: the 200-Hz high-pass log-Mel (128 bands, 200–8000 Hz) of the 10-s repeat-padded
    /// clip, Adam 1e-3 (ε 1e-7) at a constant rate, batches of 64, 10 epochs, the last kept; AdaCos with the dynamic
    /// scale and L2 1e-5; scored by the domain-wise kNN (k 1, cosine; the smaller of the source and target scores).
    fn recipe(&self) -> Recipe {
        Recipe {
            features: FeatureSpec::new(FeatureKind::HpfLogMel).with_preset(FrontendPreset::Firstshot2025),
            model: Some(model_table(self.name(), &FirstShotSettings::default()).unwrap_or_default()),
            train: TrainConfig {
                epochs: FIRSTSHOT_EPOCHS,
                batch_size: FIRSTSHOT_BATCH_SIZE,
                min_last_batch: FIRSTSHOT_MIN_LAST_BATCH,
                optimizer: match OptimizerConfig::adam(FIRSTSHOT_LR) {
                    OptimizerConfig::Adam {
                        lr,
                        betas,
                        weight_decay,
                        ..
                    } => OptimizerConfig::Adam {
                        lr,
                        betas,
                        eps: FIRSTSHOT_ADAM_EPS,
                        weight_decay,
                    },
                    other => other,
                },
                schedule: Schedule::Constant {},
                ..TrainConfig::default()
            },
            loss: LossConfig::AdaCos(AdaCosLossConfig::default()),
            scorers: vec![ScorerConfig::new(ScorerKind::DomainKnn)],
        }
    }

    /// §9.4: the 90th percentile of the training clips' (out-of-fold) scores.
    fn threshold(&self) -> Threshold {
        Threshold::Percentile {
            percentile: FIRSTSHOT_THRESHOLD_PERCENTILE,
        }
    }

    fn paper_domains(&self) -> Option<crate::paper::DomainPaperResults> {
        Some(crate::paper::FIRSTSHOT_PAPER)
    }

    fn count_notes(&self) -> Vec<String> {
        vec![
            "the paper's count is SE-ResNet18's (11,389,376 at the spec's sizes); the parameters add the \
             self-supervised head's 9C trainable centres (the main head's centres are fixed), and the MACs are the \
             backbone's: the heads run only in training"
                .to_string(),
        ]
    }

    /// The embedding is scored by kNN: the heads' logits are a training device, not class scores.
    fn has_logits(&self) -> bool {
        false
    }

    /// The high-pass log-Mel (`config.features`), then the waveform of the same crop (mixup blends waveforms).
    fn inputs(&self, config: &RunConfig) -> Vec<FeatureSpec> {
        wave_and_mel_inputs(config)
    }

    fn describe_input(&self, config: &RunConfig) -> Result<String> {
        let c: FirstShotSettings = model_config(config)?;
        Ok(format!("high-pass log-Mel [{}, {}] of a clip", c.n_mels, c.frames))
    }

    fn check(&self, config: &RunConfig) -> Result<()> {
        let c: FirstShotSettings = model_config(config)?;
        c.network().check()?;
        check_image(config, c.n_mels, c.frames)
    }

    fn fit_clip_length(&self, config: &mut RunConfig) -> Result<()> {
        let c: FirstShotSettings = model_config(config)?;
        let c = FirstShotSettings {
            frames: frames(config)?,
            ..c
        };
        config.model = Some(model_table(self.name(), &c)?);
        Ok(())
    }

    /// Every supplemental clip when either use is on: raw clips train their own class, clean ones are simulated, and
    /// noise-only ones are the noise pool.
    fn supplemental(&self, config: &RunConfig, clips: &[SupplementalClip]) -> Vec<Clip> {
        let Ok(c) = model_config::<FirstShotSettings>(config) else {
            return Vec::new();
        };
        if !(c.use_supplemental_raw || c.use_simulated) {
            return Vec::new();
        }
        clips
            .iter()
            .map(|clip| {
                clip.training_clip(match clip.kind {
                    SupplementalKind::CleanMachine => SUPP_CLEAN,
                    SupplementalKind::NoiseOnly => SUPP_NOISE,
                })
            })
            .collect()
    }

    /// Each training clip's type × section × domain × attribute class, pseudo attributes for the types without
    /// attributes ([`pseudo::pseudo_attributes`]), the supplemental clips' classes and the simulated class of each
    /// type with clean supplemental clips (when noise-only ones exist to mix in).
    fn class_map(&self, job: &LabelJob<'_>) -> Result<ClassMap> {
        let c: FirstShotSettings = model_config(job.config)?;
        let (pseudo, _) = pseudo::pseudo_attributes(
            job.config,
            job.train,
            c.pseudo_labels,
            &c.pseudo_label_types,
            job.run_dir,
        )?;
        let mut listed: Vec<(String, String)> = job
            .train
            .iter()
            .enumerate()
            .map(|(i, clip)| {
                let attribute = pseudo.get(&i).map_or(clip.attributes.as_str(), String::as_str);
                (asd_data::clip_key(clip), class_name(clip, attribute))
            })
            .collect();
        listed.extend(
            job.supplemental
                .iter()
                .map(|clip| (asd_data::clip_key(clip), class_name(clip, &clip.attributes))),
        );
        let has_noise = job.supplemental.iter().any(|clip| clip.attributes == SUPP_NOISE);
        if c.use_simulated && has_noise {
            listed.extend(
                job.supplemental
                    .iter()
                    .filter(|clip| clip.attributes == SUPP_CLEAN)
                    .map(|clip| {
                        (
                            format!("{}/{SIMULATED_SPLIT}/{}", clip.machine_type, clip.file_name),
                            class_name(clip, SIMULATED),
                        )
                    }),
            );
        }
        let mut keys = HashSet::new();
        if let Some((key, _)) = listed.iter().find(|(key, _)| !keys.insert(key.as_str())) {
            return Err(Error::Setting {
                field: "classes".into(),
                reason: format!("two clips share the name {key} (a supplemental clip named like a training clip)"),
            });
        }
        Ok(ClassMap::from_listed(listed, Path::new("the first-shot classes"))?)
    }

    fn build(&self, config: &RunConfig, device: &Device) -> Result<Box<dyn Network>> {
        let c: FirstShotSettings = model_config(config)?;
        let model = asd_models::init::check_size(c.network().init(device)?, "model")?;
        Ok(Box::new(FirstShotNetwork(asd_models::init::draw_now(model))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values of a parameter.
    fn values(t: Tensor<2>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_into_vec::<f32>().expect("f32")
    }

    /// Criterion (firstshot2025.md §8.3): trained a few steps (1-s clips of noise, three classes, clean and noise
    /// supplemental items simulated), the main head's centres stay at their random initial values while the
    /// self-supervised head's change, and both heads' dynamic scales move from √2·ln(centres − 1).
    #[test]
    fn the_main_head_stays_fixed_while_the_rest_trains() {
        let device = Device::flex();
        let settings = FirstShotSettings {
            frames: 32,
            widths: [16; 4],
            embedding_dim: 8,
            ..FirstShotSettings::default()
        };
        let model = asd_models::init::draw_now(settings.network().init(&device).expect("small network"));
        let (main, ssl) = (values(model.main.centres.val()), values(model.ssl.centres.val()));
        let waves = ndarray::Array3::from_shape_fn((12, 1, 16_000), |(c, _, t)| {
            (((c * 7_919 + t * 104_729) % 1_000) as f32 / 500.0 - 1.0) * (1.0 + c as f32) / 12.0
        });
        let items: Vec<Item> = (0..12)
            .map(|c| Item {
                clip: c,
                label: c % 3,
                simulate: c == 0,
            })
            .collect();
        let frontend: Arc<dyn Frontend> = Arc::from(
            FeatureSpec::new(FeatureKind::HpfLogMel)
                .with_preset(FrontendPreset::Firstshot2025)
                .build()
                .expect("front end"),
        );
        let mut step = FirstShotStep {
            frontend,
            n_classes: 3,
            l2: asd_losses::ADACOS_L2,
            main: AdaCosScale::new(3, 1, true),
            ssl: AdaCosScale::new(27, 1, true),
            waves: &waves,
            noise: vec![11],
        };
        let config = TrainConfig {
            epochs: 1,
            batch_size: 4,
            schedule: Schedule::Constant {},
            ..TrainConfig::default()
        };
        let examples = WaveItems { waves: &waves, items };
        let trained = asd_train::train(
            model,
            &examples,
            &mut step,
            &config,
            &device,
            &asd_train::Session::new(),
        )
        .expect("training");
        assert_eq!(values(trained.model.main.centres.val()), main, "the main head is fixed");
        assert_ne!(values(trained.model.ssl.centres.val()), ssl, "the SSL head trains");
        assert_ne!(step.main.scale, AdaCosScale::new(3, 1, true).scale);
        assert_ne!(step.ssl.scale, AdaCosScale::new(27, 1, true).scale);
        assert!(trained.history[0].loss.is_finite());
    }

    /// Criterion (firstshot2025.md §5): class names, and the simulated class beside a clean one.
    #[test]
    fn class_names() {
        let clip = SupplementalClip {
            path: "fan/supplemental/section_00_source_supplemental_machine_0000.wav".into(),
            file_name: "section_00_source_supplemental_machine_0000.wav".into(),
            machine_type: "fan".into(),
            section: Some(0),
            kind: SupplementalKind::CleanMachine,
        }
        .training_clip(SUPP_CLEAN);
        let name = class_name(&clip, &clip.attributes);
        assert_eq!(name, "fan/section_00/source/supp_clean");
        assert_eq!(simulated_class(&name).as_deref(), Some("fan/section_00/source/sim"));
        assert_eq!(simulated_class("fan/section_00/source/pcA0"), None);
    }
}
