//! Automatic model selection by backtest MASE.

use super::{
    ForecastError, ModelKind, Result,
    backtest::{BacktestResult, Scores, WindowResult, mean_finite},
};

/// How backtest windows are summarised into one selection score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectionMetric {
    /// Mean of the per-window MASE.
    MeanMase,
    /// Pooled MASE: `Σ|e| / Σ scale` over all scored steps of all windows,
    /// so windows with a tiny in-sample scale do not dominate.
    PooledMase,
    /// Median of the per-window MASE.
    MedianMase,
}

/// Selection settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelectionConfig {
    /// Relative MASE margin within which a simpler model is preferred to the
    /// best one (0.01 = a more complex model must win by more than 1 %).
    pub tolerance: f64,
    /// Window summary used to rank candidates.
    pub metric: SelectionMetric,
    /// Use only the most recent `k` eligible windows (`None`: all).
    pub recent: Option<usize>,
    /// When set, the first candidate is the incumbent (default) model: any
    /// other candidate must beat its score by more than this relative
    /// margin (0.1 = 10 %) to be chosen.
    pub incumbent_margin: Option<f64>,
}

impl Default for SelectionConfig {
    fn default() -> Self {
        Self {
            tolerance: 0.05,
            metric: SelectionMetric::MedianMase,
            recent: None,
            incumbent_margin: None,
        }
    }
}

impl SelectionConfig {
    /// The prototype's original rule: mean MASE, 1 % tolerance.
    pub fn legacy() -> Self {
        Self {
            tolerance: 0.01,
            metric: SelectionMetric::MeanMase,
            recent: None,
            incumbent_margin: None,
        }
    }
}

/// Selection score of a set of windows (oldest first) under `cfg`:
/// the last `cfg.recent` windows summarised by `cfg.metric`.
pub fn selection_score(windows: &[&WindowResult], cfg: &SelectionConfig) -> f64 {
    let start = cfg
        .recent
        .map_or(0, |k| windows.len().saturating_sub(k.max(1)));
    let ws = &windows[start..];
    match cfg.metric {
        SelectionMetric::MeanMase => mean_finite(ws.iter().map(|w| w.mase())),
        SelectionMetric::MedianMase => {
            let mut v: Vec<f64> = ws
                .iter()
                .map(|w| w.mase())
                .filter(|m| m.is_finite())
                .collect();
            if v.is_empty() {
                return f64::NAN;
            }
            v.sort_by(f64::total_cmp);
            let n = v.len();
            if n % 2 == 1 {
                v[n / 2]
            } else {
                0.5 * (v[n / 2 - 1] + v[n / 2])
            }
        }
        SelectionMetric::PooledMase => {
            let (mut num, mut den) = (0.0, 0.0);
            for w in ws {
                for (a, p) in w.actual.iter().zip(&w.point) {
                    let e = (a - p).abs();
                    if e.is_finite() && w.scale.mae.is_finite() {
                        num += e;
                        den += w.scale.mae;
                    }
                }
            }
            if den > 0.0 { num / den } else { f64::NAN }
        }
    }
}

/// Backtest scores of one candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelScore {
    /// The candidate.
    pub kind: ModelKind,
    /// Its backtest scores.
    pub scores: Scores,
    /// Windows in which it fell back to a simpler method.
    pub fallback_windows: usize,
}

/// The selected model, every candidate's scores, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// The chosen model.
    pub chosen: ModelKind,
    /// Index of the chosen candidate in the backtests given.
    pub chosen_index: usize,
    /// Label of the chosen candidate.
    pub chosen_label: String,
    /// Scores of all candidates, in the order given.
    pub scores: Vec<ModelScore>,
    /// Human-readable reason for the choice.
    pub reason: String,
}

/// Choose among `(model, score)` pairs; see [`choose_index`].
#[cfg(test)]
pub(crate) fn choose(
    candidates: &[(ModelKind, f64)],
    tolerance: f64,
) -> Option<(ModelKind, String)> {
    let labelled: Vec<(ModelKind, String, f64)> = candidates
        .iter()
        .map(|&(k, m)| (k, k.to_string(), m))
        .collect();
    choose_index(&labelled, tolerance).map(|(i, r)| (candidates[i].0, r))
}

/// [`choose_index`] plus the incumbent rule of
/// [`SelectionConfig::incumbent_margin`].
pub fn choose_with(
    candidates: &[(ModelKind, String, f64)],
    cfg: &SelectionConfig,
) -> Option<(usize, String)> {
    let (i, reason) = choose_index(candidates, cfg.tolerance)?;
    match (cfg.incumbent_margin, candidates.first()) {
        (Some(margin), Some(first))
            if i != 0 && first.2.is_finite() && candidates[i].2 > first.2 * (1.0 - margin) =>
        {
            Some((
                0,
                format!(
                    "{} (MASE {:.3}) kept as incumbent: {} ({:.3}) is not better by more than {:.0}%",
                    first.1,
                    first.2,
                    candidates[i].1,
                    candidates[i].2,
                    margin * 100.0
                ),
            ))
        }
        _ => Some((i, reason)),
    }
}

