//! The built-in synthetic machine-sound benchmark: machine-like sounds written in the real DCASE layouts.
//!
//! Real DCASE data cannot be downloaded everywhere, so this module writes a dataset whose folder tree, file
//! names and `attributes_XX.csv` follow the DCASE 2020 or 2021–2025 grammar exactly (see
//! `shared/spec/dcase_protocols.md` §1.2 and §2.2), and whose sounds come from a physical-ish model of each
//! machine type:
//!
//! | type | mechanism | anomalies |
//! |---|---|---|
//! | `fan` | shaft harmonics with speed wander, blade-pass tone, aerodynamic noise bands | imbalance, looseness, bearing fault, rubbing |
//! | `pump` | shaft harmonics, vane-pass tone, flow pulsation, fluid-noise bands | clogging, imbalance, leak |
//! | `slider` | periodic travel: impulsive start/stop ringing the rail, motor whine and friction while moving | friction, extra impacts, irregular timing |
//! | `valve` | open/close clicks ringing damped resonances, flow hiss while open | irregular timing, leak, clogging |
//! | `ToyCar` | motor whine (high f0) with gear-mesh tone and sidebands, brush noise | gear tooth, bearing fault, rubbing |
//! | `ToyConveyor` | belt rumble, motor hum, periodic roller impulses | looseness, extra impacts, rubbing |
//! | `gearbox` | shaft harmonics, load-dependent gear mesh with sidebands | gear tooth, looseness, bearing fault |
//! | `bearing` | faint shaft harmonics under broadband rolling noise | bearing fault, rubbing, imbalance |
//! | `ToyTrain` | motor whine, wheel rumble, rail-joint clacks | extra impacts, gear tooth, rubbing |
//!
//! Machine IDs (sections) of one type differ by small offsets of shaft rate (±4 %), amplitudes (±20 %) and
//! resonances (±4 %). Every clip adds a factory background (pink + brown noise with occasional knocks) at a
//! signal-to-noise ratio drawn from −6…6 dB and a gain drawn from −30…−22 dBFS RMS (peak ≤ 0.95). Anomalies
//! occur in test clips only, with a severity drawn per clip. In the 2021+ layout the target domain changes
//! speed, load, background, microphone position or operating pattern, recorded in the attributes.
//!
//! Everything is deterministic: a clip's generator is a `ChaCha8Rng` seeded through a fixed hash of (seed,
//! type, ID/section, split, domain, condition, index), so clips render in parallel with identical bytes.
//! [`GENERATOR_VERSION`] changes whenever the sounds change; the dataset root gets a `synth.toml` manifest
//! naming it, so nobody mistakes the data for recordings. `docs/synthetic.md` documents each recipe and the
//! baseline results.
//!
//! ```
//! use asd_audio::synth::{render_clip, ClipSpec, Domain, MachineType, Split, SynthLayout};
//! let spec = ClipSpec {
//!     layout: SynthLayout::Dcase2020,
//!     machine: MachineType::Fan,
//!     group: 0,
//!     split: Split::Test,
//!     domain: Domain::Source,
//!     anomaly: None,
//!     severity: None,
//!     index: 3,
//!     seconds: 1.0,
//!     seed: 42,
//! };
//! assert_eq!(spec.file_name(), "normal_id_00_00000003.wav");
//! let wave = render_clip(&spec);
//! assert_eq!((wave.samples.len(), wave.sample_rate), (16_000, 16_000));
//! assert!(wave.samples.iter().all(|s| s.abs() < 1.0));
//! assert_eq!(wave, render_clip(&spec)); // deterministic
//! ```

mod dsp;
mod machines;

pub use machines::{AnomalyKind, MachineType};

use crate::{AudioError, Result, Waveform, write_channels_pcm16};
use dsp::hash_key;
use machines::{Content, FarMic, Operating, Recording, SAMPLE_RATE};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Version of the sound model. Any change to the generated samples bumps it (and the documented results).
pub const GENERATOR_VERSION: &str = "1.0.0";

/// File name of the manifest written at the dataset root.
pub const MANIFEST_FILE: &str = "synth.toml";

