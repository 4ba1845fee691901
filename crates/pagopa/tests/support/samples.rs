//! Samples and proptest strategies for the SOAP and MarcaDaBollo tests.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use pagopa::mbd::MarcaDaBollo;
use pagopa::*;
use proptest::prelude::*;

// ------------------------------------------------------------------------------------------------
// Samples
// ------------------------------------------------------------------------------------------------

pub fn caller() -> Caller {
    Caller {
        id_pa: "01234567890".into(),
        id_broker_pa: "01234567890".into(),
        id_station: "01234567890_01".into(),
    }
}

pub fn qr() -> QrCode {
    QrCode {
        fiscal_code: "01234567890".into(),
        notice_number: "302000000000000123".into(),
    }
}

pub fn subject() -> Subject {
    Subject {
        kind: EntityType::Person,
        id: "RSSMRA80A01H501U".into(),
        full_name: "Mario Rossi".into(),
        street_name: Some("Via Roma".into()),
        civic_number: Some("1".into()),
        postal_code: Some("00100".into()),
        city: Some("Roma".into()),
        state_province_region: Some("RM".into()),
        country: Some("IT".into()),
        email: Some("mario.rossi@example.it".into()),
    }
}

/// A subject with a name and no address nor email.
pub fn named(kind: EntityType, id: &str, full_name: &str) -> Subject {
    Subject {
        kind,
        id: id.into(),
        full_name: full_name.into(),
        street_name: None,
        civic_number: None,
        postal_code: None,
        city: None,
        state_province_region: None,
        country: None,
        email: None,
    }
}

pub fn stamp() -> MarcaDaBollo {
    MarcaDaBollo {
        psp_fiscal_code: "01234567890".into(),
        psp_name: "PSP S.p.A.".into(),
        iubd: "01234567890123".into(),
        purchased_at: "2024-05-01T10:11:12".into(),
        amount: 1600,
        stamp_type: "01".into(),
        document_digest: "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=".into(),
    }
}

pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn entries(n: usize) -> Vec<MapEntry> {
    (1..=n)
        .map(|i| MapEntry {
            key: format!("key{i}"),
            value: format!("value {i}"),
        })
        .collect()
}

pub fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .expect("valid instant")
}

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

pub fn receipt(v2: bool, transfers: usize) -> Receipt {
    let transfers = (1..=transfers)
        .map(|i| ReceiptTransfer {
            id_transfer: u8::try_from(i).expect("small"),
            amount: 1000,
            fiscal_code_pa: "01234567890".into(),
            company_name: v2.then(|| format!("Comune {i}")),
            target: if v2 && i == 2 {
                ReceiptTarget::Stamp {
                    attachment: base64(mbd::render(&stamp()).as_bytes()),
                    stamp: Some(stamp()),
                }
            } else {
                ReceiptTarget::Iban("IT60X0542811101000000123456".into())
            },
            remittance_information: format!("/RFB/302000000000000123/10.00/TXT/rata {i}"),
            transfer_category: "9/0101100IM/".into(),
            metadata: if i == 1 { entries(2) } else { Vec::new() },
        })
        .collect::<Vec<_>>();
    Receipt {
        receipt_id: "c110729d258c4ab1b765fe902aae41d6".into(),
        notice_number: "302000000000000123".into(),
        fiscal_code: "01234567890".into(),
        outcome_ok: true,
        creditor_reference_id: "02000000000000123".into(),
        payment_amount: 1000 * i64::try_from(transfers.len()).expect("small"),
        description: "TARI 2024".into(),
        company_name: "Comune di Esempio".into(),
        office_name: Some("Ufficio Tributi".into()),
        debtor: subject(),
        transfers,
        id_psp: "ABI03069".into(),
        psp_fiscal_code: Some("00799960158".into()),
        psp_partita_iva: Some("00799960158".into()),
        psp_company_name: "Banca Esempio".into(),
        id_channel: "00799960158_01".into(),
        channel_description: "app".into(),
        payer: Some(named(EntityType::Legal, "01234567890", "Ditta S.r.l.")),
        payment_method: Some("creditCard".into()),
        payment_note: v2.then(|| "nota".into()),
        fee: Some(150),
        primary_ci_incurred_fee: v2.then_some(50),
        id_bundle: v2.then(|| "bundle-1".into()),
        id_ci_bundle: v2.then(|| "ci-bundle-1".into()),
        payment_date_time: Some(at(2024, 5, 1, 8, 30, 0)),
        application_date: Some(day(2024, 5, 1)),
        transfer_date: Some(day(2024, 5, 2)),
        metadata: entries(1),
        stand_in: Some(false),
    }
}

