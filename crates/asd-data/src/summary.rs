//! The per-group table that `asd index` prints (and writes as JSON).

use crate::clip::{Condition, Domain, Layout, Split, SupplementalKind};
use crate::dataset::{Dataset, Problem};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

/// Clip counts by condition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Normal clips.
    pub normal: usize,
    /// Anomalous clips.
    pub anomaly: usize,
    /// Unlabelled clips (evaluation test).
    pub unknown: usize,
}

impl Counts {
    /// All clips.
    pub fn total(&self) -> usize {
        self.normal + self.anomaly + self.unknown
    }

    fn add(&mut self, condition: Condition) {
        match condition {
            Condition::Normal => self.normal += 1,
            Condition::Anomaly => self.anomaly += 1,
            Condition::Unknown => self.unknown += 1,
        }
    }
}

/// One row of the table: a (machine type, group, domain).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// Machine type.
    pub machine_type: String,
    /// `id_00` / `section_00`.
    pub group: String,
    /// Domain (`None` for 2020 and for evaluation-test clips that hide it).
    pub domain: Option<Domain>,
    /// The distinct attribute strings of the row's clips, sorted (`""` / `noAttribute` included as written).
    pub attributes: Vec<String>,
    /// Training clips by condition.
    pub train: Counts,
    /// Test clips by condition.
    pub test: Counts,
}

/// What the files of one machine type are: channels, lengths, and DCASE 2025's supplemental clips.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeSummary {
    /// Machine type.
    pub machine_type: String,
    /// The distinct channel counts of its training and test clips, sorted (`[2]` for DCASE 2026).
    pub channels: Vec<usize>,
    /// Length of its shortest clip, seconds.
    pub min_seconds: f64,
    /// Length of its longest clip, seconds.
    pub max_seconds: f64,
    /// Supplemental clean-machine clips.
    pub supplemental_clean: usize,
    /// Supplemental noise-only clips.
    pub supplemental_noise: usize,
}

/// What a dataset holds, for `asd index` (`Display` prints a text table; serde gives `--json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The dataset root.
    pub root: PathBuf,
    /// The detected layout.
    pub layout: Layout,
    /// Number of clips read.
    pub n_clips: usize,
    /// One row per (machine type, group, domain), sorted.
    pub rows: Vec<SummaryRow>,
    /// One row per machine type, sorted: channels, clip lengths, supplemental clips.
    #[serde(default)]
    pub types: Vec<TypeSummary>,
    /// Files and folders that were skipped (from [`Dataset::scan`]; empty after [`Dataset::open`]).
    pub problems: Vec<Problem>,
    /// Clips whose name attributes differ from their `attributes_XX.csv` row ([`Dataset::attribute_mismatches`]).
    #[serde(default)]
    pub attribute_mismatches: Vec<Problem>,
}

impl Summary {
    /// The table of `dataset`, with the `problems` a lenient scan reported. Reads every clip's header
    /// (`asd_audio::probe`, in parallel) for its channels and length; a clip whose header cannot be read is added to
    /// the problems.
    pub fn new(dataset: &Dataset, mut problems: Vec<Problem>) -> Summary {
        let types = type_summaries(dataset, &mut problems);
        let mut rows: BTreeMap<RowKey, RowTally> = BTreeMap::new();
        for clip in dataset.clips() {
            let key = (clip.machine_type.clone(), clip.group.clone(), clip.domain);
            let (attributes, train, test) = rows.entry(key).or_default();
            attributes.insert(clip.attributes.clone());
            match clip.split {
                Split::Train => train.add(clip.condition),
                Split::Test => test.add(clip.condition),
            }
        }
        let rows = rows
            .into_iter()
            .map(
                |((machine_type, group, domain), (attributes, train, test))| SummaryRow {
                    machine_type,
                    group,
                    domain,
                    attributes: attributes.into_iter().collect(),
                    train,
                    test,
                },
            )
            .collect();
        Summary {
            root: dataset.root().to_path_buf(),
            layout: dataset.layout(),
            n_clips: dataset.len(),
            rows,
            types,
            problems,
            attribute_mismatches: dataset.attribute_mismatches(),
        }
    }
}

