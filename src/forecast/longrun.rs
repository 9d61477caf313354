//! The long-run level of a pool's demand: the forecast commitment decisions are made on.
//!
//! A 1–3 year commitment pays off on the *level and trend of demand over months*, not on next
//! week's hourly shape. The hourly engine selects its models on backtests of one to four
//! weeks, so its forecasts a year out carry little trend and an interval that says nothing
//! about the term average. This model works on **weekly means** of the hourly history:
//!
//! - the level is the last complete week's mean, unless that week is a dip the calendar
//!   repeats (the same week a year earlier dipped too and recovered: a holiday), then the
//!   median of the four weeks before it; the hour-of-week shape is the average of the last
//!   four weeks, each normalised by its own mean;
//! - candidates project the level: **flat**; **trend** (Theil–Sen slope of the log weekly means
//!   over the last 8 weeks, clamped to −35 %…+15 % a week, damped by 0.95 a week: a ramp or a
//!   decline that is under way); **persistent** (the same slope clamped to ±3 % a week, damped
//!   by 0.99: steady growth or decline); **yearly** (the same weeks one year earlier, relative
//!   to the matching week, blended half and half with the damped trend; needs 60 weeks);
//! - each candidate is scored by rolling-origin backtests *at the decision's horizon*: the log
//!   error of the mean of the next 4 weeks and of the next `H = min(26, weeks/2)` weeks, at
//!   every origin, weighted by recency (half-life 13 weeks). The candidate with the lowest
//!   mean of both scores wins; a more complex one must beat a simpler one by 5 %;
//! - the winner's long-horizon errors give its **bias** (weighted median, shrunk by the number
//!   of origins, at most ±25 %) that shifts the projection, and its **downside error** (the
//!   root of the semi-variance below the bias): how far the term average has fallen short of
//!   the projection in this history;
//! - sample paths: the projection times a log random walk of the level (weekly steps, σ from
//!   the downside error through the random walk's mean variance, blended with a prior of 4 % a
//!   week by three origins; its median is the projection), times the hour-of-week shape. Seeded: the same history, settings
//!   and seed give the same paths.
//!
//! Everything the model found is returned as [`LevelEvidence`], which the sizing rules use and
//! the recommendation's rationale quotes.

use serde::Serialize;

use crate::forecast::stats::normal_quantile;
use crate::rng::Xoshiro256StarStar;

/// Hours in a week: the long-run model's step.
pub const WEEK: usize = 168;

/// Settings of [`long_run_paths`].
#[derive(Debug, Clone, PartialEq)]
pub struct LongRunSettings {
    /// Fewest complete weeks (after any leading zeros) the model needs.
    pub min_weeks: usize,
    /// Half-life of the backtest weights, in weeks.
    pub half_life_weeks: f64,
    /// How much better a more complex candidate must score (0.05 = 5 %).
    pub occam_margin: f64,
    /// Prior of the weekly level volatility (log scale).
    pub prior_sigma_week: f64,
}

impl Default for LongRunSettings {
    fn default() -> Self {
        Self {
            min_weeks: 2,
            half_life_weeks: 13.0,
            occam_margin: 0.05,
            prior_sigma_week: 0.04,
        }
    }
}

/// A candidate projection of the level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LevelModel {
    /// The last week's level holds.
    Flat,
    /// A steady, slowly damped trend (at most ±3 % a week).
    Persistent,
    /// A ramp or decline under way (damped within months).
    Trend,
    /// Last year's weeks, blended with the damped trend.
    Yearly,
}

impl LevelModel {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            LevelModel::Flat => "flat",
            LevelModel::Persistent => "persistent trend",
            LevelModel::Trend => "damped trend",
            LevelModel::Yearly => "yearly pattern",
        }
    }
}

/// Backtest scores of one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LevelScore {
    /// The candidate.
    pub model: LevelModel,
    /// Weighted mean squared log error of the 4-week mean.
    pub mse_short: f64,
    /// Weighted mean squared log error of the long-horizon mean.
    pub mse_long: f64,
}

