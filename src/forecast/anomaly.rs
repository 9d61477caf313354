//! Historical anomalies (spikes and dips in a decomposition remainder) and
//! level shifts (lasting changes of level).
//!
//! * [`detect_anomalies`] flags points whose remainder has a robust z-score
//!   above a threshold and merges consecutive flagged points of the same
//!   sign into one [`Anomaly`]; [`clean_anomalies`] replaces them by
//!   trend + seasonal.
//! * [`detect_level_shifts`] finds changes of level on per-season means and
//!   [`current_regime_start`] says where a model should start training.
//!
//! Non-finite values (missing data) are never flagged, never counted in the
//! statistics and break anomaly runs.

/// An invalid detector setting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnomalyError {
    /// The z-score threshold is not a positive finite number.
    #[error("anomaly threshold {0} is not a positive finite number; use e.g. 4.0 (robust z-score)")]
    Threshold(f64),
    /// The minimum segment length is 0.
    #[error("minimum segment length is 0 seasons; use at least 1 (e.g. 7 = a week of days)")]
    MinSegment,
    /// The relative change threshold is negative or not finite.
    #[error("minimum relative change {0} is not a finite number ≥ 0; use e.g. 0.2 for 20 %")]
    RelativeChange(f64),
    /// The penalty is not a positive finite number.
    #[error("changepoint penalty {0} is not a positive finite number; use e.g. 3.0")]
    Penalty(f64),
}

/// Settings for [`detect_anomalies`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnomalyConfig {
    threshold: f64,
}

impl Default for AnomalyConfig {
    /// Threshold 6.0: on the robust-STL remainder of hourly series, noise alone reaches
    /// |z| 4–5.5 a few times per thousand points, so 4 would flag ordinary hours.
    fn default() -> Self {
        Self { threshold: 6.0 }
    }
}

impl AnomalyConfig {
    /// A config flagging points whose robust |z| exceeds `threshold` (> 0).
    pub fn new(threshold: f64) -> Result<Self, AnomalyError> {
        if !threshold.is_finite() || threshold <= 0.0 {
            return Err(AnomalyError::Threshold(threshold));
        }
        Ok(Self { threshold })
    }

    /// The robust z-score threshold.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }
}

/// Whether an anomaly lies above or below the expected value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// Above (positive remainder).
    Spike,
    /// Below (negative remainder).
    Dip,
}

/// A run of consecutive flagged points with remainders of the same sign.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anomaly {
    /// First flagged index.
    pub start_index: usize,
    /// Last flagged index (inclusive).
    pub end_index: usize,
    /// Index with the largest |z| (the first of equal ones).
    pub peak_index: usize,
    /// Robust z-score at the peak (signed).
    pub peak_z: f64,
    /// Sum of the remainder over the run (signed, units of the series).
    pub size: f64,
    /// Spike or dip.
    pub direction: Direction,
}

/// Median of a non-empty slice (sorted copy; NaN-free input expected).
fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Robust centre and scale of `xs`: median and 1.4826·MAD, falling back to
/// √(π/2)·(mean absolute deviation from the median) when the MAD is 0.
/// `None` when `xs` is empty or both are 0 (or below `floor`).
fn robust_location_scale(xs: &[f64], floor: f64) -> Option<(f64, f64)> {
    if xs.is_empty() {
        return None;
    }
    let med = median(xs);
    let dev: Vec<f64> = xs.iter().map(|x| (x - med).abs()).collect();
    let mad = 1.4826 * median(&dev);
    if mad > floor {
        return Some((med, mad));
    }
    let mean_abs = dev.iter().sum::<f64>() / dev.len() as f64 * (std::f64::consts::PI / 2.0).sqrt();
    (mean_abs > floor).then_some((med, mean_abs))
}

