//! Differential privacy for the monthly statistics the platform publishes about its own data.
//!
//! Counts are released through the two-sided geometric mechanism (the discrete Laplace
//! mechanism): each count gets integer noise `Z` with `P(Z = z) ∝ α^|z|`, where
//! `α = exp(−ε / Δ)` for privacy parameter `ε` and sensitivity `Δ` (how much one person can change
//! the count). Noisy counts are then clamped at zero and the small ones suppressed; both steps are
//! post-processing of the noisy value, so they cost no privacy.
//!
//! Randomness comes from the caller as a source of uniform numbers in the open interval (0, 1):
//! production passes one drawn from a CSPRNG, tests a seeded deterministic one.

use thiserror::Error;

/// A parameter the mechanism cannot work with.
#[derive(Debug, Clone, Copy, PartialEq, Error)]
pub enum InvalidParameter {
    #[error("epsilon must be a finite number greater than 0 (got {0})")]
    Epsilon(f64),
    #[error("sensitivity must be at least 1")]
    Sensitivity,
    #[error("the total privacy budget must be a finite number greater than 0 (got {0})")]
    TotalBudget(f64),
    #[error("the uniform source must return numbers strictly between 0 and 1 (got {0})")]
    Uniform(f64),
}

/// A release that would spend more privacy budget than is left.
#[derive(Debug, Clone, Copy, PartialEq, Error)]
#[error(
    "privacy budget exhausted: a release with epsilon {requested} needs more than the {remaining} left of the total {total}"
)]
pub struct BudgetExhausted {
    pub requested: f64,
    pub remaining: f64,
    pub total: f64,
}

/// Why a budget refused to spend.
#[derive(Debug, Clone, Copy, PartialEq, Error)]
pub enum SpendError {
    #[error(transparent)]
    Invalid(#[from] InvalidParameter),
    #[error(transparent)]
    Exhausted(#[from] BudgetExhausted),
}

fn check_epsilon(epsilon: f64) -> Result<(), InvalidParameter> {
    if epsilon.is_finite() && epsilon > 0.0 {
        Ok(())
    } else {
        Err(InvalidParameter::Epsilon(epsilon))
    }
}

fn draw(uniform: &mut impl FnMut() -> f64) -> Result<f64, InvalidParameter> {
    let u = uniform();
    if u > 0.0 && u < 1.0 {
        Ok(u)
    } else {
        Err(InvalidParameter::Uniform(u))
    }
}

/// One geometric variable on {0, 1, 2, …} with `P(G ≥ k) = α^k`, by inverse CDF:
/// `G = ⌊ln U / ln α⌋`. Saturates at `i64::MAX` for α so close to 1 that the value overflows.
fn geometric(ln_alpha: f64, uniform: &mut impl FnMut() -> f64) -> Result<i64, InvalidParameter> {
    let u = draw(uniform)?;
    let g = (u.ln() / ln_alpha).floor();
    // `as` saturates; NaN cannot happen (ln u < 0 and ln α < 0, or ln α = −∞ giving 0).
    Ok(g as i64)
}

/// Noise of the two-sided geometric mechanism for a count of the given sensitivity: the
/// difference of two independent geometric variables of parameter `α = exp(−ε / sensitivity)`.
/// Its mean is 0 and its variance `2α / (1 − α)²`. Draws two numbers from `uniform`, which must
/// return values strictly between 0 and 1.
pub fn geometric_noise(
    epsilon: f64,
    sensitivity: u32,
    uniform: &mut impl FnMut() -> f64,
) -> Result<i64, InvalidParameter> {
    check_epsilon(epsilon)?;
    if sensitivity == 0 {
        return Err(InvalidParameter::Sensitivity);
    }
    let ln_alpha = -epsilon / f64::from(sensitivity);
    let a = geometric(ln_alpha, uniform)?;
    let b = geometric(ln_alpha, uniform)?;
    Ok(a.saturating_sub(b))
}

/// How a set of counts is released.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Release {
    /// The privacy parameter spent by this release (for the whole set of counts when each
    /// person is in at most one of them; see `sensitivity`).
    pub epsilon: f64,
    /// Noisy counts below this are suppressed.
    pub threshold: u64,
    /// How much one person can change a count (1 when each person counts once).
    pub sensitivity: u32,
}

impl Release {
    /// A release, its parameters checked.
    pub fn new(epsilon: f64, threshold: u64, sensitivity: u32) -> Result<Self, InvalidParameter> {
        let release = Self {
            epsilon,
            threshold,
            sensitivity,
        };
        release.check()?;
        Ok(release)
    }