/// What the long-run model found in a pool's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelEvidence {
    /// The chosen candidate.
    pub model: LevelModel,
    /// Complete weeks of history used (after leading zero weeks).
    pub weeks: usize,
    /// The level the projection starts from (units per hour): the last complete week's mean,
    /// or, when that week is a dip the calendar repeats ([`calendar_dip`]), the median of the
    /// four weeks before it.
    pub level: f64,
    /// The last complete week's mean when it was set aside as a calendar dip.
    pub dip: Option<f64>,
    /// The trend's weekly log slope (before clamping and damping).
    pub weekly_slope: f64,
    /// Rolling origins of the long-horizon backtest.
    pub origins: usize,
    /// Long backtest horizon, in weeks.
    pub horizon_weeks: usize,
    /// Log shift applied to the projection (the shrunk median error).
    pub bias_correction: f64,
    /// Root semi-variance of the long-horizon log errors below their median: how far the term
    /// average has fallen short of the projection (0 when never).
    pub downside_error: f64,
    /// The same above the median.
    pub upside_error: f64,
    /// Weekly log volatility of the level in the sample paths.
    pub sigma_week: f64,
    /// Central projection's mean over the horizon ÷ the current level.
    pub projected_ratio: f64,
    /// Term-average demand (units per hour) of the sample paths: 10th, 50th, 90th percentile.
    pub term_average: [f64; 3],
    /// Scores of every candidate.
    pub scores: Vec<LevelScore>,
}

/// The long-run forecast of a pool: sample paths and the evidence behind them.
#[derive(Debug, Clone, PartialEq)]
pub struct LongRunForecast {
    /// `n_paths` paths of `hours` values (units per hour).
    pub paths: Vec<Vec<f64>>,
    /// What the model found.
    pub evidence: LevelEvidence,
}

/// Weekly means of `hist`, in complete weeks aligned to its end (oldest first).
pub fn weekly_means(hist: &[f64]) -> Vec<f64> {
    let n = hist.len() / WEEK;
    let off = hist.len() - n * WEEK;
    (0..n)
        .map(|k| {
            let w = &hist[off + k * WEEK..off + (k + 1) * WEEK];
            w.iter().sum::<f64>() / WEEK as f64
        })
        .collect()
}

fn ln_pos(x: f64) -> f64 {
    x.max(1e-9).ln()
}

/// Theil–Sen slope of the log of the last (up to) 8 positive weekly means.
fn theil_sen(w: &[f64]) -> f64 {
    let tail: Vec<(f64, f64)> = w
        .iter()
        .enumerate()
        .skip(w.len().saturating_sub(8))
        .filter(|(_, v)| **v > 0.0)
        .map(|(i, v)| (i as f64, v.ln()))
        .collect();
    let mut slopes = Vec::new();
    for i in 0..tail.len() {
        for j in i + 1..tail.len() {
            slopes.push((tail[j].1 - tail[i].1) / (tail[j].0 - tail[i].0));
        }
    }
    median(&mut slopes).unwrap_or(0.0)
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Log growth of the damped trend `k` weeks ahead.
fn damped(slope: f64, lo: f64, hi: f64, phi: f64, k: usize) -> f64 {
    let b = slope.clamp(lo, hi);
    // b × (φ + φ² + … + φ^k)
    b * phi * (1.0 - phi.powi(k as i32)) / (1.0 - phi)
}

/// Log growth over the last week of `w` (its level), `k` weeks ahead, for each candidate.
fn project(model: LevelModel, w: &[f64], k: usize) -> Option<f64> {
    let slope = theil_sen(w);
    let trend = damped(slope, (0.65f64).ln(), (1.15f64).ln(), 0.95, k);
    Some(match model {
        LevelModel::Flat => 0.0,
        LevelModel::Persistent => damped(slope, -0.03, 0.03, 0.99, k),
        LevelModel::Trend => trend,
        LevelModel::Yearly => {
            let n = w.len();
            if n < 60 {
                return None;
            }
            let base = n - 52 - 1;
            let at = (base + k).min(n - 1);
            let yr = ln_pos(w[at]) - ln_pos(w[base]);
            0.5 * yr + 0.5 * trend
        }
    })
}

const MODELS: [LevelModel; 4] = [
    LevelModel::Flat,
    LevelModel::Persistent,
    LevelModel::Trend,
    LevelModel::Yearly,
];

/// Log error (actual ÷ projected) of the mean of weeks `o+1 ..= o+h` projected at origin `o`.
fn origin_error(model: LevelModel, w: &[f64], o: usize, h: usize) -> Option<f64> {
    let past = &w[..=o];
    let level = past[o];
    if level <= 0.0 {
        return None;
    }
    let mut pred = 0.0;
    for k in 1..=h {
        pred += level * project(model, past, k)?.exp();
    }
    let actual: f64 = w[o + 1..=o + h].iter().sum();
    Some(ln_pos(actual / h as f64) - ln_pos(pred / h as f64))
}

/// Weighted errors of `model` at horizon `h` over every origin with ≥ 2 weeks before it.
fn errors(model: LevelModel, w: &[f64], h: usize, half_life: f64) -> Vec<(f64, f64)> {
    let n = w.len();
    if n < h + 2 {
        return Vec::new();
    }
    (1..n - h)
        .filter_map(|o| {
            let e = origin_error(model, w, o, h)?;
            let age = (n - h - 1 - o) as f64;
            Some((e, 0.5f64.powf(age / half_life)))
        })
        .collect()
}

fn weighted_mse(errs: &[(f64, f64)]) -> Option<f64> {
    let sw: f64 = errs.iter().map(|e| e.1).sum();
    (sw > 0.0).then(|| errs.iter().map(|(e, w)| e * e * w).sum::<f64>() / sw)
}

fn weighted_median(errs: &[(f64, f64)]) -> f64 {
    let mut v = errs.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = v.iter().map(|e| e.1).sum();
    let mut acc = 0.0;
    for (e, w) in &v {
        acc += w;
        if acc >= total / 2.0 {
            return *e;
        }
    }
    0.0
}

/// Weighted root semi-variances below and above `centre`.
fn semi_deviations(errs: &[(f64, f64)], centre: f64) -> (f64, f64) {
    let sw: f64 = errs.iter().map(|e| e.1).sum();
    if sw <= 0.0 {
        return (0.0, 0.0);
    }
    let down = errs
        .iter()
        .map(|(e, w)| (e - centre).min(0.0).powi(2) * w)
        .sum::<f64>()
        / sw;
    let up = errs
        .iter()
        .map(|(e, w)| (e - centre).max(0.0).powi(2) * w)
        .sum::<f64>()
        / sw;
    (down.sqrt(), up.sqrt())
}

/// Percentile `q` of sorted values (linear interpolation).
fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let x = q * (sorted.len() - 1) as f64;
    let (i, f) = (x.floor() as usize, x - x.floor());
    let j = (i + 1).min(sorted.len() - 1);
    sorted[i] + f * (sorted[j] - sorted[i])
}

