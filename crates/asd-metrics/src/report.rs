//! The result of an evaluation ([`Report`]) and its renderings: JSON (`asd evaluate --json`, `spec/cli.md`),
//! a Markdown table for the terminal, and CSV in the layout of the official evaluators' result files.

use crate::aggregate::{Detection, amean, hmean};
use crate::error::{Error, Result, io};
use crate::jackknife::Jackknife;
use crate::roc::Roc;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// The DCASE convention of an evaluation, detected from the group keys (`id_XX` → 2020, `section_XX` → 2021+).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Year {
    /// Per machine ID, arithmetic means (DCASE 2020, `dcase_protocols.md` §4.1).
    #[serde(rename = "dcase2020")]
    Dcase2020,
    /// Per section and domain, harmonic means and the official score (DCASE 2021–2025, §4.2–§4.3).
    #[serde(rename = "dcase2021+")]
    Dcase2021Plus,
}

/// How AUCs are grouped (decisions.md §2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pool {
    /// DCASE's default: one AUC per machine ID / section, then averaged.
    #[default]
    Group,
    /// Additionally, one AUC over all clips of a machine type, IDs pooled (the OS-SCL and attention-net codes);
    /// reported under `pooled` beside the DCASE values.
    Type,
}

/// Metrics of one subset of clips: AUC, McClish pAUC and raw pAUC.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Subset {
    /// Number of normal clips.
    pub n_normal: usize,
    /// Number of anomalous clips.
    pub n_anomaly: usize,
    /// ROC-AUC (ties one half).
    pub auc: f64,
    /// McClish-standardised pAUC (scikit-learn `max_fpr`).
    pub pauc: f64,
    /// Seed 000's raw pAUC; absent when ⌊p·N⁻⌋ = 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pauc_raw: Option<f64>,
}

impl Subset {
    /// Reads the three metrics off a ROC.
    pub(crate) fn new(roc: &Roc, max_fpr: f64) -> Result<Self> {
        Ok(Self {
            n_normal: roc.n_normal(),
            n_anomaly: roc.n_anomaly(),
            auc: roc.auc(),
            pauc: roc.pauc(max_fpr)?,
            pauc_raw: roc.pauc_raw(max_fpr)?,
        })
    }
}

/// DCASE 2021+ per-domain values of one section.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct DomainReport {
    /// AUC / pAUC on this domain's clips only (the 2021 protocol and the baseline's extra pAUC); absent when
    /// the domain lacks one class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub only: Option<Subset>,
    /// Precision / recall / F1 of the decisions on this domain's clips, when decisions were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detection: Option<Detection>,
}

/// Metrics of one group (a machine ID in 2020, a section in 2021+).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupReport {
    /// Number of normal clips.
    pub n_normal: usize,
    /// Number of anomalous clips.
    pub n_anomaly: usize,
    /// AUC over all clips of the group ("AUC (all)" in 2021+).
    pub auc: f64,
    /// McClish pAUC over all clips of the group (the official pAUC).
    pub pauc: f64,
    /// Raw pAUC over all clips; absent when ⌊p·N⁻⌋ = 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pauc_raw: Option<f64>,
    /// 2021+: AUC of source normals against all anomalies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auc_source: Option<f64>,
    /// 2021+: AUC of target normals against all anomalies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auc_target: Option<f64>,
    /// 2021+: source-domain values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<DomainReport>,
    /// 2021+: target-domain values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<DomainReport>,
    /// Precision / recall / F1 of the decisions on all clips of the group, when decisions were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detection: Option<Detection>,
    /// The ROC of all clips (for plots).
    #[serde(skip)]
    pub roc: Roc,
}

/// Metrics of one machine type.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TypeReport {
    /// Per group, keyed as in the score file names (`id_00`, `section_00`).
    pub groups: BTreeMap<String, GroupReport>,
    /// 2020: mean AUC over IDs; 2021+: mean over sections of AUC_source and AUC_target (the evaluator's
    /// per-type "arithmetic mean" row).
    pub auc: f64,
    /// Mean pAUC over the groups.
    pub pauc: f64,
    /// Mean raw pAUC over the groups; absent when undefined for a group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pauc_raw: Option<f64>,
    /// mAUC: the minimum over groups of the values averaged in `auc` (2020: per-ID AUC; 2021+: AUC_source and
    /// AUC_target of each section).
    pub mauc: f64,
    /// 2021+: DCASE harmonic mean of AUC_source, AUC_target and pAUC over the sections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hmean: Option<f64>,
    /// With [`Pool::Type`]: AUC / pAUC over all clips of the type, groups pooled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pooled: Option<Subset>,
}

