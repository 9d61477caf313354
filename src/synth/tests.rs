//! Unit tests of the generator: determinism, the Parquet paths, the FOCUS schema, the row-level
//! invariants, the demo story and the pseudo-random streams.

use std::collections::BTreeMap;

use polars::prelude::{DataType, ParquetReader, SerReader, TimeUnit, TimeZone};

use super::company::Svc;
use super::timeline::{HOUR_MICROS, add_months, micros, midnight};
use super::*;

fn cfg(months: u32, scale: u32) -> SynthConfig {
    SynthConfig {
        months,
        scale,
        ..SynthConfig::default()
    }
}

fn strs(df: &DataFrame, name: &str) -> Vec<Option<String>> {
    df.column(name)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect()
}

fn times(df: &DataFrame, name: &str) -> Vec<i64> {
    let ca = df
        .column(name)
        .unwrap()
        .datetime()
        .unwrap()
        .physical()
        .clone();
    assert_eq!(ca.null_count(), 0, "{name} has nulls");
    ca.into_no_null_iter().collect()
}

fn decs(df: &DataFrame, name: &str) -> Vec<Option<Decimal>> {
    let ca = df.column(name).unwrap().decimal().unwrap();
    let scale = ca.scale() as u32;
    ca.physical()
        .iter()
        .map(|v| v.map(|m| Decimal::from_i128_with_scale(m, scale)))
        .collect()
}

fn floats(df: &DataFrame, name: &str) -> Vec<Option<f64>> {
    df.column(name).unwrap().f64().unwrap().iter().collect()
}

fn parquet_bytes(df: &DataFrame) -> Vec<u8> {
    let mut out = Vec::new();
    write_parquet(&mut df.clone(), &mut out).unwrap();
    out
}

#[test]
fn same_config_gives_identical_frame_and_bytes() {
    let c = cfg(2, 1);
    let a = generate_frame(&c).unwrap();
    let b = generate_frame(&c).unwrap();
    assert!(a.equals_missing(&b));
    let (pa, pb) = (parquet_bytes(&a), parquet_bytes(&b));
    assert!(!pa.is_empty());
    assert_eq!(pa, pb);

    let other = generate_frame(&SynthConfig { seed: 7, ..c }).unwrap();
    assert!(!a.equals_missing(&other), "the seed must matter");
}

#[test]
fn parquet_round_trip_preserves_the_frame() {
    let df = generate_frame(&cfg(2, 2)).unwrap();
    let bytes = parquet_bytes(&df);
    let back = ParquetReader::new(std::io::Cursor::new(bytes))
        .finish()
        .unwrap();
    assert_eq!(back.schema(), df.schema());
    assert!(back.equals_missing(&df));
}

#[test]
fn streaming_writer_produces_the_same_rows() {
    let c = cfg(3, 2);
    let df = generate_frame(&c).unwrap();
    let mut a = Vec::new();
    let rows = write_parquet_streaming(&c, &mut a).unwrap();
    let mut b = Vec::new();
    write_parquet_streaming(&c, &mut b).unwrap();
    assert_eq!(a, b);
    assert_eq!(rows, df.height() as u64);
    let back = ParquetReader::new(std::io::Cursor::new(a))
        .finish()
        .unwrap();
    assert!(back.equals_missing(&df));
}

#[test]
fn schema_has_the_focus_columns_in_order_with_their_types() {
    let df = generate_frame(&cfg(1, 1)).unwrap();
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(names.len(), 57 + CUSTOM_COLUMNS.len());
    assert_eq!(&names[..57], &FOCUS_COLUMNS.map(str::to_string)[..]);
    assert!(names[57..].iter().all(|n| n.starts_with("x_")));
    let money = DataType::Decimal(MONEY_PRECISION, MONEY_SCALE as usize);
    let utc = DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
    for (name, dtype) in df.schema().iter() {
        let expected = match name.as_str() {
            "BilledCost"
            | "EffectiveCost"
            | "ListCost"
            | "ContractedCost"
            | "ListUnitPrice"
            | "ContractedUnitPrice"
            | "PricingCurrencyContractedUnitPrice"
            | "PricingCurrencyEffectiveCost"
            | "PricingCurrencyListUnitPrice" => &money,
            "ConsumedQuantity" | "PricingQuantity" | "CommitmentDiscountQuantity" => {
                &DataType::Float64
            }
            "BillingPeriodStart" | "BillingPeriodEnd" | "ChargePeriodStart" | "ChargePeriodEnd" => {
                &utc
            }
            _ => &DataType::String,
        };
        assert_eq!(dtype, expected, "column {name}");
    }
}