/// Flags anomalies in `remainder` (the residual of a decomposition of
/// `values`; only the first `min(len)` points are used).
///
/// z = (remainder − median) / (1.4826·MAD); when the MAD is 0 the scale is
/// √(π/2)·mean absolute deviation, and when that is 0 too there are no
/// anomalies. Scales below 1e-9 × the median |value| count as 0, so that
/// round-off in a perfect fit is not flagged. Fewer than 3 finite points
/// give no anomalies.
pub fn detect_anomalies(values: &[f64], remainder: &[f64], cfg: &AnomalyConfig) -> Vec<Anomaly> {
    let n = values.len().min(remainder.len());
    let ok = |i: usize| values[i].is_finite() && remainder[i].is_finite();
    let finite_rem: Vec<f64> = (0..n).filter(|&i| ok(i)).map(|i| remainder[i]).collect();
    if finite_rem.len() < 3 {
        return Vec::new();
    }
    let abs_values: Vec<f64> = (0..n).filter(|&i| ok(i)).map(|i| values[i].abs()).collect();
    let floor = 1e-9 * median(&abs_values);
    let Some((med, scale)) = robust_location_scale(&finite_rem, floor) else {
        return Vec::new();
    };
    let mut out: Vec<Anomaly> = Vec::new();
    let mut current: Option<Anomaly> = None;
    for (i, &r) in remainder.iter().enumerate().take(n) {
        let z = if ok(i) { (r - med) / scale } else { 0.0 };
        let flagged = z.abs() > cfg.threshold;
        let direction = if z > 0.0 {
            Direction::Spike
        } else {
            Direction::Dip
        };
        match (&mut current, flagged) {
            (Some(run), true) if run.direction == direction && run.end_index + 1 == i => {
                run.end_index = i;
                run.size += r;
                if z.abs() > run.peak_z.abs() {
                    run.peak_index = i;
                    run.peak_z = z;
                }
            }
            (_, true) => {
                out.extend(current.take());
                current = Some(Anomaly {
                    start_index: i,
                    end_index: i,
                    peak_index: i,
                    peak_z: z,
                    size: r,
                    direction,
                });
            }
            (_, false) => out.extend(current.take()),
        }
    }
    out.extend(current);
    out
}

/// Replaces the points of `anomalies` by `value − remainder` (trend +
/// seasonal), never below 0. Points whose value or remainder is not finite,
/// and indexes past the data, are left as they are.
pub fn clean_anomalies(values: &[f64], remainder: &[f64], anomalies: &[Anomaly]) -> Vec<f64> {
    let mut out = values.to_vec();
    let n = values.len().min(remainder.len());
    for a in anomalies {
        for i in a.start_index..=a.end_index.min(n.saturating_sub(1)) {
            if i < n && values[i].is_finite() && remainder[i].is_finite() {
                out[i] = (values[i] - remainder[i]).max(0.0);
            }
        }
    }
    out
}

/// Settings for [`detect_level_shifts`] and [`current_regime_start`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShiftConfig {
    min_segment_seasons: usize,
    min_relative_change: f64,
    penalty: f64,
    min_history_points: Option<usize>,
}

impl Default for ShiftConfig {
    /// Segments of at least 7 seasons, shifts of more than 20 %, penalty
    /// 3·ln(m), minimum history 2 seasons.
    fn default() -> Self {
        Self {
            min_segment_seasons: 7,
            min_relative_change: 0.2,
            penalty: 3.0,
            min_history_points: None,
        }
    }
}

impl ShiftConfig {
    /// Sets the shortest regime, in seasons (≥ 1).
    pub fn with_min_segment_seasons(mut self, seasons: usize) -> Result<Self, AnomalyError> {
        if seasons == 0 {
            return Err(AnomalyError::MinSegment);
        }
        self.min_segment_seasons = seasons;
        Ok(self)
    }

    /// Sets the smallest reported |after − before| / |before| (≥ 0).
    pub fn with_min_relative_change(mut self, change: f64) -> Result<Self, AnomalyError> {
        if !change.is_finite() || change < 0.0 {
            return Err(AnomalyError::RelativeChange(change));
        }
        self.min_relative_change = change;
        Ok(self)
    }

