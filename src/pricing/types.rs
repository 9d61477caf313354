//! The closed vocabularies of offers: kind, term and payment option.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of commitment an offer (or an existing commitment) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferKind {
    /// AWS Standard Reserved Instance (fixed instance family/type and region).
    RiStandard,
    /// AWS Convertible Reserved Instance (exchangeable, smaller discount).
    RiConvertible,
    /// AWS Compute Savings Plan (USD/hour of spend across EC2, Fargate, Lambda).
    SavingsPlanCompute,
    /// AWS EC2 Instance Savings Plan (USD/hour of spend on one family in one region).
    SavingsPlanInstance,
    /// GCP resource-based committed-use discount (vCPU, memory).
    GcpResourceCud,
    /// GCP spend-based committed-use discount.
    GcpSpendCud,
    /// Azure Reservation.
    AzureReservation,
    /// Azure Savings Plan for compute.
    AzureSavingsPlan,
}

impl OfferKind {
    /// Every kind, in declaration order.
    pub const ALL: [OfferKind; 8] = [
        OfferKind::RiStandard,
        OfferKind::RiConvertible,
        OfferKind::SavingsPlanCompute,
        OfferKind::SavingsPlanInstance,
        OfferKind::GcpResourceCud,
        OfferKind::GcpSpendCud,
        OfferKind::AzureReservation,
        OfferKind::AzureSavingsPlan,
    ];

    /// The snake_case name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            OfferKind::RiStandard => "ri_standard",
            OfferKind::RiConvertible => "ri_convertible",
            OfferKind::SavingsPlanCompute => "savings_plan_compute",
            OfferKind::SavingsPlanInstance => "savings_plan_instance",
            OfferKind::GcpResourceCud => "gcp_resource_cud",
            OfferKind::GcpSpendCud => "gcp_spend_cud",
            OfferKind::AzureReservation => "azure_reservation",
            OfferKind::AzureSavingsPlan => "azure_savings_plan",
        }
    }

    /// Whether the commitment is a spend commitment (USD/hour) rather than a usage
    /// commitment (units of a resource). Spend-based offers belong in pools whose unit is
    /// on-demand-equivalent spend.
    pub fn is_spend_based(self) -> bool {
        matches!(
            self,
            OfferKind::SavingsPlanCompute
                | OfferKind::SavingsPlanInstance
                | OfferKind::GcpSpendCud
                | OfferKind::AzureSavingsPlan
        )
    }

    /// Parses a snake_case name (surrounding blanks and case ignored).
    pub fn parse(text: &str) -> Option<OfferKind> {
        let t = text.trim().to_ascii_lowercase();
        OfferKind::ALL.into_iter().find(|k| k.as_str() == t)
    }

    /// The accepted names, for error messages.
    pub fn names() -> String {
        names(OfferKind::ALL.iter().map(|k| k.as_str()))
    }
}

impl fmt::Display for OfferKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Hours in a commitment year. Cloud providers amortise one-year terms over 365 days × 24
/// hours = 8,760 hours (and bill 730-hour months), ignoring leap days; capplan does the same
/// so that effective rates match the providers' published amortised rates.
pub const HOURS_PER_YEAR: u32 = 8_760;

/// Hours in a billing month for recurring fees: 8,760 / 12 = 730.
pub const HOURS_PER_MONTH: u32 = 730;

/// Length of a commitment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Term {
    /// One year: 8,760 hours.
    #[serde(rename = "1y")]
    OneYear,
    /// Three years: 26,280 hours.
    #[serde(rename = "3y")]
    ThreeYears,
}

impl Term {
    /// Both terms, shortest first.
    pub const ALL: [Term; 2] = [Term::OneYear, Term::ThreeYears];

    /// `"1y"` or `"3y"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Term::OneYear => "1y",
            Term::ThreeYears => "3y",
        }
    }

    /// Whole years.
    pub fn years(self) -> u32 {
        match self {
            Term::OneYear => 1,
            Term::ThreeYears => 3,
        }
    }

    /// Billing months (12 per year).
    pub fn months(self) -> u32 {
        self.years() * 12
    }

    /// Hours of the term by the providers' convention: [`HOURS_PER_YEAR`] per year
    /// (1y = 8,760, 3y = 26,280), leap days ignored.
    pub fn hours(self) -> u32 {
        self.years() * HOURS_PER_YEAR
    }

    /// Parses `1y`/`3y` (also `1yr`, `3 years`, ...; case and blanks ignored).
    pub fn parse(text: &str) -> Option<Term> {
        let t: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        match t.as_str() {
            "1y" | "1yr" | "1year" | "1years" => Some(Term::OneYear),
            "3y" | "3yr" | "3year" | "3years" => Some(Term::ThreeYears),
            _ => None,
        }
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an offer is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payment {
    /// Only a recurring hourly fee (billed monthly).
    NoUpfront,
    /// Part upfront, the rest as a recurring fee.
    PartialUpfront,
    /// Everything upfront, no recurring fee.
    AllUpfront,
}

impl Payment {
    /// Every payment option, least upfront first.
    pub const ALL: [Payment; 3] = [
        Payment::NoUpfront,
        Payment::PartialUpfront,
        Payment::AllUpfront,
    ];

    /// The snake_case name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Payment::NoUpfront => "no_upfront",
            Payment::PartialUpfront => "partial_upfront",
            Payment::AllUpfront => "all_upfront",
        }
    }

    /// Parses a snake_case name; also accepts the providers' labels ("All Upfront",
    /// "partial-upfront").
    pub fn parse(text: &str) -> Option<Payment> {
        let t = text.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        Payment::ALL.into_iter().find(|p| p.as_str() == t)
    }

    /// The accepted names, for error messages.
    pub fn names() -> String {
        names(Payment::ALL.iter().map(|p| p.as_str()))
    }
}

impl fmt::Display for Payment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    it.map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in OfferKind::ALL {
            assert_eq!(OfferKind::parse(k.as_str()), Some(k));
        }
        for p in Payment::ALL {
            assert_eq!(Payment::parse(p.as_str()), Some(p));
        }
        for t in Term::ALL {
            assert_eq!(Term::parse(t.as_str()), Some(t));
        }
        assert_eq!(Payment::parse("All Upfront"), Some(Payment::AllUpfront));
        assert_eq!(Term::parse(" 3 Years "), Some(Term::ThreeYears));
        assert_eq!(Term::parse("2y"), None);
        assert_eq!(OfferKind::parse("ri"), None);
    }

    #[test]
    fn term_hours_follow_the_8760_convention() {
        assert_eq!(Term::OneYear.hours(), 8_760);
        assert_eq!(Term::ThreeYears.hours(), 26_280);
        assert_eq!(Term::ThreeYears.months() * HOURS_PER_MONTH, 26_280);
    }

    #[test]
    fn spend_based_kinds() {
        assert!(OfferKind::SavingsPlanCompute.is_spend_based());
        assert!(OfferKind::GcpSpendCud.is_spend_based());
        assert!(!OfferKind::RiStandard.is_spend_based());
        assert!(!OfferKind::AzureReservation.is_spend_based());
    }
}
