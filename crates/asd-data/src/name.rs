//! The file-name grammars of DCASE Task 2, 2020–2025 (`dcase_protocols.md` §1.2, §2.2); see [`parse_file_name`].

use crate::clip::{Condition, Domain, Layout, Split};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Which grammar a name follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameForm {
    /// `(normal|anomaly)_id_II_NNNNNNNN.wav`.
    Dcase2020,
    /// `id_II_NNNNNNNN.wav` (unlabelled).
    Dcase2020EvalTest,
    /// `section_SS_(source|target)_(train|test)_(normal|anomaly)_NNNN[_<attr>].wav`.
    Dcase2021Plus,
    /// `section_SS_(source|target)_test_NNNN.wav` (unlabelled, domain visible).
    Dcase2021EvalTest,
    /// `section_SS_NNNN.wav` or `section_SS_test_NNNN.wav` (unlabelled, domain hidden).
    Dcase2022EvalTest,
}

impl NameForm {
    /// The layout whose trees hold names of this form.
    pub fn layout(self) -> Layout {
        match self {
            NameForm::Dcase2020 | NameForm::Dcase2020EvalTest => Layout::Dcase2020,
            _ => Layout::Dcase2021Plus,
        }
    }
}

/// What a DCASE clip name says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedName {
    /// The grammar matched.
    pub form: NameForm,
    /// Machine ID (2020) or section (2021–25).
    pub id_or_section: u32,
    /// The domain token, when the name has one.
    pub domain: Option<Domain>,
    /// The split token, when the name has one (2020 names have none).
    pub split: Option<Split>,
    /// The label token; [`Condition::Unknown`] for evaluation-test names.
    pub condition: Condition,
    /// The running index (8 digits in 2020, 4 digits in 2021–25); its numbering varies by year, never a key.
    pub index: u32,
    /// Tokens after the index joined with `_` (opaque; `""` when absent).
    pub attributes: String,
}

impl ParsedName {
    /// The group as written in score-file names: `id_II` or `section_SS`.
    pub fn group(&self) -> String {
        group_name(self.form.layout(), self.id_or_section)
    }
}

/// `id_II` (2020) or `section_SS` (2021–25).
pub(crate) fn group_name(layout: Layout, number: u32) -> String {
    match layout {
        Layout::Dcase2020 => format!("id_{number:02}"),
        Layout::Dcase2021Plus => format!("section_{number:02}"),
    }
}

/// Digits of the machine ID / section field (`dcase_protocols.md` §1.2, §2.2).
const GROUP_DIGITS: usize = 2;
/// Digits of the 2020 running index (`dcase_protocols.md` §1.2).
const INDEX_DIGITS_2020: usize = 8;
/// Digits of the 2021–25 running index (`dcase_protocols.md` §2.2).
const INDEX_DIGITS_2021: usize = 4;

/// Parses the base name of a DCASE clip (any folder part of `name` is ignored).
///
/// Accepts every grammar below; the extension must be `.wav`.
///
/// | form | example | layout |
/// |---|---|---|
/// | [`NameForm::Dcase2020`] | `normal_id_00_00000000.wav`, `anomaly_id_02_00000123.wav` | 2020 train / dev test |
/// | [`NameForm::Dcase2020EvalTest`] | `id_01_00000042.wav` | 2020 evaluation test |
/// | [`NameForm::Dcase2021Plus`] | `section_00_source_train_normal_0000_m-n_W.wav`, `section_00_source_test_normal_0000.wav` (2021, no attributes) | 2021–25 train / dev test |
/// | [`NameForm::Dcase2021EvalTest`] | `section_03_target_test_0007.wav` | 2021 evaluation test |
/// | [`NameForm::Dcase2022EvalTest`] | `section_00_0012.wav` (2022–25), `section_00_test_0012.wav` (the baseline README's spelling) | 2022–25 evaluation test |
///
/// # Errors
/// [`Error::BadName`] naming `name` and saying which field does not match.
///
/// ```
/// use asd_data::{parse_file_name, Condition, Domain};
/// let p = parse_file_name("section_00_target_test_anomaly_0012_car_A1_spd_28V_mic_1.wav")?;
/// assert_eq!((p.group(), p.domain, p.condition), ("section_00".to_string(), Some(Domain::Target), Condition::Anomaly));
/// assert_eq!(p.attributes, "car_A1_spd_28V_mic_1");
/// # Ok::<(), asd_data::Error>(())
/// ```
pub fn parse_file_name(name: &str) -> Result<ParsedName> {
    let bad = |reason: &str| Error::BadName {
        path: name.into(),
        reason: reason.to_string(),
    };
    let base = Path::new(name)
        .file_name()
        .and_then(|b| b.to_str())
        .ok_or_else(|| bad("no file name"))?;
    let stem = base
        .strip_suffix(".wav")
        .ok_or_else(|| bad("the extension is not .wav"))?;
    let tokens: Vec<&str> = stem.split('_').collect();
    parse_tokens(&tokens).map_err(|reason| bad(&reason))
}