/// Averages over machine types.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Average {
    /// 2020: mean over types of the per-type mean AUC; 2021+: mean of AUC_source and AUC_target over all
    /// types and sections.
    pub auc: f64,
    /// 2020: mean over types of the per-type mean pAUC; 2021+: mean pAUC over all types and sections.
    pub pauc: f64,
    /// Mean over types of the per-type mean raw pAUC, when defined everywhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pauc_raw: Option<f64>,
    /// Mean over types of the per-type mAUC.
    pub mauc: f64,
    /// With [`Pool::Type`]: mean over types of the pooled AUC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pooled_auc: Option<f64>,
    /// With [`Pool::Type`]: mean over types of the pooled pAUC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pooled_pauc: Option<f64>,
}

/// DCASE 2021+ overall values (`dcase_protocols.md` §4.2–§4.3, §3.7).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Official {
    /// The official score Ω (2022–2025): DCASE hmean over all AUC_source, AUC_target and pAUC values.
    pub score: f64,
    /// Arithmetic mean of the same values.
    pub score_amean: f64,
    /// DCASE hmean of all AUC_source values.
    pub hmean_auc_source: f64,
    /// DCASE hmean of all AUC_target values.
    pub hmean_auc_target: f64,
    /// DCASE hmean of AUC_source ++ AUC_target.
    pub hmean_auc: f64,
    /// DCASE hmean of all pAUC values.
    pub hmean_pauc: f64,
    /// The DCASE 2021 official score: hmean over every (type, section, domain) of the domain-only AUC and
    /// pAUC; absent when a domain lacks one class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dcase2021_score: Option<f64>,
    /// The evaluator's "official score ci95": mean of the jackknife half-widths of AUC and pAUC over all clips
    /// pooled; absent when not computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci95: Option<f64>,
    /// Jackknife of the pooled AUC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jackknife_auc: Option<Jackknife>,
    /// Jackknife of the pooled pAUC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jackknife_pauc: Option<Jackknife>,
}

/// The result of an evaluation: per machine type and group, averages, and for 2021+ the official score.
///
/// Serialises (serde) to the JSON of `asd evaluate --json` (`spec/cli.md`); all values are fractions in [0, 1].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// `"dcase2020"` or `"dcase2021+"`.
    pub year: Year,
    /// The pAUC's FPR limit (0.1 for DCASE).
    pub max_fpr: f64,
    /// The grouping option (decisions.md §2).
    pub pool: Pool,
    /// Per machine type, sorted by name (byte order, as the evaluators' `sorted`).
    pub types: BTreeMap<String, TypeReport>,
    /// Averages over types.
    pub average: Average,
    /// 2021+: the official score Ω (equal to `official.score`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hmean: Option<f64>,
    /// 2021+: official score and its companions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub official: Option<Official>,
    /// Each DCASE generation's official figure that the data defines, named by its years (`dcase_protocols.md`
    /// §4): `dcase2020` (per type the arithmetic mean over IDs of AUC and pAUC, averaged, then the mean over types:
    /// ASDKit's official20; the 2020 evaluator prints the per-type means), `dcase2021` (DCASE hmean over every
    /// type, section and domain of the domain-only AUC and pAUC; when every domain has both classes) and
    /// `dcase2022-2026` (DCASE hmean over all AUC_source, AUC_target and pAUC values, the score of every evaluator
    /// since 2022).
    pub official_by_year: BTreeMap<String, f64>,
}