/// Checks every row-level invariant of one generated frame.
fn check_invariants(c: &SynthConfig) {
    let df = generate_frame(c).unwrap();
    let t = truth(c);
    let n = df.height();
    let cps = times(&df, "ChargePeriodStart");
    let cpe = times(&df, "ChargePeriodEnd");
    let bps = times(&df, "BillingPeriodStart");
    let bpe = times(&df, "BillingPeriodEnd");
    let category = strs(&df, "ChargeCategory");
    let class = strs(&df, "ChargeClass");
    let pricing_category = strs(&df, "PricingCategory");
    let status = strs(&df, "CommitmentDiscountStatus");
    let cd_id = strs(&df, "CommitmentDiscountId");
    let service = strs(&df, "ServiceName");
    let details = strs(&df, "SkuPriceDetails");
    let tags = strs(&df, "Tags");
    let consumed = floats(&df, "ConsumedQuantity");
    let pricing_qty = floats(&df, "PricingQuantity");
    let billed = decs(&df, "BilledCost");
    let effective = decs(&df, "EffectiveCost");
    let list = decs(&df, "ListCost");
    let start = micros(midnight(t.start));
    let end = micros(midnight(t.as_of));

    let mut covered: BTreeMap<(&str, i64), f64> = BTreeMap::new();
    let mut commit_cost: BTreeMap<(&str, i64), Decimal> = BTreeMap::new();
    let mut corrections = 0;
    for i in 0..n {
        assert!(
            cpe[i] > cps[i],
            "row {i}: ChargePeriodEnd <= ChargePeriodStart"
        );
        assert!(
            bpe[i] > bps[i],
            "row {i}: BillingPeriodEnd <= BillingPeriodStart"
        );
        assert!(billed[i].is_some() && effective[i].is_some() && list[i].is_some());
        let cat = category[i].as_deref().unwrap();
        let b = billed[i].unwrap();
        let e = effective[i].unwrap();
        if cat == "Usage" && class[i].is_none() {
            assert_eq!(cpe[i] - cps[i], HOUR_MICROS, "row {i}: usage is hourly");
            assert_eq!(cps[i] % HOUR_MICROS, 0, "row {i}: on the hour");
            assert!(
                cps[i] >= start && cpe[i] <= end,
                "row {i}: inside the window"
            );
            assert!(
                bps[i] <= cps[i] && cpe[i] <= bpe[i],
                "row {i}: in its billing month"
            );
            assert!(
                tags[i]
                    .as_deref()
                    .is_none_or(|s| s.starts_with('{') && s.ends_with('}'))
            );
        }
        match status[i].as_deref() {
            Some("Used") => {
                assert_eq!(pricing_category[i].as_deref(), Some("Committed"), "row {i}");
                assert!(b.is_zero(), "row {i}: covered usage is not billed");
                let id = cd_id[i].as_deref().unwrap();
                *covered.entry((id, cps[i])).or_default() += consumed[i].unwrap();
                *commit_cost.entry((id, cps[i])).or_default() += e;
            }
            Some("Unused") => {
                assert_eq!(consumed[i], None, "row {i}: Unused has no consumption");
                assert_eq!(pricing_category[i].as_deref(), Some("Committed"), "row {i}");
                assert!(b.is_zero() && e > Decimal::ZERO, "row {i}");
                let id = cd_id[i].as_deref().unwrap();
                *commit_cost.entry((id, cps[i])).or_default() += e;
            }
            Some(other) => panic!("unexpected status {other}"),
            None => {}
        }
        match cat {
            "Purchase" => {
                assert!(b > Decimal::ZERO && e.is_zero(), "row {i}: purchase");
                assert!(cd_id[i].is_some() && status[i].is_none());
            }
            "Tax" => {
                assert!(pricing_qty[i].is_none() && pricing_category[i].is_none());
                assert_eq!(b, e);
            }
            "Credit" => assert!(b < Decimal::ZERO && e < Decimal::ZERO),
            "Usage" => {
                let svc = service[i].as_deref().unwrap();
                if (svc == Svc::Ec2.name() || svc == Svc::Rds.name()) && status[i].is_none() {
                    let d = details[i].as_deref().unwrap();
                    assert!(d.contains("\"InstanceType\":\""), "row {i}: {d}");
                }
            }
            other => panic!("unexpected ChargeCategory {other}"),
        }
        if class[i].as_deref() == Some("Correction") {
            corrections += 1;
            assert!(consumed[i].unwrap() < 0.0 && b < Decimal::ZERO);
            assert!(bps[i] > cps[i], "a correction is billed in a later month");
            let expected = t.correction.as_ref().unwrap();
            assert_eq!(cps[i], micros(expected.charge_period_start));
            assert_eq!(bps[i], micros(expected.billing_period_start));
        }
    }
    assert_eq!(corrections, usize::from(t.correction.is_some()));

    for c in &t.commitments {
        let first = micros(c.start).max(start);
        let last = micros(c.end).min(end);
        let mut hour = first;
        while hour < last {
            if c.kind == "Reserved Instance" {
                let used = covered.get(&(c.id.as_str(), hour)).copied().unwrap_or(0.0);
                assert!(used <= c.quantity, "{} over-covered at {hour}", c.name);
            }
            let cost = commit_cost.get(&(c.id.as_str(), hour)).copied();
            assert_eq!(cost, Some(c.hourly_rate), "{} at {hour}", c.name);
            hour += HOUR_MICROS;
        }
        // No commitment rows outside the term.
        assert!(
            commit_cost
                .keys()
                .filter(|(id, _)| *id == c.id)
                .all(|(_, h)| *h >= micros(c.start) && *h < micros(c.end))
        );
    }
}

