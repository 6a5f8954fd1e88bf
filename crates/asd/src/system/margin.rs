//! What the margin-classification systems (ASDNet, SpecMFN, LogMel-MFN, STgram-MFN) share: a [`Network`] around
//! any Burn model with a margin head ([`MarginNetwork`]), trained by [`asd_losses::MarginStep`] and scored at the
//! class by [`asd_losses::anomaly_score`] (PROB). A system module only says how its clips' caches become examples.

use super::{EmbedJob, Network, NetworkMap, TrainJob};
use crate::Result;
use crate::scoring::ExampleOutputs;
use asd_losses::{LossConfig, MarginStep, Mixable};
use asd_models::Embedder;
use asd_models::burn::module::Module;
use asd_models::count::{LayerRow, ModelCount};
use asd_train::{EpochLog, Examples};
use std::path::Path;

/// Trains a model of a margin system on its examples: the trainer's training loop ([`asd_train::train`]).
pub type FitFn<M> = fn(M, &TrainJob<'_>) -> Result<(M, Vec<EpochLog>)>;
/// Embeds a clip list's examples with a model of a margin system.
pub type EmbedFn<M> = fn(&M, &EmbedJob<'_>) -> Result<ExampleOutputs>;

/// A Burn model with a margin head as a [`Network`]: the model's count and layer-table functions and the system's
/// two functions from clip caches to examples.
///
/// [`MarginNetwork::new`] draws the model's lazily initialised weights at once, in visiting order
/// ([`asd_models::init::draw_now`]), so that they are fixed while [`asd_models::init::seeded`] holds its lock.
pub struct MarginNetwork<M> {
    model: M,
    count: fn(&M) -> ModelCount,
    layers: fn(&M) -> Vec<LayerRow>,
    fit: FitFn<M>,
    embed: EmbedFn<M>,
    reference: Option<ReferenceFn<M>>,
    maps: Option<MapsFn<M>>,
}

/// The maps a model of a margin system computes from a clip ([`Network::maps`]).
pub type MapsFn<M> = fn(&M, &EmbedJob<'_>) -> Result<Vec<NetworkMap>>;

/// Loads a checkpoint of a system's reference PyTorch implementation into a model (e.g. `StgramMfn::load_torch`).
pub type ReferenceFn<M> = fn(M, &Path) -> asd_models::Result<M>;

impl<M: Module + 'static> MarginNetwork<M> {
    /// Wraps `model`, drawing its initial weights now; `count` and `layers` are its counts and layer table (e.g.
    /// `AsdNet::count`, `AsdNet::layers`).
    ///
    /// # Errors
    /// A model of more than [`asd_models::init::MAX_PARAMETERS`] parameters (a mistyped size setting), refused
    /// before any weight is drawn.
    pub fn new(
        model: M,
        count: fn(&M) -> ModelCount,
        layers: fn(&M) -> Vec<LayerRow>,
        fit: FitFn<M>,
        embed: EmbedFn<M>,
    ) -> Result<Box<Self>> {
        let model = asd_models::init::check_size(model, "model")?;
        Ok(Box::new(Self {
            model: asd_models::init::draw_now(model),
            count,
            layers,
            fit,
            embed,
            reference: None,
            maps: None,
        }))
    }

    /// The same network, able to load checkpoints of the reference implementation with `reference`
    /// ([`Network::load_reference`]).
    pub fn with_reference(mut self: Box<Self>, reference: ReferenceFn<M>) -> Box<Self> {
        self.reference = Some(reference);
        self
    }

    /// The same network, showing the maps `maps` computes ([`Network::maps`]).
    pub fn with_maps(mut self: Box<Self>, maps: MapsFn<M>) -> Box<Self> {
        self.maps = Some(maps);
        self
    }
}

impl<M: Module + 'static> Network for MarginNetwork<M> {
    fn count(&self) -> ModelCount {
        (self.count)(&self.model)
    }

    fn layers(&self) -> Vec<LayerRow> {
        (self.layers)(&self.model)
    }

    fn train(self: Box<Self>, job: &TrainJob<'_>) -> Result<(Box<dyn Network>, Vec<EpochLog>)> {
        let this = *self;
        let (model, history) = (this.fit)(this.model, job)?;
        Ok((Box::new(Self { model, ..this }), history))
    }

    fn embed(&self, job: &EmbedJob<'_>) -> Result<ExampleOutputs> {
        (self.embed)(&self.model, job)
    }

    fn maps(&self, job: &EmbedJob<'_>) -> Result<Vec<NetworkMap>> {
        self.maps.map_or(Ok(Vec::new()), |maps| maps(&self.model, job))
    }

    fn save(&self, path: &Path) -> Result<()> {
        Ok(asd_models::weights::save_burnpack(&self.model, path)?)
    }

    fn load(self: Box<Self>, path: &Path) -> Result<Box<dyn Network>> {
        let this = *self;
        let model = asd_models::weights::load_burnpack(this.model, path)?;
        Ok(Box::new(Self { model, ..this }))
    }

    fn load_reference(self: Box<Self>, path: &Path) -> Result<Box<dyn Network>> {
        let this = *self;
        let Some(reference) = this.reference else {
            return Err(crate::Error::File {
                path: path.into(),
                reason: "this system has no reference PyTorch implementation to import weights from".into(),
            });
        };
        let model = reference(this.model, path)?;
        Ok(Box::new(Self { model, ..this }))
    }
}

/// Trains `model` on `examples` with the run's margin loss ([`MarginStep`]) and training settings.
///
/// # Errors
/// A training, data or checkpoint error.
pub fn fit<M, E>(model: M, examples: &E, job: &TrainJob<'_>) -> Result<(M, Vec<EpochLog>)>
where
    M: Embedder + Module,
    E: Examples + ?Sized,
    E::Input: Mixable + Into<M::Input>,
{
    let LossConfig::Margin(loss) = &job.config.loss else {
        return Err(crate::Error::Setting {
            field: "loss.kind".into(),
            reason: format!("system {} trains with the margin loss", job.config.system),
        });
    };
    let mut step = MarginStep::new(loss.clone());
    let trained = asd_train::train(model, examples, &mut step, &job.config.train, job.device, &job.session)?;
    Ok((trained.model, trained.history))
}

/// Embeddings of every example of `examples` (`rows_per_clip` consecutive examples per clip) and, with labels,
/// PROB's class score of each ([`asd_losses::anomaly_score`]).
///
/// # Errors
/// A data error, or a label beyond the model's classes.
pub fn embed<M, E>(model: &M, examples: &E, rows_per_clip: usize, job: &EmbedJob<'_>) -> Result<ExampleOutputs>
where
    M: Embedder + Module,
    E: Examples + ?Sized,
    E::Input: Into<M::Input>,
{
    let score = |m: &M, logits, labels| asd_losses::anomaly_score(m, logits, labels);
    let extracted = asd_train::embed(
        model,
        examples,
        crate::pipeline::EXTRACT_BATCH,
        job.device,
        job.labels.map(|_| &score as &asd_train::ScoreFn<M>),
        job.progress,
    )?;
    let n = extracted.embeddings.nrows();
    Ok(ExampleOutputs {
        embeddings: extracted.embeddings.mapv(f64::from),
        class_scores: extracted.scores.map(|s| s.mapv(f64::from)),
        logits: Some(extracted.logits),
        clip: (0..n).map(|i| i / rows_per_clip.max(1)).collect(),
    })
}

/// The front end must give `expected` (rows, cols) for clips of the configured length.
///
/// # Errors
/// [`crate::Error::Setting`] (`model`) when it does not.
pub fn check_input_shape(config: &crate::RunConfig, expected: [usize; 2], got: [usize; 2]) -> Result<()> {
    if expected == got {
        return Ok(());
    }
    Err(crate::Error::Setting {
        field: "model".into(),
        reason: format!(
            "the network of {} expects inputs {expected:?} but the front end gives {got:?} for {} s clips; set \
             the model's input size or clip_seconds to match",
            config.system, config.clip_seconds
        ),
    })
}
