//! Evaluation of scored clips per machine type and group by the DCASE conventions, and the entry point that
//! reads a folder of score CSVs and joins it with the ground truth.

use crate::aggregate::{Detection, amean, hmean, mauc};
use crate::error::{Error, Result};
use crate::files::{
    ClipTruth, DECISION_PREFIX, Domain, GroupFileName, GroupTruth, SCORE_PREFIX, group_files, read_decisions,
    read_evaluator_truth, read_scores, score_file_name,
};
use crate::jackknife::jackknife;
use crate::report::{Average, DomainReport, GroupReport, Official, Pool, Report, Subset, TypeReport, Year};
use crate::roc::{DEFAULT_MAX_FPR, Roc, check_max_fpr};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// One test clip with its score, ground truth and (optional) decision.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoredClip {
    /// File name (evaluation name when the truth came from the evaluator's folders).
    pub file: String,
    /// Anomaly score, larger = more anomalous.
    pub score: f64,
    /// Ground truth.
    pub truth: ClipTruth,
    /// Decision (`true` = called anomalous), when a decision file was given.
    pub decision: Option<bool>,
}

/// The scored clips of one (machine type, group).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupScores {
    /// Machine type (`fan`, `ToyCar`, …).
    pub machine_type: String,
    /// Group key: `id_XX` (DCASE 2020) or `section_XX` (DCASE 2021+).
    pub group: String,
    /// The clips.
    pub clips: Vec<ScoredClip>,
}

/// Settings of an evaluation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EvalOptions {
    /// FPR limit of the pAUC ([`DEFAULT_MAX_FPR`] = 0.1).
    pub max_fpr: f64,
    /// Grouping (decisions.md §2); [`Pool::Group`] by default.
    pub pool: Pool,
    /// Compute the jackknife "official score ci95" (2021+; O(N²) in the number of clips).
    pub jackknife: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            max_fpr: DEFAULT_MAX_FPR,
            pool: Pool::Group,
            jackknife: true,
        }
    }
}

impl EvalOptions {
    /// Sets the pAUC's FPR limit.
    pub fn with_max_fpr(mut self, max_fpr: f64) -> Self {
        self.max_fpr = max_fpr;
        self
    }

    /// Sets the grouping.
    pub fn with_pool(mut self, pool: Pool) -> Self {
        self.pool = pool;
        self
    }

    /// Turns the jackknife confidence line on or off.
    pub fn with_jackknife(mut self, jackknife: bool) -> Self {
        self.jackknife = jackknife;
        self
    }
}

/// Where the ground truth of the score files comes from.
pub enum Truth<'a> {
    /// An official evaluator checkout holding `ground_truth_data/` (and `ground_truth_domain/`,
    /// `ground_truth_attributes/`); revealed names in the submissions are mapped back to evaluation names.
    Evaluator(PathBuf),
    /// A labeller of file names (development sets; the data crate knows the grammar): `None` = cannot tell.
    Labeller(&'a dyn Fn(&str) -> Option<ClipTruth>),
}

/// Detects the year convention from the group keys.
///
/// Errors: [`Error::MixedYears`] when both kinds of key occur or one is neither; [`Error::Empty`] for none.
pub fn detect_year<'a>(groups: impl IntoIterator<Item = &'a str>) -> Result<Year> {
    let mut year = None;
    for key in groups {
        let this = if key.starts_with("id_") {
            Year::Dcase2020
        } else if key.starts_with("section_") {
            Year::Dcase2021Plus
        } else {
            return Err(Error::MixedYears(format!(
                "group key {key:?} is neither id_XX nor section_XX"
            )));
        };
        match year {
            Some(y) if y != this => {
                return Err(Error::MixedYears("both id_XX and section_XX groups".into()));
            }
            _ => year = Some(this),
        }
    }
    year.ok_or(Error::Empty("no groups to evaluate"))
}

