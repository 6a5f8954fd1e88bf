//! Pseudo attribute labels for the machine types whose clips carry no attributes (firstshot2025.md §4): Method A
//! clusters the clips' time-averaged log-Mel spectra, Method B their envelope-spectrum characteristic frequency;
//! `auto` keeps the partition with the higher silhouette in the standardised log-Mel space. Labels are computed once,
//! before training, from each section's training clips only (a DCASE 2025 type has one section; with several, each
//! section is its own machine and is labelled alone), and written to the run folder with their diagnostics:
//! `pseudo_labels.csv` (`file,pseudo_attr,method,k`) and `pseudo_labels.json` (silhouettes per k, the chosen band,
//! and the adjusted Rand index against the hidden attributes when the type's folder holds the organisers'
//! correspondence table, `attributes_SS_train_correspondence.csv`).

use crate::config::RunConfig;
use crate::run_folder::write_file;
use crate::{Error, Result};
use asd_data::{Clip, Domain};
use asd_features::characteristic::{BAND_PASS_ORDER, characteristic_frequency, loudest_octave_band};
use asd_features::{EnvelopeSpectrum, FeatureKind, FeatureSpec, SAMPLE_RATE_HZ};
use asd_scorers::clustering::{ClusterOrder, PSEUDO_MIN_SILHOUETTE, PseudoLabels, adjusted_rand_index, standardise};
use asd_scorers::{KMeansParams, group_rng};
use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The seed of the pseudo-label K-Means (firstshot2025.md §4.2 step 3: RNG seed 0).
pub const PSEUDO_LABEL_SEED: u64 = 0;
/// The per-clip pseudo-label file in the run folder.
pub const PSEUDO_LABELS_CSV: &str = "pseudo_labels.csv";
/// The per-type diagnostics in the run folder.
pub const PSEUDO_LABELS_JSON: &str = "pseudo_labels.json";

/// How a machine type without attributes gets its pseudo attributes (firstshot2025.md §4.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PseudoMethod {
    /// Both methods; the partition with the higher silhouette in the standardised log-Mel space, or one pseudo
    /// attribute when both are below 0.10 (the first-shot default).
    #[default]
    Auto,
    /// Method A: K-Means of the time-averaged log-Mel (§4.2).
    Cluster,
    /// Method B: K-Means of log10 of the characteristic frequency (§4.3).
    Envelope,
    /// One class per domain: no pseudo attribute.
    None,
}

/// What pseudo labelling found for one machine type (`pseudo_labels.json`).
#[derive(Clone, Debug, Serialize)]
pub struct TypeReport {
    /// The machine type.
    pub machine_type: String,
    /// Its section (or ID): labels are computed per section, each being one machine (one per type in DCASE 2025).
    pub group: String,
    /// The method asked for.
    pub asked: PseudoMethod,
    /// The partition kept: `cluster`, `envelope`, or `none` (one pseudo attribute).
    pub chosen: &'static str,
    /// Pseudo attributes of the kept partition.
    pub k: usize,
    /// Method A's silhouette for each k tried (`[k, score]`), when it ran.
    pub cluster_silhouettes: Vec<(usize, f64)>,
    /// Method B's silhouette of log10 f* for each k tried, when it ran.
    pub envelope_silhouettes: Vec<(usize, f64)>,
    /// Silhouettes of A's and B's partitions of the source clips in the standardised log-Mel space (§4.4), when
    /// both ran and had more than one cluster.
    pub common_space: [Option<f64>; 2],
    /// Method B's octave band, Hz.
    pub band_hz: Option<[f64; 2]>,
    /// Adjusted Rand index of the source clips' pseudo labels against their hidden attributes, when the type's
    /// folder holds the correspondence table.
    pub ari_source: Option<f64>,
    /// The same over every training clip (source and target).
    pub ari_all: Option<f64>,
    /// The source clips' adjusted Rand index of Method A's and of Method B's partition (each when it ran), whichever
    /// was kept.
    pub ari_by_method: [Option<f64>; 2],
}