/// Choose among `(kind, label, score)` candidates: the lowest score wins,
/// except that the simplest model (by [`ModelKind`] order, then position)
/// within `tolerance` of it is preferred. Returns the index and a reason,
/// or `None` when no score is finite.
pub fn choose_index(
    candidates: &[(ModelKind, String, f64)],
    tolerance: f64,
) -> Option<(usize, String)> {
    let finite: Vec<(usize, ModelKind, f64)> = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.2.is_finite())
        .map(|(i, c)| (i, c.0, c.2))
        .collect();
    let &(best_i, _, best) = finite
        .iter()
        .min_by(|a, b| a.2.total_cmp(&b.2).then(a.1.cmp(&b.1)).then(a.0.cmp(&b.0)))?;
    let &(chosen, _, chosen_mase) = finite
        .iter()
        .filter(|c| c.2 <= best * (1.0 + tolerance))
        .min_by_key(|c| (c.1, c.0))?;
    let name = |i: usize| candidates[i].1.as_str();
    let others: Vec<String> = finite
        .iter()
        .filter(|c| c.0 != chosen)
        .map(|c| format!("{} {:.3}", name(c.0), c.2))
        .collect();
    let excluded: Vec<String> = candidates
        .iter()
        .filter(|c| !c.2.is_finite())
        .map(|c| c.1.clone())
        .collect();
    let mut reason = if chosen == best_i {
        format!(
            "{} has the lowest backtest MASE ({chosen_mase:.3})",
            name(chosen)
        )
    } else {
        format!(
            "{} (MASE {chosen_mase:.3}) is within {:.1}% of the best, {} ({best:.3}), and simpler",
            name(chosen),
            tolerance * 100.0,
            name(best_i)
        )
    };
    if !others.is_empty() {
        reason.push_str(&format!("; others: {}", others.join(", ")));
    }
    if !excluded.is_empty() {
        reason.push_str(&format!("; no finite score: {}", excluded.join(", ")));
    }
    Some((chosen, reason))
}

/// Select the model with the lowest backtest score ([`selection_score`]).
///
/// # Errors
///
/// [`ForecastError::InvalidConfig`] when no candidate has a finite MASE.
pub fn select_model(results: &[BacktestResult], cfg: &SelectionConfig) -> Result<Selection> {
    let scores: Vec<ModelScore> = results
        .iter()
        .map(|r| ModelScore {
            kind: r.kind,
            scores: r.scores(),
            fallback_windows: r
                .windows
                .iter()
                .filter(|w| w.info.fallback.is_some())
                .count(),
        })
        .collect();
    let triples: Vec<(ModelKind, String, f64)> = results
        .iter()
        .map(|r| {
            let ws: Vec<&WindowResult> = r.windows.iter().collect();
            (r.kind, r.label.clone(), selection_score(&ws, cfg))
        })
        .collect();
    let (chosen_index, reason) = choose_with(&triples, cfg).ok_or_else(|| {
        ForecastError::InvalidConfig("no candidate has a finite backtest MASE".to_owned())
    })?;
    Ok(Selection {
        chosen: results[chosen_index].kind,
        chosen_index,
        chosen_label: results[chosen_index].label.clone(),
        scores,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ModelKind::*;

    #[test]
    fn lowest_mase_wins() {
        let (k, reason) = choose(
            &[(SeasonalNaive, 1.0), (AutoEts, 1.2), (MstlEts, 0.8)],
            0.01,
        )
        .unwrap();
        assert_eq!(k, MstlEts);
        assert!(
            reason.starts_with("mstl_ets has the lowest backtest MASE (0.800)"),
            "{reason}"
        );
        assert!(reason.contains("snaive 1.000"));
    }

    #[test]
    fn simpler_model_within_tolerance_wins() {
        let (k, reason) = choose(
            &[(SeasonalNaive, 0.805), (AutoEts, 1.2), (MstlEts, 0.8)],
            0.01,
        )
        .unwrap();
        assert_eq!(k, SeasonalNaive);
        assert!(
            reason.contains("within 1.0% of the best, mstl_ets"),
            "{reason}"
        );
        let (k, _) = choose(&[(SeasonalNaive, 0.805), (MstlEts, 0.8)], 0.0).unwrap();
        assert_eq!(k, MstlEts);
    }

    #[test]
    fn incumbent_margin_keeps_the_first_candidate() {
        let c = |v: &[(ModelKind, f64)]| -> Vec<(ModelKind, String, f64)> {
            v.iter().map(|&(k, m)| (k, k.to_string(), m)).collect()
        };
        let cfg = SelectionConfig {
            tolerance: 0.0,
            incumbent_margin: Some(0.1),
            ..SelectionConfig::default()
        };
        let (i, reason) = choose_with(&c(&[(Ensemble, 1.0), (SeasonalNaive, 0.95)]), &cfg).unwrap();
        assert_eq!(i, 0);
        assert!(reason.contains("kept as incumbent"), "{reason}");
        let (i, _) = choose_with(&c(&[(Ensemble, 1.0), (SeasonalNaive, 0.85)]), &cfg).unwrap();
        assert_eq!(i, 1);
    }

    #[test]
    fn non_finite_scores_are_excluded() {
        let (k, reason) = choose(&[(SeasonalNaive, f64::NAN), (AutoEts, 2.0)], 0.01).unwrap();
        assert_eq!(k, AutoEts);
        assert!(reason.contains("no finite score: snaive"));
        assert!(choose(&[(SeasonalNaive, f64::NAN)], 0.01).is_none());
    }
}