/// Which DCASE folder tree and file-name grammar to write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SynthLayout {
    /// DCASE 2020 Task 2: `<type>/{train,test}/{normal,anomaly}_id_XX_NNNNNNNN.wav`, no domains.
    #[default]
    Dcase2020,
    /// DCASE 2021–2025 Task 2 (2023 types):
    /// `<type>/{train,test}/section_SS_{source,target}_{train,test}_{normal,anomaly}_NNNN_<attrs>.wav` and
    /// `<type>/attributes_SS.csv`.
    Dcase2023,
    /// DCASE 2025 Task 2: the 2023 tree, with the attributes of bearing, slider and ToyTrain hidden
    /// (`…_NNNN_noAttribute.wav`, as the real 2025 development set hides them) and each type's `supplemental/`
    /// folder of clean-machine or noise-only clips.
    Dcase2025,
    /// DCASE 2026 Task 2 ("noise-aware"): two-channel clips (left: the near microphone, as every other layout's
    /// mono clip; right: a far microphone hearing the machine with room reverberation over a louder background),
    /// 2026's type names, clip lengths of 0.6, 1 or 1.6 × `seconds` by type (the real set's 6, 10 and 16 s), a
    /// `noise_N` attribute for the far background's level, and the attributes of bearingEmu and sliderEmu hidden
    /// (`…_NNNN_.wav`).
    Dcase2026,
}

impl SynthLayout {
    /// Every layout, in the order the CLI lists them.
    pub const ALL: [SynthLayout; 4] = [Self::Dcase2020, Self::Dcase2023, Self::Dcase2025, Self::Dcase2026];

    /// The machine types of this layout, in the fixed order [`SynthConfig::types`] takes them:
    /// 2020 fan, pump, slider, valve, ToyCar, ToyConveyor; 2023 fan, gearbox, bearing, valve, slider, ToyCar,
    /// ToyTrain; 2025 and 2026 fan, bearing, gearbox, slider, ToyCar, ToyTrain, valve (so that two types already
    /// include one without attributes; 2026 names them as [`SynthLayout::type_name`] says).
    pub fn machine_types(self) -> &'static [MachineType] {
        use MachineType::*;
        match self {
            Self::Dcase2020 => &[Fan, Pump, Slider, Valve, ToyCar, ToyConveyor],
            Self::Dcase2023 => &[Fan, Gearbox, Bearing, Valve, Slider, ToyCar, ToyTrain],
            Self::Dcase2025 | Self::Dcase2026 => &[Fan, Bearing, Gearbox, Slider, ToyCar, ToyTrain, Valve],
        }
    }

    /// The name used on the command line and in the manifest (`dcase2020`, `dcase2023`, `dcase2025`, `dcase2026`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Dcase2020 => "dcase2020",
            Self::Dcase2023 => "dcase2023",
            Self::Dcase2025 => "dcase2025",
            Self::Dcase2026 => "dcase2026",
        }
    }

    /// The folder name of `machine`'s type: its DCASE spelling ([`MachineType::name`]), or in 2026 the development
    /// set's names (`dcase_protocols.md` §7): bearingEmu, gearboxEmu, sliderEmu, valveEmu, and ToyCarEmu for the
    /// toy-train sound model (fan and ToyCar keep theirs).
    pub fn type_name(self, machine: MachineType) -> &'static str {
        match (self, machine) {
            (Self::Dcase2026, MachineType::Bearing) => "bearingEmu",
            (Self::Dcase2026, MachineType::Gearbox) => "gearboxEmu",
            (Self::Dcase2026, MachineType::Slider) => "sliderEmu",
            (Self::Dcase2026, MachineType::Valve) => "valveEmu",
            (Self::Dcase2026, MachineType::ToyTrain) => "ToyCarEmu",
            _ => machine.name(),
        }
    }

    /// Whether the names of `machine`'s clips hide their attributes: 2025 bearing, slider and ToyTrain (as the real
    /// 2025 development set), 2026 bearingEmu and sliderEmu.
    pub fn hides_attributes(self, machine: MachineType) -> bool {
        use MachineType::*;
        match self {
            Self::Dcase2025 => matches!(machine, Bearing | Slider | ToyTrain),
            Self::Dcase2026 => matches!(machine, Bearing | Slider),
            _ => false,
        }
    }

    /// Whether names carry sections, domains and attributes (every layout but 2020).
    fn has_domains(self) -> bool {
        self != Self::Dcase2020
    }

    /// How many IDs / sections a type can have: the real datasets' 7 IDs per type (ToyConveyor 6) in 2020,
    /// sections 00–05 in 2021+.
    fn max_groups(self, machine: MachineType) -> usize {
        match (self, machine) {
            (Self::Dcase2020, MachineType::ToyConveyor) => 6,
            (Self::Dcase2020, _) => 7,
            _ => 6,
        }
    }

    /// Clip length of `machine`'s type as a multiple of [`SynthConfig::seconds`]: 1, except in 2026, whose types
    /// record 6, 10 or 16 s (0.6, 1 and 1.6 × 10 s).
    fn length_factor(self, machine: MachineType) -> f32 {
        use MachineType::*;
        match (self, machine) {
            (Self::Dcase2026, Bearing | ToyTrain) => 0.6,
            (Self::Dcase2026, Slider | Valve) => 1.6,
            _ => 1.0,
        }
    }

    /// What `machine`'s supplemental clips hold (2025): clean machine sound for the types at even positions of
    /// [`SynthLayout::machine_types`], noise only for the others (the real set has one kind per type).
    pub fn supplemental_kind(self, machine: MachineType) -> SupplementalKind {
        let position = self.machine_types().iter().position(|&m| m == machine).unwrap_or(0);
        if position % 2 == 0 {
            SupplementalKind::CleanMachine
        } else {
            SupplementalKind::NoiseOnly
        }
    }
}