/// One labelling of a type's clips: the attribute of each (source then target order of the input).
struct Partition {
    method: &'static str,
    k: usize,
    source: Vec<usize>,
    target: Vec<usize>,
}

impl Partition {
    fn single(n_source: usize, n_target: usize) -> Self {
        Self {
            method: "none",
            k: 1,
            source: vec![0; n_source],
            target: vec![0; n_target],
        }
    }

    fn from(labels: PseudoLabels, method: &'static str) -> Self {
        Self {
            method,
            k: labels.k,
            source: labels.source,
            target: labels.target,
        }
    }

    /// The attribute string of pseudo attribute `j`: `pcA<j>` (Method A), `peB<j>` (Method B), or none.
    fn attribute(&self, j: usize) -> String {
        match self.method {
            "cluster" => format!("pcA{j}"),
            "envelope" => format!("peB{j}"),
            _ => String::new(),
        }
    }
}

/// The pseudo attribute of every training clip of the sections (machine type × section; one per type in DCASE 2025)
/// in `train` whose clips carry no attributes, by the clip's index
/// in `train`, with the reports; writes both files into `run_dir` when given.
///
/// # Errors
/// A clip that cannot be decoded (named), a type with fewer than 3 source clips to cluster, or a file that cannot
/// be written.
pub fn pseudo_attributes(
    config: &RunConfig,
    train: &[Clip],
    method: PseudoMethod,
    per_type: &BTreeMap<String, PseudoMethod>,
    run_dir: Option<&Path>,
) -> Result<(HashMap<usize, String>, Vec<TypeReport>)> {
    let mut types: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, clip) in train.iter().enumerate() {
        types
            .entry((clip.machine_type.as_str(), clip.group.as_str()))
            .or_default()
            .push(i);
    }
    let mut attributes = HashMap::new();
    let mut reports = Vec::new();
    let mut csv = String::from("file,pseudo_attr,method,k\n");
    for ((machine_type, group), indices) in types {
        if indices.iter().any(|&i| train[i].has_attributes()) {
            continue;
        }
        let asked = per_type.get(machine_type).copied().unwrap_or(method);
        // Source clips first, then target ones (a clip without a domain, DCASE 2020, counts as source).
        let (source, target): (Vec<usize>, Vec<usize>) =
            indices.iter().partition(|&&i| train[i].domain != Some(Domain::Target));
        let ordered: Vec<usize> = source.iter().chain(&target).copied().collect();
        let clips: Vec<Clip> = ordered.iter().map(|&i| train[i].clone()).collect();
        let (partition, report) = label_type(config, machine_type, group, &clips, source.len(), asked)?;
        let labels: Vec<usize> = partition.source.iter().chain(&partition.target).copied().collect();
        for (&i, &label) in ordered.iter().zip(&labels) {
            let attribute = partition.attribute(label);
            csv.push_str(&format!(
                "{},{attribute},{},{}\n",
                asd_data::clip_key(&train[i]),
                partition.method,
                partition.k
            ));
            attributes.insert(i, attribute);
        }
        reports.push(report);
    }
    if let Some(dir) = run_dir {
        write_file(&dir.join(PSEUDO_LABELS_CSV), csv.as_bytes())?;
        let json = serde_json::to_string_pretty(&reports).map_err(|e| Error::File {
            path: dir.join(PSEUDO_LABELS_JSON),
            reason: e.to_string(),
        })?;
        write_file(&dir.join(PSEUDO_LABELS_JSON), json.as_bytes())?;
    }
    Ok((attributes, reports))
}

