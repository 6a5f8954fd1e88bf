//! A system defined outside the `asd` crate, through the public API only: a small Conv1d net on the log-Mel with a
//! linear head, registered under its own name, run train → score → evaluate on a synthetic DCASE 2020 tree, then
//! scored again from its run folder (its `config.toml` names the system; its weights are loaded back).

use asd::audio::synth::{SynthConfig, generate};
use asd::data::{ClassMap, ClassScheme};
use asd::features::{FeatureKind, FeatureSpec, FrontendPreset};
use asd::losses::LossConfig;
use asd::models::burn;
use asd::models::burn::module::Module;
use asd::models::burn::nn::conv::{Conv1d, Conv1dConfig};
use asd::models::burn::nn::{Linear, LinearConfig, Relu};
use asd::models::burn::tensor::{Device, Int, Tensor};
use asd::models::count::ModelCount;
use asd::models::{Embedder, ModelOutput};
use asd::scorers::{ScorerConfig, ScorerKind};
use asd::system::margin::{self, MarginNetwork};
use asd::system::{EmbedJob, LabelJob, Network, Recipe, TrainJob, model_config, model_table};
use asd::trainer::{Clips, EpochLog, OptimizerConfig, Schedule, TrainConfig};
use asd::{Result, RunConfig, RunOptions, System, SystemDef};
use serde::{Deserialize, Serialize};

/// The network's settings: its `[model]` table.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct TinyConvConfig {
    n_mels: usize,
    channels: usize,
    n_classes: usize,
}

/// Conv1d over time (k 3) → ReLU → mean over time → Linear embedding → Linear head.
#[derive(Module, Debug)]
struct TinyConv {
    conv: Conv1d,
    relu: Relu,
    embed: Linear,
    head: Linear,
}

impl Embedder for TinyConv {
    type Input = Tensor<3>;

    fn forward(&self, mel: Tensor<3>) -> ModelOutput {
        let hidden = self.relu.forward(self.conv.forward(mel)).mean_dim(2).flatten::<2>(1, 2);
        let embedding = self.embed.forward(hidden);
        let logits = self.head.forward(embedding.clone());
        ModelOutput::new(embedding, logits)
    }

    /// A plain linear head: no margin.
    fn margin_logits(&self, logits: Tensor<2>, _: Tensor<1, Int>) -> Tensor<2> {
        logits
    }
}

fn fit(model: TinyConv, job: &TrainJob<'_>) -> Result<(TinyConv, Vec<EpochLog>)> {
    margin::fit(model, &Clips::new(&job.inputs[0], job.labels)?, job)
}

fn embed(model: &TinyConv, job: &EmbedJob<'_>) -> Result<asd::scoring::ExampleOutputs> {
    let labels = job.labels_or_zeros();
    let clips = Clips::new(&job.inputs[0], &labels)?;
    margin::embed(model, &clips, 1, job)
}

struct TinyConvSystem;