pub fn payment_data(v2: bool, transfers: usize) -> PaymentData {
    let transfers = (1..=transfers)
        .map(|i| TransferData {
            id_transfer: u8::try_from(i).expect("small"),
            amount: 1230,
            fiscal_code_pa: "01234567890".into(),
            company_name: v2.then(|| format!("Ente {i}")),
            target: TransferTarget::Iban("IT60X0542811101000000123456".into()),
            remittance_information: format!("rata {i}"),
            transfer_category: "9/0101100IM/".into(),
            metadata: Vec::new(),
        })
        .collect::<Vec<_>>();
    PaymentData {
        creditor_reference_id: "02000000000000123".into(),
        payment_amount: 1230 * i64::try_from(transfers.len()).expect("small"),
        due_date: day(2024, 12, 31),
        retention_date: Some(at(2025, 1, 31, 23, 0, 0)),
        last_payment: Some(true),
        description: "TARI 2024".into(),
        company_name: "Comune di Esempio".into(),
        office_name: Some("Ufficio Tributi".into()),
        debtor: subject(),
        transfers,
        metadata: entries(3),
    }
}

pub fn verify_ok() -> VerifyOk {
    VerifyOk {
        amount: 12345,
        due_date: Some(day(2024, 12, 31)),
        detail_description: Some("TARI 2024, prima rata".into()),
        all_ccp: false,
        payment_description: "TARI 2024".into(),
        fiscal_code_pa: "01234567890".into(),
        company_name: "Comune di Esempio".into(),
        office_name: Some("Ufficio Tributi".into()),
    }
}

// ------------------------------------------------------------------------------------------------
// Strategies for valid requests
// ------------------------------------------------------------------------------------------------

/// A character that is tricky on the wire: markup, quotes, multi-byte, line ends.
fn wire_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'z'),
        1 => proptest::char::range('A', 'Z'),
        1 => proptest::char::range('0', '9'),
        1 => proptest::sample::select(vec![
            ' ', '<', '>', '&', '"', '\'', 'à', 'é', '€', '𝄞', '\n', '\r', '\t', ';', '#'
        ]),
    ]
}

/// A string of `min..=max` characters.
pub fn text(min: usize, max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(wire_char(), min..=max).prop_map(|v| v.into_iter().collect())
}

pub fn opt_text(max: usize) -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text(1, max))
}

pub fn digits(n: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::char::range('0', '9'), n)
        .prop_map(|v| v.into_iter().collect())
}

pub fn amount(min: i64) -> impl Strategy<Value = i64> {
    prop_oneof![min..=100_000i64, min..=soap::MAX_AMOUNT_CENTS]
}

pub fn date() -> impl Strategy<Value = NaiveDate> {
    (1i32..=9999, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| day(y, m, d))
}

/// An instant, to the nanosecond, from 1971 to 2099.
pub fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (
        31_536_000i64..4_102_444_800,
        prop_oneof![Just(0u32), 0u32..1_000_000_000],
    )
        .prop_map(|(s, n)| DateTime::from_timestamp(s, n).expect("in range"))
}

pub fn arb_caller() -> impl Strategy<Value = Caller> {
    (text(1, 35), text(1, 35), text(1, 35)).prop_map(|(a, b, c)| Caller {
        id_pa: a,
        id_broker_pa: b,
        id_station: c,
    })
}

pub fn arb_qr() -> impl Strategy<Value = QrCode> {
    (digits(11), digits(18)).prop_map(|(f, n)| QrCode {
        fiscal_code: f,
        notice_number: n,
    })
}

pub fn email() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_.+-]{1,20}@[a-zA-Z0-9-]{1,10}(\\.[a-zA-Z0-9-]{1,10}){0,3}"
}

pub fn arb_subject() -> BoxedStrategy<Subject> {
    (
        prop_oneof![Just(EntityType::Person), Just(EntityType::Legal)],
        text(2, 16),
        text(1, 70),
        (
            opt_text(70),
            opt_text(16),
            opt_text(16),
            opt_text(35),
            opt_text(35),
        ),
        proptest::option::of("[A-Z]{2}"),
        proptest::option::of(email()),
    )
        .prop_map(
            |(kind, id, full_name, (street, civic, postal, city, region), country, email)| {
                Subject {
                    kind,
                    id,
                    full_name,
                    street_name: street,
                    civic_number: civic,
                    postal_code: postal,
                    city,
                    state_province_region: region,
                    country,
                    email,
                }
            },
        )
        .boxed()
}

pub fn arb_metadata() -> impl Strategy<Value = Vec<MapEntry>> {
    prop_oneof![
        Just(Vec::new()),
        proptest::collection::vec(
            (text(1, 140), text(1, 140)).prop_map(|(key, value)| MapEntry { key, value }),
            1..=15
        ),
    ]
}

pub fn arb_stamp() -> impl Strategy<Value = MarcaDaBollo> {
    (
        text(1, 20),
        text(1, 40),
        "[0-9A-Z]{14}",
        instant(),
        1i64..100_000,
        proptest::collection::vec(any::<u8>(), 32),
    )
        .prop_map(|(cf, name, iubd, t, amount, digest)| MarcaDaBollo {
            psp_fiscal_code: cf,
            psp_name: name,
            iubd,
            purchased_at: t.format("%Y-%m-%dT%H:%M:%S").to_string(),
            amount,
            stamp_type: "01".into(),
            document_digest: base64(&digest),
        })
}

