//! The sound model: machine types, their recipes, anomalies, operating conditions and the renderer.
//!
//! Every machine is a [`Voice`]: sinusoidal partials that follow a jittering shaft speed, amplitude
//! modulations, band-limited noises, and trains of events (impulses or short noise bursts) that excite damped
//! resonances, optionally switched on and off by a travel/opening [`Gate`]. A type's recipe fills a voice from
//! the machine's own generator (the per-ID offsets) and the clip's generator (per-clip variation); an anomaly
//! edits the voice before rendering.

use super::dsp::{Biquad, PhasorBank, brown, normalise_rms, pink, reverb, rms, uniform, white};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Sample rate of every synthetic clip (Hz): the DCASE rate.
pub(crate) const SAMPLE_RATE: f64 = 16_000.0;

/// Samples per block over which the shaft speed is held constant (10 ms at 16 kHz).
const BLOCK: usize = 160;

/// Machine types, each with its own sound mechanism (see `docs/synthetic.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MachineType {
    /// Rotating fan: shaft harmonics with speed jitter, blade-pass tone, aerodynamic noise.
    Fan,
    /// Pump: shaft harmonics and vane-pass tone under flow pulsation, a fluid-noise band.
    Pump,
    /// Slide rail: periodic travel with impulsive start/stop, motor whine and friction noise while moving.
    Slider,
    /// Solenoid valve: open/close clicks ringing damped resonances, flow hiss while open.
    Valve,
    /// Toy car: high motor whine with gear-mesh tone and sidebands, brush noise.
    ToyCar,
    /// Toy conveyor: low belt rumble, motor hum, periodic roller impulses.
    ToyConveyor,
    /// Gearbox: slow shaft harmonics and a load-dependent gear-mesh tone with sidebands.
    Gearbox,
    /// Bearing test rig: faint shaft harmonics under broadband rolling noise.
    Bearing,
    /// Toy train: motor whine, wheel rumble, rail-joint clacks.
    ToyTrain,
}

/// Kinds of anomaly. Each machine type uses a few of them ([`MachineType::anomalies`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AnomalyKind {
    /// Mass imbalance: stronger 1× shaft component and amplitude modulation at the shaft rate (sidebands).
    Imbalance,
    /// Mechanical looseness: half-order harmonics (0.5×, 1.5×, 2.5× the shaft rate).
    Looseness,
    /// Bearing outer-race fault: an impulse train at a non-harmonic multiple of the shaft rate ringing a
    /// high-frequency structural resonance.
    BearingFault,
    /// Rubbing: short broadband high-frequency bursts, at most once per revolution.
    Rubbing,
    /// Clogging: resonances of the flow path shift down and the pulsation deepens.
    Clogging,
    /// Irregular timing: jittered, missing and bouncing events (valve clicks, slider strokes).
    IrregularTiming,
    /// Leak: a continuous high-frequency hiss.
    Leak,
    /// Lack of lubrication: louder and brighter friction noise during travel.
    Friction,
    /// Damage on a rail or belt: extra random impacts.
    ExtraImpacts,
    /// Chipped gear tooth: an impulse once per revolution ringing at the mesh frequency.
    GearTooth,
}

impl AnomalyKind {
    /// The name used in documentation and diagnostics (`bearing-fault`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Imbalance => "imbalance",
            Self::Looseness => "looseness",
            Self::BearingFault => "bearing-fault",
            Self::Rubbing => "rubbing",
            Self::Clogging => "clogging",
            Self::IrregularTiming => "irregular-timing",
            Self::Leak => "leak",
            Self::Friction => "friction",
            Self::ExtraImpacts => "extra-impacts",
            Self::GearTooth => "gear-tooth",
        }
    }
}

/// Parameters of one attribute of the 2021+ layout: its name in file names, the values of the source
/// domain, those of the target domain (disjoint), and what it changes physically.
struct AttributeScheme {
    key: &'static str,
    source: &'static [&'static str],
    target: &'static [&'static str],
    effect: Effect,
}

/// What an attribute changes. The attribute's level `p` is its value's position in `source ++ target`
/// (0, 1 for the source values, 2, 3 for the target ones).
#[derive(Clone, Copy)]
enum Effect {
    /// Shaft / motor / travel speed × `1 + SPEED_STEP · p`.
    Speed,
    /// Load `LOAD_STEP · p`: richer mesh and harmonics, slightly lower speed.
    Load,
    /// Background profile `p` (noise colour, event rate).
    Background,
    /// Microphone position `p`: a low-pass whose corner falls with distance.
    Mic,
    /// Valve operation pattern `p` (cycle period and open fraction).
    Pattern,
    /// Model variant `p`: resonances and gear ratio scaled by `1 + MODEL_STEP · p`.
    Model,
}

/// Relative speed change per attribute level.
const SPEED_STEP: f64 = 0.1;
/// Load per attribute level.
const LOAD_STEP: f64 = 0.25;
/// Relative resonance / gear-ratio change per model level.
const MODEL_STEP: f64 = 0.06;

/// The operating condition of one clip, derived from its attributes (all neutral in the 2020 layout).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Operating {
    speed: f64,
    load: f64,
    background: usize,
    mic: Option<usize>,
    pattern: usize,
    model: f64,
}

impl Operating {
    /// Nominal speed, no load, background profile 0, no microphone colouring: the 2020 layout's condition.
    pub(crate) fn neutral() -> Self {
        Self {
            speed: 1.0,
            ..Self::default()
        }
    }
}

/// Names of the attribute values of one clip, in the type's attribute order.
pub(crate) type Attributes = Vec<(&'static str, &'static str)>;