/// A ROC over the clips selected by `keep`, or [`Error::GroupSingleClass`] naming the subset.
fn subset_roc(group: &GroupScores, subset: &'static str, keep: impl Fn(&ScoredClip) -> bool) -> Result<Roc> {
    let (scores, labels): (Vec<f64>, Vec<bool>) = group
        .clips
        .iter()
        .filter(|c| keep(c))
        .map(|c| (c.score, c.truth.anomaly))
        .unzip();
    Roc::new(&scores, &labels).map_err(|e| match e {
        Error::SingleClass { n_normal, n_anomaly } => Error::GroupSingleClass {
            machine_type: group.machine_type.clone(),
            group: group.group.clone(),
            subset,
            n_normal,
            n_anomaly,
        },
        other => other,
    })
}

/// Evaluates one group: AUC / pAUC over all clips and, for 2021+, the domain values.
fn evaluate_group(group: &GroupScores, year: Year, max_fpr: f64) -> Result<GroupReport> {
    let roc = subset_roc(group, "AUC (all)", |_| true)?;
    let all = Subset::new(&roc, max_fpr)?;
    let mut report = GroupReport {
        n_normal: all.n_normal,
        n_anomaly: all.n_anomaly,
        auc: all.auc,
        pauc: all.pauc,
        pauc_raw: all.pauc_raw,
        auc_source: None,
        auc_target: None,
        source: None,
        target: None,
        detection: None,
        roc,
    };
    let with_decisions = group.clips.iter().all(|c| c.decision.is_some());
    if with_decisions {
        let (decisions, labels): (Vec<bool>, Vec<bool>) = group
            .clips
            .iter()
            .map(|c| (c.decision.unwrap_or_default(), c.truth.anomaly))
            .unzip();
        report.detection = Some(Detection::new(&decisions, &labels)?);
    }
    if year == Year::Dcase2020 {
        return Ok(report);
    }
    if let Some(clip) = group.clips.iter().find(|c| c.truth.domain.is_none()) {
        return Err(Error::NoDomain {
            machine_type: group.machine_type.clone(),
            group: group.group.clone(),
            clip: clip.file.clone(),
        });
    }
    for (domain, subset) in [(Domain::Source, "AUC (source)"), (Domain::Target, "AUC (target)")] {
        let in_domain = |c: &ScoredClip| c.truth.domain == Some(domain);
        let mixed = subset_roc(group, subset, |c| in_domain(c) || c.truth.anomaly)?.auc();
        let only = match subset_roc(group, subset, in_domain) {
            Ok(roc) => Some(Subset::new(&roc, max_fpr)?),
            Err(Error::GroupSingleClass { .. }) => None,
            Err(e) => return Err(e),
        };
        let detection = if with_decisions {
            let (decisions, labels): (Vec<bool>, Vec<bool>) = group
                .clips
                .iter()
                .filter(|c| in_domain(c))
                .map(|c| (c.decision.unwrap_or_default(), c.truth.anomaly))
                .unzip();
            Some(Detection::new(&decisions, &labels)?)
        } else {
            None
        };
        let domain_report = Some(DomainReport { only, detection });
        match domain {
            Domain::Source => (report.auc_source, report.source) = (Some(mixed), domain_report),
            Domain::Target => (report.auc_target, report.target) = (Some(mixed), domain_report),
        }
    }
    Ok(report)
}

/// AUC_source ++ AUC_target of the groups (the evaluator's "AUC" column).
fn source_then_target<'a>(groups: impl Iterator<Item = &'a GroupReport> + Clone) -> Vec<f64> {
    let source = groups.clone().filter_map(|g| g.auc_source);
    source.chain(groups.filter_map(|g| g.auc_target)).collect()
}

/// Mean of optional values; `None` if any is `None`.
fn mean_defined(values: impl Iterator<Item = Option<f64>>) -> Result<Option<f64>> {
    values.collect::<Option<Vec<f64>>>().map(|v| amean(&v)).transpose()
}