    /// Sets the changepoint penalty multiplier: each changepoint costs
    /// `penalty · ln(m)` (m = number of seasons) in units of the noise
    /// variance of the per-season means.
    pub fn with_penalty(mut self, penalty: f64) -> Result<Self, AnomalyError> {
        if !penalty.is_finite() || penalty <= 0.0 {
            return Err(AnomalyError::Penalty(penalty));
        }
        self.penalty = penalty;
        Ok(self)
    }

    /// Sets the fewest points [`current_regime_start`] keeps (`None` = two
    /// seasons; pass e.g. 2 × the longest seasonal period).
    pub fn with_min_history_points(mut self, points: Option<usize>) -> Self {
        self.min_history_points = points;
        self
    }

    /// Shortest regime in seasons.
    pub fn min_segment_seasons(&self) -> usize {
        self.min_segment_seasons
    }

    /// Smallest reported relative change.
    pub fn min_relative_change(&self) -> f64 {
        self.min_relative_change
    }

    /// Penalty multiplier.
    pub fn penalty(&self) -> f64 {
        self.penalty
    }

    /// Minimum history in points, if set.
    pub fn min_history_points(&self) -> Option<usize> {
        self.min_history_points
    }
}

/// A lasting change of level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelShift {
    /// First point of the new regime (an index into `values`, at a season
    /// boundary).
    pub index: usize,
    /// Mean of the finite values of the previous regime.
    pub before_mean: f64,
    /// Mean of the finite values of the new regime (up to the next shift).
    pub after_mean: f64,
    /// `(after − before) / |before|`; ±∞ when `before` is 0.
    pub relative_change: f64,
}

/// A season's worth of data.
struct Block {
    /// Index of the block's first point.
    start: usize,
    sum: f64,
    count: usize,
}

impl Block {
    fn mean(&self) -> f64 {
        self.sum / self.count as f64
    }
}

/// Relative change from `before` to `after`.
fn relative(before: f64, after: f64) -> f64 {
    if before == 0.0 {
        if after == 0.0 {
            0.0
        } else {
            f64::INFINITY.copysign(after)
        }
    } else {
        (after - before) / before.abs()
    }
}

/// Exact minimum of Σ segment costs + penalty·(segments − 1) over
/// segmentations of `x` with segments of at least `min_len` points, where a
/// segment's cost is its sum of squared deviations from its mean / `var`
/// (the PELT objective, solved by optimal partitioning in O(m²)). Returns
/// the start of every segment but the first.
fn optimal_partition(x: &[f64], min_len: usize, var: f64, beta: f64) -> Vec<usize> {
    let m = x.len();
    if m < 2 * min_len {
        return Vec::new();
    }
    let centre = x.iter().sum::<f64>() / m as f64;
    let mut s1 = vec![0.0; m + 1];
    let mut s2 = vec![0.0; m + 1];
    for (i, v) in x.iter().enumerate() {
        let d = v - centre;
        s1[i + 1] = s1[i] + d;
        s2[i + 1] = s2[i] + d * d;
    }
    let cost = |a: usize, b: usize| {
        let n = (b - a) as f64;
        let s = s1[b] - s1[a];
        ((s2[b] - s2[a]) - s * s / n).max(0.0) / var
    };
    let mut best = vec![f64::INFINITY; m + 1];
    let mut prev = vec![0usize; m + 1];
    best[0] = -beta;
    for t in min_len..=m {
        for tau in std::iter::once(0).chain(min_len..=t.saturating_sub(min_len)) {
            if tau != 0 && t - tau < min_len {
                continue;
            }
            let c = best[tau] + cost(tau, t) + beta;
            if c < best[t] {
                best[t] = c;
                prev[t] = tau;
            }
        }
    }
    let mut cps = Vec::new();
    let mut t = m;
    while t > 0 {
        let tau = prev[t];
        if tau > 0 {
            cps.push(tau);
        }
        t = tau;
    }
    cps.reverse();
    cps
}