/// Formats a float as Python's `repr` does (shortest round trip; exponent form below 1e-4 and from 1e16).
pub fn py_repr(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "nan".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let abs = x.abs();
    if abs == 0.0 || (1e-4..1e16).contains(&abs) {
        let s = format!("{x}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let s = format!("{x:e}"); // e.g. 5.9280822990603985e-5
        match s.split_once('e') {
            Some((mantissa, exp)) => {
                let (sign, digits) = exp.strip_prefix('-').map_or(("+", exp), |d| ("-", d));
                format!("{mantissa}e{sign}{digits:0>2}")
            }
            None => s,
        }
    }
}

/// The per-domain column pairs of the evaluator's tables: (AUC, pAUC, precision, recall, F1) values of one
/// section's source and target halves. Missing decisions give NaN.
fn domain_columns(group: &GroupReport) -> [[f64; 2]; 5] {
    let det = |d: &Option<DomainReport>| d.and_then(|d| d.detection);
    let (s, t) = (det(&group.source), det(&group.target));
    let pick = |f: fn(&Detection) -> f64| [s.as_ref().map_or(f64::NAN, f), t.as_ref().map_or(f64::NAN, f)];
    [
        [
            group.auc_source.unwrap_or(f64::NAN),
            group.auc_target.unwrap_or(f64::NAN),
        ],
        [group.pauc, group.pauc],
        pick(|d| d.precision),
        pick(|d| d.recall),
        pick(|d| d.f1),
    ]
}

/// The evaluator's four summary rows over a set of sections: arithmetic mean, harmonic mean, source harmonic
/// mean, target harmonic mean, each over (AUC, pAUC, precision, recall, F1) with the source values first.
fn summary_rows<'a>(groups: impl Iterator<Item = &'a GroupReport> + Clone) -> Result<[[f64; 5]; 4]> {
    let columns = (0..5)
        .map(|column| {
            let half = |side: usize| {
                groups
                    .clone()
                    .map(|g| domain_columns(g)[column][side])
                    .collect::<Vec<f64>>()
            };
            let (source, target) = (half(0), half(1));
            let both: Vec<f64> = source.iter().chain(&target).copied().collect();
            Ok([amean(&both)?, hmean(&both)?, hmean(&source)?, hmean(&target)?])
        })
        .collect::<Result<Vec<[f64; 4]>>>()?;
    Ok(std::array::from_fn(|row| {
        std::array::from_fn(|column| columns[column][row])
    }))
}