/// The grammar on the `_`-separated tokens of a stem; the error is the reason in words.
fn parse_tokens(t: &[&str]) -> std::result::Result<ParsedName, String> {
    match t {
        [label, "id", id, index] => Ok(ParsedName {
            form: NameForm::Dcase2020,
            id_or_section: digits(id, GROUP_DIGITS, "machine ID")?,
            domain: None,
            split: None,
            condition: labelled(label)?,
            index: digits(index, INDEX_DIGITS_2020, "index")?,
            attributes: String::new(),
        }),
        ["id", id, index] => Ok(ParsedName {
            form: NameForm::Dcase2020EvalTest,
            id_or_section: digits(id, GROUP_DIGITS, "machine ID")?,
            domain: None,
            split: None,
            condition: Condition::Unknown,
            index: digits(index, INDEX_DIGITS_2020, "index")?,
            attributes: String::new(),
        }),
        ["section", section, rest @ ..] => {
            let section = digits(section, GROUP_DIGITS, "section")?;
            parse_section_rest(section, rest)
        }
        _ => Err("expected (normal|anomaly)_id_II_NNNNNNNN, id_II_NNNNNNNN or section_SS_…".into()),
    }
}

/// The tokens after `section_SS`.
fn parse_section_rest(section: u32, rest: &[&str]) -> std::result::Result<ParsedName, String> {
    let unlabelled = |form, domain, split, index: &str| -> std::result::Result<ParsedName, String> {
        Ok(ParsedName {
            form,
            id_or_section: section,
            domain,
            split,
            condition: Condition::Unknown,
            index: digits(index, INDEX_DIGITS_2021, "index")?,
            attributes: String::new(),
        })
    };
    match rest {
        [index] => unlabelled(NameForm::Dcase2022EvalTest, None, None, index),
        ["test", index] => unlabelled(NameForm::Dcase2022EvalTest, None, Some(Split::Test), index),
        [domain, "test", index] if !is_label(index) => unlabelled(
            NameForm::Dcase2021EvalTest,
            Some(domain_of(domain)?),
            Some(Split::Test),
            index,
        ),
        [domain, split, label, index, attributes @ ..] => Ok(ParsedName {
            form: NameForm::Dcase2021Plus,
            id_or_section: section,
            domain: Some(domain_of(domain)?),
            split: Some(match *split {
                "train" => Split::Train,
                "test" => Split::Test,
                other => return Err(format!("split token {other:?} is neither train nor test")),
            }),
            condition: labelled(label)?,
            index: digits(index, INDEX_DIGITS_2021, "index")?,
            attributes: attributes.join("_"),
        }),
        _ => Err("expected section_SS_<domain>_<split>_<label>_NNNN[_<attributes>], \
                  section_SS_<domain>_test_NNNN or section_SS_NNNN"
            .into()),
    }
}

fn is_label(token: &str) -> bool {
    matches!(token, "normal" | "anomaly")
}

fn labelled(token: &str) -> std::result::Result<Condition, String> {
    match token {
        "normal" => Ok(Condition::Normal),
        "anomaly" => Ok(Condition::Anomaly),
        other => Err(format!("label token {other:?} is neither normal nor anomaly")),
    }
}

fn domain_of(token: &str) -> std::result::Result<Domain, String> {
    match token {
        "source" => Ok(Domain::Source),
        "target" => Ok(Domain::Target),
        other => Err(format!("domain token {other:?} is neither source nor target")),
    }
}

