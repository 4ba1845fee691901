//! The notice's textual formats: Italian amounts, grouped notice codes, dates, the QR payload.

use chrono::NaiveDate;

/// The QR code content of pagoPA's notice standard: `PAGOPA|002|<NAV 18>|<EC CF 11>|<cents>`.
///
/// Like pagoPA's own print service, the NAV and the fiscal code are left-padded with `0` to 18
/// and 11 characters and the amount is written as plain euro cents.
pub fn qr_payload(nav: &str, creditor_fiscal_code: &str, amount_cents: i64) -> String {
    format!("PAGOPA|002|{nav:0>18}|{creditor_fiscal_code:0>11}|{amount_cents}")
}

/// An amount in euro cents in Italian notation: `102099` → `"1.020,99"`.
pub fn format_amount_it(cents: i64) -> String {
    let abs = cents.unsigned_abs();
    let euros = (abs / 100).to_string();
    let mut out = String::with_capacity(euros.len() * 4 / 3 + 4);
    if cents < 0 {
        out.push('-');
    }
    for (i, digit) in euros.chars().enumerate() {
        if i > 0 && (euros.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(digit);
    }
    out.push(',');
    let rest = abs % 100;
    out.push(char::from(b'0' + (rest / 10) as u8));
    out.push(char::from(b'0' + (rest % 10) as u8));
    out
}

/// A notice code (NAV) in groups of 4 characters: `"301000000000000144"` → `"3010 0000 0000 0001 44"`.
pub fn group_code(nav: &str) -> String {
    let mut out = String::with_capacity(nav.len() + nav.len() / 4);
    for (i, c) in nav.chars().enumerate() {
        if i > 0 && i.is_multiple_of(4) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// A date as the notice prints it: `dd/mm/yyyy`.
pub(crate) fn format_date(date: NaiveDate) -> String {
    date.format("%d/%m/%Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_are_written_in_italian_notation() {
        assert_eq!(format_amount_it(0), "0,00");
        assert_eq!(format_amount_it(5), "0,05");
        assert_eq!(format_amount_it(100), "1,00");
        assert_eq!(format_amount_it(99999), "999,99");
        assert_eq!(format_amount_it(100000), "1.000,00");
        assert_eq!(format_amount_it(102099), "1.020,99");
        assert_eq!(format_amount_it(99_999_999_999), "999.999.999,99");
        assert_eq!(format_amount_it(-102099), "-1.020,99");
        assert_eq!(format_amount_it(i64::MIN), "-92.233.720.368.547.758,08");
    }

    #[test]
    fn notice_codes_are_grouped_by_four() {
        assert_eq!(group_code("301000000000000144"), "3010 0000 0000 0001 44");
        assert_eq!(group_code("347123456789012389"), "3471 2345 6789 0123 89");
        assert_eq!(group_code(""), "");
        assert_eq!(group_code("1234"), "1234");
    }

    #[test]
    fn the_qr_payload_follows_the_pagopa_format() {
        assert_eq!(
            qr_payload("301000000000000144", "00000000201", 102099),
            "PAGOPA|002|301000000000000144|00000000201|102099"
        );
        assert_eq!(
            qr_payload("1", "1", 5),
            "PAGOPA|002|000000000000000001|00000000001|5"
        );
    }

    #[test]
    fn dates_are_day_month_year() {
        let date = NaiveDate::from_ymd_opt(2026, 3, 5).expect("valid date");
        assert_eq!(format_date(date), "05/03/2026");
    }

    fn parse_amount_it(text: &str) -> Option<i64> {
        let (negative, text) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (euros, cents) = text.split_once(',')?;
        let groups: Vec<&str> = euros.split('.').collect();
        let well_grouped = groups.iter().enumerate().all(|(i, g)| {
            g.chars().all(|c| c.is_ascii_digit())
                && if i == 0 {
                    (1..=3).contains(&g.len())
                } else {
                    g.len() == 3
                }
        });
        if !well_grouped || cents.len() != 2 || (groups[0].starts_with('0') && groups.len() > 1) {
            return None;
        }
        let value: i64 = format!("{}{cents}", groups.concat()).parse().ok()?;
        Some(if negative { -value } else { value })
    }

    proptest! {
        #[test]
        fn italian_amounts_round_trip(cents in -99_999_999_999i64..=99_999_999_999) {
            let text = format_amount_it(cents);
            prop_assert_eq!(parse_amount_it(&text), Some(cents), "{}", text);
        }

        #[test]
        fn grouping_keeps_every_digit(nav in "[0-9]{18}") {
            let grouped = group_code(&nav);
            prop_assert_eq!(grouped.len(), 22);
            prop_assert_eq!(grouped.replace(' ', ""), nav);
        }
    }
}