/// Evaluates scored groups by the convention their keys imply (DCASE 2020 for `id_XX`, 2021+ for
/// `section_XX`): per group and type tables, averages, and for 2021+ the official score, the 2021-style
/// score and (optionally) the jackknife ci95. Types are sorted by name, groups by key.
///
/// Errors: [`Error::InvalidMaxFpr`], [`Error::MixedYears`], [`Error::Empty`] for no groups,
/// [`Error::GroupSingleClass`] when a group or a domain subset lacks a class, [`Error::NoDomain`] for a 2021+
/// clip without domain, [`Error::NaNScore`].
pub fn evaluate(groups: &[GroupScores], options: &EvalOptions) -> Result<Report> {
    check_max_fpr(options.max_fpr)?;
    let year = detect_year(groups.iter().map(|g| g.group.as_str()))?;
    let mut by_type: BTreeMap<&str, Vec<&GroupScores>> = BTreeMap::new();
    for g in groups {
        by_type.entry(&g.machine_type).or_default().push(g);
    }
    let mut types = BTreeMap::new();
    for (name, members) in &by_type {
        let mut reports = BTreeMap::new();
        for g in members {
            if reports
                .insert(g.group.clone(), evaluate_group(g, year, options.max_fpr)?)
                .is_some()
            {
                return Err(Error::DuplicateGroup {
                    machine_type: name.to_string(),
                    group: g.group.clone(),
                });
            }
        }
        let values = reports.values();
        let aucs = match year {
            Year::Dcase2020 => values.clone().map(|g| g.auc).collect(),
            Year::Dcase2021Plus => source_then_target(values.clone()),
        };
        let paucs: Vec<f64> = values.clone().map(|g| g.pauc).collect();
        let pooled = match options.pool {
            Pool::Group => None,
            Pool::Type => {
                let all = GroupScores {
                    machine_type: name.to_string(),
                    group: "(pooled)".into(),
                    clips: members.iter().flat_map(|g| g.clips.iter().cloned()).collect(),
                };
                Some(Subset::new(
                    &subset_roc(&all, "pooled AUC", |_| true)?,
                    options.max_fpr,
                )?)
            }
        };
        let hmean_type = match year {
            Year::Dcase2020 => None,
            Year::Dcase2021Plus => Some(hmean(&[aucs.as_slice(), paucs.as_slice()].concat())?),
        };
        types.insert(
            name.to_string(),
            TypeReport {
                auc: amean(&aucs)?,
                pauc: amean(&paucs)?,
                pauc_raw: mean_defined(values.clone().map(|g| g.pauc_raw))?,
                mauc: mauc(&aucs)?,
                hmean: hmean_type,
                pooled,
                groups: reports,
            },
        );
    }
    let type_values = |f: fn(&TypeReport) -> f64| types.values().map(f).collect::<Vec<f64>>();
    let all_groups = || types.values().flat_map(|t| t.groups.values());
    let all_paucs: Vec<f64> = all_groups().map(|g| g.pauc).collect();
    let (auc, pauc) = match year {
        Year::Dcase2020 => (amean(&type_values(|t| t.auc))?, amean(&type_values(|t| t.pauc))?),
        Year::Dcase2021Plus => (amean(&source_then_target(all_groups()))?, amean(&all_paucs)?),
    };
    let pooled_mean = |f: fn(&Subset) -> f64| mean_defined(types.values().map(|t| t.pooled.as_ref().map(f)));
    let average = Average {
        auc,
        pauc,
        pauc_raw: mean_defined(types.values().map(|t| t.pauc_raw))?,
        mauc: amean(&type_values(|t| t.mauc))?,
        pooled_auc: pooled_mean(|s| s.auc)?,
        pooled_pauc: pooled_mean(|s| s.pauc)?,
    };
    let official = match year {
        Year::Dcase2020 => None,
        Year::Dcase2021Plus => Some(official(&types, groups, options)?),
    };
    let mut official_by_year = BTreeMap::new();
    match &official {
        None => {
            let official20 = type_values(|t| 0.5 * (t.auc + t.pauc));
            official_by_year.insert("dcase2020".to_string(), amean(&official20)?);
        }
        Some(o) => {
            if let Some(score) = o.dcase2021_score {
                official_by_year.insert("dcase2021".to_string(), score);
            }
            official_by_year.insert("dcase2022-2026".to_string(), o.score);
        }
    }
    Ok(Report {
        year,
        max_fpr: options.max_fpr,
        pool: options.pool,
        hmean: official.map(|o| o.score),
        types,
        average,
        official,
        official_by_year,
    })
}