    /// Checks epsilon (finite, greater than 0) and sensitivity (at least 1).
    pub fn check(&self) -> Result<(), InvalidParameter> {
        check_epsilon(self.epsilon)?;
        if self.sensitivity == 0 {
            return Err(InvalidParameter::Sensitivity);
        }
        Ok(())
    }

    /// The standard deviation of the noise added to each count: `√(2α) / (1 − α)`.
    pub fn noise_standard_deviation(&self) -> f64 {
        let alpha = (-self.epsilon / f64::from(self.sensitivity.max(1))).exp();
        (2.0 * alpha).sqrt() / (1.0 - alpha)
    }
}

/// Releases counts: each gets geometric noise, is clamped at 0, and is `None` (suppressed) when
/// the noisy value is below the threshold. The parameters are checked first.
pub fn release_counts(
    counts: &[u64],
    release: &Release,
    uniform: &mut impl FnMut() -> f64,
) -> Result<Vec<Option<u64>>, InvalidParameter> {
    release.check()?;
    counts
        .iter()
        .map(|&count| {
            let noise = geometric_noise(release.epsilon, release.sensitivity, uniform)?;
            let true_count = i64::try_from(count).unwrap_or(i64::MAX);
            let noisy = u64::try_from(true_count.saturating_add(noise).max(0)).unwrap_or(0);
            Ok((noisy >= release.threshold).then_some(noisy))
        })
        .collect()
}

/// The privacy budget of a series of releases (sequential composition: the epsilons add up).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub total_epsilon: f64,
    pub spent: f64,
}

impl Budget {
    /// Rounding slack when comparing the spent sum to the total (ten releases of 0.1 fit in 1).
    const SLACK: f64 = 1e-9;

    /// A budget with nothing spent.
    pub fn new(total_epsilon: f64) -> Result<Self, InvalidParameter> {
        if total_epsilon.is_finite() && total_epsilon > 0.0 {
            Ok(Self {
                total_epsilon,
                spent: 0.0,
            })
        } else {
            Err(InvalidParameter::TotalBudget(total_epsilon))
        }
    }

    /// What is left to spend.
    pub fn remaining(&self) -> f64 {
        (self.total_epsilon - self.spent).max(0.0)
    }

    /// Spends `epsilon` for one release, refusing one that would take the spent sum over the
    /// total (nothing is spent then) or an epsilon that is not finite and greater than 0.
    pub fn spend(&mut self, epsilon: f64) -> Result<(), SpendError> {
        check_epsilon(epsilon)?;
        let after = self.spent + epsilon;
        if after > self.total_epsilon * (1.0 + Self::SLACK) {
            return Err(BudgetExhausted {
                requested: epsilon,
                remaining: self.remaining(),
                total: self.total_epsilon,
            }
            .into());
        }
        self.spent = after;
        Ok(())
    }
}

/// A number with at most `decimals` decimals, trailing zeros dropped (`1`, `0.5`, `1.25`).
fn short(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_owned()
}

/// One paragraph in Italian describing how the figures were protected, for the dataset's
/// description.
pub fn method_description_it(release: &Release) -> String {
    let it = |x: f64, decimals: usize| short(x, decimals).replace('.', ",");
    let suppression = if release.threshold == 0 {
        "Nessun valore viene soppresso.".to_owned()
    } else {
        format!(
            "I conteggi che dopo l'aggiunta del rumore risultano inferiori a {} sono soppressi (lasciati vuoti).",
            release.threshold
        )
    };
    format!(
        "I conteggi sono pubblicati con la privacy differenziale: a ciascuno è aggiunto un rumore \
         intero casuale generato dal meccanismo geometrico bilaterale (Laplace discreto), \
         calibrato su un parametro di privacy ε = {eps} e su una sensibilità di {sens} (il \
         massimo di cui una sola persona può far variare un conteggio). Il rumore ha media zero \
         e deviazione standard di circa {sd}; i conteggi negativi sono riportati a zero. {supp} \
         I valori sono quindi approssimati e non permettono di riconoscere la presenza di una \
         singola persona nei dati.",
        eps = it(release.epsilon, 3),
        sens = release.sensitivity,
        sd = it(release.noise_standard_deviation(), 1),
        supp = suppression,
    )
}

