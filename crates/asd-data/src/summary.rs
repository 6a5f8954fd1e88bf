//! The per-group table that `asd index` prints (and writes as JSON).

use crate::clip::{Condition, Domain, Layout, Split};
use crate::dataset::{Dataset, Problem};
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

/// What a dataset holds, for `asd index` (`Display` prints a text table; serde gives `--json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// The dataset root.
    pub root: PathBuf,
    /// The detected layout.
    pub layout: Layout,
    /// Number of clips read.
    pub n_clips: usize,
    /// One row per (machine type, group, domain), sorted.
    pub rows: Vec<SummaryRow>,
    /// Files and folders that were skipped (from [`Dataset::scan`]; empty after [`Dataset::open`]).
    pub problems: Vec<Problem>,
    /// Clips whose name attributes differ from their `attributes_XX.csv` row ([`Dataset::attribute_mismatches`]).
    #[serde(default)]
    pub attribute_mismatches: Vec<Problem>,
}

impl Summary {
    /// The table of `dataset`, with the `problems` a lenient scan reported.
    pub fn new(dataset: &Dataset, problems: Vec<Problem>) -> Summary {
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
            problems,
            attribute_mismatches: dataset.attribute_mismatches(),
        }
    }
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
