//! Parameter and MAC counts of MobileFaceNet, LogMel-MFN and STgram-MFN against stgram_mfn.md §4.4, §8 and
//! decisions.md §9 (numbers the spec derived from a faithful PyTorch rebuild; MACs = conv + linear only).

use asd_models::backbone::logmel_mfn::LogMelMfnConfig;
use asd_models::backbone::mobilefacenet::{MfnVariant, MobileFaceNetConfig};
use asd_models::backbone::specmfn::SpecMfnConfig;
use asd_models::backbone::stgram_mfn::StgramMfnConfig;
use asd_models::burn::module::Module;
use asd_models::burn::tensor::Device;
use asd_models::count::{Count, LayerRole, ModelCount};
use asd_models::head::HeadConfig;

const ARCFACE: HeadConfig = HeadConfig::ArcFace {
    scale: 30.0,
    margin: 0.7,
};

fn trunk(variant: MfnVariant, [c, f, t]: [usize; 3]) -> Count {
    let device = Device::flex();
    MobileFaceNetConfig::new([f, t])
        .with_in_channels(c)
        .with_setting(variant.setting())
        .init(&device)
        .expect("valid config")
        .count()
}

/// Criterion: decisions.md §9 rows — logmel-mfn (MFN-A, CEE head) params 1,064,105 = params_paper, MACs
/// 704,717,952 per 10-s clip (704.72 M, stgram_mfn.md §8.2 "A pure": trunk 704 712 704 + fc_out 5 248).
#[test]
fn logmel_mfn_preset_counts() {
    let model = LogMelMfnConfig::new().init(&Device::flex()).expect("valid");
    assert_eq!(
        model.count(),
        ModelCount {
            params: 1_064_105,
            params_paper: 1_064_105,
            macs: 704_717_952,
        }
    );
}

/// Criterion: decisions.md §9 — stgram-mfn (MFN-A, ArcFace) params 1,345,046 (without the unused fc_out),
/// params_paper 1,350,335 (the reference module's `sum(p.numel())`, fc_out included), MACs 797,684,864 (797.68 M,
/// stgram_mfn.md §8.2 "A pure" = TgramNet 87 179 264 + 2-ch trunk 710 500 352 + fc_out 5 248; our ArcFace cosine
/// product has the same 128·41 MACs). Burn's `num_params` adds the 19 584 BatchNorm running-statistic floats of
/// variant A (§8.1).
#[test]
fn stgram_mfn_preset_counts() {
    let model = StgramMfnConfig::new().init(&Device::flex()).expect("valid");
    let count = model.count();
    assert_eq!(
        count,
        ModelCount {
            params: 1_345_046,
            params_paper: 1_350_335,
            macs: 797_684_864,
        }
    );
    assert_eq!(model.num_params(), count.params + 19_584);
}

/// Criterion: stgram_mfn.md §8.1–8.2, variant B: STgram-MFN 1 155 990 / 1 161 279 (seed 000's "1.16 M") and
/// 785 601 664 MACs; LogMel-MFN (CEE) 875 049 and 692 634 752 MACs; LogMel-MFN with ArcFace: trunk 869 760 +
/// W 5 248, paper count + fc_out 5 289; 13 824 BatchNorm running-statistic floats.
#[test]
fn variant_b_counts() {
    let device = Device::flex();
    let stgram = StgramMfnConfig::new()
        .with_variant(MfnVariant::B)
        .init(&device)
        .expect("valid");
    assert_eq!(
        stgram.count(),
        ModelCount {
            params: 1_155_990,
            params_paper: 1_161_279,
            macs: 785_601_664,
        }
    );
    assert_eq!(stgram.num_params(), 1_155_990 + 13_824);
    let logmel = LogMelMfnConfig::new().with_variant(MfnVariant::B);
    let cee = logmel.init(&device).expect("valid");
    assert_eq!(
        cee.count(),
        ModelCount {
            params: 875_049,
            params_paper: 875_049,
            macs: 692_634_752,
        }
    );
    let arc = logmel.with_head(ARCFACE).init(&device).expect("valid");
    assert_eq!(
        arc.count(),
        ModelCount {
            params: 869_760 + 5_248,
            params_paper: 869_760 + 5_248 + 5_289,
            macs: 692_634_752,
        }
    );
}