impl MachineType {
    /// The DCASE spelling of the type (`fan`, `ToyCar`, …), used as folder name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fan => "fan",
            Self::Pump => "pump",
            Self::Slider => "slider",
            Self::Valve => "valve",
            Self::ToyCar => "ToyCar",
            Self::ToyConveyor => "ToyConveyor",
            Self::Gearbox => "gearbox",
            Self::Bearing => "bearing",
            Self::ToyTrain => "ToyTrain",
        }
    }

    /// A stable number of the type, part of every clip's generator key.
    pub(crate) fn key(self) -> u64 {
        self as u64
    }

    /// The anomaly kinds of this type; test clip `i` of a group gets kind `i mod len`.
    pub fn anomalies(self) -> &'static [AnomalyKind] {
        use AnomalyKind::*;
        match self {
            Self::Fan => &[Imbalance, Looseness, BearingFault, Rubbing],
            Self::Pump => &[Clogging, Imbalance, Leak],
            Self::Slider => &[Friction, ExtraImpacts, IrregularTiming],
            Self::Valve => &[IrregularTiming, Leak, Clogging],
            Self::ToyCar => &[GearTooth, BearingFault, Rubbing],
            Self::ToyConveyor => &[Looseness, ExtraImpacts, Rubbing],
            Self::Gearbox => &[GearTooth, Looseness, BearingFault],
            Self::Bearing => &[BearingFault, Rubbing, Imbalance],
            Self::ToyTrain => &[ExtraImpacts, GearTooth, Rubbing],
        }
    }

    /// Attribute schemes of the 2021+ layout, modelled on the real DCASE 2023 attribute names.
    fn schemes(self) -> &'static [AttributeScheme] {
        use Effect::*;
        const fn s(
            key: &'static str,
            source: &'static [&'static str],
            target: &'static [&'static str],
            effect: Effect,
        ) -> AttributeScheme {
            AttributeScheme {
                key,
                source,
                target,
                effect,
            }
        }
        const FAN: &[AttributeScheme] = &[s("m-n", &["W", "X"], &["Y", "Z"], Background)];
        const GEARBOX: &[AttributeScheme] = &[
            s("volt", &["1.0", "1.5"], &["2.0", "2.5"], Speed),
            s("wt", &["0", "30"], &["80", "130"], Load),
        ];
        const BEARING: &[AttributeScheme] = &[
            s("vel", &["6", "8"], &["10", "12"], Speed),
            s("loc", &["A", "B"], &["C", "D"], Mic),
        ];
        const VALVE: &[AttributeScheme] = &[s("pat", &["00", "01"], &["02", "03"], Pattern)];
        const SLIDER: &[AttributeScheme] = &[
            s("vel", &["400", "500"], &["600", "700"], Speed),
            s("ac", &["0.10", "0.15"], &["0.20", "0.25"], Load),
        ];
        const TOY_CAR: &[AttributeScheme] = &[
            s("car", &["A1", "A2"], &["B1", "B2"], Model),
            s("spd", &["28V", "31V"], &["34V", "37V"], Speed),
            s("mic", &["1", "2"], &["3", "4"], Mic),
        ];
        const TOY_TRAIN: &[AttributeScheme] = &[
            s("car", &["A1", "A2"], &["E1", "E2"], Model),
            s("spd", &["6", "7"], &["8", "9"], Speed),
            s("mic", &["1", "2"], &["3", "4"], Mic),
        ];
        match self {
            Self::Fan | Self::Pump => FAN,
            Self::Gearbox => GEARBOX,
            Self::Bearing => BEARING,
            Self::Valve => VALVE,
            Self::Slider => SLIDER,
            Self::ToyCar => TOY_CAR,
            Self::ToyTrain | Self::ToyConveyor => TOY_TRAIN,
        }
    }

    /// Draws the attribute values of one clip of `domain` and the operating condition they mean.
    pub(crate) fn draw_attributes(self, target: bool, rng: &mut impl Rng) -> (Attributes, Operating) {
        let mut op = Operating::neutral();
        let attrs = self
            .schemes()
            .iter()
            .map(|scheme| {
                let values = if target { scheme.target } else { scheme.source };
                let pick = (rng.next_u32() as usize) % values.len();
                let level = pick + if target { scheme.source.len() } else { 0 };
                let p = level as f64;
                match scheme.effect {
                    Effect::Speed => op.speed *= 1.0 + SPEED_STEP * p,
                    Effect::Load => op.load = LOAD_STEP * p,
                    Effect::Background => op.background = level,
                    Effect::Mic => op.mic = Some(level),
                    Effect::Pattern => op.pattern = level,
                    Effect::Model => op.model = MODEL_STEP * p,
                }
                (scheme.key, values[pick])
            })
            .collect();
        (attrs, op)
    }
}

/// A sinusoid at `mult` × the shaft rate.
#[derive(Clone, Debug)]
struct Partial {
    mult: f64,
    amp: f64,
    gated: bool,
}

/// Band-limited noise: white noise through a band-pass at `fc` Hz, quality `q`, scaled to RMS `amp`.
#[derive(Clone, Debug)]
struct Band {
    fc: f64,
    q: f64,
    amp: f64,
    gated: bool,
}

/// When the events of a [`Train`] happen.
#[derive(Clone, Debug)]
enum Timing {
    /// Every `1/rate` s, each time shifted by `jitter` × period (uniform), dropped with probability `skip`,
    /// followed by a half-strength bounce 30–80 ms later with probability `bounce`.
    Periodic {
        rate: f64,
        jitter: f64,
        skip: f64,
        bounce: f64,
    },
    /// A Poisson process of `rate` events per second.
    Poisson { rate: f64 },
    /// At each start and stop of the [`Gate`].
    GateEdges,
}

/// Events (impulses, or noise bursts of `burst` s) exciting a bank of damped resonances `(fc, q)`.
#[derive(Clone, Debug)]
struct Train {
    timing: Timing,
    amp: f64,
    burst: f64,
    resonances: Vec<(f64, f64)>,
}

/// Periodic on/off switching (slider travel, valve opening): on for `duty` × `period` s each cycle with
/// raised-cosine ramps of `ramp` s; each cycle start is shifted by up to `jitter` × period.
#[derive(Clone, Debug)]
struct Gate {
    period: f64,
    duty: f64,
    ramp: f64,
    jitter: f64,
}