/// Running median of 3 (ends kept): removes isolated one-season spikes and
/// keeps steps where they are.
fn median3(x: &[f64]) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            if i == 0 || i + 1 == x.len() {
                x[i]
            } else {
                median(&x[i - 1..=i + 1])
            }
        })
        .collect()
}

/// Finds lasting changes of level.
///
/// Points are grouped in seasons of `season` points from index 0 (0 counts
/// as 1; a last partial season is ignored) and each season's mean of finite
/// values is taken (seasons without finite values are skipped). The means
/// are smoothed by a running median of 3, then segmented with the PELT
/// objective (Gaussian change in mean, noise variance estimated robustly
/// from differences of consecutive means, penalty `penalty·ln(m)`) with
/// segments of at least `min_segment_seasons`. Neighbouring regimes whose
/// relative change is at most `min_relative_change` are merged, smallest
/// change first, and the remaining boundaries are returned in order.
///
/// For best results pass values cleaned with [`clean_anomalies`].
pub fn detect_level_shifts(values: &[f64], season: usize, cfg: &ShiftConfig) -> Vec<LevelShift> {
    let season = season.max(1);
    let blocks: Vec<Block> = values
        .chunks_exact(season)
        .enumerate()
        .filter_map(|(b, chunk)| {
            let finite = chunk.iter().filter(|v| v.is_finite());
            let count = finite.clone().count();
            (count > 0).then(|| Block {
                start: b * season,
                sum: finite.sum(),
                count,
            })
        })
        .collect();
    let means: Vec<f64> = blocks.iter().map(Block::mean).collect();
    let m = means.len();
    let min_len = cfg.min_segment_seasons.max(1);
    if m < 2 * min_len {
        return Vec::new();
    }
    let diffs: Vec<f64> = means
        .windows(2)
        .map(|w| (w[1] - w[0]) / std::f64::consts::SQRT_2)
        .collect();
    let abs_means: Vec<f64> = means.iter().map(|v| v.abs()).collect();
    let floor = 1e-9 * median(&abs_means);
    let Some((_, sigma)) = robust_location_scale(&diffs, floor) else {
        return Vec::new(); // constant
    };
    let smooth = median3(&means);
    let beta = cfg.penalty * (m as f64).ln();
    let mut bounds = optimal_partition(&smooth, min_len, sigma * sigma, beta);

    // Merge regimes whose relative change is too small, smallest first.
    let regime_mean = |bounds: &[usize], r: usize| {
        let a = if r == 0 { 0 } else { bounds[r - 1] };
        let b = bounds.get(r).copied().unwrap_or(m);
        let (s, c) = blocks[a..b]
            .iter()
            .fold((0.0, 0usize), |(s, c), blk| (s + blk.sum, c + blk.count));
        s / c as f64
    };
    loop {
        let weakest = (0..bounds.len())
            .map(|i| {
                let rel = relative(regime_mean(&bounds, i), regime_mean(&bounds, i + 1));
                (i, rel.abs())
            })
            .filter(|&(_, rel)| rel <= cfg.min_relative_change)
            .min_by(|a, b| a.1.total_cmp(&b.1));
        match weakest {
            Some((i, _)) => {
                bounds.remove(i);
            }
            None => break,
        }
    }
    (0..bounds.len())
        .map(|i| {
            let before_mean = regime_mean(&bounds, i);
            let after_mean = regime_mean(&bounds, i + 1);
            LevelShift {
                index: blocks[bounds[i]].start,
                before_mean,
                after_mean,
                relative_change: relative(before_mean, after_mean),
            }
        })
        .collect()
}