impl std::str::FromStr for SynthLayout {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Self::ALL.into_iter().find(|l| l.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|l| l.name()).collect();
            format!("unknown layout {s:?}; expected one of {}", names.join(", "))
        })
    }
}

/// What a supplemental clip of the 2025 layout holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SupplementalKind {
    /// The machine alone, without background.
    CleanMachine,
    /// The background alone.
    NoiseOnly,
}

/// Settings of a synthetic dataset (TOML/serde; every field has a default).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SynthConfig {
    /// Folder tree and file-name grammar. Default `dcase2020`.
    pub layout: SynthLayout,
    /// How many machine types, taken in the order of [`SynthLayout::machine_types`]: 1..=6 (2020) or
    /// 1..=7 (2023). Default 6.
    pub types: usize,
    /// Machine IDs per type (2020; IDs 00, 02, 04, 06, 01, 03, 05 for MIMII types, 01, 02, … for ToyADMOS
    /// types, at most 7, ToyConveyor 6) or sections per type (2023; 00, 01, …, at most 6). Default 4.
    pub ids: usize,
    /// Normal training clips per ID (2020) or source-domain training clips per section (2023); the 2023
    /// layout adds `max(1, train / 10)` target-domain training clips per section. Default 100.
    pub train: usize,
    /// Test clips per ID/section and per condition: `test` normal + `test` anomalous (2023: per domain too,
    /// so 4 × `test` per section). Default 50.
    pub test: usize,
    /// Clip length in seconds, 0.1..=60. Default 10.
    pub seconds: f32,
    /// Seed of every random draw. Default 0.
    pub seed: u64,
    /// Supplemental clips per machine type (2025 layout only; section 00): `None` (the default) writes
    /// `max(1, train / 10)` in the 2025 layout and none elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplemental: Option<usize>,
    /// Severity of every anomaly as a position in its type's severity range (0 = weakest, 1 = strongest; up
    /// to [`SEVERITY_MAX`], where 2 is twice the strongest fault of the benchmark). `None` (the default, and
    /// the benchmark) draws a position in 0..=1 per clip, so that most anomalies are weak and a few strong.
    /// Fixing it gives test sets of known difficulty; every other sample stays the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<f32>,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            layout: SynthLayout::Dcase2020,
            types: 6,
            ids: 4,
            train: 100,
            test: 50,
            seconds: 10.0,
            seed: 0,
            supplemental: None,
            severity: None,
        }
    }
}

/// Largest anomaly severity position [`SynthConfig::severity`] and [`ClipSpec::severity`] take: three times the
/// strongest fault of the benchmark (larger values are clamped to it).
pub const SEVERITY_MAX: f32 = 3.0;

/// Shortest and longest clip the generator makes (s).
const SECONDS_RANGE: (f32, f32) = (0.1, 60.0);