/// The complete recipe of one clip's machine sound.
#[derive(Clone, Debug)]
struct Voice {
    /// Shaft (or motor) rate in Hz.
    f0: f64,
    /// Standard deviation of the relative speed wander (an Ornstein–Uhlenbeck process, 0.5 s memory).
    jitter: f64,
    partials: Vec<Partial>,
    /// Amplitude modulations `(rate Hz, depth)` of partials and bands.
    modulations: Vec<(f64, f64)>,
    bands: Vec<Band>,
    trains: Vec<Train>,
    gate: Option<Gate>,
    /// Low-pass corner (Hz) of the microphone position, if the type has one.
    mic_corner: Option<f64>,
    /// The amplitude anomalies are measured against (the main component's).
    reference: f64,
    /// Frequency (Hz) of the gear mesh or main structural resonance (rings a chipped tooth).
    mesh: f64,
}

/// Multiplies `x` by a factor drawn uniformly from [1 − rel, 1 + rel).
fn vary(rng: &mut impl Rng, x: f64, rel: f64) -> f64 {
    x * uniform(rng, 1.0 - rel, 1.0 + rel)
}

/// Relative spread of a parameter between machine IDs of one type (shaft rate, tone multipliers).
const ID_SPREAD_FINE: f64 = 0.04;
/// Relative spread between IDs of resonance frequencies and amplitudes.
const ID_SPREAD_COARSE: f64 = 0.2;
/// Relative spread of the shaft rate between clips of one machine.
const CLIP_SPREAD_SPEED: f64 = 0.01;
/// Relative spread of component amplitudes between clips of one machine.
const CLIP_SPREAD_AMP: f64 = 0.1;

/// Shaft partials `k = 1..=n` with amplitudes `amp / k^decay`, each varied per machine.
fn harmonics(id: &mut impl Rng, n: usize, amp: f64, decay: f64, gated: bool) -> Vec<Partial> {
    (1..=n)
        .map(|k| Partial {
            mult: k as f64,
            amp: vary(id, amp / (k as f64).powf(decay), ID_SPREAD_COARSE),
            gated,
        })
        .collect()
}

/// Noise bands `(fc, q, amp)` with per-machine offsets.
fn bands(id: &mut impl Rng, spec: &[(f64, f64, f64)], gated: bool) -> Vec<Band> {
    spec.iter()
        .map(|&(fc, q, amp)| Band {
            fc: vary(id, fc, ID_SPREAD_FINE),
            q,
            amp: vary(id, amp, ID_SPREAD_COARSE),
            gated,
        })
        .collect()
}

/// Resonances `(fc, q)` with per-machine offsets of the frequencies, scaled by the model factor.
fn resonances(id: &mut impl Rng, spec: &[(f64, f64)], model: f64) -> Vec<(f64, f64)> {
    spec.iter()
        .map(|&(fc, q)| (vary(id, fc, ID_SPREAD_FINE) * (1.0 + model), q))
        .collect()
}

/// A gear-mesh tone at `teeth` × the shaft rate with first-order sidebands and the second mesh harmonic.
fn mesh(teeth: f64, amp: f64) -> Vec<Partial> {
    [(0.0, 1.0), (-1.0, 0.3), (1.0, 0.3), (teeth, 0.3)]
        .iter()
        .map(|&(offset, rel)| Partial {
            mult: teeth + offset,
            amp: amp * rel,
            gated: false,
        })
        .collect()
}

