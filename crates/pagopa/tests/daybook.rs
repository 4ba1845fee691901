//! The plan of a simulated node day: flows and journals valid against the official schemas
//! (`xmllint`), every receipt reported and credited once, and each anomaly switch producing
//! exactly the anomaly it names, judged by comparing the outputs with the inputs. The
//! remittance is read back with GovPay's regular expression, run by Python's `re`.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::process::{Command, Stdio};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use pagopa::daybook::{
    self, Anomalies, AnomalyClass, DayInput, DayOutput, DaybookError, EnteProfile, Paid,
    PaidTransfer, Payable, Psp, parse_anomalies, plan,
};
use pagopa::fdr::{self, OutcomeCode};
use pagopa::opi;
use support::{assert_valid, fdr_xsd, opi_xsd, tools};

const REMITTANCE: &str = r"PUR.LGPE-RIVERSAMENTO.(TXT.[0-9].)?URI.([0-9A-Za-z\-_ ]+)";

const E1: &str = "80012345678";
const E2: &str = "01199250158";
const E3: &str = "15376371009";
const E1_IBAN: &str = "IT60X0542811101000000123456";
const E1_IBAN_2: &str = "IT02A0306909606100000012345";
const E2_IBAN: &str = "IT28W0760101600000000012345";
const E3_IBAN: &str = "IT40S0542811101000000654321";