impl SynthConfig {
    /// Checks every field's range.
    ///
    /// # Errors
    /// [`AudioError::SynthConfig`] naming the first field out of range.
    pub fn check(&self) -> Result<()> {
        let bad = |field, reason: String| Err(AudioError::SynthConfig { field, reason });
        let n_types = self.layout.machine_types().len();
        if !(1..=n_types).contains(&self.types) {
            return bad(
                "types",
                format!(
                    "{} layout has 1..={n_types} machine types, got {}",
                    self.layout.name(),
                    self.types
                ),
            );
        }
        let max_ids = self
            .machine_types()
            .iter()
            .map(|&m| self.layout.max_groups(m))
            .min()
            .unwrap_or(0);
        if !(1..=max_ids).contains(&self.ids) {
            return bad(
                "ids",
                format!("1..={max_ids} IDs/sections for these types, got {}", self.ids),
            );
        }
        if self.train == 0 {
            return bad("train", "at least 1 training clip per ID/section".into());
        }
        if self.test == 0 {
            return bad("test", "at least 1 test clip per ID/section and condition".into());
        }
        if !(SECONDS_RANGE.0..=SECONDS_RANGE.1).contains(&self.seconds) {
            let (lo, hi) = SECONDS_RANGE;
            return bad("seconds", format!("clip length {lo}..={hi} s, got {}", self.seconds));
        }
        if self.supplemental.is_some_and(|n| n > 0) && self.layout != SynthLayout::Dcase2025 {
            return bad(
                "supplemental",
                format!(
                    "supplemental clips belong to the dcase2025 layout, not {}",
                    self.layout.name()
                ),
            );
        }
        if let Some(severity) = self.severity.filter(|s| !(0.0..=SEVERITY_MAX).contains(s)) {
            return bad("severity", format!("a position in 0..={SEVERITY_MAX}, got {severity}"));
        }
        Ok(())
    }

    /// The machine types this config generates.
    pub fn machine_types(&self) -> &'static [MachineType] {
        let all = self.layout.machine_types();
        &all[..self.types.min(all.len())]
    }

    /// Target-domain training clips per section in the 2021+ layouts: `max(1, train / 10)` (0 in 2020).
    pub fn target_train(&self) -> usize {
        if self.layout.has_domains() {
            (self.train / 10).max(1)
        } else {
            0
        }
    }

    /// Supplemental clips per machine type: [`SynthConfig::supplemental`], by default `max(1, train / 10)` in the
    /// 2025 layout and 0 elsewhere.
    pub fn supplemental_clips(&self) -> usize {
        match (self.layout, self.supplemental) {
            (SynthLayout::Dcase2025, None) => (self.train / 10).max(1),
            (_, n) => n.unwrap_or(0),
        }
    }

    /// Every clip of the dataset, in the fixed order they are written: type, ID/section, train (source then
    /// target), test (per domain: normal then anomalous), then the type's supplemental clips (2025). Anomalous
    /// test clip `i` gets the type's anomaly kind `i mod n_kinds`.
    pub fn clips(&self) -> Vec<ClipSpec> {
        let domains: &[Domain] = if self.layout.has_domains() {
            &[Domain::Source, Domain::Target]
        } else {
            &[Domain::Source]
        };
        let mut out = Vec::new();
        for &machine in self.machine_types() {
            let seconds = self.seconds * self.layout.length_factor(machine);
            for group in 0..self.ids {
                let base = ClipSpec {
                    layout: self.layout,
                    machine,
                    group,
                    split: Split::Train,
                    domain: Domain::Source,
                    anomaly: None,
                    severity: self.severity,
                    index: 0,
                    seconds,
                    seed: self.seed,
                };
                for &domain in domains {
                    let n = if domain == Domain::Source {
                        self.train
                    } else {
                        self.target_train()
                    };
                    out.extend((0..n).map(|index| ClipSpec { domain, index, ..base }));
                }
                for &domain in domains {
                    let test = ClipSpec {
                        split: Split::Test,
                        domain,
                        ..base
                    };
                    out.extend((0..self.test).map(|index| ClipSpec { index, ..test }));
                    let kinds = machine.anomalies();
                    out.extend((0..self.test).map(|index| ClipSpec {
                        index,
                        anomaly: Some(kinds[index % kinds.len()]),
                        ..test
                    }));
                }
            }
            out.extend((0..self.supplemental_clips()).map(|index| ClipSpec {
                layout: self.layout,
                machine,
                group: 0,
                split: Split::Supplemental,
                domain: Domain::Source,
                anomaly: None,
                severity: self.severity,
                index,
                seconds,
                seed: self.seed,
            }));
        }
        out
    }
}