impl Report {
    /// Writes the JSON of `asd evaluate --json` (pretty-printed).
    ///
    /// Errors: [`Error::Json`], [`Error::Io`].
    pub fn write_json(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|source| Error::Json {
            path: path.into(),
            source,
        })?;
        asd_io::write(path, (text + "\n").as_bytes()).map_err(io(path))
    }

    /// A plain-text (Markdown) table for the terminal: one row per group, then per-type and overall rows,
    /// values in percent with two decimals.
    pub fn to_table(&self) -> String {
        let pct = |x: f64| format!("{:.2}", 100.0 * x);
        let opt = |x: Option<f64>| x.map_or_else(|| "–".to_string(), pct);
        let mut out = String::new();
        let dcase2020 = self.year == Year::Dcase2020;
        let header = if dcase2020 {
            "| type | ID | AUC | pAUC | pAUC-raw |\n|---|---|---:|---:|---:|\n"
        } else {
            "| type | section | AUC (all) | AUC (source) | AUC (target) | pAUC | pAUC (source) | pAUC (target) | pAUC-raw |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|\n"
        };
        out.push_str(header);
        for (name, ty) in &self.types {
            for (key, g) in &ty.groups {
                let only = |d: &Option<DomainReport>| d.and_then(|d| d.only).map(|s| s.pauc);
                let _ = if dcase2020 {
                    writeln!(
                        out,
                        "| {name} | {key} | {} | {} | {} |",
                        pct(g.auc),
                        pct(g.pauc),
                        opt(g.pauc_raw)
                    )
                } else {
                    writeln!(
                        out,
                        "| {name} | {key} | {} | {} | {} | {} | {} | {} | {} |",
                        pct(g.auc),
                        opt(g.auc_source),
                        opt(g.auc_target),
                        pct(g.pauc),
                        opt(only(&g.source)),
                        opt(only(&g.target)),
                        opt(g.pauc_raw)
                    )
                };
            }
        }
        out.push('\n');
        // The summary: h-mean only where DCASE defines it (2021+), pooled columns only when asked for.
        let pooled = self.pool == Pool::Type;
        let mut headers = vec!["type", "AUC", "pAUC", "pAUC-raw", "mAUC"];
        if !dcase2020 {
            headers.push("h-mean");
        }
        if pooled {
            headers.extend(["pooled AUC", "pooled pAUC"]);
        }
        let row = |out: &mut String, mut cells: Vec<String>, hmean: Option<f64>, pool: [Option<f64>; 2]| {
            if !dcase2020 {
                cells.push(opt(hmean));
            }
            if pooled {
                cells.extend(pool.map(opt));
            }
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        };
        let _ = writeln!(out, "| {} |", headers.join(" | "));
        let _ = writeln!(out, "|---|{}", "---:|".repeat(headers.len() - 1));
        for (name, ty) in &self.types {
            let cells = vec![name.clone(), pct(ty.auc), pct(ty.pauc), opt(ty.pauc_raw), pct(ty.mauc)];
            row(
                &mut out,
                cells,
                ty.hmean,
                [ty.pooled.map(|p| p.auc), ty.pooled.map(|p| p.pauc)],
            );
        }
        let a = &self.average;
        let cells = vec![
            "**average**".to_string(),
            pct(a.auc),
            pct(a.pauc),
            opt(a.pauc_raw),
            pct(a.mauc),
        ];
        row(&mut out, cells, self.hmean, [a.pooled_auc, a.pooled_pauc]);
        if let Some(o) = &self.official {
            let _ = writeln!(
                out,
                "\nofficial score (h-mean of AUC source, AUC target, pAUC): {} (AUC source {}, AUC target {}, pAUC {}; \
                 ci95 {})",
                pct(o.score),
                pct(o.hmean_auc_source),
                pct(o.hmean_auc_target),
                pct(o.hmean_pauc),
                o.ci95.map_or_else(|| "–".to_string(), |c| format!("±{:.4}", 100.0 * c)),
            );
        }
        let by_year: Vec<String> = self
            .official_by_year
            .iter()
            .map(|(year, score)| format!("{year} {}", pct(*score)))
            .collect();
        let _ = writeln!(out, "\nofficial figure by DCASE year: {}", by_year.join(", "));
        if self.pool == Pool::Type {
            out.push_str("\npooled: AUC over all clips of a machine type, IDs/sections pooled (pool = \"type\")\n");
        }
        let decided: Vec<(&String, &String, Detection)> = self
            .types
            .iter()
            .flat_map(|(name, ty)| ty.groups.iter().map(move |(key, g)| (name, key, g)))
            .filter_map(|(name, key, g)| g.detection.map(|d| (name, key, d)))
            .collect();
        if !decided.is_empty() {
            let _ = writeln!(
                out,
                "\ndecisions (score above the group's threshold), all clips of each group:\n\n\
                 | type | {} | precision | recall | F1 |\n|---|---|---:|---:|---:|",
                if dcase2020 { "ID" } else { "section" }
            );
            for (name, key, d) in decided {
                let _ = writeln!(
                    out,
                    "| {name} | {key} | {} | {} | {} |",
                    pct(d.precision),
                    pct(d.recall),
                    pct(d.f1)
                );
            }
        }
        out
    }

    /// The result CSV in the official evaluator's layout: for 2021+ that of the DCASE 2023 evaluator
    /// (`<system>_result.csv`: per type the section rows and four summary rows, then the overall rows, the
    /// official score and its ci95), for 2020 that of the 2020 baseline's `result.csv` (per type `id,AUC,pAUC`
    /// rows and `Average`). Numbers are written as Python's `repr`; missing decisions leave cells empty.
    ///
    /// Errors: [`Error::Empty`] for a report without types; [`Error::Io`].
    pub fn to_evaluator_csv(&self) -> Result<String> {
        let cell = |x: f64| {
            if x.is_nan() { String::new() } else { py_repr(x) }
        };
        let mut lines: Vec<Vec<String>> = Vec::new();
        let text = |cells: &[&str]| cells.iter().map(|c| c.to_string()).collect::<Vec<String>>();
        if self.types.is_empty() {
            return Err(Error::Empty("report without machine types"));
        }
        if self.year == Year::Dcase2020 {
            for (name, ty) in &self.types {
                lines.push(text(&[name]));
                lines.push(text(&["id", "AUC", "pAUC"]));
                for (key, g) in &ty.groups {
                    let id = key.strip_prefix("id_").unwrap_or(key);
                    lines.push(vec![id.to_string(), cell(g.auc), cell(g.pauc)]);
                }
                lines.push(vec!["Average".into(), cell(ty.auc), cell(ty.pauc)]);
                lines.push(vec![]);
            }
            return Ok(join_csv(&lines));
        }
        let summary_header = text(&["", "", "AUC", "pAUC", "precision", "recall", "F1 score"]);
        for (name, ty) in &self.types {
            lines.push(text(&[name]));
            lines.push(text(&[
                "section",
                "AUC (all)",
                "AUC (source)",
                "AUC (target)",
                "pAUC",
                "precision (source)",
                "precision (target)",
                "recall (source)",
                "recall (target)",
                "F1 score (source)",
                "F1 score (target)",
            ]));
            for (key, g) in &ty.groups {
                let c = domain_columns(g);
                let mut row = vec![key.strip_prefix("section_").unwrap_or(key).to_string(), cell(g.auc)];
                row.extend(
                    [
                        c[0][0], c[0][1], g.pauc, c[2][0], c[2][1], c[3][0], c[3][1], c[4][0], c[4][1],
                    ]
                    .map(cell),
                );
                lines.push(row);
            }
            lines.push(summary_header.clone());
            let rows = summary_rows(ty.groups.values())?;
            for (label, row) in [
                "arithmetic mean",
                "harmonic mean",
                "source harmonic mean",
                "target harmonic mean",
            ]
            .iter()
            .zip(rows)
            {
                lines.push(
                    [label.to_string(), String::new()]
                        .into_iter()
                        .chain(row.map(cell))
                        .collect(),
                );
            }
            lines.push(vec![]);
        }
        lines.push(summary_header);
        let rows = summary_rows(self.types.values().flat_map(|t| t.groups.values()))?;
        for (label, row) in [
            "arithmetic mean",
            "harmonic mean",
            "source harmonic mean",
            "target harmonic mean",
        ]
        .iter()
        .zip(rows)
        {
            let label = format!("{label} over all machine types, sections, and domains");
            lines.push([label, String::new()].into_iter().chain(row.map(cell)).collect());
        }
        lines.push(vec![]);
        if let Some(o) = &self.official {
            lines.push(vec!["official score".into(), String::new(), cell(o.score)]);
            if let Some(ci) = o.ci95 {
                lines.push(vec!["official score ci95".into(), String::new(), cell(ci)]);
            }
            lines.push(vec![]);
        }
        Ok(join_csv(&lines))
    }

    /// Writes [`Report::to_evaluator_csv`] to `path`.
    ///
    /// Errors: as [`Report::to_evaluator_csv`]; [`Error::Io`].
    pub fn write_evaluator_csv(&self, path: &Path) -> Result<()> {
        asd_io::write(path, self.to_evaluator_csv()?.as_bytes()).map_err(io(path))
    }
}

/// Joins rows into CSV text, quoting cells that contain a comma or a quote (Python `csv.writer`, `\n` ends).
fn join_csv(lines: &[Vec<String>]) -> String {
    let quote = |c: &String| {
        if c.contains([',', '"', '\n']) {
            format!("\"{}\"", c.replace('"', "\"\""))
        } else {
            c.clone()
        }
    };
    lines
        .iter()
        .map(|row| row.iter().map(quote).collect::<Vec<_>>().join(",") + "\n")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn py_repr_matches_python_formatting() {
        for (x, want) in [
            (1.0, "1.0"),
            (0.7945000000000001, "0.7945000000000001"),
            (5.9280822990603985e-05, "5.9280822990603985e-05"),
            (1e-4, "0.0001"),
            (2.5e-7, "2.5e-07"),
            (1e16, "1e+16"),
            (0.0, "0.0"),
        ] {
            assert_eq!(py_repr(x), want);
        }
    }
}