/// A field of exactly `n` ASCII digits.
fn digits(token: &str, n: usize, what: &str) -> std::result::Result<u32, String> {
    if token.len() == n && token.bytes().all(|b| b.is_ascii_digit()) {
        token.parse().map_err(|_| format!("{what} {token:?} is not a number"))
    } else {
        Err(format!("{what} {token:?} is not {n} digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(name: &str) -> ParsedName {
        parse_file_name(name).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn fails(name: &str, needle: &str) {
        match parse_file_name(name) {
            Err(Error::BadName { path, reason }) => {
                assert_eq!(path, Path::new(name));
                assert!(reason.contains(needle), "{name}: reason {reason:?} lacks {needle:?}");
            }
            other => panic!("{name}: expected BadName, got {other:?}"),
        }
    }

    #[test]
    fn dcase2020_train_and_test() {
        let p = ok("normal_id_04_00000123.wav");
        assert_eq!(p.form, NameForm::Dcase2020);
        assert_eq!((p.id_or_section, p.index, p.condition), (4, 123, Condition::Normal));
        assert_eq!((p.domain, p.split, p.group()), (None, None, "id_04".to_string()));
        let p = ok("anomaly_id_01_00000263.wav");
        assert_eq!((p.id_or_section, p.index, p.condition), (1, 263, Condition::Anomaly));
    }

    #[test]
    fn dcase2020_eval_test() {
        let p = ok("id_05_00000514.wav");
        assert_eq!(p.form, NameForm::Dcase2020EvalTest);
        assert_eq!((p.id_or_section, p.index, p.condition), (5, 514, Condition::Unknown));
        assert_eq!(p.group(), "id_05");
    }

    #[test]
    fn dcase2021_plus_with_attributes() {
        let p = ok("section_00_source_train_normal_0362_car_C2_spd_31V_mic_1.wav");
        assert_eq!(p.form, NameForm::Dcase2021Plus);
        assert_eq!((p.id_or_section, p.index), (0, 362));
        assert_eq!(
            (p.domain, p.split, p.condition),
            (Some(Domain::Source), Some(Split::Train), Condition::Normal)
        );
        assert_eq!(p.attributes, "car_C2_spd_31V_mic_1");
        assert_eq!(p.group(), "section_00");
        // unpairable tokens stay opaque (2024 `weight10_BckgA`)
        assert_eq!(
            ok("section_00_target_test_anomaly_0001_weight10_BckgA.wav").attributes,
            "weight10_BckgA"
        );
        assert_eq!(ok("section_00_source_test_normal_0022_m-n_W.wav").attributes, "m-n_W");
    }

    #[test]
    fn dcase2021_plus_hidden_and_empty_attributes() {
        assert_eq!(
            ok("section_00_source_train_normal_0001_noAttribute.wav").attributes,
            "noAttribute"
        );
        assert_eq!(ok("section_00_source_train_normal_0000_.wav").attributes, "");
    }

    #[test]
    fn dcase2021_test_without_attributes() {
        let p = ok("section_02_target_test_anomaly_0099.wav");
        assert_eq!(p.form, NameForm::Dcase2021Plus);
        assert_eq!((p.id_or_section, p.index, p.attributes.as_str()), (2, 99, ""));
        assert_eq!((p.domain, p.condition), (Some(Domain::Target), Condition::Anomaly));
    }

    #[test]
    fn dcase2021_eval_test() {
        let p = ok("section_03_target_test_0007.wav");
        assert_eq!(p.form, NameForm::Dcase2021EvalTest);
        assert_eq!((p.id_or_section, p.index), (3, 7));
        assert_eq!(
            (p.domain, p.split, p.condition),
            (Some(Domain::Target), Some(Split::Test), Condition::Unknown)
        );
    }

    #[test]
    fn dcase2022_to_2025_eval_test() {
        let p = ok("section_04_0199.wav");
        assert_eq!(p.form, NameForm::Dcase2022EvalTest);
        assert_eq!(
            (p.id_or_section, p.index, p.domain, p.condition),
            (4, 199, None, Condition::Unknown)
        );
        let p = ok("section_00_test_0012.wav");
        assert_eq!(
            (p.form, p.index, p.split),
            (NameForm::Dcase2022EvalTest, 12, Some(Split::Test))
        );
    }

    #[test]
    fn folders_are_ignored() {
        assert_eq!(ok("dev_data/fan/train/normal_id_00_00000000.wav").group(), "id_00");
    }

    #[test]
    fn malformed_names() {
        fails("normal_id_00_00000000.flac", "extension");
        fails("normal_id_00_00000000", "extension");
        fails("normal_id_0_00000000.wav", "machine ID \"0\" is not 2 digits");
        fails("normal_id_00_0000000.wav", "index \"0000000\" is not 8 digits");
        fails("broken_id_00_00000000.wav", "label token \"broken\"");
        fails("id_0a_00000000.wav", "machine ID");
        fails("section_0_source_train_normal_0000.wav", "section \"0\"");
        fails("section_00_left_train_normal_0000_a_1.wav", "domain token \"left\"");
        fails("section_00_source_valid_normal_0000_a_1.wav", "split token \"valid\"");
        fails("section_00_source_train_broken_0000_a_1.wav", "label token \"broken\"");
        fails(
            "section_00_source_train_normal_000_a_1.wav",
            "index \"000\" is not 4 digits",
        );
        fails("section_00_source_test_00x1.wav", "index");
        fails("section_00_00123.wav", "index");
        fails("section_00_source.wav", "index \"source\"");
        fails("section_00_source_train_normal.wav", "expected section_SS");
        fails("machine_00.wav", "expected (normal|anomaly)");
        fails(".wav", "expected");
    }
}