#[test]
fn invariants_hold_over_commitment_changes() {
    // Oct 2024 - Feb 2025: two RIs, the 1y RI expires on 2025-02-01, the first SP starts
    // on 2025-01-01; scale 2 exercises shared commitments across business units.
    check_invariants(&cfg(5, 2));
}

#[test]
fn invariants_hold_at_a_mid_month_start() {
    let c = SynthConfig {
        start: NaiveDate::from_ymd_opt(2025, 11, 17).unwrap(),
        months: 3,
        seed: 3,
        scale: 1,
    };
    check_invariants(&c);
}

#[test]
fn demo_truth_matches_the_story() {
    let t = truth(&SynthConfig::default());
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    assert_eq!(t.start, d(2024, 10, 1));
    assert_eq!(t.as_of, d(2026, 10, 1));
    let as_of = midnight(t.as_of);
    let quarter_after = midnight(d(2027, 1, 1));
    assert!(
        t.commitments
            .iter()
            .any(|c| c.end > as_of && c.end <= quarter_after),
        "a commitment must expire within the quarter after the data"
    );
    assert!(
        t.commitments
            .iter()
            .any(|c| c.end > midnight(t.start) && c.end < as_of),
        "a commitment must expire inside the window"
    );
    assert!(
        t.commitments
            .iter()
            .any(|c| c.kind == "Reserved Instance" && c.category == "Usage")
    );
    assert!(
        t.commitments
            .iter()
            .any(|c| c.kind == "Savings Plan" && c.category == "Spend")
    );
    assert!((3..=5).contains(&t.anomalies.len()));
    assert!(
        t.anomalies
            .iter()
            .all(|a| a.start >= midnight(t.start) && a.end <= as_of)
    );
    assert_eq!(t.launch.at.date(), d(2025, 12, 9));
    assert_eq!(t.migration.start.date(), d(2026, 4, 1));
    assert_eq!(t.migration.end.date(), d(2026, 5, 27));
}

#[test]
fn expiring_commitment_is_in_the_data_until_the_end() {
    let c = cfg(2, 1);
    let t = truth(&c);
    let df = generate_frame(&c).unwrap();
    let as_of = midnight(t.as_of);
    let expiring: Vec<&SynthCommitment> = t
        .commitments
        .iter()
        .filter(|x| x.end > as_of && x.end <= midnight(add_months(t.as_of, 3)))
        .collect();
    assert!(!expiring.is_empty());
    let ids = strs(&df, "CommitmentDiscountId");
    let cps = times(&df, "ChargePeriodStart");
    let last_hour = micros(as_of) - HOUR_MICROS;
    for x in expiring {
        assert!(
            ids.iter()
                .zip(&cps)
                .any(|(id, t)| id.as_deref() == Some(x.id.as_str()) && *t == last_hour),
            "{} has rows in the last hour",
            x.name
        );
    }
}

#[test]
fn rows_grow_with_scale() {
    let one = generate_frame(&cfg(1, 1)).unwrap().height();
    let four = generate_frame(&cfg(1, 4)).unwrap().height();
    assert!(four > 3 * one && four < 4 * one, "{one} -> {four}");
}

#[test]
fn invalid_configs_are_rejected() {
    for bad in [cfg(0, 1), cfg(1, 0), cfg(MAX_MONTHS + 1, 1)] {
        assert!(matches!(
            generate_frame(&bad),
            Err(SynthError::InvalidConfig(_))
        ));
    }
    // truth() never panics, it clamps.
    assert_eq!(truth(&cfg(0, 0)).as_of, add_months(DEMO_START, 1));
}

#[test]
fn prng_is_stable() {
    // Guards against accidental changes of the generator (the demo file depends on it).
    let mut r = Rng::new(42);
    let first: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
    let mut again = Rng::new(42);
    assert_eq!(first, (0..3).map(|_| again.next_u64()).collect::<Vec<_>>());
    let mean = (0..20_000).map(|_| r.normal()).sum::<f64>() / 20_000.0;
    assert!(mean.abs() < 0.05);
    assert_eq!(sku_code("x").len(), 16);
}