/// Pseudo labels of one type's clips (`n_source` source clips first, then its target clips).
fn label_type(
    config: &RunConfig,
    machine_type: &str,
    group: &str,
    clips: &[Clip],
    n_source: usize,
    asked: PseudoMethod,
) -> Result<(Partition, TypeReport)> {
    let n_target = clips.len() - n_source;
    let mut report = TypeReport {
        machine_type: machine_type.into(),
        group: group.into(),
        asked,
        chosen: "none",
        k: 1,
        cluster_silhouettes: Vec::new(),
        envelope_silhouettes: Vec::new(),
        common_space: [None, None],
        band_hz: None,
        ari_source: None,
        ari_all: None,
        ari_by_method: [None, None],
    };
    let kmeans = KMeansParams::default();
    let fit = |source: Array2<f64>, target: Array2<f64>, order| {
        let mut rng = group_rng(PSEUDO_LABEL_SEED, 0);
        PseudoLabels::fit(source.view(), target.view(), &kmeans, order, &mut rng).map_err(|e| Error::Setting {
            field: "model.pseudo_labels".into(),
            reason: format!("machine type {machine_type} {group}: {e}"),
        })
    };
    let uses = |m: PseudoMethod| asked == PseudoMethod::Auto || asked == m;
    let spectra = match uses(PseudoMethod::Cluster) {
        true => Some(mean_spectra(config, clips)?),
        false => None,
    };
    let cluster = match (&spectra, uses(PseudoMethod::Cluster)) {
        (Some(x), true) => Some(fit(
            x.slice(ndarray::s![..n_source, ..]).to_owned(),
            x.slice(ndarray::s![n_source.., ..]).to_owned(),
            ClusterOrder::Size,
        )?),
        _ => None,
    };
    let envelope = match uses(PseudoMethod::Envelope) {
        true => {
            let (band, frequencies) = characteristic_frequencies(config, clips, n_source)?;
            report.band_hz = Some(band);
            let logs = frequencies.mapv(f64::log10);
            Some(fit(
                logs.slice(ndarray::s![..n_source, ..]).to_owned(),
                logs.slice(ndarray::s![n_source.., ..]).to_owned(),
                ClusterOrder::Centre,
            )?)
        }
        false => None,
    };
    let truth = hidden_attributes(clips)?;
    if let Some(truth) = &truth {
        let ari = |p: &Option<PseudoLabels>| {
            p.as_ref()
                .and_then(|p| adjusted_rand_index(&p.source, &truth[..n_source]).ok())
        };
        report.ari_by_method = [ari(&cluster), ari(&envelope)];
    }
    report.cluster_silhouettes = cluster.as_ref().map(|c| c.silhouettes.clone()).unwrap_or_default();
    report.envelope_silhouettes = envelope.as_ref().map(|c| c.silhouettes.clone()).unwrap_or_default();
    let partition = match (asked, cluster, envelope) {
        (PseudoMethod::Auto, Some(a), Some(b)) => {
            let standardised = spectra.as_ref().map(|x| {
                let source = x.slice(ndarray::s![..n_source, ..]);
                standardise(source, source)
            });
            let common = |p: &PseudoLabels| match (&standardised, p.k) {
                (Some(x), k) if k > 1 => asd_scorers::clustering::silhouette_score(x.view(), &p.source).ok(),
                _ => None,
            };
            report.common_space = [common(&a), common(&b)];
            match report.common_space {
                [Some(sa), sb] if sa >= PSEUDO_MIN_SILHOUETTE && sb.is_none_or(|sb| sa >= sb) => {
                    Partition::from(a, "cluster")
                }
                [_, Some(sb)] if sb >= PSEUDO_MIN_SILHOUETTE => Partition::from(b, "envelope"),
                _ => Partition::single(n_source, n_target),
            }
        }
        (_, Some(a), None) => Partition::from(a, "cluster"),
        (_, None, Some(b)) => Partition::from(b, "envelope"),
        _ => Partition::single(n_source, n_target),
    };
    report.chosen = partition.method;
    report.k = partition.k;
    if let Some(truth) = truth {
        let labels: Vec<usize> = partition.source.iter().chain(&partition.target).copied().collect();
        report.ari_source = adjusted_rand_index(&labels[..n_source], &truth[..n_source]).ok();
        report.ari_all = adjusted_rand_index(&labels, &truth).ok();
    }
    Ok((partition, report))
}