impl MachineType {
    /// The nominal recipe of one machine under `op`: the per-machine offsets are drawn from `id` (the
    /// machine's own generator, identical for all its clips).
    fn voice(self, op: &Operating, id: &mut impl Rng) -> Voice {
        let speed = op.speed * (1.0 - 0.05 * op.load);
        let base = Voice {
            f0: 0.0,
            jitter: 0.003,
            partials: Vec::new(),
            modulations: Vec::new(),
            bands: Vec::new(),
            trains: Vec::new(),
            gate: None,
            mic_corner: op.mic.map(|p| 7000.0 / (1.0 + 0.5 * p as f64)),
            reference: 1.0,
            mesh: 2000.0,
        };
        match self {
            Self::Fan => {
                let f0 = vary(id, 24.0, ID_SPREAD_FINE) * speed;
                let blades = 6.0;
                let mut partials = harmonics(id, 6, 0.5, 0.8, false);
                partials.push(Partial {
                    mult: blades,
                    amp: vary(id, 0.8, ID_SPREAD_COARSE),
                    gated: false,
                });
                partials.push(Partial {
                    mult: 2.0 * blades,
                    amp: vary(id, 0.3, ID_SPREAD_COARSE),
                    gated: false,
                });
                Voice {
                    f0,
                    jitter: 0.004,
                    partials,
                    bands: bands(id, &[(700.0, 0.7, 1.2), (2400.0, 1.2, 0.5), (350.0, 6.0, 0.3)], false),
                    reference: 0.8,
                    mesh: vary(id, 3000.0, ID_SPREAD_FINE),
                    ..base
                }
            }
            Self::Pump => {
                let f0 = vary(id, 27.0, ID_SPREAD_FINE) * speed;
                let mut partials = harmonics(id, 5, 0.6, 1.0, false);
                partials.push(Partial {
                    mult: 7.0,
                    amp: vary(id, 0.6, ID_SPREAD_COARSE),
                    gated: false,
                });
                partials.push(Partial {
                    mult: 14.0,
                    amp: vary(id, 0.2, ID_SPREAD_COARSE),
                    gated: false,
                });
                Voice {
                    f0,
                    partials,
                    modulations: vec![(vary(id, 2.2, ID_SPREAD_COARSE), vary(id, 0.25, ID_SPREAD_COARSE))],
                    bands: bands(id, &[(550.0, 1.5, 1.0), (1600.0, 2.5, 0.5), (4500.0, 1.0, 0.2)], false),
                    reference: 0.6,
                    mesh: vary(id, 2500.0, ID_SPREAD_FINE),
                    ..base
                }
            }
            Self::Slider => {
                let f0 = vary(id, 100.0, ID_SPREAD_FINE) * speed;
                Voice {
                    f0,
                    partials: harmonics(id, 5, 0.4, 1.0, true),
                    bands: bands(id, &[(1800.0, 0.8, 0.8), (4000.0, 1.5, 0.3)], true),
                    trains: vec![Train {
                        timing: Timing::GateEdges,
                        amp: 3.0 * (1.0 + op.load),
                        burst: 0.0,
                        resonances: resonances(id, &[(650.0, 15.0), (1900.0, 20.0), (3600.0, 25.0)], 0.0),
                    }],
                    gate: Some(Gate {
                        period: vary(id, 1.4, ID_SPREAD_FINE) / op.speed,
                        duty: 0.6,
                        ramp: 0.05,
                        jitter: 0.02,
                    }),
                    reference: 0.8,
                    mesh: vary(id, 1900.0, ID_SPREAD_FINE),
                    ..base
                }
            }
            Self::Valve => {
                const PERIODS: [f64; 4] = [0.8, 1.0, 0.6, 1.3];
                const DUTIES: [f64; 4] = [0.5, 0.4, 0.6, 0.3];
                let p = op.pattern.min(PERIODS.len() - 1);
                Voice {
                    f0: 50.0,
                    partials: harmonics(id, 3, 0.05, 1.0, true),
                    bands: bands(id, &[(3000.0, 1.2, 0.25)], true),
                    trains: vec![Train {
                        timing: Timing::GateEdges,
                        amp: 1.0,
                        burst: 0.0,
                        resonances: resonances(id, &[(1400.0, 25.0), (2900.0, 30.0), (5200.0, 35.0)], 0.0),
                    }],
                    gate: Some(Gate {
                        period: vary(id, PERIODS[p], ID_SPREAD_FINE),
                        duty: DUTIES[p],
                        ramp: 0.01,
                        jitter: 0.01,
                    }),
                    reference: 0.3,
                    mesh: vary(id, 2900.0, ID_SPREAD_FINE),
                    ..base
                }
            }
            Self::ToyCar => {
                let f0 = vary(id, 210.0, ID_SPREAD_FINE) * speed;
                let teeth = 10.0 * (1.0 + op.model);
                let mut partials = harmonics(id, 8, 0.5, 0.7, false);
                partials.extend(mesh(teeth, vary(id, 0.5, ID_SPREAD_COARSE) * (1.0 + op.load)));
                Voice {
                    f0,
                    jitter: 0.006,
                    partials,
                    bands: bands(id, &[(6000.0, 1.0, 0.3), (900.0, 2.0, 0.3)], false),
                    reference: 0.5,
                    mesh: teeth * f0,
                    ..base
                }
            }
            Self::ToyConveyor => {
                let f0 = vary(id, 50.0, ID_SPREAD_FINE) * speed;
                Voice {
                    f0,
                    partials: harmonics(id, 6, 0.3, 1.0, false),
                    bands: bands(id, &[(120.0, 0.7, 1.0), (500.0, 1.0, 0.4)], false),
                    trains: vec![Train {
                        timing: Timing::Periodic {
                            rate: vary(id, 4.0, ID_SPREAD_FINE) * speed,
                            jitter: 0.05,
                            skip: 0.0,
                            bounce: 0.0,
                        },
                        amp: 1.0,
                        burst: 0.0,
                        resonances: resonances(id, &[(420.0, 10.0), (1300.0, 12.0)], op.model),
                    }],
                    reference: 0.5,
                    mesh: vary(id, 1300.0, ID_SPREAD_FINE),
                    ..base
                }
            }
            Self::Gearbox => {
                let f0 = vary(id, 22.0, ID_SPREAD_FINE) * speed;
                let teeth = 27.0;
                let mut partials = harmonics(id, 4, 0.4, 1.0, false);
                partials.extend(mesh(teeth, vary(id, 0.8, ID_SPREAD_COARSE) * (1.0 + op.load)));
                Voice {
                    f0,
                    partials,
                    bands: bands(id, &[(1500.0, 1.0, 0.4), (3200.0, 4.0, 0.2)], false),
                    reference: 0.8,
                    mesh: teeth * f0,
                    ..base
                }
            }
            Self::Bearing => {
                let f0 = vary(id, 30.0, ID_SPREAD_FINE) * speed;
                Voice {
                    f0,
                    partials: harmonics(id, 3, 0.3, 1.0, false),
                    bands: bands(id, &[(3500.0, 0.9, 1.0), (1200.0, 1.5, 0.4)], false),
                    reference: 1.0,
                    mesh: vary(id, 3500.0, ID_SPREAD_FINE),
                    ..base
                }
            }
            Self::ToyTrain => {
                let f0 = vary(id, 175.0, ID_SPREAD_FINE) * speed;
                let mut partials = harmonics(id, 6, 0.4, 0.7, false);
                partials.push(Partial {
                    mult: 12.0 * (1.0 + op.model),
                    amp: vary(id, 0.3, 0.2),
                    gated: false,
                });
                Voice {
                    f0,
                    jitter: 0.005,
                    partials,
                    bands: bands(id, &[(250.0, 1.0, 0.7), (2000.0, 1.5, 0.3)], false),
                    trains: vec![Train {
                        timing: Timing::Periodic {
                            rate: vary(id, 2.0, ID_SPREAD_FINE) * speed,
                            jitter: 0.03,
                            skip: 0.0,
                            bounce: 0.0,
                        },
                        amp: 1.5,
                        burst: 0.0,
                        resonances: resonances(id, &[(900.0, 12.0), (2300.0, 15.0)], op.model),
                    }],
                    reference: 0.4,
                    mesh: 12.0 * (1.0 + op.model) * f0,
                    ..base
                }
            }
        }
    }