/// The DCASE 2021+ overall values (`dcase_protocols.md` §4.2, §4.3, §3.7).
fn official(types: &BTreeMap<String, TypeReport>, groups: &[GroupScores], options: &EvalOptions) -> Result<Official> {
    let all_groups = || types.values().flat_map(|t| t.groups.values());
    let source: Vec<f64> = all_groups().filter_map(|g| g.auc_source).collect();
    let target: Vec<f64> = all_groups().filter_map(|g| g.auc_target).collect();
    let paucs: Vec<f64> = all_groups().map(|g| g.pauc).collect();
    let omega_values = [source.as_slice(), target.as_slice(), paucs.as_slice()].concat();
    // 2021: per type, section and domain: domain-only AUC then pAUC, source first
    let dcase2021 = all_groups()
        .flat_map(|g| [g.source, g.target])
        .map(|d| d.and_then(|d| d.only))
        .collect::<Option<Vec<Subset>>>()
        .map(|subsets| subsets.iter().flat_map(|s| [s.auc, s.pauc]).collect::<Vec<f64>>());
    let (jackknife_auc, jackknife_pauc, ci95) = if options.jackknife {
        let (scores, labels): (Vec<f64>, Vec<bool>) = groups
            .iter()
            .flat_map(|g| &g.clips)
            .map(|c| (c.score, c.truth.anomaly))
            .unzip();
        let auc = jackknife(&scores, &labels, |roc| Ok(roc.auc()))?;
        let pauc = jackknife(&scores, &labels, |roc| roc.pauc(options.max_fpr))?;
        (Some(auc), Some(pauc), Some(0.5 * (auc.ci95 + pauc.ci95)))
    } else {
        (None, None, None)
    };
    Ok(Official {
        score: hmean(&omega_values)?,
        score_amean: amean(&omega_values)?,
        hmean_auc_source: hmean(&source)?,
        hmean_auc_target: hmean(&target)?,
        hmean_auc: hmean(&[source.as_slice(), target.as_slice()].concat())?,
        hmean_pauc: hmean(&paucs)?,
        dcase2021_score: dcase2021.map(|v| hmean(&v)).transpose()?,
        ci95,
        jackknife_auc,
        jackknife_pauc,
    })
}

/// Reads every score CSV of `scores_dir` (with its decision CSV when present) and joins it with the ground
/// truth by file name. Several files of one (type, group), such as DCASE 2021's `_source_test` and
/// `_target_test`, are merged. Clips are returned sorted by name.
///
/// Errors: [`Error::NoScoreFiles`]; file errors naming the file (and line); with [`Truth::Evaluator`]:
/// [`Error::UnknownClip`] / [`Error::MissingClip`] naming the clip and the CSV, [`Error::MissingScoreFile`]
/// for a ground-truth group without scores; with [`Truth::Labeller`]: [`Error::Unlabelled`];
/// [`Error::DuplicateClip`].
pub fn read_scores_dir(scores_dir: &Path, truth: &Truth<'_>) -> Result<Vec<GroupScores>> {
    let files = group_files(scores_dir, SCORE_PREFIX)?;
    if files.is_empty() {
        return Err(Error::NoScoreFiles(scores_dir.to_path_buf()));
    }
    let evaluator = match truth {
        Truth::Evaluator(root) => Some(read_evaluator_truth(root)?),
        Truth::Labeller(_) => None,
    };
    let mut by_group: BTreeMap<(String, String), Vec<(GroupFileName, PathBuf)>> = BTreeMap::new();
    for (name, path) in files {
        by_group
            .entry((name.machine_type.clone(), name.group.clone()))
            .or_default()
            .push((name, path));
    }
    if let Some(evaluator) = &evaluator {
        if let Some((machine_type, group)) = evaluator.keys().find(|key| !by_group.contains_key(*key)) {
            return Err(Error::MissingScoreFile {
                expected: scores_dir.join(score_file_name(machine_type, group)),
                machine_type: machine_type.clone(),
                group: group.clone(),
            });
        }
    }
    by_group
        .into_iter()
        .map(|((machine_type, group), files)| {
            let clips = join_group(
                &files,
                truth,
                evaluator
                    .as_ref()
                    .and_then(|e| e.get(&(machine_type.clone(), group.clone()))),
            )?;
            Ok(GroupScores {
                machine_type,
                group,
                clips,
            })
        })
        .collect()
}

