//! Italy's civil time (Europe/Rome: CET, CEST from the last Sunday of March to the last Sunday
//! of October, switching at 01:00 UTC): the one rule every crate shares — the pagoPA wire
//! formats, the daybook's dates, the receipt PDF, reconciliation's payment days.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};

/// The UTC instant of the last Sunday of `month`, 01:00.
fn switch(year: i32, month: u32) -> Option<NaiveDateTime> {
    let first_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    let last = first_next.pred_opt()?;
    let back = last.weekday().num_days_from_sunday();
    let sunday = last.checked_sub_signed(Duration::days(i64::from(back)))?;
    sunday.and_hms_opt(1, 0, 0)
}

/// Europe/Rome's offset from UTC, in hours, at a UTC instant.
pub fn offset_hours(utc: NaiveDateTime) -> i64 {
    let year = utc.year();
    match (switch(year, 3), switch(year, 10)) {
        (Some(start), Some(end)) if utc >= start && utc < end => 2,
        _ => 1,
    }
}

/// Europe/Rome's local time at an instant.
pub fn local(t: DateTime<Utc>) -> NaiveDateTime {
    let utc = t.naive_utc();
    utc.checked_add_signed(Duration::hours(offset_hours(utc)))
        .unwrap_or(utc)
}

/// The date in Italy at an instant.
pub fn date(t: DateTime<Utc>) -> NaiveDate {
    local(t).date()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn summer_and_winter_time_switch_at_one_utc() {
        // 2026: CEST from 29 March 01:00 UTC to 25 October 01:00 UTC.
        let at = |m, d, h, min| Utc.with_ymd_and_hms(2026, m, d, h, min, 0).unwrap();
        assert_eq!(offset_hours(at(3, 29, 0, 59).naive_utc()), 1);
        assert_eq!(offset_hours(at(3, 29, 1, 0).naive_utc()), 2);
        assert_eq!(offset_hours(at(10, 25, 0, 59).naive_utc()), 2);
        assert_eq!(offset_hours(at(10, 25, 1, 0).naive_utc()), 1);
        // 23:30 UTC on 16 May is already the 17th in Rome.
        assert_eq!(
            date(at(5, 16, 23, 30)),
            NaiveDate::from_ymd_opt(2026, 5, 17).unwrap()
        );
        assert_eq!(
            date(at(12, 16, 22, 30)),
            NaiveDate::from_ymd_opt(2026, 12, 16).unwrap()
        );
    }
}