/// Training, test or supplemental split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Split {
    /// Normal clips for fitting (`train/`).
    Train,
    /// Normal and anomalous clips for scoring (`test/`).
    Test,
    /// The 2025 layout's `supplemental/` clips: the machine alone or its background alone
    /// ([`SynthLayout::supplemental_kind`]).
    Supplemental,
}

impl Split {
    /// The folder: `train`, `test` or `supplemental`.
    pub fn folder(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Test => "test",
            Self::Supplemental => "supplemental",
        }
    }
}

/// Source or target domain (2021+ layout; always source in the 2020 layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Domain {
    /// The main operating condition.
    Source,
    /// The shifted operating condition (other speed, load, background, microphone or pattern).
    Target,
}

/// Identity of one synthetic clip: everything its sound and file name depend on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClipSpec {
    /// Layout (decides the file name and whether attributes / domains apply).
    pub layout: SynthLayout,
    /// Machine type.
    pub machine: MachineType,
    /// 0-based ID (2020) or section (2023) number within the type; see [`ClipSpec::group_label`].
    pub group: usize,
    /// Training or test clip.
    pub split: Split,
    /// Domain (ignored in the 2020 layout).
    pub domain: Domain,
    /// `None` for a normal clip, else the kind of anomaly.
    pub anomaly: Option<AnomalyKind>,
    /// Anomaly severity as a position in the type's severity range (0 = weakest, 1 = strongest, above 1
    /// stronger still, clamped to [`SEVERITY_MAX`]); `None` draws a position in 0..=1 per clip, as
    /// [`generate`] does by default. Ignored for normal clips.
    pub severity: Option<f32>,
    /// 0-based running index within (type, group, split, domain, condition).
    pub index: usize,
    /// Length in seconds.
    pub seconds: f32,
    /// Dataset seed.
    pub seed: u64,
}

/// Parts of generator keys, kept apart so that streams never collide.
#[derive(Clone, Copy)]
enum Stream {
    Machine = 1,
    Attributes = 2,
    Clip = 3,
    /// The 2026 layout's far-microphone noise attribute.
    Noise = 4,
}

impl ClipSpec {
    /// The two-digit number in file names: the real dataset's machine ID (2020: MIMII types 00, 02, 04, 06,
    /// 01, 03, 05; ToyADMOS types 01, 02, …) or the section (2021+ layouts).
    pub fn group_label(&self) -> usize {
        match (self.layout, self.machine) {
            (SynthLayout::Dcase2020, MachineType::ToyCar | MachineType::ToyConveyor) => self.group + 1,
            (SynthLayout::Dcase2020, _) => {
                const MIMII_IDS: [usize; 7] = [0, 2, 4, 6, 1, 3, 5]; // dev IDs, then additional-training IDs
                MIMII_IDS.get(self.group).copied().unwrap_or(self.group)
            }
            _ => self.group,
        }
    }

