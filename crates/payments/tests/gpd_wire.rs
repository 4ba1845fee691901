//! The GPD wire model: parsing v1 and v3 bodies (every fault listed under its JSON path, and
//! nothing else), rendering in GPD's response shapes (checked against the real OpenAPI files
//! in `../shared/reference/pagopa/openapi/`), and round trips between the two.

#![expect(clippy::unwrap_used, reason = "tests fail loudly on a broken fixture")]

use chrono::{DateTime, TimeZone, Utc};
use kernel::values::{NoticeNumber, OrganizationFiscalCode};
use payments::gpd::{
    Draft, parse_v1, parse_v1_with, parse_v3, render_option_v1, render_v1, render_v3,
};
use payments::model::{DebtorCode, Destination, PaymentRecord, Position};
use payments::rules::DateCheck;
use payments::values::iban_with_check;
use proptest::prelude::*;
use serde_json::{Value, json};

/// `77777777777` fails the check digit; `77777777770` is the code with a correct one.
const OWNER: &str = "77777777770";
const OTHER_ENTE: &str = "15376371009";
const PERSON: &str = "RSSMRA80A01H501U";
const STAMP_HASH: &str = "0bMQ0Tq8FYh5zHKCrmcW5ZAQKhpeOnbYrUaAxMWKAJ8=";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap()
}

fn owner() -> OrganizationFiscalCode {
    OrganizationFiscalCode::parse(OWNER).unwrap()
}

fn iban(n: u32) -> String {
    iban_with_check("IT", &format!("X0542811101{n:012}"))
}

/// The IUV of the `n`th test notice (segregation code 01).
fn iuv(n: u64) -> String {
    nav(n)[1..].to_owned()
}

fn nav(n: u64) -> String {
    NoticeNumber::build_aux3(1, 1000 + n)
        .unwrap()
        .as_str()
        .to_owned()
}

fn account_transfer(id: &str, amount: i64, org: &str, n: u32) -> Value {
    json!({
        "idTransfer": id,
        "amount": amount,
        "organizationFiscalCode": org,
        "remittanceInformation": "TARI 2026",
        "category": "9/0101108TS/",
        "iban": iban(n),
        "postalIban": "",
        "transferMetadata": [{ "key": "capitolo", "value": "1234" }],
    })
}

fn installment_v1(k: u64, due: &str) -> Value {
    json!({
        "iuv": iuv(k),
        "amount": 10_000,
        "description": format!("TARI 2026 rata {k}"),
        "isPartialPayment": true,
        "dueDate": due,
        "retentionDate": "2026-12-31T23:59:59Z",
        "fee": 0,
        "status": "PO_UNPAID",
        "paymentOptionMetadata": [{ "key": "rata", "value": k.to_string() }],
        "transfer": [
            account_transfer("1", 9_000, OWNER, 1),
            account_transfer("2", 1_000, OTHER_ENTE, 2),
        ],
    })
}

/// A realistic v1 body: a 3-installment plan (the second given by `nav`, the third by both)
/// and a single payment with a stamp transfer; two beneficiaries; read-only and unknown
/// fields a client would send.
fn v1_body() -> Value {
    let mut plan = vec![
        installment_v1(1, "2026-03-31T23:59:59Z"),
        installment_v1(2, "2026-06-30T23:59:59Z"),
        installment_v1(3, "2026-09-30T23:59:59Z"),
    ];
    let second = plan[1].as_object_mut().unwrap();
    second.remove("iuv");
    second.insert("nav".into(), nav(2).into());
    plan[2]["nav"] = nav(3).into();
    let single = json!({
        "iuv": iuv(4),
        "amount": 31_600,
        "description": "TARI 2026 in un'unica soluzione",
        "isPartialPayment": false,
        "dueDate": "2026-03-31T23:59:59.000Z",
        "transfer": [
            {
                "idTransfer": "1",
                "amount": 30_000,
                "remittanceInformation": "TARI 2026",
                "category": "9/0101108TS/",
                "iban": iban(1),
                "postalIban": iban_with_check("IT", "X0760103200001234567890"),
                "companyName": "Comune di Roma",
            },
            {
                "idTransfer": "2",
                "amount": 1_600,
                "remittanceInformation": "Marca da bollo",
                "category": "9/0101002IM/",
                "stamp": {
                    "hashDocument": STAMP_HASH,
                    "stampType": "01",
                    "provincialResidence": "RM",
                },
            },
        ],
    });
    plan.push(single);
    json!({
        "iupd": "IUPD-2026-TARI-0001",
        "type": "F",
        "fiscalCode": PERSON,
        "fullName": "Mario Rossi",
        "streetName": "Via Roma",
        "civicNumber": "1",
        "postalCode": "00100",
        "city": "Roma",
        "province": "RM",
        "region": "Lazio",
        "country": "IT",
        "email": "mario.rossi@example.it",
        "phone": "+39 06 1234567",
        "companyName": "Comune di Roma",
        "officeName": "Ufficio Tributi",
        "switchToExpired": false,
        "payStandIn": true,
        "validityDate": "2026-02-01T00:00:00Z",
        "status": "DRAFT",
        "paymentDate": "2026-01-01T00:00:00Z",
        "somethingElse": { "x": 1 },
        "paymentOption": plan,
    })
}