    /// Scale of the anomaly severity of this type (the difficulty knob calibrated so that the baseline of
    /// `docs/synthetic.md` lands between AUC 0.6 and 0.9).
    fn severity_scale(self) -> f64 {
        match self {
            Self::Fan => 0.8,
            Self::Pump => 0.55,
            Self::Slider => 0.8,
            Self::Valve => 0.35,
            Self::ToyCar => 0.36,
            Self::ToyConveyor => 1.2,
            Self::Gearbox => 1.0,
            Self::Bearing => 0.7,
            Self::ToyTrain => 1.0,
        }
    }
}

/// Range of the anomaly severity before the per-type scale: weak to clear faults.
const SEVERITY_RANGE: (f64, f64) = (0.05, 1.0);

impl Voice {
    /// Varies the clip: shaft rate and component amplitudes.
    fn vary_clip(&mut self, clip: &mut impl Rng) {
        self.f0 = vary(clip, self.f0, CLIP_SPREAD_SPEED);
        for p in &mut self.partials {
            p.amp = vary(clip, p.amp, CLIP_SPREAD_AMP);
        }
        for b in &mut self.bands {
            b.amp = vary(clip, b.amp, CLIP_SPREAD_AMP);
        }
        for t in &mut self.trains {
            t.amp = vary(clip, t.amp, CLIP_SPREAD_AMP);
        }
    }

    /// Applies anomaly `kind` of severity `s` (≥ 0; 1 = a clear fault).
    fn apply(&mut self, kind: AnomalyKind, s: f64, rng: &mut impl Rng) {
        let a = self.reference;
        match kind {
            AnomalyKind::Imbalance => {
                match self.partials.iter_mut().find(|p| p.mult == 1.0) {
                    Some(p) => p.amp += 1.5 * s * a,
                    None => self.partials.push(Partial {
                        mult: 1.0,
                        amp: 1.5 * s * a,
                        gated: false,
                    }),
                }
                self.modulations.push((self.f0, 0.3 * s.min(1.0)));
            }
            AnomalyKind::Looseness => {
                for (mult, rel) in [(0.5, 1.6), (1.5, 1.2), (2.5, 0.8), (3.5, 0.5)] {
                    self.partials.push(Partial {
                        mult,
                        amp: rel * s * a,
                        gated: false,
                    });
                }
            }
            AnomalyKind::BearingFault => {
                // Outer-race defect frequency: a non-integer multiple of the shaft rate (≈ 0.4 × n_balls).
                let mult = uniform(rng, 3.1, 3.7);
                self.trains.push(Train {
                    timing: Timing::Periodic {
                        rate: mult * self.f0,
                        jitter: 0.02,
                        skip: 0.0,
                        bounce: 0.0,
                    },
                    amp: 6.0 * s * a,
                    burst: 0.0,
                    resonances: vec![(uniform(rng, 3000.0, 6000.0), 10.0)],
                });
            }
            AnomalyKind::Rubbing => self.trains.push(Train {
                timing: Timing::Periodic {
                    rate: self.f0,
                    jitter: 0.05,
                    skip: 0.4,
                    bounce: 0.0,
                },
                amp: 8.0 * s * a,
                burst: 0.015,
                resonances: vec![(uniform(rng, 5500.0, 7500.0), 2.0)],
            }),
            AnomalyKind::Clogging => {
                for b in &mut self.bands {
                    b.fc *= 1.0 - 0.3 * s.min(1.0);
                }
                for t in &mut self.trains {
                    t.resonances.iter_mut().for_each(|r| r.0 *= 1.0 - 0.2 * s.min(1.0));
                }
                self.modulations.push((uniform(rng, 1.0, 3.0), 0.4 * s.min(1.0)));
            }
            AnomalyKind::IrregularTiming => {
                for t in &mut self.trains {
                    if let Timing::Periodic {
                        jitter, skip, bounce, ..
                    } = &mut t.timing
                    {
                        *jitter += 0.3 * s;
                        *skip = (*skip + 0.3 * s).min(0.9);
                        *bounce = (*bounce + 0.5 * s).min(1.0);
                    }
                }
                if let Some(g) = &mut self.gate {
                    g.jitter += 0.3 * s;
                    // Sticking: the open/travel phase lasts longer.
                    g.duty = (g.duty * (1.0 + 0.4 * s)).min(0.9);
                    self.trains.push(Train {
                        timing: Timing::Poisson { rate: 10.0 * s },
                        amp: self.trains.first().map_or(a, |t| 0.7 * t.amp),
                        burst: 0.0,
                        resonances: self
                            .trains
                            .first()
                            .map_or(vec![(self.mesh, 20.0)], |t| t.resonances.clone()),
                    });
                }
            }
            AnomalyKind::Leak => self.bands.push(Band {
                fc: uniform(rng, 4500.0, 6500.0),
                q: 2.0,
                amp: 1.0 * s * a,
                gated: false,
            }),
            AnomalyKind::Friction => {
                for b in self.bands.iter_mut().filter(|b| b.gated) {
                    b.amp *= 1.0 + 1.5 * s;
                    b.fc *= 1.0 + 0.3 * s;
                }
            }
            AnomalyKind::ExtraImpacts => self.trains.push(Train {
                timing: Timing::Poisson { rate: 8.0 },
                amp: 8.0 * s * a,
                burst: 0.0,
                resonances: vec![(uniform(rng, 2500.0, 5000.0), 40.0)],
            }),
            AnomalyKind::GearTooth => self.trains.push(Train {
                timing: Timing::Periodic {
                    rate: self.f0,
                    jitter: 0.01,
                    skip: 0.0,
                    bounce: 0.0,
                },
                amp: 5.0 * s * a,
                burst: 0.0,
                resonances: vec![(self.mesh, 5.0)],
            }),
        }
    }