/// One paragraph in English describing how the figures were protected, for the dataset's
/// description.
pub fn method_description_en(release: &Release) -> String {
    let suppression = if release.threshold == 0 {
        "No value is suppressed.".to_owned()
    } else {
        format!(
            "Counts that are below {} once the noise is added are suppressed (left empty).",
            release.threshold
        )
    };
    format!(
        "The counts are published with differential privacy: each one has random integer noise \
         added by the two-sided geometric mechanism (discrete Laplace), calibrated to a privacy \
         parameter ε = {eps} and a sensitivity of {sens} (the most one person can change a \
         count by). The noise has mean zero and a standard deviation of about {sd}; negative \
         counts are raised to zero. {supp} The figures are therefore approximate and do not \
         reveal whether any one person is in the data.",
        eps = short(release.epsilon, 3),
        sens = release.sensitivity,
        sd = short(release.noise_standard_deviation(), 1),
        supp = suppression,
    )
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use super::*;

    /// A deterministic uniform source on (0, 1): SplitMix64, seeded.
    fn seeded(seed: u64) -> impl FnMut() -> f64 {
        let mut state = seed;
        move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            // 53 random bits, shifted off 0: (k + 0.5) / 2^53 is strictly inside (0, 1).
            ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }
    }

    #[test]
    fn the_noise_has_mean_zero_and_the_variance_of_the_discrete_laplace() {
        for (epsilon, sensitivity) in [(1.0, 1), (0.5, 1), (1.0, 3), (2.0, 1)] {
            let mut uniform = seeded(42);
            let n = 200_000;
            let samples: Vec<f64> = (0..n)
                .map(|_| geometric_noise(epsilon, sensitivity, &mut uniform).unwrap() as f64)
                .collect();
            let mean = samples.iter().sum::<f64>() / n as f64;
            let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let alpha = (-epsilon / f64::from(sensitivity)).exp();
            let expected_var = 2.0 * alpha / (1.0 - alpha).powi(2);
            // Standard error of the mean is √(var/n); allow five of them.
            let mean_tolerance = 5.0 * (expected_var / n as f64).sqrt();
            assert!(
                mean.abs() < mean_tolerance,
                "ε={epsilon} Δ={sensitivity}: mean {mean} beyond ±{mean_tolerance}"
            );
            assert!(
                (var - expected_var).abs() < 0.05 * expected_var,
                "ε={epsilon} Δ={sensitivity}: variance {var}, expected {expected_var}"
            );
        }
    }

    #[test]
    fn the_noise_follows_the_discrete_laplace_probabilities() {
        let epsilon: f64 = 1.0;
        let alpha = (-epsilon).exp();
        let mut uniform = seeded(7);
        let n = 200_000;
        let mut zero = 0;
        let mut one = 0;
        for _ in 0..n {
            match geometric_noise(epsilon, 1, &mut uniform).unwrap() {
                0 => zero += 1,
                1 => one += 1,
                _ => {}
            }
        }
        let p0 = (1.0 - alpha) / (1.0 + alpha);
        let p1 = p0 * alpha;
        assert!((zero as f64 / n as f64 - p0).abs() < 0.005);
        assert!((one as f64 / n as f64 - p1).abs() < 0.005);
    }

    #[test]
    fn a_huge_epsilon_adds_no_noise() {
        let mut uniform = seeded(1);
        for _ in 0..100 {
            assert_eq!(geometric_noise(1e6, 1, &mut uniform), Ok(0));
        }
    }

    #[test]
    fn epsilon_must_be_finite_and_positive() {
        let mut uniform = seeded(1);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                geometric_noise(bad, 1, &mut uniform),
                Err(InvalidParameter::Epsilon(_))
            ));
            assert!(Release::new(bad, 10, 1).is_err());
        }
        assert_eq!(
            geometric_noise(1.0, 0, &mut uniform),
            Err(InvalidParameter::Sensitivity)
        );
    }

    #[test]
    fn a_uniform_source_outside_the_open_interval_is_refused() {
        for bad in [0.0, 1.0, -0.5, f64::NAN] {
            let mut uniform = move || bad;
            assert!(matches!(
                geometric_noise(1.0, 1, &mut uniform),
                Err(InvalidParameter::Uniform(_))
            ));
        }
    }

    #[test]
    fn released_counts_are_noisy_clamped_at_zero_and_suppressed_below_the_threshold() {
        let release = Release::new(1.0, 10, 1).unwrap();
        let mut uniform = seeded(3);
        let counts = [0, 3, 5_000, 12, 1_000_000];
        let out = release_counts(&counts, &release, &mut uniform).unwrap();
        assert_eq!(out.len(), counts.len());
        assert_eq!(out[0], None);
        assert_eq!(out[1], None);
        let big = out[2].unwrap();
        assert!(big.abs_diff(5_000) < 50, "{big}");
        assert!(out[4].unwrap().abs_diff(1_000_000) < 50);
        for v in out.iter().flatten() {
            assert!(*v >= 10);
        }
    }

    #[test]
    fn with_no_threshold_counts_are_never_suppressed_and_never_negative() {
        let release = Release::new(0.1, 0, 1).unwrap();
        let mut uniform = seeded(9);
        let out = release_counts(&[0; 1_000], &release, &mut uniform).unwrap();
        assert!(out.iter().all(Option::is_some));
        assert!(out.iter().flatten().any(|v| *v > 0));
    }

    #[test]
    fn a_release_with_bad_parameters_is_refused() {
        let release = Release {
            epsilon: -1.0,
            threshold: 5,
            sensitivity: 1,
        };
        let mut uniform = seeded(1);
        assert!(release_counts(&[1, 2], &release, &mut uniform).is_err());
    }

    #[test]
    fn the_budget_refuses_a_release_that_would_exceed_the_total() {
        let mut budget = Budget::new(1.0).unwrap();
        for _ in 0..10 {
            budget.spend(0.1).unwrap();
        }
        let err = budget.spend(0.1).unwrap_err();
        assert!(matches!(err, SpendError::Exhausted(_)));
        assert!(err.to_string().contains("privacy budget exhausted"));
        assert!(budget.spent <= 1.0 + 1e-9);
        assert!(budget.remaining() < 1e-9);
    }

    #[test]
    fn a_refused_spend_spends_nothing() {
        let mut budget = Budget::new(1.0).unwrap();
        budget.spend(0.7).unwrap();
        assert!(budget.spend(0.5).is_err());
        assert!((budget.spent - 0.7).abs() < 1e-12);
        budget.spend(0.3).unwrap();
    }

    #[test]
    fn the_budget_refuses_a_non_positive_epsilon() {
        let mut budget = Budget::new(1.0).unwrap();
        assert!(matches!(
            budget.spend(-5.0),
            Err(SpendError::Invalid(InvalidParameter::Epsilon(_)))
        ));
        assert!(matches!(
            budget.spend(f64::NAN),
            Err(SpendError::Invalid(_))
        ));
        assert_eq!(budget.spent, 0.0);
        assert!(Budget::new(0.0).is_err());
        assert!(Budget::new(f64::INFINITY).is_err());
    }

    #[test]
    fn the_method_descriptions_name_the_mechanism_and_its_parameters() {
        let release = Release::new(0.5, 10, 1).unwrap();
        let it = method_description_it(&release);
        assert!(it.contains("geometrico bilaterale"));
        assert!(it.contains("ε = 0,5"));
        assert!(it.contains("inferiori a 10"));
        assert!(it.contains("sensibilità di 1"));
        let en = method_description_en(&release);
        assert!(en.contains("two-sided geometric mechanism"));
        assert!(en.contains("ε = 0.5"));
        assert!(en.contains("below 10"));
        assert!(en.contains("sensitivity of 1"));
        // α = e^-0.5; sd = √(2α)/(1-α) ≈ 2.8
        assert!(en.contains("about 2.8;"), "{en}");
        assert!(it.contains("circa 2,8;"), "{it}");
        let whole = Release::new(1.0, 0, 2).unwrap();
        assert!(method_description_en(&whole).contains("ε = 1 "));
        assert!(method_description_en(&whole).contains("No value is suppressed."));
    }
}