/// Each clip's time-averaged log-Mel of the run's front end, `[clips, n_mels]` (§4.2 step 1).
fn mean_spectra(config: &RunConfig, clips: &[Clip]) -> Result<Array2<f64>> {
    let frontend = config.features.build()?;
    let policy = config.clip_policy();
    let (rows, _) = policy.feature_shape(frontend.as_ref());
    let mut spectra = Array2::zeros((clips.len(), rows));
    asd_data::for_each_features(clips, frontend.as_ref(), &policy, &|_, _| {}, |i, features| {
        let mean = features.mapv(f64::from).mean_axis(Axis(1));
        if let Some(mean) = mean {
            spectra.row_mut(i).assign(&mean);
        }
        Ok(())
    })?;
    Ok(spectra)
}

/// Method B's band (the loudest octave of the source clips, Hz) and every clip's characteristic frequency `[clips, 1]`
/// (§4.3), from the clips fitted to the run's length without the high-pass.
fn characteristic_frequencies(config: &RunConfig, clips: &[Clip], n_source: usize) -> Result<([f64; 2], Array2<f64>)> {
    let waves = asd_data::load_features(
        clips,
        FeatureSpec::new(FeatureKind::Waveform).build()?.as_ref(),
        &config.clip_policy(),
        &|_, _| {},
    )?;
    let rows: Vec<&[f32]> = waves
        .outer_iter()
        .map(|w| w.to_slice())
        .collect::<Option<_>>()
        .ok_or_else(|| Error::Mismatch("waveforms in a non-contiguous array".into()))?;
    let rate = f64::from(SAMPLE_RATE_HZ);
    let features = |e: asd_features::FeatureError| Error::Setting {
        field: "model.pseudo_labels".into(),
        reason: format!(
            "the characteristic frequency of machine type {}: {e}",
            clips[0].machine_type
        ),
    };
    let band = loudest_octave_band(&rows[..n_source], rate).map_err(features)?;
    let (low, high) = match band {
        asd_features::Band::BandPass { low_hz, high_hz } => (low_hz, high_hz),
        _ => (f64::NAN, f64::NAN),
    };
    let envelope = EnvelopeSpectrum::new(BAND_PASS_ORDER, band, SAMPLE_RATE_HZ).map_err(features)?;
    let mut out = Array2::zeros((clips.len(), 1));
    for (i, row) in rows.iter().enumerate() {
        out[[i, 0]] = characteristic_frequency(&envelope, row, rate).map_err(features)?;
    }
    Ok(([low, high], out))
}

/// Each clip's hidden attribute string as an index, from the organisers' correspondence tables in the clip's type
/// folder (`attributes_SS_train_correspondence.csv`, `dcase_protocols.md` §2.3); `None` when a clip is not listed.
fn hidden_attributes(clips: &[Clip]) -> Result<Option<Vec<usize>>> {
    let mut revealed: HashMap<String, String> = HashMap::new();
    let mut read: Vec<std::path::PathBuf> = Vec::new();
    for clip in clips {
        let Some(type_dir) = clip.path.parent().and_then(Path::parent) else {
            return Ok(None);
        };
        let table = type_dir.join(format!("attributes_{:02}_train_correspondence.csv", clip.id_or_section));
        if read.contains(&table) {
            continue;
        }
        read.push(table.clone());
        let Ok(text) = std::fs::read_to_string(&table) else {
            return Ok(None);
        };
        for line in text.lines().skip(1) {
            if let Some((shown, hidden)) = line.trim().split_once(',') {
                let attributes = asd_data::parse_file_name(shown)
                    .map(|p| p.attributes)
                    .map_err(|e| Error::File {
                        path: table.clone(),
                        reason: format!("a name that does not parse: {e}"),
                    })?;
                revealed.insert(hidden.trim().to_string(), attributes);
            }
        }
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut truth = Vec::with_capacity(clips.len());
    for clip in clips {
        let Some(attributes) = revealed.get(&clip.file_name) else {
            return Ok(None);
        };
        let next = index.len();
        truth.push(*index.entry(attributes.as_str()).or_insert(next));
    }
    Ok(Some(truth))
}