    /// The gate envelope (1 while on) and the times of its edges (s).
    fn gate_envelope(&self, n: usize, rng: &mut impl Rng) -> (Option<Vec<f64>>, Vec<f64>) {
        let Some(g) = &self.gate else {
            return (None, Vec::new());
        };
        let duration = n as f64 / SAMPLE_RATE;
        let mut env = vec![0.0; n];
        let mut edges = Vec::new();
        let mut cycle = -uniform(rng, 0.0, g.period);
        while cycle < duration {
            let start = cycle + uniform(rng, 0.0, g.jitter * g.period);
            let stop = start + g.duty * g.period;
            edges.extend([start, stop].into_iter().filter(|t| (0.0..duration).contains(t)));
            let from = (start.max(0.0) * SAMPLE_RATE) as usize;
            let to = ((stop.min(duration)) * SAMPLE_RATE).max(0.0) as usize;
            for (i, e) in env.iter_mut().enumerate().take(to.min(n)).skip(from) {
                let t = i as f64 / SAMPLE_RATE;
                let edge = (t - start).min(stop - t);
                *e = if edge >= g.ramp {
                    1.0
                } else {
                    0.5 - 0.5 * (PI * edge.max(0.0) / g.ramp).cos()
                };
            }
            cycle += g.period;
        }
        (Some(env), edges)
    }

    /// Event times (s) of one train.
    fn event_times(timing: &Timing, duration: f64, edges: &[f64], rng: &mut impl Rng) -> Vec<(f64, f64)> {
        match *timing {
            Timing::Periodic {
                rate,
                jitter,
                skip,
                bounce,
            } => {
                let period = 1.0 / rate.max(1e-3);
                let mut t = -uniform(rng, 0.0, period);
                let mut out = Vec::new();
                while t < duration {
                    let at = t + uniform(rng, -0.5, 0.5) * jitter * period;
                    let keep = uniform(rng, 0.0, 1.0) >= skip;
                    let bounced = uniform(rng, 0.0, 1.0) < bounce;
                    let delay = uniform(rng, 0.03, 0.08);
                    if keep {
                        out.push((at, 1.0));
                        if bounced {
                            out.push((at + delay, 0.8));
                        }
                    }
                    t += period;
                }
                out
            }
            Timing::Poisson { rate } => {
                let mut out = Vec::new();
                let mut t = 0.0;
                if rate > 0.0 {
                    loop {
                        t += -uniform(rng, 1e-12, 1.0).ln() / rate;
                        if t >= duration {
                            break;
                        }
                        out.push((t, 1.0));
                    }
                }
                out
            }
            Timing::GateEdges => edges.iter().map(|&t| (t, 1.0)).collect(),
        }
    }

    /// Renders `n` samples of the machine sound.
    fn render(&self, n: usize, rng: &mut impl Rng) -> Vec<f64> {
        let duration = n as f64 / SAMPLE_RATE;

        // Partials following the wandering shaft rate (held per block of 10 ms) and noise bands; gated
        // components are summed apart and switched by the gate at the end.
        let (mut free, mut gated) = (vec![0.0; n], vec![0.0; n]);
        let mut bank = PhasorBank::new(self.partials.iter().map(|_| uniform(rng, 0.0, 2.0 * PI)));
        let memory = 0.5 * SAMPLE_RATE / BLOCK as f64; // blocks
        let keep = (-1.0 / memory).exp();
        let drive = self.jitter * (1.0 - keep * keep).sqrt();
        let mut wander = self.jitter * uniform(rng, -1.0, 1.0);
        let (mut w_free, mut w_gated) = (vec![0.0; self.partials.len()], vec![0.0; self.partials.len()]);
        for (fb, gb) in free.chunks_mut(BLOCK).zip(gated.chunks_mut(BLOCK)) {
            wander = keep * wander + drive * uniform(rng, -3f64.sqrt(), 3f64.sqrt());
            let f = self.f0 * (1.0 + wander) / SAMPLE_RATE;
            bank.retune(self.partials.iter().map(|p| p.mult * f));
            for (k, p) in self.partials.iter().enumerate() {
                // A partial above the Nyquist frequency is left out (it would alias).
                let amp = if p.mult * f < 0.5 { p.amp } else { 0.0 };
                (w_free[k], w_gated[k]) = if p.gated { (0.0, amp) } else { (amp, 0.0) };
            }
            for (fo, go) in fb.iter_mut().zip(gb.iter_mut()) {
                (*fo, *go) = bank.tick(&w_free, &w_gated);
            }
        }
        for band in &self.bands {
            let mut noise = white(rng, n);
            Biquad::bandpass(band.fc, band.q, SAMPLE_RATE).run(&mut noise);
            normalise_rms(&mut noise);
            let target = if band.gated { &mut gated } else { &mut free };
            for (o, v) in target.iter_mut().zip(&noise) {
                *o += band.amp * v;
            }
        }
        let (gate, edges) = self.gate_envelope(n, rng);
        let mut out = free;
        for (i, (o, v)) in out.iter_mut().zip(&gated).enumerate() {
            *o += gate.as_ref().map_or(1.0, |g| g[i]) * v;
        }

        // Amplitude modulation 1 + Σ d_k sin(2π r_k t + φ_k) of partials and bands.
        if !self.modulations.is_empty() {
            let mut bank = PhasorBank::new(self.modulations.iter().map(|_| uniform(rng, 0.0, 2.0 * PI)));
            bank.retune(self.modulations.iter().map(|&(rate, _)| rate / SAMPLE_RATE));
            let depths: Vec<f64> = self.modulations.iter().map(|&(_, d)| d).collect();
            let none = vec![0.0; depths.len()];
            for o in out.iter_mut() {
                *o *= (1.0 + bank.tick(&depths, &none).0).max(0.0);
            }
        }

        // Event trains ringing their resonances.
        for train in &self.trains {
            let mut excitation = vec![0.0; n];
            let burst = ((train.burst * SAMPLE_RATE) as usize).max(1);
            for (t, strength) in Self::event_times(&train.timing, duration, &edges, rng) {
                let amp = strength * train.amp * uniform(rng, 0.8, 1.2);
                let start = (t * SAMPLE_RATE).round();
                if start < 0.0 {
                    continue;
                }
                let start = start as usize;
                for k in 0..burst.min(n.saturating_sub(start)) {
                    // A click is one sample; a burst is noise under a decaying envelope.
                    let shape = if burst == 1 {
                        1.0
                    } else {
                        uniform(rng, -1.0, 1.0) * (1.0 - k as f64 / burst as f64)
                    };
                    excitation[start + k] += amp * shape;
                }
            }
            for &(fc, q) in &train.resonances {
                let mut ring = excitation.clone();
                let mut filter = Biquad::bandpass(fc, q, SAMPLE_RATE);
                // Scale so that a unit impulse rings with unit initial amplitude: h[0] = α / (1 + α).
                let w0 = 2.0 * PI * fc.min(0.49 * SAMPLE_RATE) / SAMPLE_RATE;
                let alpha = w0.sin() / (2.0 * q);
                filter.run(&mut ring);
                let scale = (1.0 + alpha) / alpha / train.resonances.len() as f64;
                for (o, r) in out.iter_mut().zip(&ring) {
                    *o += scale * r;
                }
            }
        }

        if let Some(corner) = self.mic_corner {
            Biquad::lowpass(corner, 0.707, SAMPLE_RATE).run(&mut out);
        }
        out
    }
}