/// Index from which a model should train: the last level shift (0 when
/// there is none), but never leaving fewer than the configured minimum
/// history (default two seasons) when the data has that many points.
pub fn current_regime_start(values: &[f64], season: usize, cfg: &ShiftConfig) -> usize {
    let last = detect_level_shifts(values, season, cfg)
        .last()
        .map_or(0, |s| s.index);
    let min_history = cfg.min_history_points.unwrap_or_else(|| 2 * season.max(1));
    last.min(values.len().saturating_sub(min_history))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic standard-normal-ish noise (xorshift + Box–Muller).
    struct Noise(u64);

    impl Noise {
        fn uniform(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }

        fn normal(&mut self) -> f64 {
            let (u, v) = (self.uniform(), self.uniform());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        }
    }

    #[test]
    fn config_validation() {
        assert!(AnomalyConfig::new(0.0).is_err());
        assert!(AnomalyConfig::new(f64::NAN).is_err());
        assert_eq!(AnomalyConfig::new(3.5).unwrap().threshold(), 3.5);
        assert_eq!(AnomalyConfig::default().threshold(), 6.0);
        let c = ShiftConfig::default();
        assert!(c.with_min_segment_seasons(0).is_err());
        assert!(c.with_min_relative_change(-0.1).is_err());
        assert!(c.with_penalty(0.0).is_err());
        assert!(
            AnomalyError::Threshold(-1.0)
                .to_string()
                .contains("use e.g. 4.0")
        );
    }

    #[test]
    fn robust_z_flags_a_spike() {
        // Remainder: ±1 alternating (median 0, MAD 1 → scale 1.4826) and one 10.
        let mut rem: Vec<f64> = (0..20)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        rem[8] = 10.0;
        let values = vec![50.0; 20];
        let a = detect_anomalies(&values, &rem, &AnomalyConfig::default());
        assert_eq!(a.len(), 1);
        // Ten −1, nine 1 and one 10: median (−1 + 1)/2 = 0, MAD 1.
        let z = 10.0 / 1.4826;
        assert_eq!(a[0].start_index, 8);
        assert_eq!(a[0].end_index, 8);
        assert_eq!(a[0].peak_index, 8);
        assert!((a[0].peak_z - z).abs() < 1e-12);
        assert_eq!(a[0].size, 10.0);
        assert_eq!(a[0].direction, Direction::Spike);
        // A higher threshold hides it.
        assert!(detect_anomalies(&values, &rem, &AnomalyConfig::new(7.0).unwrap()).is_empty());
    }

    #[test]
    fn consecutive_points_merge_and_sign_changes_split() {
        let mut rem: Vec<f64> = (0..30)
            .map(|i| if i % 2 == 0 { 0.5 } else { -0.5 })
            .collect();
        rem[10] = 8.0;
        rem[11] = 12.0;
        rem[12] = 9.0;
        rem[13] = -9.0;
        rem[20] = -6.0;
        let values = vec![100.0; 30];
        let a = detect_anomalies(&values, &rem, &AnomalyConfig::default());
        assert_eq!(a.len(), 3, "{a:?}");
        assert_eq!(
            (a[0].start_index, a[0].end_index, a[0].peak_index),
            (10, 12, 11)
        );
        assert_eq!(a[0].size, 29.0);
        assert_eq!(a[0].direction, Direction::Spike);
        assert_eq!((a[1].start_index, a[1].end_index), (13, 13));
        assert_eq!(a[1].direction, Direction::Dip);
        assert!(a[1].peak_z < 0.0);
        assert_eq!(
            (a[2].start_index, a[2].end_index, a[2].size),
            (20, 20, -6.0)
        );
    }

    #[test]
    fn zero_mad_falls_back_to_mean_absolute_deviation() {
        // 18 zeros and two outliers: MAD = 0, mean abs dev = 13/20 = 0.65.
        let mut rem = vec![0.0; 20];
        rem[3] = 10.0;
        rem[15] = 3.0;
        let values = vec![1.0; 20];
        let a = detect_anomalies(&values, &rem, &AnomalyConfig::default());
        let scale = 0.65 * (std::f64::consts::PI / 2.0).sqrt();
        // z = 10/0.815 ≈ 12.3 is flagged, 3/0.815 ≈ 3.7 is not.
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].start_index, 3);
        assert!((a[0].peak_z - 10.0 / scale).abs() < 1e-12);
    }

    #[test]
    fn constant_remainder_gives_no_anomalies() {
        let values = vec![3.0; 10];
        assert!(detect_anomalies(&values, &[0.0; 10], &AnomalyConfig::default()).is_empty());
        // Round-off noise in a perfect fit is not flagged.
        let tiny: Vec<f64> = (0..10)
            .map(|i| if i == 4 { 1e-12 } else { 1e-16 * i as f64 })
            .collect();
        assert!(detect_anomalies(&values, &tiny, &AnomalyConfig::default()).is_empty());
        assert!(detect_anomalies(&[], &[], &AnomalyConfig::default()).is_empty());
    }

    #[test]
    fn missing_values_are_skipped_and_lengths_may_differ() {
        let mut rem: Vec<f64> = (0..20)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        rem[5] = 20.0;
        rem[6] = 20.0;
        let mut values = vec![10.0; 25];
        values[6] = f64::NAN;
        let a = detect_anomalies(&values, &rem, &AnomalyConfig::default());
        assert_eq!(a.len(), 1);
        assert_eq!((a[0].start_index, a[0].end_index), (5, 5));
    }

    #[test]
    fn cleaning_replaces_by_trend_plus_seasonal() {
        let values = vec![10.0, 50.0, 12.0, 1.0, 11.0];
        let rem = vec![0.1, 39.0, -0.2, -20.0, 0.0];
        let anomalies = detect_anomalies(&values, &rem, &AnomalyConfig::new(2.0).unwrap());
        assert_eq!(anomalies.len(), 2);
        let cleaned = clean_anomalies(&values, &rem, &anomalies);
        assert_eq!(cleaned, vec![10.0, 11.0, 12.0, 21.0, 11.0]);
        // Never negative; out-of-range indexes ignored.
        let a = Anomaly {
            start_index: 0,
            end_index: 99,
            peak_index: 0,
            peak_z: 9.0,
            size: 5.0,
            direction: Direction::Spike,
        };
        assert_eq!(
            clean_anomalies(&[1.0, 2.0], &[5.0, 1.0], &[a]),
            vec![0.0, 1.0]
        );
    }

    /// Hourly data with a daily cycle, noise sd `noise` and levels per day.
    fn hourly(days: usize, level: impl Fn(usize) -> f64, noise: f64, seed: u64) -> Vec<f64> {
        let mut rng = Noise(seed);
        (0..days * 24)
            .map(|i| {
                let cycle = 1.0 + 0.3 * (2.0 * std::f64::consts::PI * (i % 24) as f64 / 24.0).sin();
                (level(i / 24) * cycle + noise * rng.normal()).max(0.0)
            })
            .collect()
    }

    #[test]
    fn finds_a_level_shift_within_one_season() {
        let values = hourly(90, |d| if d < 53 { 100.0 } else { 150.0 }, 10.0, 42);
        let shifts = detect_level_shifts(&values, 24, &ShiftConfig::default());
        assert_eq!(shifts.len(), 1, "{shifts:?}");
        let s = shifts[0];
        assert!(s.index.abs_diff(53 * 24) <= 24, "{s:?}");
        assert!((s.before_mean - 100.0).abs() < 3.0, "{s:?}");
        assert!((s.after_mean - 150.0).abs() < 3.0, "{s:?}");
        assert!((s.relative_change - 0.5).abs() < 0.05);
        assert_eq!(
            current_regime_start(&values, 24, &ShiftConfig::default()),
            s.index
        );
    }

    #[test]
    fn finds_a_downward_shift_and_a_staircase() {
        let values = hourly(
            120,
            |d| match d {
                0..40 => 200.0,
                40..80 => 120.0,
                _ => 60.0,
            },
            8.0,
            7,
        );
        let shifts = detect_level_shifts(&values, 24, &ShiftConfig::default());
        assert_eq!(shifts.len(), 2, "{shifts:?}");
        assert!(shifts[0].index.abs_diff(40 * 24) <= 24);
        assert!(shifts[1].index.abs_diff(80 * 24) <= 24);
        assert!(shifts[0].relative_change < -0.35 && shifts[1].relative_change < -0.45);
    }

    #[test]
    fn no_shifts_on_stationary_noise_or_a_one_day_spike() {
        for seed in [1, 2, 3, 4, 5] {
            let values = hourly(120, |_| 100.0, 25.0, seed);
            assert!(
                detect_level_shifts(&values, 24, &ShiftConfig::default()).is_empty(),
                "seed {seed}"
            );
            // The segmentation itself finds nothing either (no size filter).
            let any = ShiftConfig::default()
                .with_min_relative_change(0.0)
                .unwrap();
            assert!(
                detect_level_shifts(&values, 24, &any).is_empty(),
                "seed {seed}"
            );
        }
        let mut values = hourly(60, |_| 100.0, 5.0, 9);
        for v in &mut values[30 * 24..31 * 24] {
            *v *= 8.0;
        }
        assert!(detect_level_shifts(&values, 24, &ShiftConfig::default()).is_empty());
    }

    #[test]
    fn small_shifts_are_not_reported() {
        let values = hourly(60, |d| if d < 30 { 100.0 } else { 110.0 }, 2.0, 11);
        assert!(detect_level_shifts(&values, 24, &ShiftConfig::default()).is_empty());
        let loose = ShiftConfig::default()
            .with_min_relative_change(0.05)
            .unwrap();
        let shifts = detect_level_shifts(&values, 24, &loose);
        assert_eq!(shifts.len(), 1);
        assert!(shifts[0].index.abs_diff(30 * 24) <= 24);
    }

    #[test]
    fn exact_step_without_noise() {
        let mut values = vec![10.0; 30];
        values.extend(vec![20.0; 30]);
        let shifts = detect_level_shifts(&values, 1, &ShiftConfig::default());
        assert_eq!(shifts.len(), 1);
        assert_eq!(shifts[0].index, 30);
        assert_eq!(shifts[0].relative_change, 1.0);
        assert!(detect_level_shifts(&[5.0; 100], 1, &ShiftConfig::default()).is_empty());
        // From zero the relative change is infinite.
        let mut z = vec![0.0; 10];
        z.extend(vec![3.0; 10]);
        let s = detect_level_shifts(&z, 1, &ShiftConfig::default());
        assert_eq!(s[0].relative_change, f64::INFINITY);
    }

    #[test]
    fn short_or_empty_data_gives_nothing() {
        assert!(detect_level_shifts(&[], 24, &ShiftConfig::default()).is_empty());
        assert!(detect_level_shifts(&[1.0; 100], 24, &ShiftConfig::default()).is_empty());
        assert_eq!(current_regime_start(&[], 24, &ShiftConfig::default()), 0);
        assert!(detect_level_shifts(&[f64::NAN; 500], 0, &ShiftConfig::default()).is_empty());
    }

    #[test]
    fn regime_start_keeps_minimum_history() {
        let values = hourly(60, |d| if d < 50 { 100.0 } else { 200.0 }, 5.0, 3);
        let cfg = ShiftConfig::default();
        let shift = detect_level_shifts(&values, 24, &cfg)[0].index;
        assert!(shift.abs_diff(50 * 24) <= 24);
        assert_eq!(current_regime_start(&values, 24, &cfg), shift);
        // Require 20 days: cut at len − 480 instead.
        let cfg = cfg.with_min_history_points(Some(20 * 24));
        assert_eq!(current_regime_start(&values, 24, &cfg), 40 * 24);
        let cfg = cfg.with_min_history_points(Some(10_000));
        assert_eq!(current_regime_start(&values, 24, &cfg), 0);
    }
}
