//! The monthly statistics the platform publishes about its own data, as open datasets in each
//! ente's catalogue: messages sent per service and topic, and payments per category. Each
//! month's figures are released once through [`crate::dp`] and stored; the resource is the CSV
//! of every release so far, regenerated from the stored releases (a retry never draws new
//! noise, so it never spends the budget twice).
//!
//! Privacy unit: a citizen's contributions in the month. Each citizen counts at most
//! [`Policy::cap`] times in a month's table (their earliest messages or payments), so the
//! table's L1 sensitivity is the cap and the geometric mechanism with `α = exp(−ε / cap)` on
//! every cell makes the release ε-differentially private for each citizen. The cells are fixed
//! before the data is looked at: every service of the ente (services are public), and every
//! taxonomy category of the ente's debt positions (set by the ente, not by a citizen's
//! payment); so no cell's presence depends on a citizen. Releases of the same series compose
//! sequentially: their epsilons add up against the dataset's budget.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::dp::{self, InvalidParameter, Release};

/// Which statistics a series publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatKind {
    /// Messages delivered per service and topic.
    Messages,
    /// Payments received per taxonomy category.
    Payments,
}

impl StatKind {
    pub const ALL: [Self; 2] = [Self::Messages, Self::Payments];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Messages => "messages",
            Self::Payments => "payments",
        }
    }

    /// The CSV's columns: the month, the cell's key columns, the count.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Messages => &["mese", "servizio_id", "servizio", "argomento", "messaggi"],
            Self::Payments => &["mese", "categoria", "pagamenti"],
        }
    }
}

/// A calendar month, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    year: i32,
    month: u32,
}

impl Period {
    /// `YYYY-MM`, years 2000 to 9999.
    pub fn parse(s: &str) -> Option<Self> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (year, month) = (y.parse().ok()?, m.parse().ok()?);
        ((2000..=9999).contains(&year) && (1..=12).contains(&month)).then_some(Self { year, month })
    }

    /// The month containing `at`.
    pub fn of(at: DateTime<Utc>) -> Self {
        Self {
            year: at.year(),
            month: at.month(),
        }
    }

    /// The month before.
    pub fn previous(self) -> Self {
        if self.month == 1 {
            Self {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Self {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    fn first_instant(self) -> DateTime<Utc> {
        let day = NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN);
        Utc.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN))
    }

    /// `[start, end)`: its first instant and the next month's.
    pub fn bounds(self) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.first_instant(), self.next().first_instant())
    }

    /// Whether the month is over at `now` (only a finished month is released).
    pub fn is_over(self, now: DateTime<Utc>) -> bool {
        now >= self.bounds().1
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// How a series is released.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Spent by each monthly release.
    pub epsilon: f64,
    /// The total the series may spend (sequential composition over its releases).
    pub budget: f64,
    /// Noisy counts below this are published empty.
    pub threshold: u64,
    /// A citizen's contributions counted per month (the sensitivity).
    pub cap: u32,
}

impl Policy {
    /// The defaults: ε = 1 a month, a budget of 12 (a year of releases), counts below 10
    /// suppressed; at most 10 messages or 3 payments of one citizen counted a month.
    pub fn default_for(kind: StatKind) -> Self {
        Self {
            epsilon: 1.0,
            budget: 12.0,
            threshold: 10,
            cap: match kind {
                StatKind::Messages => 10,
                StatKind::Payments => 3,
            },
        }
    }

    pub fn release(&self) -> Result<Release, InvalidParameter> {
        Release::new(self.epsilon, self.threshold, self.cap)
    }

    /// Checks the parameters (epsilon and budget finite and positive, epsilon within the
    /// budget, cap at least 1).
    pub fn check(&self) -> Result<(), InvalidParameter> {
        self.release()?;
        dp::Budget::new(self.budget)?;
        Ok(())
    }
}

/// One cell of a month's table before noise: its key columns and its true count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatCell {
    pub key: Vec<String>,
    pub count: u64,
}

/// One month's published figures: what the CSV shows. `None` = suppressed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatRelease {
    pub dataset_id: String,
    #[serde(with = "period_text")]
    pub period: Period,
    pub epsilon: f64,
    pub threshold: u64,
    pub cap: u32,
    pub values: Vec<(Vec<String>, Option<u64>)>,
    /// Whether the resource already shows it.
    pub loaded: bool,
    pub released_at: DateTime<Utc>,
}

mod period_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(p: &super::Period, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&p.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<super::Period, D::Error> {
        let s = String::deserialize(d)?;
        super::Period::parse(&s).ok_or_else(|| serde::de::Error::custom("not a YYYY-MM month"))
    }
}