/// Background profiles `(brown fraction, event rate per s)`: profile 0 is the 2020 layout's.
const BACKGROUNDS: [(f64, f64); 4] = [(0.4, 0.3), (0.6, 0.5), (0.15, 0.2), (0.8, 0.8)];

/// Factory background of unit RMS: pink and brown noise plus occasional knocks ringing random resonances.
fn background(profile: usize, n: usize, rng: &mut impl Rng) -> Vec<f64> {
    let (brown_part, event_rate) = BACKGROUNDS[profile.min(BACKGROUNDS.len() - 1)];
    let p = pink(rng, n, SAMPLE_RATE);
    let b = brown(rng, n, SAMPLE_RATE);
    let mut out: Vec<f64> = p
        .iter()
        .zip(&b)
        .map(|(p, b)| (1.0 - brown_part) * p + brown_part * b)
        .collect();
    let knocks = Voice {
        f0: 1.0,
        jitter: 0.0,
        partials: Vec::new(),
        modulations: Vec::new(),
        bands: Vec::new(),
        trains: vec![Train {
            timing: Timing::Poisson { rate: event_rate },
            amp: uniform(rng, 3.0, 8.0),
            burst: 0.0,
            resonances: vec![(uniform(rng, 150.0, 3000.0), uniform(rng, 5.0, 20.0))],
        }],
        gate: None,
        mic_corner: None,
        reference: 1.0,
        mesh: 1.0,
    };
    for (o, k) in out.iter_mut().zip(knocks.render(n, rng)) {
        *o += k;
    }
    normalise_rms(&mut out);
    out
}

/// Per-clip signal-to-noise ratio range (dB) of machine sound over background (MIMII mixed at −6, 0, 6 dB).
const SNR_DB: (f64, f64) = (-6.0, 6.0);
/// Per-clip RMS level range (dBFS) of the final mixture.
const LEVEL_DBFS: (f64, f64) = (-30.0, -22.0);
/// Largest peak magnitude allowed after gain (keeps 16-bit PCM away from clipping).
pub(crate) const PEAK_LIMIT: f64 = 0.95;

/// Renders one clip's samples: machine (with `anomaly`, if any, at position `severity` of the range — at most
/// [`super::SEVERITY_MAX`] — or a drawn one), background, gain.
pub(crate) fn render_samples(
    machine: MachineType,
    op: &Operating,
    anomaly: Option<AnomalyKind>,
    severity: Option<f64>,
    recording: Recording,
    id_rng: &mut impl Rng,
    clip_rng: &mut impl Rng,
) -> Vec<Vec<f32>> {
    let n = recording.samples;
    let mut voice = machine.voice(op, id_rng);
    voice.vary_clip(clip_rng);
    if let Some(kind) = anomaly {
        // The draw is made even when `severity` fixes the value, so that every later draw stays the same.
        // Squared uniform: most anomalies are weak, a few are strong (median position 0.25).
        let drawn = uniform(clip_rng, 0.0, 1.0).powi(2);
        let position = severity.unwrap_or(drawn).clamp(0.0, f64::from(super::SEVERITY_MAX));
        let s = (SEVERITY_RANGE.0 + position * (SEVERITY_RANGE.1 - SEVERITY_RANGE.0)) * machine.severity_scale();
        voice.apply(kind, s, clip_rng);
    }
    let dry = voice.render(n, clip_rng);
    let machine_rms = rms(&dry);
    // Every draw is made whatever the content, so that a clean or noise-only clip shares its recording's draws.
    let snr = uniform(clip_rng, SNR_DB.0, SNR_DB.1);
    let bg_rms = machine_rms / 10f64.powf(snr / 20.0);
    let noise = background(op.background, n, clip_rng);
    let near: Vec<f64> = match recording.content {
        Content::Recording => dry.iter().zip(&noise).map(|(m, b)| m + bg_rms * b).collect(),
        Content::CleanMachine => dry.clone(),
        Content::NoiseOnly => noise.iter().map(|b| bg_rms * b).collect(),
    };
    let level = 10f64.powf(uniform(clip_rng, LEVEL_DBFS.0, LEVEL_DBFS.1) / 20.0);
    let near_rms = rms(&near);
    let mut gain = if near_rms > 0.0 { level / near_rms } else { 0.0 };
    let mut channels = vec![near];
    if let Some(far) = recording.far {
        // The far microphone: the machine attenuated and reverberant, over its own, louder background.
        let wet = reverb(&dry, FAR_RT60_S, SAMPLE_RATE);
        let machine_gain = 10f64.powf(FAR_MACHINE_DB / 20.0);
        let noise_gain = bg_rms * 10f64.powf((FAR_NOISE_DB + FAR_NOISE_STEP_DB * far.noise_level as f64) / 20.0);
        let far_noise = background(op.background, n, clip_rng);
        let far_mix = (0..n)
            .map(|t| machine_gain * (FAR_DIRECT * dry[t] + FAR_WET * wet[t]) + noise_gain * far_noise[t])
            .collect();
        channels.push(far_mix);
    }
    let peak = channels.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs())) * gain;
    if peak > PEAK_LIMIT {
        gain *= PEAK_LIMIT / peak;
    }
    channels
        .into_iter()
        .map(|c| c.into_iter().map(|v| (v * gain) as f32).collect())
        .collect()
}

