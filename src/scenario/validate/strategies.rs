//! Validation of `[[scenario.strategy]]`: the kind, the keys that apply to it, risk, ladder
//! and purchases.

use std::ops::Range;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use toml::Spanned;

use super::{Ctx, DATE_EXPECTED};
use crate::plan::{Cadence, LadderSettings, Risk, TrancheSizing};
use crate::pricing::Term;
use crate::scenario::ScenarioError;
use crate::scenario::raw::{RawPurchase, RawStrategy};
use crate::scenario::{Purchase, Strategy, StrategyKind, default_strategies};

impl Ctx<'_> {
    pub(super) fn strategies(
        &self,
        list: Vec<Spanned<RawStrategy>>,
        as_of: Option<NaiveDate>,
    ) -> Result<Vec<Strategy>, ScenarioError> {
        let mut out: Vec<Strategy> = Vec::new();
        for (i, s) in list.into_iter().enumerate() {
            let span = s.span();
            let s = s.into_inner();
            let key = |k: &str| format!("scenario.strategy[{}].{k}", i + 1);
            let name = self.entry_name(&s.name, span.clone(), &key("name"), "strategy")?;
            if let Some(first) = out.iter().find(|o| o.name == name) {
                return Err(self.duplicate(span, &key("name"), &name, first.line));
            }
            #[derive(Clone, Copy, PartialEq)]
            enum K {
                None,
                Recommended,
                Coverage,
                Purchases,
                Lookback,
            }
            let Some(kind_raw) = &s.kind else {
                return Err(self.err(
                    span,
                    key("kind"),
                    "is missing",
                    "one of \"none\", \"recommended\", \"coverage\", \"purchases\", \"lookback\"",
                    "add kind = \"recommended\" (or another kind) to this strategy",
                ));
            };
            let kind = self.one_of(
                kind_raw,
                &key("kind"),
                &[
                    ("none", K::None),
                    ("recommended", K::Recommended),
                    ("coverage", K::Coverage),
                    ("purchases", K::Purchases),
                    ("lookback", K::Lookback),
                ],
                "choose the kind of strategy",
            )?;
            // Keys that only apply to one kind.
            let applies: [(&str, Option<Range<usize>>, K, &str); 9] = [
                (
                    "risk",
                    s.risk.as_ref().map(Spanned::span),
                    K::Recommended,
                    "recommended",
                ),
                (
                    "risk_quantile",
                    s.risk_quantile.as_ref().map(Spanned::span),
                    K::Recommended,
                    "recommended",
                ),
                (
                    "risk_cvar",
                    s.risk_cvar.as_ref().map(Spanned::span),
                    K::Recommended,
                    "recommended",
                ),
                (
                    "ladder",
                    s.ladder.as_ref().map(Spanned::span),
                    K::Recommended,
                    "recommended",
                ),
                (
                    "ladder_months",
                    s.ladder_months.as_ref().map(Spanned::span),
                    K::Recommended,
                    "recommended",
                ),
                (
                    "ladder_sizing",
                    s.ladder_sizing.as_ref().map(Spanned::span),
                    K::Recommended,
                    "recommended",
                ),
                (
                    "coverage_percent",
                    s.coverage_percent.as_ref().map(Spanned::span),
                    K::Coverage,
                    "coverage",
                ),
                (
                    "term",
                    s.term.as_ref().map(Spanned::span),
                    K::Coverage,
                    "coverage",
                ),
                (
                    "days",
                    s.days.as_ref().map(Spanned::span),
                    K::Lookback,
                    "lookback",
                ),
            ];
            for (k, sp, only, only_name) in applies {
                if let Some(sp) = sp
                    && kind != only
                {
                    return Err(self.err(
                        sp,
                        key(k),
                        format!("does not apply to kind = {:?}", kind_raw.get_ref().trim()),
                        format!("`{k}` only with kind = \"{only_name}\""),
                        "remove the key or change the kind",
                    ));
                }
            }
            if let Some(p) = &s.purchase
                && kind != K::Purchases
            {
                let sp = p.first().map_or(span.clone(), Spanned::span);
                return Err(self.err(
                    sp,
                    key("purchase"),
                    format!("does not apply to kind = {:?}", kind_raw.get_ref().trim()),
                    "`purchase` only with kind = \"purchases\"",
                    "remove the purchases or change the kind",
                ));
            }
            let kind = match kind {
                K::None => StrategyKind::None,
                K::Recommended => StrategyKind::Recommended {
                    risk: self.risk(&s, &key)?,
                    ladder: self.ladder(&s, &key)?,
                },
                K::Coverage => {
                    let Some(p) = &s.coverage_percent else {
                        return Err(self.err(
                            span,
                            key("coverage_percent"),
                            "is missing",
                            "the share of each pool's mean forecast demand to commit, in percent, e.g. coverage_percent = 70",
                            "add coverage_percent to this strategy",
                        ));
                    };
                    let percent = self.decimal(p, &key("coverage_percent"))?;
                    if percent <= Decimal::ZERO || percent > Decimal::ONE_HUNDRED {
                        return Err(self.err(
                            p.span(),
                            key("coverage_percent"),
                            format!("is {percent}"),
                            "a percentage above 0 and at most 100",
                            "write 70 for 70 % (use kind = \"none\" for no commitments)",
                        ));
                    }
                    let term = match &s.term {
                        None => Term::OneYear,
                        Some(t) => self.one_of(
                            t,
                            &key("term"),
                            &[("1y", Term::OneYear), ("3y", Term::ThreeYears)],
                            "remove the key for one year",
                        )?,
                    };
                    StrategyKind::Coverage { percent, term }
                }
                K::Purchases => {
                    let list = s.purchase.unwrap_or_default();
                    if list.is_empty() {
                        return Err(self.err(
                            span,
                            key("purchase"),
                            "is missing or empty",
                            "[[scenario.strategy.purchase]] entries with pool, offer, quantity and date",
                            "list the purchases, or use kind = \"none\"",
                        ));
                    }
                    let purchases = list
                        .into_iter()
                        .enumerate()
                        .map(|(j, p)| {
                            self.purchase(p, &key(&format!("purchase[{}]", j + 1)), as_of)
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    StrategyKind::Purchases(purchases)
                }
                K::Lookback => StrategyKind::Lookback {
                    days: match &s.days {
                        None => 30,
                        Some(d) => self.int_in(
                            d,
                            &key("days"),
                            1,
                            365,
                            "days of history, usually 7, 30 or 60",
                        )? as usize,
                    },
                },
            };
            out.push(Strategy {
                name,
                kind,
                line: self.line(&span),
            });
        }
        if out.is_empty() {
            return Ok(default_strategies());
        }
        Ok(out)
    }

    fn risk(&self, s: &RawStrategy, key: &dyn Fn(&str) -> String) -> Result<Risk, ScenarioError> {
        let given: Vec<(&str, Range<usize>)> = [
            ("risk", s.risk.as_ref().map(Spanned::span)),
            ("risk_quantile", s.risk_quantile.as_ref().map(Spanned::span)),
            ("risk_cvar", s.risk_cvar.as_ref().map(Spanned::span)),
        ]
        .into_iter()
        .filter_map(|(k, sp)| sp.map(|sp| (k, sp)))
        .collect();
        if given.len() > 1 {
            return Err(self.err(
                given[1].1.clone(),
                key(given[1].0),
                format!("is given together with `{}`", given[0].0),
                "one of `risk`, `risk_quantile`, `risk_cvar`",
                "keep one risk setting",
            ));
        }
        if let Some(r) = &s.risk {
            return self.one_of(
                r,
                &key("risk"),
                &[
                    ("conservative", Risk::CONSERVATIVE),
                    ("balanced", Risk::BALANCED),
                    ("aggressive", Risk::AGGRESSIVE),
                ],
                "remove the key for balanced",
            );
        }
        if let Some(q) = &s.risk_quantile {
            let x = self.number(q, &key("risk_quantile"))?;
            if !(x > 0.0 && x < 1.0) {
                return Err(self.err(
                    q.span(),
                    key("risk_quantile"),
                    format!("is {x}"),
                    "a quantile strictly between 0 and 1 (0.25 = conservative)",
                    "write the quantile as a fraction",
                ));
            }
            return Ok(Risk::Quantile(x));
        }
        if let Some(a) = &s.risk_cvar {
            let x = self.number(a, &key("risk_cvar"))?;
            if !(x > 0.0 && x <= 1.0) {
                return Err(self.err(
                    a.span(),
                    key("risk_cvar"),
                    format!("is {x}"),
                    "a CVaR level above 0 and at most 1 (1 = balanced)",
                    "write alpha as a fraction",
                ));
            }
            return Ok(Risk::Cvar(x));
        }
        Ok(Risk::BALANCED)
    }

    fn ladder(
        &self,
        s: &RawStrategy,
        key: &dyn Fn(&str) -> String,
    ) -> Result<Option<LadderSettings>, ScenarioError> {
        let Some(c) = &s.ladder else {
            for (k, sp) in [
                ("ladder_months", s.ladder_months.as_ref().map(Spanned::span)),
                ("ladder_sizing", s.ladder_sizing.as_ref().map(Spanned::span)),
            ] {
                if let Some(sp) = sp {
                    return Err(self.err(
                        sp,
                        key(k),
                        "is given without `ladder`",
                        "ladder = \"monthly\" or \"quarterly\" beside it",
                        "add `ladder` or remove this key",
                    ));
                }
            }
            return Ok(None);
        };
        let cadence = self.one_of(
            c,
            &key("ladder"),
            &[
                ("monthly", Cadence::Monthly),
                ("quarterly", Cadence::Quarterly),
            ],
            "remove the key for a single lump purchase",
        )?;
        let months = match &s.ladder_months {
            None => 12,
            Some(m) => self.int_in(
                m,
                &key("ladder_months"),
                1,
                36,
                "months over which tranches are bought",
            )? as usize,
        };
        let sizing = match &s.ladder_sizing {
            None => TrancheSizing::EqualSlices,
            Some(z) => self.one_of(
                z,
                &key("ladder_sizing"),
                &[
                    ("equal", TrancheSizing::EqualSlices),
                    ("sequential", TrancheSizing::Sequential),
                ],
                "remove the key for equal tranches",
            )?,
        };
        Ok(Some(LadderSettings {
            cadence,
            period_months: months,
            sizing,
        }))
    }

    fn purchase(
        &self,
        raw: Spanned<RawPurchase>,
        key: &str,
        as_of: Option<NaiveDate>,
    ) -> Result<Purchase, ScenarioError> {
        let span = raw.span();
        let p = raw.into_inner();
        let k = |f: &str| format!("{key}.{f}");
        let required = |f: &str, example: &str| {
            self.err(
                span.clone(),
                k(f),
                "is missing",
                example.to_string(),
                "every purchase needs pool, offer, quantity and date",
            )
        };
        let pool = match &p.pool {
            Some(v) => self.non_empty(v, &k("pool"))?,
            None => return Err(required("pool", "a pool id of the rate card")),
        };
        let offer = match &p.offer {
            Some(v) => self.non_empty(v, &k("offer"))?,
            None => return Err(required("offer", "an offer id of that pool")),
        };
        let quantity = match &p.quantity {
            Some(v) => {
                self.int_in(v, &k("quantity"), 1, i64::MAX, "whole units of the pool")? as u64
            }
            None => return Err(required("quantity", "whole units, e.g. quantity = 10")),
        };
        let date = match &p.date {
            Some(v) => {
                let d = self.date(v, &k("date"))?;
                if let Some(a) = as_of
                    && d < a
                {
                    return Err(self.err(
                        v.span(),
                        k("date"),
                        format!("{d} is before as_of ({a})"),
                        "a date on or after as_of",
                        "list commitments already bought in the inventory file instead",
                    ));
                }
                d
            }
            None => return Err(required("date", DATE_EXPECTED)),
        };
        Ok(Purchase {
            pool,
            offer,
            // Whole units (validated above); the plan stage's purchases are in pool units.
            quantity: quantity as f64,
            date,
            line: self.line(&span),
        })
    }
}
