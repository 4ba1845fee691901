//! Properties of GPD's state rules on generated positions: publish, pay in any order, report.

#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use kernel::values::{NoticeNumber, OrganizationFiscalCode};
use payments::model::{OptionStatus, PaymentRecord, PositionStatus};
use proptest::prelude::*;
use serde_json::json;

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 10, 9, 0, 0).unwrap()
}

/// A position with `installments` installments of a plan and, when `single`, a single payment.
fn position(installments: usize, single: bool) -> payments::Position {
    let org = OrganizationFiscalCode::parse("15376371009").unwrap();
    let mut options = Vec::new();
    for k in 0..installments {
        options.push(json!({
            "iuv": &NoticeNumber::build_aux3(1, k as u64 + 1).unwrap().as_str()[1..],
            "amount": 1000, "description": "rata", "isPartialPayment": true,
            "dueDate": (now() + Duration::days(10 + k as i64)).to_rfc3339(),
            "transfer": [{"idTransfer": "1", "amount": 1000, "remittanceInformation": "r",
                          "category": "9/0101108TS/", "iban": "IT60X0542811101000000123456"}],
        }));
    }
    if single {
        options.push(json!({
            "iuv": &NoticeNumber::build_aux3(1, 999).unwrap().as_str()[1..],
            "amount": 1000 * installments.max(1) as i64, "description": "unica",
            "isPartialPayment": false, "dueDate": (now() + Duration::days(9)).to_rfc3339(),
            "transfer": [{"idTransfer": "1", "amount": 1000 * installments.max(1) as i64,
                          "remittanceInformation": "r", "category": "9/0101108TS/",
                          "iban": "IT60X0542811101000000123456"}],
        }));
    }
    let body = json!({
        "iupd": "P-1", "type": "F", "fiscalCode": "RSSMRA80A01H501U", "fullName": "Mario Rossi",
        "companyName": "Comune", "switchToExpired": false, "paymentOption": options,
    });
    payments::gpd::parse_v1(&body, &org, now())
        .unwrap()
        .position
}

fn record() -> PaymentRecord {
    PaymentRecord {
        payment_date: now(),
        payment_method: None,
        psp_code: None,
        psp_tax_code: None,
        psp_company: Some("PSP".into()),
        receipt_id: Some("r".into()),
        fee: None,
        outside_pagopa: false,
    }
}

proptest! {
    /// Paying installments in any order: PARTIALLY_PAID until the last, then PAID; each option
    /// pays once; the single payment is refused once an installment is paid.
    #[test]
    fn installments_in_any_order(n in 2usize..8, order in Just(()).prop_perturb(|_, mut rng| {
        let mut v: Vec<usize> = (0..8).collect();
        for i in (1..v.len()).rev() { v.swap(i, rng.random_range(0..=i)); }
        v
    })) {
        let mut p = position(n, true);
        p.publish(now()).unwrap();
        prop_assert_eq!(p.status, PositionStatus::Valid);
        let order: Vec<usize> = order.into_iter().filter(|i| *i < n).collect();
        for (k, i) in order.iter().enumerate() {
            let v = p.version;
            p.pay(*i, record(), now()).unwrap();
            prop_assert!(p.version > v);
            prop_assert!(p.pay(*i, record(), now()).is_err(), "a second payment is refused");
            if k == 0 {
                prop_assert!(p.pay(n, record(), now()).is_err(), "single refused after an installment");
            }
            let want = if k + 1 == n { PositionStatus::Paid } else { PositionStatus::PartiallyPaid };
            prop_assert_eq!(p.status, want);
        }
        prop_assert!(p.options[..n].iter().all(|o| o.status == OptionStatus::PoPaid));
        // Reporting every transfer of every installment makes the plan REPORTED.
        for i in 0..n {
            p.report(i, 1, None, now()).unwrap();
            prop_assert!(p.report(i, 1, None, now()).is_err(), "a transfer reports once");
        }
        prop_assert_eq!(p.status, PositionStatus::Reported);
    }

    /// The single payment pays the whole position at once.
    #[test]
    fn single_payment_pays_all(n in 2usize..6) {
        let mut p = position(n, true);
        p.publish(now()).unwrap();
        p.pay(n, record(), now()).unwrap();
        prop_assert_eq!(p.status, PositionStatus::Paid);
        for i in 0..n {
            prop_assert!(p.pay(i, record(), now()).is_err());
        }
    }
}

#[test]
fn only_drafts_publish_and_only_published_or_valid_invalidate() {
    let mut p = position(2, false);
    assert!(
        p.invalidate(now()).is_err(),
        "a draft cannot be invalidated"
    );
    let mut paid = p.clone();
    assert!(
        paid.pay(0, record(), now()).is_err(),
        "a draft cannot be paid"
    );
    p.publish(now()).unwrap();
    assert!(p.publish(now()).is_err());
    p.invalidate(now()).unwrap();
    assert_eq!(p.status, PositionStatus::Invalid);
    assert!(p.check_changeable("updated").is_err());
    assert!(p.pay(0, record(), now()).is_err());
}

#[test]
fn expiry_needs_every_option_to_allow_it() {
    let mut p = position(2, false);
    p.publish(now()).unwrap();
    let late = now() + Duration::days(60);
    assert_eq!(p.tick(late), None, "switchToExpired false: never expires");
    for o in &mut p.options {
        o.switch_to_expired = true;
    }
    assert_eq!(p.tick(now()), None, "not before the last due date");
    assert_eq!(p.tick(late).map(|e| e.action), Some("expired".to_owned()));
    assert_eq!(p.status, PositionStatus::Expired);
}