fn arb_receipt_target(v2: bool) -> BoxedStrategy<ReceiptTarget> {
    let iban = text(1, 35).prop_map(ReceiptTarget::Iban);
    if !v2 {
        return iban.boxed();
    }
    prop_oneof![
        2 => iban,
        1 => arb_stamp().prop_map(|s| ReceiptTarget::Stamp {
            attachment: base64(mbd::render(&s).as_bytes()),
            stamp: Some(s),
        }),
        1 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(|b| ReceiptTarget::Stamp {
            attachment: base64(&b),
            stamp: None,
        }),
    ]
    .boxed()
}

fn arb_receipt_transfers(v2: bool) -> BoxedStrategy<Vec<ReceiptTransfer>> {
    proptest::collection::vec(
        (
            amount(1),
            digits(11),
            opt_text(140),
            arb_receipt_target(v2),
            text(1, 140),
            text(1, 140),
            arb_metadata(),
        ),
        1..=5,
    )
    .prop_map(move |items| {
        items
            .into_iter()
            .enumerate()
            .map(
                |(i, (amount, cf, company, target, rem, cat, metadata))| ReceiptTransfer {
                    id_transfer: u8::try_from(i + 1).expect("small"),
                    amount,
                    fiscal_code_pa: cf,
                    company_name: if v2 { company } else { None },
                    target,
                    remittance_information: rem,
                    transfer_category: cat,
                    metadata,
                },
            )
            .collect()
    })
    .boxed()
}

pub fn arb_receipt(v2: bool) -> BoxedStrategy<Receipt> {
    let head = (
        text(0, 40),
        digits(18),
        digits(11),
        any::<bool>(),
        text(1, 35),
        amount(0),
        text(1, 140),
        text(1, 140),
        opt_text(140),
        arb_subject(),
        arb_receipt_transfers(v2),
    )
        .boxed();
    let psp = (
        text(1, 35),
        opt_text(70),
        opt_text(20),
        text(1, 70),
        text(1, 35),
        text(1, 35),
        proptest::option::of(arb_subject()),
        opt_text(35),
    )
        .boxed();
    let tail = (
        opt_text(210),
        proptest::option::of(amount(0)),
        proptest::option::of(amount(0)),
        opt_text(70),
        opt_text(70),
        proptest::option::of(instant()),
        proptest::option::of(date()),
        proptest::option::of(date()),
        arb_metadata(),
        proptest::option::of(any::<bool>()),
    )
        .boxed();
    (head, psp, tail)
        .prop_map(move |(h, p, t)| Receipt {
            receipt_id: h.0,
            notice_number: h.1,
            fiscal_code: h.2,
            outcome_ok: h.3,
            creditor_reference_id: h.4,
            payment_amount: h.5,
            description: h.6,
            company_name: h.7,
            office_name: h.8,
            debtor: h.9,
            transfers: h.10,
            id_psp: p.0,
            psp_fiscal_code: p.1,
            psp_partita_iva: p.2,
            psp_company_name: p.3,
            id_channel: p.4,
            channel_description: p.5,
            payer: p.6,
            payment_method: p.7,
            payment_note: if v2 { t.0 } else { None },
            fee: t.1,
            primary_ci_incurred_fee: if v2 { t.2 } else { None },
            id_bundle: if v2 { t.3 } else { None },
            id_ci_bundle: if v2 { t.4 } else { None },
            payment_date_time: t.5,
            application_date: t.6,
            transfer_date: t.7,
            metadata: t.8,
            stand_in: t.9,
        })
        .boxed()
}

/// Any valid request of the node.
pub fn arb_request() -> BoxedStrategy<Request> {
    let verify = (arb_caller(), arb_qr()).prop_map(|(caller, qr)| Request::Verify { caller, qr });
    let get_payment = (
        any::<bool>(),
        arb_caller(),
        arb_qr(),
        proptest::option::of(amount(0)),
        opt_text(210),
        proptest::option::of(prop_oneof![
            Just(TransferType::Postal),
            Just(TransferType::PagoPa)
        ]),
        proptest::option::of(date()),
    )
        .prop_map(
            |(v2, caller, qr, amount, payment_note, transfer_type, due_date)| Request::GetPayment {
                v2,
                caller,
                qr,
                amount,
                payment_note,
                transfer_type,
                due_date,
            },
        );
    let send_rt = prop_oneof![
        (arb_caller(), arb_receipt(false)).prop_map(|(caller, r)| Request::SendRt {
            v2: false,
            caller,
            receipt: Box::new(r),
        }),
        (arb_caller(), arb_receipt(true)).prop_map(|(caller, r)| Request::SendRt {
            v2: true,
            caller,
            receipt: Box::new(r),
        }),
    ];
    let demand = arb_caller().prop_map(|caller| Request::Demand { caller });
    prop_oneof![1 => verify.boxed(), 1 => get_payment.boxed(), 3 => send_rt.boxed(), 1 => demand.boxed()].boxed()
}
