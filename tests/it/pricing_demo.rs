//! The demo rate card and inventory parse, validate together and agree with the synthetic
//! export of "Northwind Analytics".

use std::str::FromStr;

use capplan::pricing::{Inventory, OfferKind, Payment, RateCard, Term};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

const RATES: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/rates.toml"));
const INVENTORY: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/demo/inventory.toml"
));

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn load() -> (RateCard, Inventory) {
    let card = RateCard::from_toml_str(RATES, "data/demo/rates.toml").unwrap();
    let inv = Inventory::from_toml_str(INVENTORY, "data/demo/inventory.toml").unwrap();
    inv.validate(&card).unwrap();
    (card, inv)
}

#[test]
fn demo_files_parse_and_validate_together() {
    let (card, inv) = load();
    assert!(card.warnings().is_empty(), "{:?}", card.warnings());
    assert_eq!(card.pools().len(), 13);
    assert_eq!(card.offers().count(), 10 * 7 + 2 * 5 + 6);
    assert_eq!(inv.commitments().len(), 5);
    // Every offer is cheaper than on-demand by a plausible margin, and longer terms and more
    // upfront are never dearer (nominally) within a pool and kind.
    for o in card.offers() {
        let disc = o.discount();
        assert!(disc > d("0.2") && disc < d("0.62"), "{} {disc}", o.id());
    }
    for p in card.pools() {
        for kind in [OfferKind::RiStandard, OfferKind::SavingsPlanCompute] {
            for term in Term::ALL {
                let rates: Vec<Decimal> = Payment::ALL
                    .iter()
                    .filter_map(|pay| {
                        p.offers()
                            .iter()
                            .find(|o| o.kind() == kind && o.term() == term && o.payment() == *pay)
                            .map(|o| o.effective_hourly())
                    })
                    .collect();
                assert!(
                    rates.windows(2).all(|w| w[0] >= w[1]),
                    "{} {rates:?}",
                    p.id()
                );
            }
        }
    }
}

#[test]
fn demo_pools_match_the_synthetic_series() {
    let (card, _) = load();
    let ec2 = [
        ("service", "Amazon Elastic Compute Cloud"),
        ("region", "eu-west-1"),
        ("instance_type", "c6i.xlarge"),
    ];
    let ids: Vec<&str> = card
        .pools_for(ec2, "Hours")
        .iter()
        .map(|p| p.id())
        .collect();
    assert_eq!(ids, ["ec2-euw1-c6i.xlarge"]);
    let ids: Vec<&str> = card.pools_for(ec2, "USD").iter().map(|p| p.id()).collect();
    assert_eq!(ids, ["compute-sp"]);
    let lambda = [("service", "AWS Lambda"), ("region", "us-east-1")];
    assert_eq!(card.pools_for(lambda, "USD").len(), 1);
    let rds = [
        ("service", "Amazon Relational Database Service"),
        ("region", "us-east-1"),
        ("instance_type", "db.r6g.2xlarge"),
    ];
    assert_eq!(card.pools_for(rds, "USD").len(), 0);
    assert_eq!(card.pools_for(rds, "Hours")[0].on_demand_rate(), d("0.899"));
}

#[test]
fn demo_inventory_matches_the_synthetic_bill() {
    let (card, inv) = load();
    // October 2024 (744 h): the 3y RI books 16 × 0.0826 × 744 = 983.2704 (as in the
    // export) and the 1y all-upfront RI 8 × 0.1210 × 744 = 720.192.
    let oct = t("2024-10-01T00:00:00Z");
    assert_eq!(
        inv.cost_over("ec2-use1-m6i.xlarge", oct, 744),
        d("1703.4624")
    );
    // The 1y RI expires on 2025-02-01: coverage steps down from 24 to 16.
    let cov = inv.coverage("ec2-use1-m6i.xlarge", t("2025-01-31T23:00:00Z"), 2);
    assert_eq!(cov, vec![24.0, 16.0]);
    // Savings Plans: 9 USD/h in 2026 (January, 744 h: 6,696 USD as in the export).
    assert_eq!(
        inv.cost_over("compute-sp", t("2026-01-01T00:00:00Z"), 744),
        d("6696")
    );
    // 2025's 6 USD/h plan, priced from a 9-decimal quantity: within a micro-dollar.
    let c2025 = inv.cost_over("compute-sp", t("2025-01-01T00:00:00Z"), 8760);
    assert!((c2025 - d("52560")).abs() < d("0.000001"), "{c2025}");
    // RDS: 4 × 0.2840 × 744 = 845.184 in March 2025 (as in the export).
    assert_eq!(
        inv.cost_over("rds-use1-db.r6g.xlarge", t("2025-03-01T00:00:00Z"), 744),
        d("845.184")
    );
    // The inventory's amortised rates sit on the card's discount levels.
    let ri3 = card.offer("ec2-use1-m6i.xlarge-ri-3y-partial").unwrap();
    assert_eq!(ri3.effective_hourly(), d("0.0826"));
    let ri1 = card.offer("ec2-use1-m6i.xlarge-ri-1y-all").unwrap();
    assert_eq!(ri1.effective_hourly(), d("0.1210"));
    let rds = card.offer("rds-use1-db.r6g.xlarge-ri-1y-all").unwrap();
    assert_eq!(rds.effective_hourly(), d("0.2840"));
    assert_eq!(
        card.offer("compute-sp-csp-1y-no")
            .unwrap()
            .effective_hourly(),
        d("0.74")
    );
    assert_eq!(
        card.offer("compute-sp-csp-1y-partial")
            .unwrap()
            .effective_hourly(),
        d("0.72")
    );
}

#[test]
fn demo_payment_choice_depends_on_the_cost_of_capital() {
    let (card, _) = load();
    // At 0 % the all-upfront option is nominally cheapest; at a high cost of capital paying
    // later wins.
    let at = |r: &str| {
        card.best_payment_options("ec2-use1-m6i.xlarge", d(r))
            .unwrap()
            .into_iter()
            .find(|c| c.kind == OfferKind::RiStandard && c.term == Term::ThreeYears)
            .unwrap()
    };
    assert_eq!(at("0").chosen, "ec2-use1-m6i.xlarge-ri-3y-all");
    assert_eq!(at("0.08").chosen, "ec2-use1-m6i.xlarge-ri-3y-all");
    assert_eq!(at("0.5").chosen, "ec2-use1-m6i.xlarge-ri-3y-no");
    let c = at("0.08");
    assert_eq!(c.candidates.len(), 3);
    assert!(
        c.candidates
            .windows(2)
            .all(|w| w[0].pv_per_unit <= w[1].pv_per_unit)
    );
}