    /// The type's folder name in the layout ([`SynthLayout::type_name`]).
    pub fn type_name(&self) -> &'static str {
        self.layout.type_name(self.machine)
    }

    /// Channels of the clip: 2 in the 2026 layout (near, far microphone), else 1.
    pub fn channels(&self) -> usize {
        if self.layout == SynthLayout::Dcase2026 { 2 } else { 1 }
    }

    /// Samples in the clip at 16 kHz.
    pub fn n_samples(&self) -> usize {
        (f64::from(self.seconds) * SAMPLE_RATE).round().max(1.0) as usize
    }

    fn key(&self, stream: Stream) -> u64 {
        let (split, domain) = (self.split as u64, self.domain as u64);
        hash_key(&[
            self.seed,
            stream as u64,
            self.machine.key(),
            self.group as u64,
            split,
            domain,
            u64::from(self.anomaly.is_some()),
            self.index as u64,
        ])
    }

    /// Attribute names and values of the clip (empty in the 2020 layout) and its operating condition.
    fn condition(&self) -> (Vec<(&'static str, &'static str)>, Operating) {
        if !self.layout.has_domains() {
            return (Vec::new(), Operating::neutral());
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.key(Stream::Attributes));
        let (mut attributes, op) = self.machine.draw_attributes(self.domain == Domain::Target, &mut rng);
        if let Some(level) = self.far_noise_level() {
            attributes.push(("noise", FAR_NOISE_LEVELS[level]));
        }
        (attributes, op)
    }

    /// The 2026 layout's far-microphone background level, an index into [`FAR_NOISE_LEVELS`]: 0 or 1 in the
    /// source domain, 2 or 3 in the target domain; `None` in the other layouts.
    fn far_noise_level(&self) -> Option<usize> {
        (self.layout == SynthLayout::Dcase2026).then(|| {
            let mut rng = ChaCha8Rng::seed_from_u64(self.key(Stream::Noise));
            let pick = (rand::Rng::next_u32(&mut rng) % 2) as usize;
            pick + if self.domain == Domain::Target { 2 } else { 0 }
        })
    }

    /// Attribute `(name, value)` pairs of the clip's condition (2021+ layouts; empty for 2020); the name shows them
    /// unless the layout [hides](SynthLayout::hides_attributes) its type's.
    pub fn attributes(&self) -> Vec<(&'static str, &'static str)> {
        self.condition().0
    }

    /// The file's base name, exactly per the DCASE grammar of the layout, e.g.
    /// `anomaly_id_02_00000007.wav`, `section_00_target_test_normal_0003_vel_10_loc_C.wav`, with hidden attributes
    /// `section_00_source_train_normal_0000_noAttribute.wav` (2025) or `section_00_source_train_normal_0000_.wav`
    /// (2026); supplemental clips `section_00_source_supplemental_machine_0000.wav` (clean machine) and
    /// `section_00_noise_supplemental_normal_0000.wav` (noise only), the names a public 2025 loader documents
    /// (`dcase_protocols.md` §2.4).
    pub fn file_name(&self) -> String {
        self.name(false)
    }

    /// The name the clip would have with its attributes shown, as the organisers' correspondence tables give it
    /// for hidden ones (`dcase_protocols.md` §2.3); [`file_name`](Self::file_name) for a clip whose attributes show.
    pub fn revealed_file_name(&self) -> String {
        self.name(true)
    }

    fn name(&self, reveal: bool) -> String {
        let cond = if self.anomaly.is_some() { "anomaly" } else { "normal" };
        let section = self.group_label();
        if self.layout == SynthLayout::Dcase2020 {
            return format!("{cond}_id_{section:02}_{:08}.wav", self.index);
        }
        if self.split == Split::Supplemental {
            return match self.layout.supplemental_kind(self.machine) {
                SupplementalKind::CleanMachine => {
                    format!("section_{section:02}_source_supplemental_machine_{:04}.wav", self.index)
                }
                SupplementalKind::NoiseOnly => {
                    format!("section_{section:02}_noise_supplemental_normal_{:04}.wav", self.index)
                }
            };
        }
        let domain = match self.domain {
            Domain::Source => "source",
            Domain::Target => "target",
        };
        let mut name = format!(
            "section_{section:02}_{domain}_{}_{cond}_{:04}",
            self.split.folder(),
            self.index
        );
        match self.layout {
            SynthLayout::Dcase2025 if !reveal && self.layout.hides_attributes(self.machine) => {
                name.push_str("_noAttribute");
            }
            SynthLayout::Dcase2026 if !reveal && self.layout.hides_attributes(self.machine) => name.push('_'),
            _ => {
                for (k, v) in self.attributes() {
                    let _ = write!(name, "_{k}_{v}"); // ok: writing to a String cannot fail
                }
            }
        }
        name + ".wav"
    }

    /// Path relative to the dataset root: `<type>/<train|test|supplemental>/<file name>`.
    pub fn relative_path(&self) -> PathBuf {
        Path::new(self.type_name())
            .join(self.split.folder())
            .join(self.file_name())
    }
}

/// Values of the 2026 layout's `noise` attribute, by the far microphone's background level (source 1, 2; target
/// 3, 4).
const FAR_NOISE_LEVELS: [&str; 4] = ["1", "2", "3", "4"];

/// Renders one clip in memory at 16 kHz, `spec.n_samples()` samples, peak below 0.95: its only channel, or for a
/// two-channel clip (2026) the left one, the near microphone ([`render_channels`] gives both).
pub fn render_clip(spec: &ClipSpec) -> Waveform {
    let mut channels = render_channels(spec);
    Waveform {
        samples: channels.swap_remove(0),
        sample_rate: SAMPLE_RATE as u32,
    }
}