/// The level to start from when the last complete week of `w` is a dip the calendar repeats:
/// it is more than 20 % below the median of the four weeks before it, and the same week a
/// year (52 weeks) earlier was such a dip too and demand came back within three weeks (a
/// holiday week, the end-of-year break). Then the median of the four weeks before the dip;
/// otherwise `None` (a drop the history has not seen before is taken at its word).
pub fn calendar_dip(w: &[f64]) -> Option<f64> {
    let n = w.len();
    if n < 52 + 5 + 3 {
        return None;
    }
    let before = median(&mut w[n - 5..n - 1].to_vec())?;
    if w[n - 1] >= 0.8 * before {
        return None;
    }
    let j = n - 1 - 52;
    let before_then = median(&mut w[j - 4..j].to_vec())?;
    let after_then = w[j + 1..=j + 3].iter().copied().fold(0.0, f64::max);
    (before_then > 0.0 && w[j] < 0.8 * before_then && after_then >= 0.9 * before_then)
        .then_some(before)
}

/// The long-run forecast of the hourly history `hist` (units per hour, ending where the
/// forecast starts) over `hours`, as `n_paths` seeded sample paths. `None` when the history
/// has fewer than `settings.min_weeks` complete weeks after its leading zero weeks, or no
/// demand at all in its last week.
pub fn long_run_paths(
    hist: &[f64],
    hours: usize,
    n_paths: usize,
    seed: u64,
    settings: &LongRunSettings,
) -> Option<LongRunForecast> {
    let all = weekly_means(hist);
    let first = all.iter().position(|v| *v > 0.0)?;
    let w = &all[first..];
    let n = w.len();
    let last = *w.last()?;
    if n < settings.min_weeks.max(2) || last <= 0.0 || n_paths == 0 {
        return None;
    }
    let dip = calendar_dip(w);
    let level = dip.unwrap_or(last);
    // Hour-of-week shape of the last four weeks, each normalised by its mean.
    let start = hist.len() - n * WEEK;
    let mut shape = vec![0.0; WEEK];
    let mut used = 0;
    for (k, mean) in w.iter().enumerate().skip(n.saturating_sub(4)) {
        if *mean <= 0.0 {
            continue;
        }
        let off = start + k * WEEK;
        for (i, s) in shape.iter_mut().enumerate() {
            *s += hist[off + i] / mean;
        }
        used += 1;
    }
    if used == 0 {
        return None;
    }
    for s in &mut shape {
        *s /= used as f64;
    }

    // Backtests at the decision's horizon: 4 weeks and up to half a year.
    let h_long = (n / 2).clamp(1, 26);
    let hl = settings.half_life_weeks;
    let mut scores = Vec::new();
    let mut best: Option<(LevelModel, f64)> = None;
    for m in MODELS {
        if project(m, w, 1).is_none() {
            continue;
        }
        let s = weighted_mse(&errors(m, w, 4.min(h_long), hl));
        let l = weighted_mse(&errors(m, w, h_long, hl));
        let (Some(s), Some(l)) = (s, l) else {
            if m == LevelModel::Flat {
                best = Some((m, f64::INFINITY));
            }
            continue;
        };
        scores.push(LevelScore {
            model: m,
            mse_short: s,
            mse_long: l,
        });
        let score = (s + l) / 2.0;
        match best {
            Some((_, b)) if score >= b * (1.0 - settings.occam_margin) => {}
            _ => best = Some((m, score)),
        }
    }
    let (model, _) = best.unwrap_or((LevelModel::Flat, f64::INFINITY));
    let errs = errors(model, w, h_long, hl);
    let origins = errs.len();
    let shrink = origins as f64 / (origins as f64 + 3.0);
    let bias = if origins > 0 {
        (weighted_median(&errs) * shrink).clamp(-0.25, 0.25)
    } else {
        0.0
    };
    let (down, up) = semi_deviations(&errs, weighted_median(&errs));
    // σ of the mean of an h-week random walk: σ_w √((h+1)(2h+1)/(6h)).
    let hf = h_long as f64;
    let rw = ((hf + 1.0) * (2.0 * hf + 1.0) / (6.0 * hf)).sqrt();
    let measured = down / rw;
    let m = origins as f64;
    let prior = settings.prior_sigma_week;
    let sigma = ((m * measured * measured + 3.0 * prior * prior) / (m + 3.0))
        .sqrt()
        .max(0.01);

    let weeks_ahead = hours.div_ceil(WEEK).max(1);
    let central: Vec<f64> = (1..=weeks_ahead)
        .map(|k| level * (project(model, w, k).unwrap_or(0.0) + bias).exp())
        .collect();
    let mut rng = Xoshiro256StarStar::seed_from_u64(seed ^ 0x6c6f_6e67_7275_6e00);
    let mut paths = Vec::with_capacity(n_paths);
    let mut averages = Vec::with_capacity(n_paths);
    for _ in 0..n_paths {
        let mut walk = 0.0;
        let mut path = Vec::with_capacity(hours);
        for c in &central {
            walk += sigma * normal_quantile(rng.next_open01());
            // The median of the lognormal level stays on the central projection, which is a
            // median forecast (its bias correction is the median backtest error).
            let lvl = c * walk.exp();
            for s in &shape {
                if path.len() == hours {
                    break;
                }
                path.push((lvl * s).max(0.0));
            }
        }
        averages.push(path.iter().sum::<f64>() / hours.max(1) as f64);
        paths.push(path);
    }
    averages.sort_by(f64::total_cmp);
    let central_mean = {
        let mut s = 0.0;
        for (t, _) in (0..hours).enumerate() {
            s += central[t / WEEK];
        }
        s / hours.max(1) as f64
    };
    Some(LongRunForecast {
        paths,
        evidence: LevelEvidence {
            model,
            weeks: n,
            level,
            dip: dip.map(|_| last),
            weekly_slope: theil_sen(w),
            origins,
            horizon_weeks: h_long,
            bias_correction: bias,
            downside_error: down,
            upside_error: up,
            sigma_week: sigma,
            projected_ratio: central_mean / level,
            term_average: [
                pct(&averages, 0.1),
                pct(&averages, 0.5),
                pct(&averages, 0.9),
            ],
            scores,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `weeks` weeks of hourly demand whose weekly level follows `level(k)`, with a daily
    /// cycle of ±20 %.
    fn hist(weeks: usize, level: impl Fn(usize) -> f64) -> Vec<f64> {
        (0..weeks * WEEK)
            .map(|t| {
                let day = (t % 24) as f64 / 24.0 * std::f64::consts::TAU;
                level(t / WEEK) * (1.0 + 0.2 * day.sin())
            })
            .collect()
    }

    fn fit(h: &[f64]) -> LongRunForecast {
        long_run_paths(h, 52 * WEEK, 200, 7, &LongRunSettings::default()).expect("fits")
    }

    #[test]
    fn a_flat_history_projects_its_level_with_a_narrow_band() {
        let f = fit(&hist(40, |_| 100.0));
        let e = &f.evidence;
        assert_eq!(e.model, LevelModel::Flat);
        assert!((e.level - 100.0).abs() < 1e-9);
        assert!((e.projected_ratio - 1.0).abs() < 1e-9);
        assert!(e.downside_error < 1e-9);
        assert!(e.term_average[0] > 80.0 && e.term_average[2] < 125.0);
        assert_eq!(f.paths.len(), 200);
        assert!(f.paths.iter().all(|p| p.len() == 52 * WEEK));
    }

    #[test]
    fn an_ongoing_decline_is_projected_down() {
        // 30 weeks steady, then 10 weeks falling 8 % a week.
        let f = fit(&hist(40, |k| {
            if k < 30 {
                100.0
            } else {
                100.0 * 0.92f64.powi((k - 29) as i32)
            }
        }));
        let e = &f.evidence;
        assert!(e.projected_ratio < 0.7, "{e:?}");
        assert!(e.term_average[1] < e.level, "{e:?}");
    }

    #[test]
    fn steady_growth_is_projected_up() {
        let f = fit(&hist(60, |k| 50.0 * 1.01f64.powi(k as i32)));
        let e = &f.evidence;
        assert!(
            matches!(e.model, LevelModel::Persistent | LevelModel::Trend),
            "{e:?}"
        );
        assert!(e.projected_ratio > 1.1, "{e:?}");
    }

    #[test]
    fn a_yearly_season_is_recognised_with_enough_history() {
        // 2.5 years of a season: high in weeks 20..30 of each year.
        let f = fit(&hist(130, |k| {
            if (20..30).contains(&(k % 52)) {
                400.0
            } else {
                100.0
            }
        }));
        assert_eq!(f.evidence.model, LevelModel::Yearly, "{:?}", f.evidence);
    }

    #[test]
    fn too_short_or_empty_histories_have_no_forecast() {
        let s = LongRunSettings::default();
        assert!(long_run_paths(&hist(1, |_| 5.0), 100, 10, 0, &s).is_none());
        assert!(long_run_paths(&vec![0.0; 10 * WEEK], 100, 10, 0, &s).is_none());
        // Leading zero weeks do not count: growth from zero starts at the first demand.
        let h = hist(20, |k| if k < 19 { 0.0 } else { 10.0 });
        assert!(long_run_paths(&h, 100, 10, 0, &s).is_none());
    }

    #[test]
    fn same_inputs_same_paths() {
        let h = hist(30, |k| 10.0 + k as f64);
        let a = long_run_paths(&h, 1000, 20, 3, &LongRunSettings::default()).unwrap();
        let b = long_run_paths(&h, 1000, 20, 3, &LongRunSettings::default()).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn the_shape_follows_the_hour_of_week() {
        let h = hist(10, |_| 100.0);
        let f = long_run_paths(&h, 48, 1, 0, &LongRunSettings::default()).unwrap();
        // The path's hour t continues the history's position t within its (end-aligned) week.
        let p = &f.paths[0];
        let ratio = p[6] / p[18];
        let want = h[h.len() - WEEK + 6] / h[h.len() - WEEK + 18];
        assert!((ratio - want).abs() < 0.05, "{ratio} vs {want}");
    }

    #[test]
    fn a_holiday_dip_seen_a_year_before_is_not_the_level() {
        // 60 weeks at 100 with a dip to 50 in week 7 and in week 59 (the last), 52 apart.
        let mut w = vec![100.0; 60];
        w[7] = 50.0;
        w[59] = 50.0;
        assert_eq!(calendar_dip(&w), Some(100.0));
        // The same drop without a precedent a year earlier is taken at its word.
        let mut v = vec![100.0; 60];
        v[59] = 50.0;
        assert_eq!(calendar_dip(&v), None);
        // Nor when the earlier dip did not come back (it was a lasting fall).
        let mut u = vec![100.0; 60];
        for x in &mut u[7..11] {
            *x = 50.0;
        }
        u[59] = 50.0;
        assert_eq!(calendar_dip(&u), None);
        // In the model: the level starts from the weeks before the dip.
        let h = hist(60, |k| if k == 7 || k == 59 { 50.0 } else { 100.0 });
        let f = long_run_paths(&h, 4 * WEEK, 50, 1, &LongRunSettings::default()).unwrap();
        assert!((f.evidence.level - 100.0).abs() < 1e-6, "{:?}", f.evidence);
        assert!(f.evidence.dip.is_some_and(|d| (d - 50.0).abs() < 1e-6));
    }
}