/// What a clip's microphone picks up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Content {
    /// The machine in its factory background: every training and test clip.
    #[default]
    Recording,
    /// The machine alone (DCASE 2025's supplemental clean clips).
    CleanMachine,
    /// The background alone (DCASE 2025's supplemental noise clips).
    NoiseOnly,
}

/// How a clip is recorded: its length, its content, and for two-channel clips (DCASE 2026) the far microphone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Recording {
    /// Samples per channel.
    pub(crate) samples: usize,
    /// What the (near) microphone picks up.
    pub(crate) content: Content,
    /// The second channel's microphone, if any.
    pub(crate) far: Option<FarMic>,
}

/// The far microphone of a two-channel clip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FarMic {
    /// Its background level, 0-based: each level adds [`FAR_NOISE_STEP_DB`].
    pub(crate) noise_level: usize,
}

/// Reverberation time of the room the far microphone hears, seconds (a mid-sized factory hall's order).
const FAR_RT60_S: f64 = 0.6;
/// Level of the machine at the far microphone relative to the near one, dB (about twice the distance: −6 dB).
const FAR_MACHINE_DB: f64 = -6.0;
/// Direct and reverberant shares of the machine sound at the far microphone (amplitudes).
const FAR_DIRECT: f64 = 0.5;
/// See [`FAR_DIRECT`].
const FAR_WET: f64 = 0.85;
/// Background at the far microphone relative to the near one's, dB, at noise level 0.
const FAR_NOISE_DB: f64 = 3.0;
/// Background added per noise level of the far microphone, dB.
const FAR_NOISE_STEP_DB: f64 = 3.0;

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// One second of samples.
    const SECOND: usize = 16_000;

    /// One clip of `machine` rendered with the given recording, from fixed generator seeds.
    fn render(machine: MachineType, recording: Recording) -> Vec<Vec<f32>> {
        let (mut id, mut clip) = (ChaCha8Rng::seed_from_u64(1), ChaCha8Rng::seed_from_u64(2));
        let op = Operating::neutral();
        render_samples(machine, &op, None, None, recording, &mut id, &mut clip)
    }

    /// Least-squares `a`, `b` of `y ≈ a·u + b·v` and the residual's RMS relative to `y`'s.
    fn fit(y: &[f32], u: &[f32], v: &[f32]) -> (f64, f64, f64) {
        let dot = |x: &[f32], z: &[f32]| x.iter().zip(z).map(|(p, q)| f64::from(*p) * f64::from(*q)).sum::<f64>();
        let (uu, vv, uv, yu, yv) = (dot(u, u), dot(v, v), dot(u, v), dot(y, u), dot(y, v));
        let det = uu * vv - uv * uv;
        let (a, b) = ((yu * vv - yv * uv) / det, (yv * uu - yu * uv) / det);
        let residual: Vec<f32> = (0..y.len())
            .map(|t| y[t] - (a * f64::from(u[t]) + b * f64::from(v[t])) as f32)
            .collect();
        (a, b, (dot(&residual, &residual) / dot(y, y)).sqrt())
    }

    /// A recording is the sum of its clean machine sound and its background alone (each clip normalises its own
    /// level, so up to two positive gains): the supplemental contents are the recording's two parts.
    #[test]
    fn a_recording_is_its_clean_machine_plus_its_background() {
        for machine in [MachineType::Fan, MachineType::Valve, MachineType::ToyCar] {
            let part = |content| {
                let recording = Recording {
                    samples: SECOND,
                    content,
                    far: None,
                };
                render(machine, recording).swap_remove(0)
            };
            let (recording, clean, noise) = (
                part(Content::Recording),
                part(Content::CleanMachine),
                part(Content::NoiseOnly),
            );
            let (a, b, residual) = fit(&recording, &clean, &noise);
            assert!(a > 0.0 && b > 0.0 && residual < 1e-5, "{machine:?}: {a} {b} {residual}");
        }
    }

    /// A second channel leaves the near one as it was, and its background grows with its noise level: the far
    /// channels of two levels differ by the far background alone, 3 dB more per level.
    #[test]
    fn the_far_channel_adds_its_own_background_by_level() {
        let mono = render(
            MachineType::Gearbox,
            Recording {
                samples: SECOND,
                content: Content::Recording,
                far: None,
            },
        );
        let far = |noise_level| {
            render(
                MachineType::Gearbox,
                Recording {
                    samples: SECOND,
                    content: Content::Recording,
                    far: Some(FarMic { noise_level }),
                },
            )
        };
        let (quiet, loud) = (far(0), far(3));
        assert_eq!(quiet[0], mono[0], "the near channel is the mono recording");
        assert_eq!(loud[0], mono[0]);
        // far(level) = machine + g(level)·noise, so far(3) − far(0) = (g3 − g0)·noise: proportional to the far
        // background, whose own gain ratio is 10^(9/20).
        let diff: Vec<f32> = loud[1].iter().zip(&quiet[1]).map(|(l, q)| l - q).collect();
        let machine: Vec<f32> = quiet[1]
            .iter()
            .zip(&diff)
            .map(|(q, d)| q - d / (10f32.powf(0.45) - 1.0))
            .collect();
        let rms = |x: &[f32]| (x.iter().map(|v| f64::from(v * v)).sum::<f64>() / x.len() as f64).sqrt();
        // What is left of far(0) after removing its background is the machine alone: quieter than far(0).
        assert!(
            rms(&machine) < rms(&quiet[1]),
            "{} vs {}",
            rms(&machine),
            rms(&quiet[1])
        );
        assert!(rms(&diff) > 0.0);
    }
}