/// Draws the noise of a month's release: every cell gets its noisy, clamped, thresholded
/// count, in the order given.
pub fn draw(
    dataset_id: &str,
    period: Period,
    cells: &[StatCell],
    policy: &Policy,
    released_at: DateTime<Utc>,
    uniform: &mut impl FnMut() -> f64,
) -> Result<StatRelease, InvalidParameter> {
    let release = policy.release()?;
    let counts: Vec<u64> = cells.iter().map(|c| c.count).collect();
    let noisy = dp::release_counts(&counts, &release, uniform)?;
    Ok(StatRelease {
        dataset_id: dataset_id.to_owned(),
        period,
        epsilon: policy.epsilon,
        threshold: policy.threshold,
        cap: policy.cap,
        values: cells.iter().map(|c| c.key.clone()).zip(noisy).collect(),
        loaded: false,
        released_at,
    })
}

/// What the releases of a series spent.
pub fn spent(releases: &[StatRelease]) -> f64 {
    releases.iter().map(|r| r.epsilon).sum()
}

/// Whether a release of `policy.epsilon` still fits the budget after `releases`.
pub fn fits_budget(policy: &Policy, releases: &[StatRelease]) -> Result<(), dp::SpendError> {
    let mut budget = dp::Budget::new(policy.budget)?;
    for r in releases {
        budget.spend(r.epsilon)?;
    }
    budget.spend(policy.epsilon)
}

fn csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with([' ', '=', '+', '-', '@']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// The CSV of every release of a series: the header, then each month (oldest first) with its
/// cells in key order; a suppressed count is an empty cell.
pub fn render_csv(kind: StatKind, releases: &[StatRelease]) -> String {
    let mut out = kind.columns().join(",");
    out.push('\n');
    let mut sorted: Vec<&StatRelease> = releases.iter().collect();
    sorted.sort_by_key(|r| r.period);
    for r in sorted {
        let mut values: Vec<&(Vec<String>, Option<u64>)> = r.values.iter().collect();
        values.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, value) in values {
            out.push_str(&r.period.to_string());
            for k in key {
                out.push(',');
                csv_field(&mut out, k);
            }
            out.push(',');
            if let Some(v) = value {
                out.push_str(&v.to_string());
            }
            out.push('\n');
        }
    }
    out
}

/// The dataset's title.
pub fn title(kind: StatKind, ente: &str) -> String {
    match kind {
        StatKind::Messages => format!("Messaggi inviati ai cittadini per servizio – {ente}"),
        StatKind::Payments => format!("Pagamenti ricevuti per categoria – {ente}"),
    }
}