/// Group 2 of [`REMITTANCE`] in each causale, found after removing its spaces (`None` when
/// it does not match); and the same read from the raw causale with the spaces removed from
/// the group, which must agree.
fn remittance_ids(causali: &[String]) -> Vec<Option<String>> {
    let python = tools();
    let program = r#"
import re, sys
p = re.compile(sys.argv[1])
for line in sys.stdin.read().split("\n")[:-1]:
    a = p.search(line.replace(" ", ""))
    b = p.search(line)
    a = a.group(2) if a else ""
    b = b.group(2).replace(" ", "") if b else ""
    print(a if a == b else "MISMATCH " + a + " " + b)
"#;
    let mut child = Command::new(python)
        .arg("-c")
        .arg(program)
        .arg(REMITTANCE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for c in causali {
            assert!(!c.contains('\n'));
            writeln!(stdin, "{c}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), causali.len());
    lines
        .into_iter()
        .map(|l| {
            assert!(!l.starts_with("MISMATCH"), "{l}");
            (!l.is_empty()).then_some(l)
        })
        .collect()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn intesa() -> Psp {
    Psp {
        id: "BCITITMM".into(),
        name: "Intesa Sanpaolo S.p.A.".into(),
        bic: Some("BCITITMM".into()),
    }
}

fn poste() -> Psp {
    Psp {
        id: "60000000001".into(),
        name: "Poste Italiane & C.".into(),
        bic: None,
    }
}

fn transfer(index: u8, amount_cents: i64, beneficiary: &str, iban: &str) -> PaidTransfer {
    PaidTransfer {
        index,
        amount_cents,
        beneficiary: beneficiary.into(),
        iban: iban.into(),
    }
}

fn paid(n: u32, ente: &str, psp: Psp, at: DateTime<Utc>, transfers: Vec<PaidTransfer>) -> Paid {
    Paid {
        iuv: format!("010000000000{n:05}"),
        receipt_id: format!("{n:02}c4f1e2a9b8d7c6e5f4a3b2c1d0e9f8"),
        ente: ente.into(),
        transfers,
        psp,
        paid_at: at,
    }
}

/// Friday 17 May 2024: five (ente, PSP, IBAN) triples, three enti, four (ente, bank) pairs,
/// two multi-beneficiary receipts and one paid at 00:30 Italian time (22:30 UTC the day before).
fn payments() -> Vec<Paid> {
    vec![
        paid(
            1,
            E1,
            intesa(),
            utc(2024, 5, 17, 7, 1),
            vec![transfer(1, 1_500, E1, E1_IBAN)],
        ),
        paid(
            2,
            E1,
            intesa(),
            utc(2024, 5, 17, 8, 2),
            vec![
                transfer(1, 2_500, E1, E1_IBAN),
                transfer(2, 700, E2, E2_IBAN),
            ],
        ),
        paid(
            3,
            E1,
            poste(),
            utc(2024, 5, 17, 9, 3),
            vec![transfer(1, 10_000, E1, E1_IBAN)],
        ),
        paid(
            4,
            E1,
            intesa(),
            utc(2024, 5, 17, 10, 4),
            vec![transfer(1, 4_200, E1, E1_IBAN_2)],
        ),
        paid(
            5,
            E3,
            poste(),
            utc(2024, 5, 17, 11, 5),
            vec![transfer(1, 4_999, E3, E3_IBAN), transfer(2, 1, E1, E1_IBAN)],
        ),
        paid(
            6,
            E2,
            intesa(),
            utc(2024, 5, 16, 22, 30),
            vec![transfer(1, 12_345, E2, E2_IBAN)],
        ),
        paid(
            7,
            E1,
            intesa(),
            utc(2024, 5, 17, 12, 7),
            vec![
                transfer(2, 4_444, E1, E1_IBAN),
                transfer(1, 3_333, E1, E1_IBAN),
            ],
        ),
    ]
}

fn input(anomalies: Anomalies, seed: u64) -> DayInput {
    let mut input = DayInput::new(date(2024, 5, 17), payments(), seed);
    input.anomalies = anomalies;
    input
}

/// What the outputs show, compared with the inputs.
#[derive(Debug, Default)]
struct Findings {
    /// Per (IUV, receipt, index): lines in the flow of its beneficiary and IBAN, same amount.
    reported: BTreeMap<(String, String, u8), usize>,
    /// Lines that match no transfer of the input and are not `code9`.
    unexplained_lines: usize,
    /// Outcome-9 lines for an IUV without a receipt: (flow, IUV).
    code9: Vec<(String, String)>,
    /// Outcome-3 lines of a paid transfer.
    revoked: Vec<(String, String)>,
    /// Lines present more than once in a flow: (flow, IUV).
    duplicates: Vec<(String, String)>,
    /// Receipts none of whose transfers is in any flow.
    unreported: Vec<String>,
    /// Flows no movement names.
    uncredited: Vec<String>,
    /// Flows more than one movement names.
    credited_twice: Vec<String>,
    /// Flows credited for an amount other than their total.
    wrong_amount: Vec<String>,
    /// Movements not in the journal of the flow's receiver and account of the flow's IBAN.
    misplaced: usize,
    /// Movements that name no flow.
    stray: Vec<String>,
}

fn findings(input: &DayInput, out: &DayOutput) -> Findings {
    let mut f = Findings::default();
    let paid_iuvs: BTreeSet<&str> = input.payments.iter().map(|p| p.iuv.as_str()).collect();
    for p in &input.payments {
        for t in &p.transfers {
            let n = out
                .flows
                .iter()
                .filter(|fl| {
                    fl.receiver.id == t.beneficiary && out.flow_ibans[&fl.flow_id] == t.iban
                })
                .flat_map(|fl| &fl.lines)
                .filter(|l| {
                    l.iuv == p.iuv
                        && l.iur == p.receipt_id
                        && l.index == Some(t.index)
                        && l.amount_cents == t.amount_cents
                        && l.date == daybook::italian_date(p.paid_at)
                })
                .count();
            f.reported
                .insert((p.iuv.clone(), p.receipt_id.clone(), t.index), n);
        }
        let anywhere = out
            .flows
            .iter()
            .flat_map(|fl| &fl.lines)
            .any(|l| l.iur == p.receipt_id);
        if !anywhere {
            f.unreported.push(p.receipt_id.clone());
        }
    }
    for fl in &out.flows {
        let mut seen = BTreeMap::new();
        for l in &fl.lines {
            *seen.entry((&l.iuv, &l.iur, l.index)).or_insert(0) += 1;
            let of_input = input.payments.iter().any(|p| {
                p.iuv == l.iuv
                    && p.receipt_id == l.iur
                    && p.transfers.iter().any(|t| {
                        Some(t.index) == l.index
                            && t.beneficiary == fl.receiver.id
                            && t.iban == out.flow_ibans[&fl.flow_id]
                    })
            });
            match l.outcome {
                OutcomeCode::NoRpt if !paid_iuvs.contains(l.iuv.as_str()) => {
                    f.code9.push((fl.flow_id.clone(), l.iuv.clone()));
                }
                OutcomeCode::Revoked if of_input => {
                    f.revoked.push((fl.flow_id.clone(), l.iuv.clone()));
                }
                OutcomeCode::Paid if of_input => {}
                _ => f.unexplained_lines += 1,
            }
        }
        for ((iuv, _, _), n) in seen {
            if n > 1 {
                f.duplicates.push((fl.flow_id.clone(), iuv.clone()));
            }
        }
    }
    let movements: Vec<(&str, &opi::Journal, &opi::Account, &opi::Movement)> = out
        .journals
        .iter()
        .flat_map(|j| {
            j.journal.accounts.iter().flat_map(move |a| {
                a.movements
                    .iter()
                    .map(move |m| (j.ente.as_str(), &j.journal, a, m))
            })
        })
        .collect();
    let causali: Vec<String> = movements.iter().map(|(.., m)| m.causale.clone()).collect();
    let ids = remittance_ids(&causali);
    let mut credits: BTreeMap<&str, usize> = BTreeMap::new();
    for ((ente, journal, account, m), id) in movements.iter().zip(&ids) {
        let flow = id
            .as_deref()
            .and_then(|id| out.flows.iter().find(|fl| fl.flow_id == id));
        let Some(flow) = flow else {
            f.stray.push(m.causale.clone());
            continue;
        };
        *credits.entry(&flow.flow_id).or_default() += 1;
        if m.amount_cents != flow.total_amount_cents() {
            f.wrong_amount.push(flow.flow_id.clone());
        }
        let iban = &out.flow_ibans[&flow.flow_id];
        let right_place = *ente == flow.receiver.id
            && journal.header.ente_fiscal_code == flow.receiver.id
            && account.description.as_deref() == Some(iban.as_str())
            && journal.header.bank_abi == iban[5..10]
            && m.kind == opi::MovementKind::Incoming
            && m.booking_date == flow.regulation_date;
        if !right_place {
            f.misplaced += 1;
        }
    }
    for fl in &out.flows {
        match credits.get(fl.flow_id.as_str()) {
            None => f.uncredited.push(fl.flow_id.clone()),
            Some(1) => {}
            Some(_) => f.credited_twice.push(fl.flow_id.clone()),
        }
    }
    f
}

/// Asserts that the outputs show exactly the anomalies of `expected` and nothing else.
fn assert_exactly(input: &DayInput, out: &DayOutput, expected: &[AnomalyClass]) {
    let f = findings(input, out);
    let has = |c| expected.contains(&c);
    let count = |c| usize::from(has(c));
    assert_eq!(f.code9.len(), count(AnomalyClass::Code9), "code9 {f:?}");
    assert_eq!(
        f.revoked.len(),
        count(AnomalyClass::Revoked),
        "revoked {f:?}"
    );
    assert_eq!(
        f.duplicates.len(),
        count(AnomalyClass::Duplicate),
        "duplicate {f:?}"
    );
    assert_eq!(
        f.unreported.len(),
        count(AnomalyClass::Unreported),
        "unreported {f:?}"
    );
    assert_eq!(
        f.uncredited.len(),
        count(AnomalyClass::NoMovement),
        "no-movement {f:?}"
    );
    assert_eq!(
        f.wrong_amount.len(),
        count(AnomalyClass::Amount),
        "amount {f:?}"
    );
    assert_eq!(f.stray.len(), count(AnomalyClass::Stray), "stray {f:?}");
    assert_eq!(f.unexplained_lines, 0, "{f:?}");
    assert_eq!(f.credited_twice, Vec::<String>::new());
    assert_eq!(f.misplaced, 0, "{f:?}");
    // Every transfer is reported once, but the unreported receipt's (none) and the
    // duplicated line's (twice).
    let dup_iuv = f.duplicates.first().map(|(_, iuv)| iuv.clone());
    let skipped = f.unreported.first().cloned();
    let mut twice = 0;
    for ((_, receipt, _), n) in &f.reported {
        if Some(receipt) == skipped.as_ref() {
            assert_eq!(*n, 0, "unreported receipt {receipt} is in a flow");
        } else if *n == 2 {
            twice += 1;
        } else {
            assert_eq!(*n, 1, "receipt {receipt} is reported {n} times");
        }
    }
    assert_eq!(twice, usize::from(dup_iuv.is_some()), "{f:?}");
    // Each flow holds one (ente, PSP, IBAN) triple: its receiver and IBAN were checked per
    // line above; its lines' PSP is the sender.
    for fl in &out.flows {
        for l in &fl.lines {
            if let Some(p) = input.payments.iter().find(|p| p.receipt_id == l.iur) {
                assert_eq!(fl.bic_pouring_bank, p.psp.bic);
                assert!(
                    fl.flow_id.contains(&p.psp.id),
                    "{} from {}",
                    fl.flow_id,
                    p.psp.id
                );
            }
        }
    }
    let classes: BTreeSet<AnomalyClass> = out.injected.iter().map(|i| i.class).collect();
    assert_eq!(classes, expected.iter().copied().collect::<BTreeSet<_>>());
    assert_eq!(out.injected.len(), expected.len());
    for i in &out.injected {
        let flow = i.flow_id.clone();
        match i.class {
            AnomalyClass::Code9 => assert_eq!(Some(&f.code9[0]), flow.zip(i.iuv.clone()).as_ref()),
            AnomalyClass::Revoked => {
                assert_eq!(Some(&f.revoked[0]), flow.zip(i.iuv.clone()).as_ref())
            }
            AnomalyClass::Duplicate => {
                assert_eq!(Some(&f.duplicates[0]), flow.zip(i.iuv.clone()).as_ref())
            }
            AnomalyClass::NoMovement => assert_eq!(flow.as_ref(), Some(&f.uncredited[0])),
            AnomalyClass::Amount => assert_eq!(flow.as_ref(), Some(&f.wrong_amount[0])),
            AnomalyClass::Unreported => {
                let p = input
                    .payments
                    .iter()
                    .find(|p| p.receipt_id == f.unreported[0]);
                assert_eq!(i.iuv.as_deref(), p.map(|p| p.iuv.as_str()));
            }
            AnomalyClass::Stray => assert!(i.detail.contains(&f.stray[0])),
        }
    }
}

fn assert_documents_valid(out: &DayOutput, version: opi::Version) {
    let flows: Vec<String> = out.flows.iter().map(fdr::render).collect();
    let journals: Vec<String> = out
        .journals
        .iter()
        .map(|j| opi::render(&j.journal))
        .collect();
    assert_valid(&fdr_xsd(), &flows);
    assert_valid(&opi_xsd(version), &journals);
    for j in &out.journals {
        assert_eq!(j.journal.version, version);
    }
}

#[test]
fn without_anomalies_every_transfer_is_reported_once_and_every_flow_credited_once() {
    for seed in [0, 1, 42, u64::MAX] {
        let input = input(Anomalies::default(), seed);
        let out = plan(&input).unwrap();
        assert_eq!(out.flows.len(), 5);
        assert_eq!(out.journals.len(), 4);
        assert!(out.injected.is_empty());
        assert_exactly(&input, &out, &[]);
        assert_documents_valid(&out, opi::Version::V1_8);
        let lines: usize = out.flows.iter().map(|f| f.lines.len()).sum();
        let transfers: usize = input.payments.iter().map(|p| p.transfers.len()).sum();
        assert_eq!(lines, transfers);
    }
}

#[test]
fn each_anomaly_switch_alone_produces_exactly_its_anomaly() {
    for class in AnomalyClass::ALL {
        for seed in [3, 17, 2024] {
            let input = input(Anomalies::only(class), seed);
            let out = plan(&input).unwrap_or_else(|e| panic!("{class}: {e}"));
            assert_exactly(&input, &out, &[class]);
            assert_documents_valid(&out, opi::Version::V1_8);
        }
    }
}

#[test]
fn all_anomalies_together_are_each_produced_once() {
    for seed in 0..12 {
        let input = input(Anomalies::all(), seed);
        let out = plan(&input).unwrap();
        assert_exactly(&input, &out, &AnomalyClass::ALL);
        assert_documents_valid(&out, opi::Version::V1_8);
    }
    let mut old = input(Anomalies::all(), 5);
    old.opi_version = opi::Version::V1_7_1;
    let out = plan(&old).unwrap();
    assert_exactly(&old, &out, &AnomalyClass::ALL);
    assert_documents_valid(&out, opi::Version::V1_7_1);
}

#[test]
fn the_code9_line_uses_the_first_payable_position_whose_ente_has_a_flow() {
    let mut input = input(Anomalies::only(AnomalyClass::Code9), 9);
    input.payable = vec![
        // Its ente has no flow today.
        Payable {
            iuv: "01000000000000999".into(),
            ente: "99999999999".into(),
            amount_cents: Some(1),
        },
        // Already paid.
        Payable {
            iuv: input.payments[0].iuv.clone(),
            ente: E1.into(),
            amount_cents: Some(1),
        },
        Payable {
            iuv: "01000000000000144".into(),
            ente: E2.into(),
            amount_cents: Some(9_900),
        },
    ];
    let out = plan(&input).unwrap();
    assert_exactly(&input, &out, &[AnomalyClass::Code9]);
    let (flow, line) = out
        .flows
        .iter()
        .flat_map(|f| f.lines.iter().map(move |l| (f, l)))
        .find(|(_, l)| l.outcome == OutcomeCode::NoRpt)
        .unwrap();
    assert_eq!(line.iuv, "01000000000000144");
    assert_eq!(line.amount_cents, 9_900);
    assert_eq!(flow.receiver.id, E2);
}

#[test]
fn an_invented_code9_iuv_is_a_17_digit_aux_3_iuv_with_valid_check_digits() {
    for seed in 0..20 {
        let out = plan(&input(Anomalies::only(AnomalyClass::Code9), seed)).unwrap();
        let iuv = out.injected[0].iuv.clone().unwrap();
        assert_eq!(iuv.len(), 17, "{iuv}");
        assert!(iuv.bytes().all(|b| b.is_ascii_digit()));
        let body: u64 = format!("3{}", &iuv[..15]).parse().unwrap();
        assert_eq!(format!("{:02}", body % 93), &iuv[15..], "{iuv}");
    }
}

#[test]
fn the_same_seed_gives_the_same_day_and_another_seed_another_noise() {
    let a = plan(&input(Anomalies::all(), 77)).unwrap();
    let b = plan(&input(Anomalies::all(), 77)).unwrap();
    assert_eq!(a, b);
    let render = |o: &DayOutput| {
        let mut s: Vec<String> = o.flows.iter().map(fdr::render).collect();
        s.extend(o.journals.iter().map(|j| opi::render(&j.journal)));
        s
    };
    assert_eq!(render(&a), render(&b));
    let c = plan(&input(Anomalies::all(), 78)).unwrap();
    assert_ne!(render(&a), render(&c));
    // The input order does not matter.
    let mut shuffled = input(Anomalies::all(), 77);
    shuffled.payments.reverse();
    assert_eq!(plan(&shuffled).unwrap(), a);
}

#[test]
fn multi_beneficiary_payments_are_split_across_the_beneficiaries_flows() {
    let input = input(Anomalies::default(), 1);
    let out = plan(&input).unwrap();
    let flow_of = |iuv: &str, index: u8| {
        out.flows
            .iter()
            .find(|f| {
                f.lines
                    .iter()
                    .any(|l| l.iuv == iuv && l.index == Some(index))
            })
            .unwrap()
    };
    let p2 = &input.payments[1];
    let (first, second) = (flow_of(&p2.iuv, 1), flow_of(&p2.iuv, 2));
    assert_eq!(first.receiver.id, E1);
    assert_eq!(second.receiver.id, E2);
    assert_eq!(out.flow_ibans[&second.flow_id], E2_IBAN);
    assert_eq!(
        p2.ente, E1,
        "the payment's own ente is not the second receiver"
    );
    let p5 = &input.payments[4];
    assert_eq!(flow_of(&p5.iuv, 1).receiver.id, E3);
    assert_eq!(flow_of(&p5.iuv, 2).receiver.id, E1);
    assert_eq!(out.flow_ibans[&flow_of(&p5.iuv, 2).flow_id], E1_IBAN);
    // Both transfers of p7 share a flow, in index order.
    let p7 = &input.payments[6];
    let f7 = flow_of(&p7.iuv, 1);
    let indexes: Vec<Option<u8>> = f7
        .lines
        .iter()
        .filter(|l| l.iuv == p7.iuv)
        .map(|l| l.index)
        .collect();
    assert_eq!(indexes, [Some(1), Some(2)]);
    // E1 has two banks (ABI 05428, 03069): two journals; one account per IBAN.
    let e1: Vec<&daybook::EnteJournal> = out.journals.iter().filter(|j| j.ente == E1).collect();
    assert_eq!(e1.len(), 2);
    let abis: BTreeSet<&str> = e1
        .iter()
        .map(|j| j.journal.header.bank_abi.as_str())
        .collect();
    assert_eq!(abis, BTreeSet::from(["03069", "05428"]));
    let names: BTreeSet<&str> = out.journals.iter().map(|j| j.file_name.as_str()).collect();
    assert_eq!(names.len(), 4);
    assert!(
        names.contains("opi-2024-05-17-80012345678-05428.xml"),
        "{names:?}"
    );
    let e1_05428 = e1
        .iter()
        .find(|j| j.journal.header.bank_abi == "05428")
        .unwrap();
    assert_eq!(e1_05428.journal.accounts.len(), 1);
    assert_eq!(
        e1_05428.journal.accounts[0].movements.len(),
        2,
        "one per PSP"
    );
}

#[test]
fn settlement_is_on_the_next_target2_business_day() {
    for (day, expected) in [
        (date(2024, 5, 15), date(2024, 5, 16)),
        (date(2024, 5, 17), date(2024, 5, 20)),
        (date(2024, 5, 18), date(2024, 5, 20)),
        (date(2024, 3, 28), date(2024, 4, 2)),
        (date(2024, 4, 30), date(2024, 5, 2)),
        (date(2024, 12, 24), date(2024, 12, 27)),
        (date(2024, 12, 31), date(2025, 1, 2)),
        (date(2025, 4, 17), date(2025, 4, 22)),
    ] {
        assert_eq!(daybook::regulation_date(day), expected, "after {day}");
    }
    assert!(
        !daybook::is_target_closing_day(date(2024, 8, 15)),
        "15 August is open"
    );
    let out = plan(&input(Anomalies::default(), 1)).unwrap();
    assert_eq!(out.regulation_date, date(2024, 5, 20));
    for f in &out.flows {
        assert_eq!(f.regulation_date, date(2024, 5, 20));
        assert!(f.flow_id.starts_with("2024-05-20"), "{}", f.flow_id);
        assert!(f.flow_id.ends_with(&format!(
            "-240517{:03}",
            1 + out.flows.iter().position(|g| g == f).unwrap()
        )));
    }
    for j in &out.journals {
        assert_eq!(j.journal.date, date(2024, 5, 20));
        assert_eq!(j.journal.fiscal_year, 2024);
    }
    // Saturday's flows settle on the same Monday with other ids.
    let mut saturday = input(Anomalies::default(), 1);
    saturday.day = date(2024, 5, 18);
    let sat = plan(&saturday).unwrap();
    let friday_ids: BTreeSet<&str> = out.flows.iter().map(|f| f.flow_id.as_str()).collect();
    assert!(
        sat.flows
            .iter()
            .all(|f| !friday_ids.contains(f.flow_id.as_str()))
    );
}

#[test]
fn line_dates_are_italian_calendar_dates() {
    assert_eq!(
        daybook::italian_date(utc(2024, 5, 16, 22, 30)),
        date(2024, 5, 17)
    );
    assert_eq!(
        daybook::italian_date(utc(2024, 5, 16, 21, 59)),
        date(2024, 5, 16)
    );
    assert_eq!(
        daybook::italian_date(utc(2024, 1, 10, 22, 30)),
        date(2024, 1, 10)
    );
    assert_eq!(
        daybook::italian_date(utc(2024, 1, 10, 23, 30)),
        date(2024, 1, 11)
    );
    assert_eq!(
        daybook::italian_date(utc(2024, 3, 30, 23, 30)),
        date(2024, 3, 31)
    );
    assert_eq!(
        daybook::italian_date(utc(2024, 10, 26, 22, 30)),
        date(2024, 10, 27)
    );
    assert_eq!(
        daybook::italian_date(utc(2024, 10, 27, 22, 30)),
        date(2024, 10, 27)
    );
    let input = input(Anomalies::default(), 1);
    let out = plan(&input).unwrap();
    let p6 = &input.payments[5];
    let line = out
        .flows
        .iter()
        .flat_map(|f| &f.lines)
        .find(|l| l.iuv == p6.iuv)
        .unwrap();
    assert_eq!(line.date, date(2024, 5, 17));
}

#[test]
fn the_remittance_is_noisy_yet_always_yields_the_flow_id() {
    let mut causali = Vec::new();
    let mut expected = Vec::new();
    for seed in 0..60 {
        let out = plan(&input(Anomalies::default(), seed)).unwrap();
        for j in &out.journals {
            for a in &j.journal.accounts {
                for m in &a.movements {
                    causali.push(m.causale.clone());
                    let id = out
                        .flows
                        .iter()
                        .find(|f| m.causale.replace(' ', "").contains(&f.flow_id))
                        .map(|f| f.flow_id.clone());
                    expected.push(id);
                }
            }
        }
    }
    assert_eq!(remittance_ids(&causali), expected);
    assert!(expected.iter().all(Option::is_some));
    let some = |p: &dyn Fn(&String) -> bool| causali.iter().any(p);
    assert!(some(&|c| c.contains("/PUR/LGPE-RIVERSAMENTO/")));
    assert!(some(&|c| c.contains(".PUR.LGPE-RIVERSAMENTO.")));
    assert!(some(&|c| c.contains("RI1/PUR") || c.contains("RI1.PUR")));
    assert!(some(&|c| c.contains("TXT")));
    assert!(some(&|c| c.contains("bonifico") || c.contains("accredito")));
    assert!(
        some(&|c| c.contains("-05-20") && !c.contains("2024-05-20")),
        "a space inside a date"
    );
    assert!(causali.iter().all(|c| c.chars().count() <= 140));
}

#[test]
fn parse_anomalies_accepts_exactly_the_seven_names() {
    assert_eq!(parse_anomalies("").unwrap(), Anomalies::default());
    assert_eq!(
        parse_anomalies("code9,amount,duplicate,unreported,no-movement,stray,revoked").unwrap(),
        Anomalies::all()
    );
    let some = parse_anomalies(" stray , no-movement").unwrap();
    assert!(some.stray && some.no_movement && !some.code9 && !some.amount);
    for class in AnomalyClass::ALL {
        assert_eq!(
            parse_anomalies(class.name()).unwrap(),
            Anomalies::only(class)
        );
    }
    for bad in [
        "all",
        "Code9",
        "code-9",
        "no_movement",
        "stray,",
        "code9,,amount",
        "x",
    ] {
        assert!(parse_anomalies(bad).is_err(), "{bad} was accepted");
    }
}

#[test]
fn impossible_injections_and_bad_payments_are_refused() {
    let one = vec![payments().remove(0)];
    let mut day = DayInput::new(date(2024, 5, 17), one, 1);
    day.anomalies = parse_anomalies("amount,no-movement").unwrap();
    assert!(matches!(
        plan(&day),
        Err(DaybookError::CannotInject {
            class: AnomalyClass::Amount,
            ..
        })
    ));
    day.anomalies = parse_anomalies("revoked,duplicate").unwrap();
    assert!(matches!(
        plan(&day),
        Err(DaybookError::CannotInject {
            class: AnomalyClass::Duplicate,
            ..
        })
    ));
    let empty = DayInput::new(date(2024, 5, 17), Vec::new(), 1);
    let out = plan(&empty).unwrap();
    assert!(out.flows.is_empty() && out.journals.is_empty());
    for class in AnomalyClass::ALL {
        let mut e = empty.clone();
        e.anomalies = Anomalies::only(class);
        assert!(plan(&e).is_err(), "{class} on an empty day");
    }
    let mut bad = payments();
    bad[0].transfers[0].index = 6;
    assert!(matches!(
        plan(&DayInput::new(date(2024, 5, 17), bad, 1)),
        Err(DaybookError::InvalidPayment { .. })
    ));
    let mut bad = payments();
    bad[0].psp.id = "A_PSP_ID_TOO_LONG".into();
    assert!(plan(&DayInput::new(date(2024, 5, 17), bad, 1)).is_err());
}

#[test]
fn given_ente_profiles_fill_the_journal_header_and_the_flow_receiver_name() {
    let mut input = input(Anomalies::default(), 1);
    input.enti = vec![EnteProfile {
        fiscal_code: E2.into(),
        name: "Comune di Cefalù & Uniti".into(),
        ipa_code: "UFZ9X1".into(),
        istat_code: "082027000".into(),
        a2a_code: "A2A-00000042".into(),
        bank_code: "E2-BT".into(),
    }];
    let out = plan(&input).unwrap();
    let j = out.journals.iter().find(|j| j.ente == E2).unwrap();
    assert_eq!(j.journal.header.ente_name, "Comune di Cefalù & Uniti");
    assert_eq!(j.journal.header.ente_ipa_code, "UFZ9X1");
    assert_eq!(j.journal.header.bank_abi, "07601");
    for f in out.flows.iter().filter(|f| f.receiver.id == E2) {
        assert_eq!(f.receiver.name.as_deref(), Some("Comune di Cefalù & Uniti"));
    }
    let derived = EnteProfile::derived(E1);
    let e1 = out.journals.iter().find(|j| j.ente == E1).unwrap();
    assert_eq!(e1.journal.header.ente_ipa_code, derived.ipa_code);
    assert_documents_valid(&out, opi::Version::V1_8);
}