/// Renders every channel of one clip at 16 kHz ([`ClipSpec::channels`] of `spec.n_samples()` samples each, peak
/// below 0.95 over all of them): in the 2026 layout the near microphone, then the far one, which hears the same
/// machine with room reverberation over a louder background of its own; a supplemental clip holds the machine or
/// its background alone.
pub fn render_channels(spec: &ClipSpec) -> Vec<Vec<f32>> {
    let (_, op) = spec.condition();
    let mut id_rng = ChaCha8Rng::seed_from_u64(hash_key(&[
        spec.seed,
        Stream::Machine as u64,
        spec.machine.key(),
        spec.group as u64,
    ]));
    let mut clip_rng = ChaCha8Rng::seed_from_u64(spec.key(Stream::Clip));
    let content = match spec.split {
        Split::Supplemental => match spec.layout.supplemental_kind(spec.machine) {
            SupplementalKind::CleanMachine => Content::CleanMachine,
            SupplementalKind::NoiseOnly => Content::NoiseOnly,
        },
        _ => Content::Recording,
    };
    let recording = Recording {
        samples: spec.n_samples(),
        content,
        far: spec.far_noise_level().map(|noise_level| FarMic { noise_level }),
    };
    machines::render_samples(
        spec.machine,
        &op,
        spec.anomaly,
        spec.severity.map(f64::from),
        recording,
        &mut id_rng,
        &mut clip_rng,
    )
}

/// What [`generate`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthSummary {
    /// WAV files written.
    pub n_clips: usize,
    /// Total audio written (s).
    pub seconds_of_audio: f64,
    /// The machine types, in order.
    pub machine_types: Vec<MachineType>,
    /// The manifest file (`<out_dir>/synth.toml`).
    pub manifest: PathBuf,
}

/// Clips rendered between two progress reports.
const PROGRESS_CHUNK: usize = 32;

/// Writes the dataset of `config` under `out_dir` (created if needed; existing files of the same names are
/// overwritten): the WAV files of [`SynthConfig::clips`], `attributes_SS.csv` per section (2023 layout) and,
/// last, the manifest [`MANIFEST_FILE`], so a tree whose manifest matches ([`is_generated`]) is complete. Every
/// file is written atomically, and temporary files an interrupted generation left are removed first. Clips
/// render in parallel; `progress(done, total)` is called from the calling thread after each batch.
///
/// # Errors
/// [`AudioError::SynthConfig`] for a bad config (checked before anything is written); [`AudioError::Io`]
/// naming the file or folder that could not be written.
pub fn generate(config: &SynthConfig, out_dir: &Path, progress: &mut dyn FnMut(u64, u64)) -> Result<SynthSummary> {
    config.check()?;
    let clips = config.clips();
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| AudioError::Io { path, source }
    };
    for &machine in config.machine_types() {
        let mut splits = vec![Split::Train, Split::Test];
        if config.supplemental_clips() > 0 {
            splits.push(Split::Supplemental);
        }
        for split in splits {
            let dir = out_dir.join(config.layout.type_name(machine)).join(split.folder());
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        }
    }
    asd_io::remove_stale(out_dir).map_err(io(out_dir))?;
    if config.layout.has_domains() {
        write_attribute_tables(config, &clips, out_dir)?;
    }
    let total = clips.len() as u64;
    progress(0, total);
    let mut done = 0;
    for batch in clips.chunks(PROGRESS_CHUNK) {
        batch.par_iter().try_for_each(|spec| {
            let channels = render_channels(spec);
            let views: Vec<&[f32]> = channels.iter().map(Vec::as_slice).collect();
            write_channels_pcm16(&out_dir.join(spec.relative_path()), &views, SAMPLE_RATE as u32)
        })?;
        done += batch.len() as u64;
        progress(done, total);
    }
    let manifest = out_dir.join(MANIFEST_FILE);
    asd_io::write(&manifest, manifest_text(config, clips.len()).as_bytes()).map_err(io(&manifest))?;
    Ok(SynthSummary {
        n_clips: clips.len(),
        seconds_of_audio: clips.iter().map(|c| c.n_samples() as f64 / SAMPLE_RATE).sum(),
        machine_types: config.machine_types().to_vec(),
        manifest,
    })
}

/// Whether `dir` holds the complete dataset of `config`: its manifest, which [`generate`] writes last, exists
/// and is the one `config` gives. `false` for a tree that an interrupted generation left, or one made with other
/// settings or by another version of the generator.
pub fn is_generated(config: &SynthConfig, dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(MANIFEST_FILE))
        .is_ok_and(|text| text == manifest_text(config, config.clips().len()))
}