/// Joins the score (and decision) files of one group with its truth.
fn join_group(
    files: &[(GroupFileName, PathBuf)],
    truth: &Truth<'_>,
    evaluator: Option<&GroupTruth>,
) -> Result<Vec<ScoredClip>> {
    let canonical = |file: &str| {
        evaluator
            .and_then(|g| g.aliases.get(file))
            .map_or(file, String::as_str)
            .to_string()
    };
    let mut clips: BTreeMap<String, (ScoredClip, &Path)> = BTreeMap::new();
    let mut decision_files = Vec::new();
    for (_, path) in files {
        for row in read_scores(path)? {
            let file = canonical(&row.file);
            let clip_truth = match (truth, evaluator) {
                (Truth::Labeller(label), _) => label(&row.file),
                (Truth::Evaluator(_), Some(g)) => g.clips.get(&file).copied(),
                (Truth::Evaluator(_), None) => None,
            };
            let clip_truth = clip_truth.ok_or_else(|| match truth {
                Truth::Labeller(_) => Error::Unlabelled {
                    clip: row.file.clone(),
                    csv: path.clone(),
                },
                Truth::Evaluator(_) => Error::UnknownClip {
                    clip: row.file.clone(),
                    csv: path.clone(),
                },
            })?;
            let clip = ScoredClip {
                file: file.clone(),
                score: row.value,
                truth: clip_truth,
                decision: None,
            };
            if clips.insert(file.clone(), (clip, path)).is_some() {
                return Err(Error::DuplicateClip {
                    clip: row.file,
                    csv: path.clone(),
                    line: row.line,
                });
            }
        }
        let decision_path = decision_path(path);
        if decision_path.is_file() {
            decision_files.push(decision_path);
        }
    }
    if let (Some(g), Some((_, (_, first_csv)))) = (evaluator, clips.first_key_value()) {
        if let Some(missing) = g.clips.keys().find(|k| !clips.contains_key(*k)) {
            return Err(Error::MissingClip {
                clip: missing.clone(),
                csv: first_csv.to_path_buf(),
            });
        }
    }
    let mut seen: HashMap<String, u64> = HashMap::new();
    for path in &decision_files {
        for row in read_decisions(path)? {
            let file = canonical(&row.file);
            let Some((clip, _)) = clips.get_mut(&file) else {
                return Err(Error::UnknownClip {
                    clip: row.file,
                    csv: path.clone(),
                });
            };
            if seen.insert(file, row.line).is_some() {
                return Err(Error::DuplicateClip {
                    clip: row.file,
                    csv: path.clone(),
                    line: row.line,
                });
            }
            clip.decision = Some(row.value);
        }
    }
    if let Some(path) = decision_files.first() {
        if let Some((clip, _)) = clips.values().find(|(c, _)| c.decision.is_none()) {
            return Err(Error::MissingClip {
                clip: clip.file.clone(),
                csv: path.clone(),
            });
        }
    }
    Ok(clips.into_values().map(|(clip, _)| clip).collect())
}

/// The decision CSV beside a score CSV (`anomaly_score_…` → `decision_result_…`).
fn decision_path(score_path: &Path) -> PathBuf {
    let name = score_path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let rest = name.strip_prefix(SCORE_PREFIX).unwrap_or(name);
    score_path.with_file_name(format!("{DECISION_PREFIX}{rest}"))
}

/// Reads a folder of score CSVs, joins the ground truth and evaluates: [`read_scores_dir`] then [`evaluate`].
///
/// Errors: those of both.
pub fn evaluate_dir(scores_dir: &Path, truth: &Truth<'_>, options: &EvalOptions) -> Result<Report> {
    evaluate(&read_scores_dir(scores_dir, truth)?, options)
}