fn parse(body: &Value) -> Result<Draft, Vec<(String, String)>> {
    parse_v1(body, &owner(), now())
        .map_err(|e| e.0.into_iter().map(|f| (f.name, f.reason)).collect())
}

/// The sorted field names of the faults of a body that must not parse.
fn faults(body: &Value) -> Vec<String> {
    let mut names: Vec<String> = parse(body).unwrap_err().into_iter().map(|f| f.0).collect();
    names.sort();
    names
}

fn faults_v3(body: &Value) -> Vec<String> {
    let mut names: Vec<String> = parse_v3(body, &owner(), now())
        .unwrap_err()
        .0
        .into_iter()
        .map(|f| f.name)
        .collect();
    names.sort();
    names
}

fn reason_of(body: &Value, name: &str) -> String {
    parse(body)
        .unwrap_err()
        .into_iter()
        .find(|f| f.0 == name)
        .unwrap()
        .1
}

/// Sets (or adds) the field at a JSON pointer.
fn set(body: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let parent = body.pointer_mut(parent).unwrap();
    match parent {
        Value::Array(items) => items[key.parse::<usize>().unwrap()] = value,
        Value::Object(map) => {
            map.insert(key.to_owned(), value);
        }
        _ => panic!("{pointer} is not inside an object or array"),
    }
}

fn remove(body: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    body.pointer_mut(parent)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove(key)
        .unwrap();
}