/// The per-type rows: every clip probed in parallel; failures become problems naming the file.
fn type_summaries(dataset: &Dataset, problems: &mut Vec<Problem>) -> Vec<TypeSummary> {
    let probed: Vec<_> = dataset
        .clips()
        .par_iter()
        .map(|clip| (clip, asd_audio::probe(&clip.path)))
        .collect();
    /// The row of `machine_type`, empty at first.
    fn row<'a, 'b>(types: &'a mut BTreeMap<&'b str, TypeSummary>, machine_type: &'b str) -> &'a mut TypeSummary {
        types.entry(machine_type).or_insert_with(|| TypeSummary {
            machine_type: machine_type.to_string(),
            channels: Vec::new(),
            min_seconds: f64::INFINITY,
            max_seconds: 0.0,
            supplemental_clean: 0,
            supplemental_noise: 0,
        })
    }
    let mut types: BTreeMap<&str, TypeSummary> = BTreeMap::new();
    for (clip, info) in probed {
        let entry = row(&mut types, &clip.machine_type);
        match info {
            Ok(info) => {
                if !entry.channels.contains(&info.channels) {
                    entry.channels.push(info.channels);
                    entry.channels.sort_unstable();
                }
                entry.min_seconds = entry.min_seconds.min(info.seconds());
                entry.max_seconds = entry.max_seconds.max(info.seconds());
            }
            Err(e) => problems.push(crate::Error::from(e).into()),
        }
    }
    for clip in dataset.supplemental() {
        let entry = row(&mut types, &clip.machine_type);
        match clip.kind {
            SupplementalKind::CleanMachine => entry.supplemental_clean += 1,
            SupplementalKind::NoiseOnly => entry.supplemental_noise += 1,
        }
    }
    types
        .into_values()
        .map(|mut t| {
            if !t.min_seconds.is_finite() {
                t.min_seconds = 0.0;
            }
            t
        })
        .collect()
}

/// A row's key: (machine type, group, domain).
type RowKey = (String, String, Option<Domain>);
/// A row's tally: distinct attribute strings, train counts, test counts.
type RowTally = (BTreeSet<String>, Counts, Counts);

/// Column headers of the text table.
const HEADERS: [&str; 9] = [
    "type",
    "group",
    "domain",
    "attributes",
    "train",
    "test normal",
    "test anomaly",
    "test unknown",
    "total",
];

impl fmt::Display for Summary {
    /// A left-aligned text table (attributes as a count of distinct values), then the problems.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} layout, {} clips",
            self.root.display(),
            self.layout,
            self.n_clips
        )?;
        let cells: Vec<[String; 9]> = self
            .rows
            .iter()
            .map(|r| {
                let n_attributes = r
                    .attributes
                    .iter()
                    .filter(|a| !a.is_empty() && *a != crate::NO_ATTRIBUTE)
                    .count();
                [
                    r.machine_type.clone(),
                    r.group.clone(),
                    r.domain.map_or("-".to_string(), |d| d.to_string()),
                    n_attributes.to_string(),
                    r.train.total().to_string(),
                    r.test.normal.to_string(),
                    r.test.anomaly.to_string(),
                    r.test.unknown.to_string(),
                    (r.train.total() + r.test.total()).to_string(),
                ]
            })
            .collect();
        let mut widths = HEADERS.map(str::len);
        for row in &cells {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, row: &[&str]| -> fmt::Result {
            let padded: Vec<String> = row.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
            writeln!(f, "{}", padded.join("  ").trim_end())
        };
        line(f, &HEADERS)?;
        for row in &cells {
            line(f, &row.each_ref().map(String::as_str))?;
        }
        if !self.types.is_empty() {
            writeln!(f)?;
            writeln!(f, "{}", types_table(&self.types).trim_end())?;
        }
        if !self.problems.is_empty() {
            writeln!(f, "{} problem(s):", self.problems.len())?;
            for p in &self.problems {
                writeln!(f, "  {}", p.reason)?;
            }
        }
        if !self.attribute_mismatches.is_empty() {
            writeln!(
                f,
                "{} attribute mismatch(es) between names and attribute CSVs:",
                self.attribute_mismatches.len()
            )?;
            for p in &self.attribute_mismatches {
                writeln!(f, "  {}", p.reason)?;
            }
        }
        Ok(())
    }
}

/// The per-type table: channels, clip lengths, supplemental clips (the columns left out when no type has any).
fn types_table(types: &[TypeSummary]) -> String {
    let seconds = |t: &TypeSummary| {
        if (t.max_seconds - t.min_seconds).abs() < 5e-4 {
            format!("{:.3}", t.min_seconds)
        } else {
            format!("{:.3}–{:.3}", t.min_seconds, t.max_seconds)
        }
    };
    let supplemental = types.iter().any(|t| t.supplemental_clean + t.supplemental_noise > 0);
    let mut headers = vec!["type", "channels", "clip seconds"];
    if supplemental {
        headers.extend(["supplemental clean", "supplemental noise"]);
    }
    let cells: Vec<Vec<String>> = types
        .iter()
        .map(|t| {
            let channels: Vec<String> = t.channels.iter().map(ToString::to_string).collect();
            let mut row = vec![t.machine_type.clone(), channels.join(", "), seconds(t)];
            if supplemental {
                row.extend([t.supplemental_clean.to_string(), t.supplemental_noise.to_string()]);
            }
            row
        })
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: &[&str]| -> String {
        let padded: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, &w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(&headers);
    for row in &cells {
        out += &line(&row.iter().map(String::as_str).collect::<Vec<_>>());
    }
    out
}