/// Criterion: stgram_mfn.md §8.1 "LogMel-MFN, 2-s input (GDC (8,4)), trunk + fc_out": A 998 569, B 809 513; MACs
/// = §8.3 row (1,128,63) + fc_out 5 248 (A 141 967 360, B 139 902 976, the latter seed 000's "139.9 M").
#[test]
fn logmel_mfn_two_second_counts() {
    let device = Device::flex();
    for (variant, params, trunk_macs) in [
        (MfnVariant::A, 998_569, 141_967_360),
        (MfnVariant::B, 809_513, 139_902_976),
    ] {
        let model = LogMelMfnConfig::new()
            .with_frames(63)
            .with_variant(variant)
            .init(&device)
            .expect("valid");
        let count = model.count();
        assert_eq!((count.params, count.macs), (params, trunk_macs + 5_248), "{variant:?}");
    }
}

/// Criterion: stgram_mfn.md §8.3, MFN trunk alone with the GDC kernel set to the final map: params and pure MACs
/// of both variants for a spread of (C, F, T) rows, and the Spec-MFN ablation sizes 513×313 and 513×63.
#[test]
fn trunk_counts_match_the_spec_table() {
    // (C, F, T), A params, A MACs, B params, B MACs
    let rows: [([usize; 3], usize, u64, usize, u64); 9] = [
        ([1, 64, 16], 978_944, 17_803_264, 789_888, 17_545_216),
        ([1, 64, 313], 1_017_856, 352_389_120, 828_800, 346_347_520),
        ([1, 128, 63], 993_280, 141_967_360, 804_224, 139_902_976),
        ([1, 128, 313], 1_058_816, 704_712_704, 869_760, 692_629_504),
        ([1, 256, 313], 1_140_736, 1_409_359_872, 951_680, 1_385_193_472),
        ([2, 128, 16], 981_568, 35_835_904, 792_512, 35_319_808),
        ([2, 128, 128], 1_010_240, 286_228_480, 821_184, 282_099_712),
        ([2, 128, 313], 1_059_392, 710_500_352, 870_336, 698_417_152),
        ([1, 513, 313], 1_314_816, 2_853_438_464, 1_125_760, 2_800_002_304),
    ];
    for (shape, a_params, a_macs, b_params, b_macs) in rows {
        assert_eq!(
            trunk(MfnVariant::A, shape),
            Count {
                params: a_params,
                macs: a_macs
            },
            "A {shape:?}"
        );
        assert_eq!(
            trunk(MfnVariant::B, shape),
            Count {
                params: b_params,
                macs: b_macs
            },
            "B {shape:?}"
        );
    }
    let spec_short = [1, 513, 63];
    assert_eq!(trunk(MfnVariant::A, spec_short).params, 1_044_480);
    assert_eq!(trunk(MfnVariant::A, spec_short).macs, 574_654_464);
    assert_eq!(trunk(MfnVariant::B, spec_short).params, 855_424);
    assert_eq!(trunk(MfnVariant::B, spec_short).macs, 565_387_264);
}

/// Criterion: the closed forms of stgram_mfn.md §4.4 for 1, 2 and 3 input channels on several sizes:
/// params A = 976 320 + 576·C + 512·S4, B = 787 264 + 576·C + 512·S4; MACs A = (576·C + 8 768)·S1 + 95 872·S2 +
/// 507 648·S3 + 271 872·S4 + 65 536, B = (576·C + 8 768)·S1 + 150 912·S2 + 271 360·S3 + 271 872·S4 + 65 536, with
/// S_i the map area after i halvings (ceil).
#[test]
fn trunk_counts_follow_the_closed_forms() {
    for c in [1, 2, 3] {
        for [f, t] in [[128, 313], [64, 63], [40, 101]] {
            let halve = |n: usize, i: u32| (0..i).fold(n, |n, _| n.div_ceil(2));
            let s = |i: u32| (halve(f, i) * halve(t, i)) as u64;
            let c64 = c as u64;
            let a_macs = (576 * c64 + 8_768) * s(1) + 95_872 * s(2) + 507_648 * s(3) + 271_872 * s(4) + 65_536;
            let b_macs = (576 * c64 + 8_768) * s(1) + 150_912 * s(2) + 271_360 * s(3) + 271_872 * s(4) + 65_536;
            let a_params = 976_320 + 576 * c + 512 * s(4) as usize;
            let b_params = 787_264 + 576 * c + 512 * s(4) as usize;
            let what = format!("C {c}, {f}×{t}");
            assert_eq!(
                trunk(MfnVariant::A, [c, f, t]),
                Count {
                    params: a_params,
                    macs: a_macs
                },
                "A {what}"
            );
            assert_eq!(
                trunk(MfnVariant::B, [c, f, t]),
                Count {
                    params: b_params,
                    macs: b_macs
                },
                "B {what}"
            );
        }
    }
}

