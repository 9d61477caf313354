//! Resolving events against the series that will be forecast
//! ([`EventSet::plan`]): which event adjusts which series, migration
//! donor → target pairs, and the warnings of the resulting [`Plan`].

use std::collections::BTreeMap;

use crate::series::SeriesKey;

use super::{Adjustment, Effect, EventAction, EventSet, Plan, PlanWarning, format_key};

impl EventSet {
    /// Resolves every event against `keys` (the series that will be
    /// forecast). Indexes in the returned plan refer to positions in `keys`.
    pub fn plan(&self, keys: &[SeriesKey]) -> Plan {
        let mut series: Vec<Vec<Adjustment>> = vec![Vec::new(); keys.len()];
        let mut matched = vec![0usize; self.events.len()];
        let mut missing = Vec::new();
        // Order-insensitive lookup of keys; the first of duplicate keys wins.
        let mut index: BTreeMap<Vec<(&str, &str)>, usize> = BTreeMap::new();
        for (i, k) in keys.iter().enumerate() {
            index.entry(normalized(&k.0)).or_insert(i);
        }
        for (i, key) in keys.iter().enumerate() {
            for (e, event) in self.events.iter().enumerate() {
                let timing = event.timing;
                match &event.action {
                    EventAction::Effect { filter, effect } => {
                        if !filter.matches(key) {
                            continue;
                        }
                        matched[e] += 1;
                        series[i].push(match *effect {
                            Effect::Multiply(factor) => Adjustment::Scale {
                                event: e,
                                factor,
                                timing,
                            },
                            Effect::Add(amount) => Adjustment::Add {
                                event: e,
                                amount,
                                timing,
                            },
                            Effect::RatePerYear(rate_per_year) => Adjustment::Compound {
                                event: e,
                                rate_per_year,
                                timing,
                            },
                        });
                    }
                    EventAction::Migration { from, to, share } => {
                        if !from.matches(key) {
                            continue;
                        }
                        let target_key: Vec<(String, String)> = key
                            .0
                            .iter()
                            .map(|(d, v)| (d.clone(), to.dims().get(d).unwrap_or(v).clone()))
                            .collect();
                        match index.get(&normalized(&target_key)) {
                            Some(&j) if j != i => {
                                matched[e] += 1;
                                series[i].push(Adjustment::Outflow {
                                    event: e,
                                    share: *share,
                                    timing,
                                    target: j,
                                });
                                series[j].push(Adjustment::Inflow {
                                    event: e,
                                    share: *share,
                                    timing,
                                    donor: i,
                                });
                            }
                            _ => missing.push(PlanWarning::MissingTarget {
                                event: event.name.clone(),
                                line: event.line,
                                donor: format_key(key),
                                target: format_key(&SeriesKey(target_key)),
                            }),
                        }
                    }
                }
            }
        }
        let unmatched: Vec<usize> = (0..self.events.len())
            .filter(|&e| matched[e] == 0)
            .collect();
        let mut warnings: Vec<PlanWarning> = unmatched
            .iter()
            .map(|&e| PlanWarning::UnmatchedEvent {
                event: self.events[e].name.clone(),
                line: self.events[e].line,
            })
            .collect();
        warnings.extend(missing);
        for (i, adjustments) in series.iter().enumerate() {
            let total: f64 = adjustments
                .iter()
                .map(|a| match a {
                    Adjustment::Outflow { share, .. } => *share,
                    _ => 0.0,
                })
                .sum();
            if total > 1.0 + 1e-12 {
                warnings.push(PlanWarning::SharesExceedOne {
                    series: format_key(&keys[i]),
                    total,
                });
            }
        }
        Plan {
            series,
            event_names: self.events.iter().map(|e| e.name.clone()).collect(),
            unmatched,
            warnings,
        }
    }
}

/// Key pairs sorted, for order-insensitive comparison.
fn normalized(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    let mut v: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(d, v)| (d.as_str(), v.as_str()))
        .collect();
    v.sort_unstable();
    v
}