impl SystemDef for TinyConvSystem {
    fn name(&self) -> &'static str {
        "tiny-conv"
    }

    fn source(&self) -> &'static str {
        "the downstream-system test"
    }

    fn recipe(&self) -> Recipe {
        let model = TinyConvConfig {
            n_mels: 128,
            channels: 16,
            n_classes: 2,
        };
        Recipe {
            features: FeatureSpec::new(FeatureKind::LogMel).with_preset(FrontendPreset::StgramMfn),
            model: Some(model_table(self.name(), &model).expect("table")),
            train: TrainConfig {
                epochs: 4,
                batch_size: 8,
                optimizer: OptimizerConfig::adam(1e-2),
                schedule: Schedule::Constant {},
                ..TrainConfig::default()
            },
            loss: LossConfig::default(),
            scorers: vec![ScorerConfig::new(ScorerKind::Knn), ScorerConfig::new(ScorerKind::Prob)],
        }
    }

    fn describe_input(&self, config: &RunConfig) -> Result<String> {
        let c: TinyConvConfig = model_config(config)?;
        Ok(format!("log-Mel [{}, frames]", c.n_mels))
    }

    fn check(&self, config: &RunConfig) -> Result<()> {
        let c: TinyConvConfig = model_config(config)?;
        let (rows, _) = config.features.build()?.output_shape(config.clip_samples());
        if rows != c.n_mels {
            return Err(asd::Error::Setting {
                field: "model.n_mels".into(),
                reason: format!("the front end gives {rows} bands"),
            });
        }
        Ok(())
    }

    /// Pseudo labels computed from the clips: the machine type alone (the default would be type × ID).
    fn class_map(&self, job: &LabelJob<'_>) -> Result<ClassMap> {
        let labels = job
            .train
            .iter()
            .chain(job.test)
            .map(|c| (asd::data::clip_key(c), c.machine_type.clone()));
        Ok(ClassMap::from_listed(labels, "machine types".as_ref())?)
    }

    fn build(&self, config: &RunConfig, device: &Device) -> Result<Box<dyn Network>> {
        let c: TinyConvConfig = model_config(config)?;
        let model = TinyConv {
            conv: Conv1dConfig::new(c.n_mels, c.channels, 3).init(device),
            relu: Relu::new(),
            embed: LinearConfig::new(c.channels, 8).init(device),
            head: LinearConfig::new(8, c.n_classes).init(device),
        };
        let count = |_: &TinyConv| ModelCount::from_layers(&[], false);
        Ok(MarginNetwork::new(model, count, |_| Vec::new(), fit, embed)?)
    }
}

static TINY_CONV: TinyConvSystem = TinyConvSystem;

/// Criterion (issue: a Rust user defines and runs their own system through the public API): the system trains
/// (4 epochs logged) on its own labels (2 machine types, where type × ID would give 4 classes; the network's class
/// count follows), is scored by its two scorers with finite AUCs, and its run folder scores again after the
/// system is looked up by name.
#[test]
fn a_system_defined_downstream_trains_scores_and_reloads() {
    let system = System::new(&TINY_CONV);
    System::register(system).expect("a new name");
    assert!(
        System::register(system).is_ok(),
        "registering the same system twice is harmless"
    );
    assert_eq!(System::from_name("tiny-conv").expect("registered"), system);

    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let synth = SynthConfig {
        types: 2,
        ids: 2,
        train: 8,
        test: 4,
        seconds: 2.0,
        ..SynthConfig::default()
    };
    generate(&synth, &data, &mut |_, _| {}).expect("synthetic data");

    let mut config = RunConfig::preset(system);
    config.clip_seconds = 2.0;
    let run_dir = tmp.path().join("run");
    let out = asd::run(&config, &data, &run_dir, &RunOptions::default(), &()).expect("run");
    assert_eq!(out.history.len(), 4);
    let names: Vec<&str> = out.scores.reports.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["knn", "prob"]);
    let auc = |r: &asd::scoring::ScorerReport| r.report.as_ref().map(|report| report.average.auc);
    for report in &out.scores.reports {
        assert!(auc(report).is_some_and(|a| (0.0..=1.0).contains(&a)), "{}", report.name);
    }
    let saved = RunConfig::load(&run_dir.join(asd::run_folder::CONFIG_FILE)).expect("config.toml");
    assert_eq!(saved.system, system);
    let n_classes = saved
        .model
        .as_ref()
        .and_then(|m| m.get("n_classes"))
        .and_then(|v| v.as_integer());
    assert_eq!(n_classes, Some(2));
    let classes = asd::run_folder::read_classes(&run_dir).expect("classes.json");
    assert_eq!((classes.scheme(), classes.len()), (ClassScheme::Listed, 2));

    let again = asd::score(
        &run_dir,
        &data,
        None,
        &tmp.path().join("again"),
        &RunOptions::default(),
        &(),
    )
    .expect("score from the run folder");
    assert_eq!(
        auc(&again.reports[1]),
        auc(&out.scores.reports[1]),
        "the reloaded weights give the same PROB scores"
    );
}