/// `<type>/attributes_SS.csv` for every section: header `file_name,d1p,d1v,…`, one row per training and test clip
/// with its path relative to the dataset root and its attribute pairs, as the real DCASE 2022+ data has; a type
/// whose attributes are hidden has the file-name column only.
fn write_attribute_tables(config: &SynthConfig, clips: &[ClipSpec], out_dir: &Path) -> Result<()> {
    for &machine in config.machine_types() {
        let hidden = config.layout.hides_attributes(machine);
        for group in 0..config.ids {
            let mut text = String::from("file_name");
            let sample = clips.iter().find(|c| c.machine == machine && c.group == group);
            let n_attributes = if hidden {
                0
            } else {
                sample.map_or(0, |c| c.attributes().len())
            };
            for d in 1..=n_attributes {
                let _ = write!(text, ",d{d}p,d{d}v"); // ok: writing to a String cannot fail
            }
            text.push('\n');
            let listed = clips
                .iter()
                .filter(|c| c.machine == machine && c.group == group && c.split != Split::Supplemental);
            for clip in listed {
                let rel = clip.relative_path();
                text.push_str(&rel.to_string_lossy().replace('\\', "/"));
                if !hidden {
                    for (k, v) in clip.attributes() {
                        let _ = write!(text, ",{k},{v}"); // ok: writing to a String cannot fail
                    }
                }
                text.push('\n');
            }
            let path = out_dir
                .join(config.layout.type_name(machine))
                .join(format!("attributes_{group:02}.csv"));
            asd_io::write(&path, text.as_bytes()).map_err(|source| AudioError::Io { path, source })?;
            if hidden {
                write_correspondence(config, clips, machine, group, out_dir)?;
            }
        }
    }
    Ok(())
}

/// The organisers' ground truth of hidden attributes (`dcase_protocols.md` §2.3), for judging pseudo labels:
/// `<type>/attributes_SS_{train,test}_correspondence.csv`, header `source_file_name,target_file_name`, one row per
/// clip from its name with attributes to its name without.
fn write_correspondence(
    config: &SynthConfig,
    clips: &[ClipSpec],
    machine: MachineType,
    group: usize,
    out_dir: &Path,
) -> Result<()> {
    for split in [Split::Train, Split::Test] {
        let mut text = String::from(CORRESPONDENCE_HEADER);
        text.push('\n');
        for clip in clips
            .iter()
            .filter(|c| c.machine == machine && c.group == group && c.split == split)
        {
            let _ = writeln!(text, "{},{}", clip.revealed_file_name(), clip.file_name()); // ok: writing to a String
        }
        let path = out_dir
            .join(config.layout.type_name(machine))
            .join(format!("attributes_{group:02}_{}_correspondence.csv", split.folder()));
        asd_io::write(&path, text.as_bytes()).map_err(|source| AudioError::Io { path, source })?;
    }
    Ok(())
}

/// The header of an attribute correspondence table (`dcase_protocols.md` §2.3).
pub const CORRESPONDENCE_HEADER: &str = "source_file_name,target_file_name";

/// The manifest: generator name and version, the full config, and a warning that the data are synthetic.
fn manifest_text(config: &SynthConfig, n_clips: usize) -> String {
    let types: Vec<String> = config
        .machine_types()
        .iter()
        .map(|&m| format!("\"{}\"", config.layout.type_name(m)))
        .collect();
    format!(
        "# SYNTHETIC machine sounds made by the asd-audio generator: not real recordings.\n\
         generator = \"asd-audio synth\"\n\
         version = \"{GENERATOR_VERSION}\"\n\
         synthetic = true\n\
         sample_rate = {}\n\
         n_clips = {n_clips}\n\
         machine_types = [{}]\n\
         target_train_per_section = {}\n\
         \n\
         [config]\n\
         layout = \"{}\"\n\
         types = {}\n\
         ids = {}\n\
         train = {}\n\
         test = {}\n\
         seconds = {:?}\n\
         seed = {}\n{}",
        SAMPLE_RATE as u32,
        types.join(", "),
        config.target_train(),
        config.layout.name(),
        config.types,
        config.ids,
        config.train,
        config.test,
        config.seconds,
        config.seed,
        match config.supplemental_clips() {
            0 => String::new(),
            n => format!("supplemental = {n}\n"),
        },
    )
}