/// The dataset's description: what is counted, then the method (Italian and English), the
/// per-citizen cap and the budget spent so far.
pub fn description(kind: StatKind, policy: &Policy, spent: f64) -> String {
    let what = match kind {
        StatKind::Messages => {
            "Numero mensile dei messaggi consegnati ai cittadini tramite la piattaforma, per \
             servizio dell'ente e argomento del servizio. Ogni cittadino è contato al più {cap} \
             volte al mese (i suoi primi messaggi del mese)."
        }
        StatKind::Payments => {
            "Numero mensile dei pagamenti pagoPA ricevuti dall'ente, per categoria della \
             tassonomia dei servizi di incasso (la categoria del primo trasferimento \
             dell'opzione pagata). Ogni pagatore è contato al più {cap} volte al mese (i suoi \
             primi pagamenti del mese)."
        }
    }
    .replace("{cap}", &policy.cap.to_string());
    let what_en = match kind {
        StatKind::Messages => {
            "Monthly number of messages delivered to citizens through the platform, per service \
             of the ente and the service's topic. Each citizen counts at most {cap} times a \
             month (their first messages of the month)."
        }
        StatKind::Payments => {
            "Monthly number of pagoPA payments the ente received, per taxonomy category (the \
             category of the paid option's first transfer). Each payer counts at most {cap} \
             times a month (their first payments of the month)."
        }
    }
    .replace("{cap}", &policy.cap.to_string());
    let release = Release {
        epsilon: policy.epsilon,
        threshold: policy.threshold,
        sensitivity: policy.cap.max(1),
    };
    let num = |x: f64| {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    };
    format!(
        "{what}\n\n{method}\n\nOgni rilascio mensile spende ε = {eps}; il budget di privacy del \
         dataset è {budget}, di cui spesi finora {spent}. Esaurito il budget, i rilasci si \
         fermano.\n\n{what_en}\n\n{method_en}\n\nEach monthly release spends ε = {eps_en}; the \
         dataset's privacy budget is {budget_en}, of which {spent_en} is spent so far. Once it \
         is exhausted, releases stop.",
        method = dp::method_description_it(&release),
        method_en = dp::method_description_en(&release),
        eps = num(policy.epsilon).replace('.', ","),
        budget = num(policy.budget).replace('.', ","),
        spent = num(spent).replace('.', ","),
        eps_en = num(policy.epsilon),
        budget_en = num(policy.budget),
        spent_en = num(spent),
    )
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn periods_parse_strictly_and_bound_the_month() {
        let p = Period::parse("2026-02").unwrap();
        assert_eq!(p.to_string(), "2026-02");
        let (start, end) = p.bounds();
        assert_eq!(start.to_rfc3339(), "2026-02-01T00:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-03-01T00:00:00+00:00");
        assert_eq!(
            Period::parse("2026-12").unwrap().bounds().1.to_rfc3339(),
            "2027-01-01T00:00:00+00:00"
        );
        assert_eq!(
            Period::parse("2026-01").unwrap().previous().to_string(),
            "2025-12"
        );
        for bad in [
            "2026-13", "2026-00", "26-01", "2026-1", "2026/01", "abcd-ef", "1999-12", "",
        ] {
            assert_eq!(Period::parse(bad), None, "{bad}");
        }
        assert!(!p.is_over(end - chrono::Duration::milliseconds(1)));
        assert!(p.is_over(end));
    }

    fn cells() -> Vec<StatCell> {
        vec![
            StatCell {
                key: vec!["9/0101002IM/".into()],
                count: 500,
            },
            StatCell {
                key: vec!["9/0101001IM/".into()],
                count: 3,
            },
        ]
    }

    #[test]
    fn zero_noise_keeps_counts_and_suppresses_small_ones() {
        let policy = Policy::default_for(StatKind::Payments);
        let at = Utc::now();
        let p = Period::parse("2026-03").unwrap();
        // U = 0.5 twice: both geometric draws are equal, the noise is 0.
        let r = draw("d", p, &cells(), &policy, at, &mut || 0.5).unwrap();
        assert_eq!(r.values[0], (vec!["9/0101002IM/".into()], Some(500)));
        assert_eq!(r.values[1], (vec!["9/0101001IM/".into()], None));
        let csv = render_csv(StatKind::Payments, &[r]);
        assert_eq!(
            csv,
            "mese,categoria,pagamenti\n2026-03,9/0101001IM/,\n2026-03,9/0101002IM/,500\n"
        );
    }

    #[test]
    fn the_budget_stops_releases() {
        let policy = Policy {
            epsilon: 1.0,
            budget: 2.0,
            threshold: 0,
            cap: 1,
        };
        let at = Utc::now();
        let mut releases = Vec::new();
        let mut p = Period::parse("2026-01").unwrap();
        for _ in 0..2 {
            fits_budget(&policy, &releases).unwrap();
            releases.push(draw("d", p, &cells(), &policy, at, &mut || 0.5).unwrap());
            p = Period::of(p.bounds().1);
        }
        assert!(matches!(
            fits_budget(&policy, &releases),
            Err(dp::SpendError::Exhausted(_))
        ));
        assert!((spent(&releases) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn csv_quotes_what_a_spreadsheet_would_misread() {
        let r = StatRelease {
            dataset_id: "d".into(),
            period: Period::parse("2026-01").unwrap(),
            epsilon: 1.0,
            threshold: 0,
            cap: 1,
            values: vec![
                (vec!["=SUM(A1)".into()], Some(7)),
                (vec!["a,b \"c\"".into()], None),
            ],
            loaded: false,
            released_at: Utc::now(),
        };
        assert_eq!(
            render_csv(StatKind::Payments, &[r]),
            "mese,categoria,pagamenti\n2026-01,\"=SUM(A1)\",7\n2026-01,\"a,b \"\"c\"\"\",\n"
        );
    }

    #[test]
    fn the_description_states_the_method_and_budget() {
        let d = description(
            StatKind::Messages,
            &Policy::default_for(StatKind::Messages),
            3.0,
        );
        assert!(d.contains("al più 10 volte"), "{d}");
        assert!(d.contains("ε = 1"), "{d}");
        assert!(d.contains("spesi finora 3"), "{d}");
        assert!(d.contains("geometric mechanism"), "{d}");
        assert!(d.len() < 10_000);
    }

    #[test]
    fn policies_are_checked() {
        let mut p = Policy::default_for(StatKind::Messages);
        p.check().unwrap();
        p.cap = 0;
        assert!(p.check().is_err());
        p.cap = 1;
        p.budget = f64::NAN;
        assert!(p.check().is_err());
    }
}