#[test]
fn public_export_writes_the_frame_as_parquet_and_csv() {
    let c = cfg(1, 1);
    let mut export = generate(&c).unwrap();
    let df = generate_frame(&c).unwrap();
    assert_eq!(export.rows(), df.height());
    let mut parquet = Vec::new();
    export.write_parquet(&mut parquet).unwrap();
    assert_eq!(parquet, parquet_bytes(&df));
    let mut csv = Vec::new();
    export.write_csv(&mut csv).unwrap();
    let text = String::from_utf8(csv).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("AvailabilityZone,BilledCost,"),
        "{header}"
    );
    assert_eq!(lines.count(), df.height());
    assert!(text.contains(",2024-10-01T00:00:00Z,"));
}

/// The in-module generator `synth` carried before it used [`crate::rng`], kept verbatim as the
/// reference its streams must match.
mod former {
    use std::f64::consts::TAU;

    pub(super) fn splitmix64(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn mix(seed: u64, tag: u64) -> u64 {
        let mut s = seed ^ tag.wrapping_mul(0xD1B5_4A32_D192_ED03);
        splitmix64(&mut s)
    }

    pub(super) struct Rng {
        s: [u64; 4],
    }

    impl Rng {
        pub(super) fn new(seed: u64) -> Self {
            let mut sm = seed;
            let mut s = [0u64; 4];
            for v in &mut s {
                *v = splitmix64(&mut sm);
            }
            if s == [0; 4] {
                s[0] = 1;
            }
            Rng { s }
        }

        pub(super) fn next_u64(&mut self) -> u64 {
            let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
            let t = self.s[1] << 17;
            self.s[2] ^= self.s[0];
            self.s[3] ^= self.s[1];
            self.s[1] ^= self.s[2];
            self.s[0] ^= self.s[3];
            self.s[2] ^= t;
            self.s[3] = self.s[3].rotate_left(45);
            result
        }

        pub(super) fn uniform(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
        }

        pub(super) fn below(&mut self, n: u64) -> u64 {
            if n == 0 { 0 } else { self.next_u64() % n }
        }

        pub(super) fn normal(&mut self) -> f64 {
            let u1 = 1.0 - self.uniform();
            let u2 = self.uniform();
            (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
        }
    }

    pub(super) fn sku_code(text: &str) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let mut state = super::fnv1a(text);
        let mut out = String::with_capacity(16);
        let mut bits = splitmix64(&mut state);
        for i in 0..16 {
            if i == 12 {
                bits = splitmix64(&mut state);
            }
            out.push(char::from(ALPHABET[(bits & 31) as usize]));
            bits >>= 5;
        }
        out
    }

    pub(super) fn uuid_like(text: &str) -> String {
        let mut state = super::fnv1a(text);
        let a = splitmix64(&mut state);
        let b = splitmix64(&mut state);
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xFFFF,
            a & 0xFFF,
            (b >> 48) & 0xFFF,
            b & 0xFFFF_FFFF_FFFF
        )
    }
}

#[test]
fn rng_matches_the_former_in_module_generator() {
    // The ground floor's SplitMix64/xoshiro256** replaced synth's own copy; the demo file
    // depends on every draw, so the first 1,000 draws of each kind must be bit-identical.
    let seeds = [
        0,
        1,
        42,
        u64::MAX,
        0x9E37_79B9_7F4A_7C15,
        // Every stream seed the generator derives for the demo's first business units.
        mix(42, 0x0B5_0B5),
        mix(42, 0xA11_0A11),
        mix(42, (1 << 16) | 3),
    ];
    for seed in seeds {
        assert_eq!(mix(seed, 7), former::mix(seed, 7));
        let (mut new, mut old) = (Rng::new(seed), former::Rng::new(seed));
        for i in 0..1000 {
            assert_eq!(new.next_u64(), old.next_u64(), "seed {seed}, draw {i}");
        }
        let (mut new, mut old) = (Rng::new(seed), former::Rng::new(seed));
        for i in 0..1000 {
            assert_eq!(
                new.uniform().to_bits(),
                old.uniform().to_bits(),
                "seed {seed}, draw {i}"
            );
            assert_eq!(
                new.normal().to_bits(),
                old.normal().to_bits(),
                "seed {seed}, draw {i}"
            );
            assert_eq!(new.below(i + 1), old.below(i + 1), "seed {seed}, draw {i}");
        }
        let mut sm = SplitMix64::new(seed);
        let mut state = seed;
        for i in 0..1000 {
            assert_eq!(
                sm.next_u64(),
                former::splitmix64(&mut state),
                "seed {seed}, draw {i}"
            );
        }
    }
    for text in ["", "x", "m6i.xlarge@us-east-1", "731904826153/checkout-api"] {
        assert_eq!(sku_code(text), former::sku_code(text));
        assert_eq!(uuid_like(text), former::uuid_like(text));
    }
}