fn names(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

#[test]
fn the_fixture_codes_are_valid() {
    assert!(OrganizationFiscalCode::parse(OWNER).is_ok());
    assert!(OrganizationFiscalCode::parse("77777777777").is_err());
    assert!(OrganizationFiscalCode::parse(OTHER_ENTE).is_ok());
    assert!(kernel::values::FiscalCode::parse(PERSON).is_ok());
    assert_eq!(
        iban_with_check("IT", "X0542811101000000123456"),
        "IT60X0542811101000000123456"
    );
}

#[test]
fn a_realistic_v1_body_parses_into_a_checked_draft() {
    let draft = parse(&v1_body()).unwrap();
    assert!(draft.missing.is_empty());
    let p = &draft.position;
    assert_eq!(p.iupd.as_str(), "IUPD-2026-TARI-0001");
    assert_eq!(p.organization.as_str(), OWNER);
    assert_eq!(
        p.debtor.code,
        DebtorCode::Person(kernel::values::FiscalCode::parse(PERSON).unwrap())
    );
    assert_eq!(p.debtor.phone.as_deref(), Some("+39 06 1234567"));
    assert_eq!(p.status.as_str(), "DRAFT");
    assert_eq!(p.version, 0);
    assert_eq!(p.inserted_date, now());
    assert_eq!(
        p.validity_date,
        Some(Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap())
    );
    assert_eq!(p.options.len(), 4);
    let plan = format!("{}-plan", p.iupd.as_str());
    for (k, o) in p.options[..3].iter().enumerate() {
        assert!(o.is_partial_payment);
        assert_eq!(o.plan_id.as_deref(), Some(plan.as_str()));
        assert_eq!(o.iuv, iuv(k as u64 + 1));
        assert_eq!(o.nav.as_str(), nav(k as u64 + 1));
        assert_eq!(o.transfers.len(), 2);
        assert_eq!(o.transfers[1].organization.as_str(), OTHER_ENTE);
        assert_eq!(o.metadata.len(), 1);
        assert!(!o.switch_to_expired);
        assert!(o.debtor.is_none());
        assert_eq!(o.status.as_str(), "PO_UNPAID");
    }
    let single = &p.options[3];
    assert!(!single.is_partial_payment);
    assert_eq!(single.plan_id, None);
    // The owner is the default beneficiary; an empty postalIban is absent, a real one kept.
    assert_eq!(single.transfers[0].organization.as_str(), OWNER);
    assert!(matches!(
        &single.transfers[0].destination,
        Destination::Account {
            iban: Some(_),
            postal_iban: Some(_)
        }
    ));
    assert!(matches!(
        &p.options[0].transfers[0].destination,
        Destination::Account {
            iban: Some(_),
            postal_iban: None
        }
    ));
    match &single.transfers[1].destination {
        Destination::Stamp(s) => {
            assert_eq!(s.stamp_type, "01");
            assert_eq!(s.provincial_residence, "RM");
        }
        other => panic!("expected a stamp, got {other:?}"),
    }
    assert_eq!(single.transfers[1].status.as_str(), "T_UNREPORTED");
}

#[test]
fn options_without_iuv_or_nav_get_a_placeholder_and_are_listed_as_missing() {
    let mut body = v1_body();
    remove(&mut body, "/paymentOption/1/nav");
    remove(&mut body, "/paymentOption/3/iuv");
    let draft = parse(&body).unwrap();
    assert_eq!(draft.missing, vec![1, 3]);
    let placeholder = NoticeNumber::build_aux3(0, 0).unwrap();
    assert_eq!(draft.position.options[1].nav, placeholder);
    assert_eq!(draft.position.options[1].iuv, &placeholder.as_str()[1..]);
    let assigned = draft.assign(vec![
        NoticeNumber::parse(&nav(20)).unwrap(),
        NoticeNumber::parse(&nav(21)).unwrap(),
    ]);
    assert_eq!(assigned.options[3].iuv, iuv(21));
}

#[test]
fn a_transfer_sum_that_differs_from_the_amount_is_named_with_both_sums() {
    let mut body = v1_body();
    set(
        &mut body,
        "/paymentOption/0/transfer/0/amount",
        json!(9_001),
    );
    assert_eq!(faults(&body), names(&["paymentOption[0].amount"]));
    let reason = reason_of(&body, "paymentOption[0].amount");
    assert!(
        reason.contains("10000") && reason.contains("10001"),
        "{reason}"
    );
}

#[test]
fn a_transfer_with_both_an_iban_and_a_stamp_is_refused() {
    let mut body = v1_body();
    set(
        &mut body,
        "/paymentOption/0/transfer/0/stamp",
        json!({ "hashDocument": STAMP_HASH, "stampType": "01", "provincialResidence": "RM" }),
    );
    assert_eq!(faults(&body), names(&["paymentOption[0].transfer[0]"]));
    let reason = reason_of(&body, "paymentOption[0].transfer[0]");
    assert!(
        reason.contains("iban") && reason.contains("stamp"),
        "{reason}"
    );
}

#[test]
fn a_transfer_with_neither_an_account_nor_a_stamp_is_refused() {
    let mut body = v1_body();
    remove(&mut body, "/paymentOption/1/transfer/0/iban");
    assert_eq!(faults(&body), names(&["paymentOption[1].transfer[0]"]));
}

#[test]
fn iban_check_digits_taxonomy_and_duplicate_transfer_ids_are_each_named() {
    let mut body = v1_body();
    let bad = iban(1).replace("IT", "").chars().collect::<String>();
    let digits: u32 = bad[..2].parse().unwrap();
    let wrong = format!("IT{:02}{}", (digits + 1) % 100, &bad[2..]);
    set(&mut body, "/paymentOption/0/transfer/0/iban", json!(wrong));
    assert_eq!(faults(&body), names(&["paymentOption[0].transfer[0].iban"]));

    let mut body = v1_body();
    set(
        &mut body,
        "/paymentOption/2/transfer/1/category",
        json!("9/0101108XX/"),
    );
    assert_eq!(
        faults(&body),
        names(&["paymentOption[2].transfer[1].category"])
    );

    let mut body = v1_body();
    set(
        &mut body,
        "/paymentOption/0/transfer/1/idTransfer",
        json!("1"),
    );
    assert_eq!(
        faults(&body),
        names(&["paymentOption[0].transfer[1].idTransfer"])
    );
}

#[test]
fn more_than_five_transfers_is_one_fault_on_the_list() {
    let mut body = v1_body();
    let transfers: Vec<Value> = ["1", "2", "3", "4", "5", "5"]
        .iter()
        .enumerate()
        .map(|(i, id)| account_transfer(id, 1_000, OWNER, i as u32))
        .collect();
    set(&mut body, "/paymentOption/3/amount", json!(6_000));
    set(
        &mut body,
        "/paymentOption/3/transfer",
        Value::Array(transfers),
    );
    assert_eq!(faults(&body), names(&["paymentOption[3].transfer"]));
}

#[test]
fn more_than_ten_metadata_pairs_or_a_repeated_key_are_refused() {
    let mut body = v1_body();
    let pairs: Vec<Value> = (0..11)
        .map(|i| json!({ "key": format!("k{i}"), "value": "v" }))
        .collect();
    set(
        &mut body,
        "/paymentOption/0/paymentOptionMetadata",
        Value::Array(pairs),
    );
    assert_eq!(
        faults(&body),
        names(&["paymentOption[0].paymentOptionMetadata"])
    );

    let mut body = v1_body();
    set(
        &mut body,
        "/paymentOption/1/transfer/0/transferMetadata",
        json!([{ "key": "a", "value": "1" }, { "key": "a", "value": "2" }]),
    );
    assert_eq!(
        faults(&body),
        names(&["paymentOption[1].transfer[0].transferMetadata[1].key"])
    );
}

#[test]
fn an_iuv_with_wrong_check_digits_is_refused() {
    let good = iuv(1);
    let last: u32 = good[15..].parse().unwrap();
    let bad = format!("{}{:02}", &good[..15], (last + 1) % 93);
    assert!(NoticeNumber::parse(&format!("3{bad}")).is_err());
    let mut body = v1_body();
    set(&mut body, "/paymentOption/0/iuv", json!(bad));
    assert_eq!(faults(&body), names(&["paymentOption[0].iuv"]));

    let mut body = v1_body();
    set(&mut body, "/paymentOption/0/iuv", json!("1234"));
    assert_eq!(faults(&body), names(&["paymentOption[0].iuv"]));
}

#[test]
fn a_nav_that_is_not_3_and_the_iuv_or_not_aux_3_is_refused() {
    let mut body = v1_body();
    set(&mut body, "/paymentOption/2/nav", json!(nav(9)));
    assert_eq!(faults(&body), names(&["paymentOption[2].nav"]));

    // A valid aux-1 notice number is still not accepted.
    let mut body = v1_body();
    set(
        &mut body,
        "/paymentOption/1/nav",
        json!(format!("1{}", iuv(2))),
    );
    assert_eq!(faults(&body), names(&["paymentOption[1].nav"]));
}

#[test]
fn a_notice_number_used_twice_in_a_position_is_refused() {
    let mut body = v1_body();
    set(&mut body, "/paymentOption/3/iuv", json!(iuv(2)));
    assert_eq!(faults(&body), names(&["paymentOption[3].iuv"]));
}

#[test]
fn the_fiscal_code_must_match_the_debtor_type() {
    let mut body = v1_body();
    set(&mut body, "/fiscalCode", json!(OTHER_ENTE));
    assert_eq!(faults(&body), names(&["fiscalCode"]));

    let mut body = v1_body();
    set(&mut body, "/type", json!("G"));
    assert_eq!(faults(&body), names(&["fiscalCode"]));

    let mut body = v1_body();
    set(&mut body, "/type", json!("G"));
    set(&mut body, "/fiscalCode", json!(OTHER_ENTE));
    let p = parse(&body).unwrap().position;
    assert!(matches!(p.debtor.code, DebtorCode::Company(_)));

    let mut body = v1_body();
    set(&mut body, "/type", json!("X"));
    assert_eq!(faults(&body), names(&["type"]));
}

#[test]
fn a_due_date_in_the_past_is_refused_on_create_but_not_on_update() {
    let mut body = v1_body();
    remove(&mut body, "/validityDate");
    set(
        &mut body,
        "/paymentOption/1/dueDate",
        json!("2026-01-01T00:00:00Z"),
    );
    set(
        &mut body,
        "/paymentOption/1/retentionDate",
        json!("2026-12-31T00:00:00Z"),
    );
    assert_eq!(faults(&body), names(&["paymentOption[1].dueDate"]));
    assert!(parse_v1_with(&body, &owner(), now(), DateCheck::Update).is_ok());
    set(&mut body, "/switchToExpired", json!(true));
    assert!(parse_v1_with(&body, &owner(), now(), DateCheck::Update).is_err());
}

#[test]
fn a_retention_date_before_the_due_date_and_a_past_validity_date_are_refused() {
    let mut body = v1_body();
    set(
        &mut body,
        "/paymentOption/0/retentionDate",
        json!("2026-03-01T00:00:00Z"),
    );
    assert_eq!(faults(&body), names(&["paymentOption[0].retentionDate"]));

    let mut body = v1_body();
    set(&mut body, "/validityDate", json!("2026-01-01T00:00:00Z"));
    assert_eq!(faults(&body), names(&["validityDate"]));
}

#[test]
fn zone_less_and_offset_dates_are_read_and_nonsense_is_refused() {
    let mut body = v1_body();
    set(
        &mut body,
        "/paymentOption/0/dueDate",
        json!("2026-03-31T23:59:59"),
    );
    set(
        &mut body,
        "/paymentOption/1/dueDate",
        json!("2026-06-30T23:59:59.250"),
    );
    set(
        &mut body,
        "/paymentOption/2/dueDate",
        json!("2026-10-01T01:59:59+02:00"),
    );
    let p = parse(&body).unwrap().position;
    assert_eq!(
        p.options[0].due_date,
        Utc.with_ymd_and_hms(2026, 3, 31, 23, 59, 59).unwrap()
    );
    assert_eq!(
        p.options[1].due_date,
        Utc.with_ymd_and_hms(2026, 6, 30, 23, 59, 59).unwrap()
            + chrono::Duration::milliseconds(250)
    );
    assert_eq!(
        p.options[2].due_date,
        Utc.with_ymd_and_hms(2026, 9, 30, 23, 59, 59).unwrap()
    );

    let mut body = v1_body();
    set(&mut body, "/paymentOption/0/dueDate", json!("31/03/2026"));
    assert_eq!(faults(&body), names(&["paymentOption[0].dueDate"]));
    assert_eq!(
        reason_of(&body, "paymentOption[0].dueDate"),
        "must be a date-time such as 2026-12-31T23:59:59Z"
    );
}

#[test]
fn a_position_without_payment_options_is_refused() {
    let mut body = v1_body();
    set(&mut body, "/paymentOption", json!([]));
    assert_eq!(faults(&body), names(&["paymentOption"]));
    remove(&mut body, "/paymentOption");
    assert_eq!(faults(&body), names(&["paymentOption"]));
}

#[test]
fn required_fields_are_named_when_missing() {
    let mut body = v1_body();
    for p in ["/iupd", "/fullName", "/companyName", "/switchToExpired"] {
        remove(&mut body, p);
    }
    for p in ["/amount", "/description", "/dueDate", "/isPartialPayment"] {
        remove(&mut body, &format!("/paymentOption/3{p}"));
    }
    for p in ["/remittanceInformation", "/category", "/idTransfer"] {
        remove(&mut body, &format!("/paymentOption/0/transfer/1{p}"));
    }
    assert_eq!(
        faults(&body),
        names(&[
            "iupd",
            "fullName",
            "companyName",
            "switchToExpired",
            "paymentOption[3].amount",
            "paymentOption[3].description",
            "paymentOption[3].dueDate",
            "paymentOption[3].isPartialPayment",
            "paymentOption[0].transfer[1].remittanceInformation",
            "paymentOption[0].transfer[1].category",
            "paymentOption[0].transfer[1].idTransfer",
        ])
    );
}

#[test]
fn every_fault_of_one_body_is_listed_and_no_reason_echoes_the_input() {
    let mut body = v1_body();
    set(&mut body, "/fiscalCode", json!("RSSMRA80A01H501X"));
    set(&mut body, "/email", json!("not-an-address"));
    set(&mut body, "/country", json!("Italia"));
    set(
        &mut body,
        "/paymentOption/0/transfer/0/iban",
        json!("IT00X0542811101000000000001"),
    );
    set(&mut body, "/paymentOption/1/description", json!(""));
    set(
        &mut body,
        "/paymentOption/2/dueDate",
        json!("2025-01-01T00:00:00Z"),
    );
    set(
        &mut body,
        "/paymentOption/2/retentionDate",
        json!("2026-12-31T00:00:00Z"),
    );
    set(
        &mut body,
        "/paymentOption/3/transfer/1/stamp/stampType",
        json!("02"),
    );
    set(
        &mut body,
        "/paymentOption/3/transfer/1/stamp/provincialResidence",
        json!("rm"),
    );
    set(
        &mut body,
        "/paymentOption/3/transfer/0/organizationFiscalCode",
        json!("12345678901"),
    );
    let errors = parse(&body).unwrap_err();
    let mut got: Vec<String> = errors.iter().map(|e| e.0.clone()).collect();
    got.sort();
    assert_eq!(
        got,
        names(&[
            "fiscalCode",
            "email",
            "country",
            "paymentOption[0].transfer[0].iban",
            "paymentOption[1].description",
            "paymentOption[2].dueDate",
            "paymentOption[3].transfer[1].stamp.stampType",
            "paymentOption[3].transfer[1].stamp.provincialResidence",
            "paymentOption[3].transfer[0].organizationFiscalCode",
        ])
    );
    for (_, reason) in &errors {
        for secret in [
            "RSSMRA80A01H501X",
            "not-an-address",
            "Italia",
            "IT00X0542811101000000000001",
            "12345678901",
        ] {
            assert!(!reason.contains(secret), "{reason}");
        }
    }
}

/// A v3 body: a 3-installment plan and a single payment owed by another debtor.
fn v3_body() -> Value {
    let installment = |k: u64, due: &str| {
        json!({
            "iuv": iuv(k),
            "nav": nav(k),
            "amount": 10_000,
            "description": format!("Rata {k}"),
            "dueDate": due,
            "status": "UNPAID",
            "installmentMetadata": [{ "key": "rata" }],
            "transfer": [
                account_transfer("1", 9_000, OWNER, 1),
                account_transfer("2", 1_000, OTHER_ENTE, 2),
            ],
        })
    };
    json!({
        "iupd": "IUPD-V3-0001",
        "companyName": "Comune di Roma",
        "officeName": "Ufficio Tributi",
        "payStandIn": false,
        "paymentOption": [
            {
                "description": "TARI 2026 in tre rate",
                "validityDate": "2026-02-01T00:00:00Z",
                "retentionDate": "2026-12-31T23:59:59Z",
                "switchToExpired": true,
                "debtor": { "type": "F", "fiscalCode": PERSON, "fullName": "Mario Rossi", "email": "mario.rossi@example.it" },
                "installments": [
                    installment(1, "2026-03-31T23:59:59Z"),
                    installment(2, "2026-06-30T23:59:59Z"),
                    installment(3, "2026-09-30T23:59:59Z"),
                ],
            },
            {
                "switchToExpired": false,
                "debtor": { "type": "G", "fiscalCode": OTHER_ENTE, "fullName": "Rossi S.r.l.", "country": "IT" },
                "installments": [installment(4, "2026-03-31T23:59:59Z")],
            },
        ],
    })
}

#[test]
fn a_v3_plan_becomes_installments_sharing_a_plan_id() {
    let draft = parse_v3(&v3_body(), &owner(), now()).unwrap();
    let p = &draft.position;
    assert_eq!(p.options.len(), 4);
    assert!(!p.pay_stand_in);
    assert!(!p.switch_to_expired, "the single payment does not expire");
    assert_eq!(p.debtor.full_name, "Mario Rossi");
    let plan = "IUPD-V3-0001-plan-0";
    for o in &p.options[..3] {
        assert!(o.is_partial_payment);
        assert_eq!(o.plan_id.as_deref(), Some(plan));
        assert_eq!(
            o.option_description.as_deref(),
            Some("TARI 2026 in tre rate")
        );
        assert_eq!(
            o.validity_date,
            Some(Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap())
        );
        assert_eq!(
            o.retention_date,
            Some(Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap())
        );
        assert!(o.switch_to_expired);
        assert!(o.debtor.is_none());
        assert_eq!(o.metadata[0].value, "");
    }
    let single = &p.options[3];
    assert!(!single.is_partial_payment);
    assert_eq!(single.plan_id, None);
    assert_eq!(
        single.debtor.as_ref().map(|d| d.full_name.as_str()),
        Some("Rossi S.r.l.")
    );
}

#[test]
fn v3_faults_are_named_by_their_installment_path() {
    let mut body = v3_body();
    set(
        &mut body,
        "/paymentOption/0/installments/2/transfer/0/amount",
        json!(0),
    );
    set(
        &mut body,
        "/paymentOption/0/retentionDate",
        json!("2026-05-01T00:00:00Z"),
    );
    set(
        &mut body,
        "/paymentOption/1/debtor/fiscalCode",
        json!(PERSON),
    );
    remove(&mut body, "/paymentOption/1/switchToExpired");
    assert_eq!(
        faults_v3(&body),
        names(&[
            "paymentOption[0].installments[2].transfer[0].amount",
            // Retention is per option: installments 2 and 3 fall due after it, named once.
            "paymentOption[0].retentionDate",
            "paymentOption[1].debtor.fiscalCode",
            "paymentOption[1].switchToExpired",
        ])
    );

    let mut body = v3_body();
    set(
        &mut body,
        "/paymentOption/0/installments/1/dueDate",
        json!("2026-01-20T00:00:00Z"),
    );
    assert_eq!(
        faults_v3(&body),
        names(&["paymentOption[0].installments[1].dueDate"])
    );

    let mut body = v3_body();
    set(&mut body, "/paymentOption/1/installments", json!([]));
    assert_eq!(faults_v3(&body), names(&["paymentOption[1].installments"]));
}

/// The position as parsed again, with the random part of its id made equal.
fn same_modulo_id(mut again: Position, original: &Position) -> Position {
    again.id = original.id;
    again
}

#[test]
fn a_v1_position_survives_render_and_parse() {
    let p = parse(&v1_body()).unwrap().position;
    let again = parse(&render_v1(&p)).unwrap().position;
    assert_eq!(same_modulo_id(again, &p), p);
}

#[test]
fn a_v3_position_survives_render_and_parse() {
    let p = parse_v3(&v3_body(), &owner(), now()).unwrap().position;
    let rendered = render_v3(&p);
    assert_eq!(rendered["paymentOption"].as_array().unwrap().len(), 2);
    assert_eq!(
        rendered["paymentOption"][0]["installments"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let again = parse_v3(&rendered, &owner(), now()).unwrap().position;
    assert_eq!(same_modulo_id(again, &p), p);
}

#[test]
fn v3_groups_installments_in_due_date_order() {
    let mut p = parse_v3(&v3_body(), &owner(), now()).unwrap().position;
    p.options.swap(0, 2);
    let rendered = render_v3(&p);
    let dues: Vec<&str> = rendered["paymentOption"][0]["installments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["dueDate"].as_str().unwrap())
        .collect();
    assert_eq!(
        dues,
        [
            "2026-03-31T23:59:59.000Z",
            "2026-06-30T23:59:59.000Z",
            "2026-09-30T23:59:59.000Z"
        ]
    );
}

#[test]
fn render_v1_shows_statuses_payment_fields_and_no_nulls() {
    let mut p = parse(&v1_body()).unwrap().position;
    let later = Utc.with_ymd_and_hms(2026, 2, 10, 9, 0, 0).unwrap();
    p.publish(now()).unwrap();
    let record = PaymentRecord {
        payment_date: later,
        payment_method: Some("CP".into()),
        psp_code: Some("ABI03069".into()),
        psp_tax_code: None,
        psp_company: Some("Intesa Sanpaolo".into()),
        receipt_id: Some("R-1".into()),
        fee: Some(150),
        outside_pagopa: false,
    };
    p.pay(3, record, later).unwrap();
    let v = render_v1(&p);
    assert_eq!(v["status"], "PAID");
    let paid = &v["paymentOption"][3];
    assert_eq!(paid["status"], "PO_PAID");
    assert_eq!(paid["paymentDate"], "2026-02-10T09:00:00.000Z");
    assert_eq!(paid["paymentMethod"], "CP");
    assert_eq!(paid["pspCompany"], "Intesa Sanpaolo");
    assert_eq!(paid["idReceipt"], "R-1");
    assert_eq!(paid["fee"], 150);
    assert_eq!(paid["transfer"][1]["stamp"]["stampType"], "01");
    assert!(paid["transfer"][1].get("iban").is_none());
    assert_eq!(paid["transfer"][0]["status"], "T_UNREPORTED");
    assert!(v["paymentOption"][0].get("paymentDate").is_none());
    assert_eq!(render_option_v1(&p, 3), *paid);
    assert_eq!(render_option_v1(&p, 4), Value::Null);
    fn no_nulls(v: &Value) -> bool {
        match v {
            Value::Null => false,
            Value::Array(a) => a.iter().all(no_nulls),
            Value::Object(o) => o.values().all(no_nulls),
            _ => true,
        }
    }
    assert!(no_nulls(&v));
    assert!(no_nulls(&render_v3(&p)));
    assert_eq!(
        render_v3(&p)["paymentOption"][1]["installments"][0]["status"],
        "PAID"
    );
}

#[test]
fn render_v3_says_unpayable_for_an_invalidated_position() {
    let mut p = parse_v3(&v3_body(), &owner(), now()).unwrap().position;
    let later = Utc.with_ymd_and_hms(2026, 2, 10, 9, 0, 0).unwrap();
    p.publish(later).unwrap();
    p.invalidate(later).unwrap();
    let v = render_v3(&p);
    assert_eq!(v["status"], "UNPAYABLE");
    assert_eq!(
        v["paymentOption"][0]["installments"][0]["status"],
        "UNPAYABLE"
    );
    assert_eq!(render_v1(&p)["status"], "INVALID");
}

// ---- conformance to the OpenAPI files -------------------------------------------------

fn openapi(file: &str) -> Value {
    let path = format!(
        "{}/../../../shared/reference/pagopa/openapi/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Checks that every key of `value` is a property of one of `schemas` (a union: GPD's
/// create answers use the request model, reads the response model), that every `required`
/// property of them is present, and recurses through `$ref`s.
fn conform(doc: &Value, schemas: &[String], value: &Value, at: &str, problems: &mut Vec<String>) {
    let defs = &doc["components"]["schemas"];
    let Some(obj) = value.as_object() else {
        problems.push(format!("{at}: not an object"));
        return;
    };
    for s in schemas {
        for r in defs[s]["required"].as_array().into_iter().flatten() {
            let r = r.as_str().unwrap();
            if !obj.contains_key(r) {
                problems.push(format!("{at}: required {r} of {s} missing"));
            }
        }
    }
    for (key, v) in obj {
        let props: Vec<&Value> = schemas
            .iter()
            .filter_map(|s| defs[s]["properties"].get(key))
            .collect();
        if props.is_empty() {
            problems.push(format!("{at}.{key}: not a property of {schemas:?}"));
            continue;
        }
        let refs = |p: &&Value| {
            p.get("$ref")
                .or_else(|| p.get("items").and_then(|i| i.get("$ref")))
                .and_then(Value::as_str)
                .map(|r| r.trim_start_matches("#/components/schemas/").to_owned())
        };
        let nested: Vec<String> = props.iter().filter_map(refs).collect();
        if nested.is_empty() {
            continue;
        }
        match v {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    conform(doc, &nested, item, &format!("{at}.{key}[{i}]"), problems);
                }
            }
            other => conform(doc, &nested, other, &format!("{at}.{key}"), problems),
        }
    }
}

fn paid_position() -> Position {
    let mut p = parse(&v1_body()).unwrap().position;
    let later = Utc.with_ymd_and_hms(2026, 2, 10, 9, 0, 0).unwrap();
    p.publish(now()).unwrap();
    let record = PaymentRecord {
        payment_date: later,
        payment_method: Some("CP".into()),
        psp_code: None,
        psp_tax_code: None,
        psp_company: Some("PSP".into()),
        receipt_id: Some("R-1".into()),
        fee: Some(100),
        outside_pagopa: false,
    };
    p.pay(0, record, later).unwrap();
    p.report(0, 1, Some("2026-02-11FLOW"), later).unwrap();
    p
}

#[test]
fn render_v1_matches_the_v1_schemas() {
    let doc = openapi("gpd.json");
    let schemas = [
        "PaymentPositionModelBaseResponse".to_owned(),
        "PaymentPositionModel".to_owned(),
    ];
    for p in [parse(&v1_body()).unwrap().position, paid_position()] {
        let mut problems = Vec::new();
        conform(&doc, &schemas, &render_v1(&p), "$", &mut problems);
        for i in 0..p.options.len() {
            conform(
                &doc,
                &["PaymentOptionModelResponse".to_owned()],
                &render_option_v1(&p, i),
                &format!("option{i}"),
                &mut problems,
            );
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }
}

#[test]
fn render_v3_matches_the_v3_schemas() {
    let doc = openapi("gpd_v3.json");
    let schemas = [
        "PaymentPositionModelResponseV3".to_owned(),
        "PaymentPositionModelV3".to_owned(),
    ];
    let mut problems = Vec::new();
    for p in [
        parse_v3(&v3_body(), &owner(), now()).unwrap().position,
        paid_position(),
    ] {
        conform(&doc, &schemas, &render_v3(&p), "$", &mut problems);
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_schema_check_catches_a_stray_key_and_a_missing_required_one() {
    let doc = openapi("gpd.json");
    let schemas = [
        "PaymentPositionModelBaseResponse".to_owned(),
        "PaymentPositionModel".to_owned(),
    ];
    let mut v = render_v1(&parse(&v1_body()).unwrap().position);
    v["paymentOption"][0]["transfer"][0]["bogus"] = json!(1);
    v.as_object_mut().unwrap().remove("fullName");
    let mut problems = Vec::new();
    conform(&doc, &schemas, &v, "$", &mut problems);
    assert_eq!(problems.len(), 2, "{problems:#?}");
}

// ---- amounts --------------------------------------------------------------------------

fn split_body(parts: &[i64]) -> Value {
    let transfers: Vec<Value> = parts
        .iter()
        .enumerate()
        .map(|(i, a)| account_transfer(&(i + 1).to_string(), *a, OWNER, i as u32))
        .collect();
    let mut body = v1_body();
    let single = body["paymentOption"][3].clone();
    let mut option = single;
    option["amount"] = json!(parts.iter().sum::<i64>());
    option["transfer"] = Value::Array(transfers);
    body["paymentOption"] = json!([option]);
    body
}

proptest! {
    #[test]
    fn amounts_split_into_transfers_parse_and_one_cent_off_fails_on_the_sum(
        parts in proptest::collection::vec(1i64..=2_000_000_000, 1..=5),
        which in 0usize..5,
        up in any::<bool>(),
    ) {
        let body = split_body(&parts);
        prop_assert!(parse(&body).is_ok());
        let t = which % parts.len();
        let mut changed = parts;
        changed[t] += if up || changed[t] == 1 { 1 } else { -1 };
        let mut body = body;
        body["paymentOption"][0]["transfer"][t]["amount"] = json!(changed[t]);
        prop_assert_eq!(faults(&body), names(&["paymentOption[0].amount"]));
    }
}

/// The JSON pointers of every leaf of a body.
fn leaves(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| leaves(x, format!("{at}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| leaves(x, format!("{at}/{i}"), out)),
        _ => out.push(at),
    }
}

proptest! {
    #[test]
    fn any_one_leaf_replaced_with_junk_never_panics_and_faults_are_named(
        which in any::<proptest::sample::Index>(),
        junk in prop_oneof![
            Just(Value::Null), Just(json!(0)), Just(json!(-1)), Just(json!("")),
            Just(json!("junk value")), Just(json!(true)), Just(json!(1e30)), Just(json!([])),
            Just(json!({})),
        ],
    ) {
        let mut body = v1_body();
        let mut all = Vec::new();
        leaves(&body, String::new(), &mut all);
        let pointer = which.get(&all).clone();
        *body.pointer_mut(&pointer).unwrap() = junk;
        if let Err(errors) = parse(&body) {
            prop_assert!(!errors.is_empty());
            for (name, reason) in errors {
                prop_assert!(!name.is_empty() && !reason.is_empty());
                prop_assert!(!reason.contains("junk value"));
            }
        }
    }
}