/// Criterion: the layer table of the stgram-mfn preset follows stgram_mfn.md §2 and §4.4 (input (2, 128, 313)):
/// TgramNet rows (`[128, 313]`, conv_extractor 131 072 params and N·M·W = 41 025 536 MACs), MFN rows with their
/// output maps and MACs (conv1 64×64×157 11 575 296; dw_conv1 5 787 648; b0 105 934 848; b1 44 331 008; b5
/// 63 864 832; b6 43 417 600; b12 53 166 080; b13 10 854 400; conv2 512×8×20 10 485 760; linear7 81 920; linear1
/// 65 536), then the head and the reference-only fc_out; the totals of `count()` are the sums of these rows.
#[test]
fn stgram_mfn_layer_table_follows_the_spec() {
    let model = StgramMfnConfig::new().init(&Device::flex()).expect("valid");
    let rows = model.layers();
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(rows.len(), 4 + 2 + 15 + 3 + 2, "{names:?}");
    let row = |name: &str| {
        rows.iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no row {name} in {names:?}"))
    };
    let first = row("tgram.conv_extractor");
    assert_eq!(
        (first.output_shape.clone(), first.count.params),
        (vec![128, 313], 131_072)
    );
    assert_eq!(first.count.macs, 41_025_536);
    let mfn = [
        ("conv1", [64, 64, 157], 11_575_296),
        ("dw_conv1", [64, 64, 157], 5_787_648),
        ("blocks.0", [64, 32, 79], 105_934_848),
        ("blocks.1", [64, 32, 79], 44_331_008),
        ("blocks.5", [128, 16, 40], 63_864_832),
        ("blocks.6", [128, 16, 40], 43_417_600),
        ("blocks.12", [128, 8, 20], 53_166_080),
        ("blocks.13", [128, 8, 20], 10_854_400),
        ("conv2", [512, 8, 20], 10_485_760),
        ("linear7", [512, 1, 1], 81_920),
        ("linear1", [128, 1, 1], 65_536),
    ];
    for (name, shape, macs) in mfn {
        let r = row(&format!("classifier.mfn.{name}"));
        assert_eq!(
            (r.output_shape.as_slice(), r.count.macs),
            (shape.as_slice(), macs),
            "{name}"
        );
        assert_eq!(r.role, LayerRole::Network);
    }
    // §4.3 variant A: b0–b4 18 432 parameters each, b5 53 248, b12 139 008.
    assert_eq!(row("classifier.mfn.blocks.0").count.params, 18_432);
    assert_eq!(row("classifier.mfn.blocks.5").count.params, 53_248);
    assert_eq!(row("classifier.mfn.blocks.12").count.params, 139_008);
    let head = row("classifier.head");
    assert_eq!(
        (head.role, head.output_shape.clone(), head.count.params),
        (LayerRole::Head, vec![41], 5_248)
    );
    let fc_out = &rows[rows.len() - 1];
    assert_eq!(
        (fc_out.name.as_str(), fc_out.role),
        ("mobilefacenet.fc_out", LayerRole::ReferenceOnly)
    );
    assert_eq!(fc_out.count.params, 5_289);
    assert_eq!(
        asd_models::count::total(&rows[..rows.len() - 1]).params,
        model.count().params
    );
}

/// Criterion: the SpecMFN layer table (asdnet_specmfn.md §3.4) has SpecNet's six rows, the eleven MobileFaceNet
/// rows, the ArcFace head and the reference-only fc_out, and its sums are the decisions.md §9 counts
/// (params 1,052,288; params_paper 1,052,329; MACs 184,037,376).
#[test]
fn specmfn_layer_table_sums_to_its_counts() {
    let model = SpecMfnConfig::new().init(&Device::flex()).expect("valid");
    let rows = model.layers();
    assert_eq!(rows.len(), 6 + 11 + 2);
    assert_eq!(rows[0].name, "specnet.convs.0");
    assert_eq!(rows[6].name, "mfn.conv1");
    assert_eq!(rows[6].output_shape, vec![64, 64, 18]);
    assert_eq!(
        model.count(),
        ModelCount {
            params: 1_052_288,
            params_paper: 1_052_329,
            macs: 184_037_376,
        }
    );
}
