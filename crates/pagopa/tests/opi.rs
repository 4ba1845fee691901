//! The OPI "giornale di cassa" writer against the official 1.7.1 and 1.8 schemas (with the
//! global OPI schema and XML-DSig they import), checked by libxml2's `xmllint`.
#![allow(clippy::unwrap_used)]

mod support;

use chrono::NaiveDate;
use pagopa::opi::{
    self, Account, DocumentType, ExecutionType, Header, Journal, Movement, MovementKind,
    OperationType, Party, Provisional, StampDuty, Version, render,
};
use support::{assert_valid, opi_xsd as xsd, xmllint, xpath_texts};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn credit(number: u64, amount_cents: i64, causale: &str) -> Movement {
    Movement {
        ente_flow_id: "GDC-2024052080012345678054282#001#001".into(),
        number,
        kind: MovementKind::Incoming,
        document: DocumentType::SospesoEntrata,
        operation: OperationType::Eseguito,
        document_number: 141_000 + number,
        document_progressive: 0,
        amount_cents,
        receipt_number: Some(141_000 + number),
        booking_date: date(2024, 5, 20),
        siope_date: date(2024, 5, 20),
        value_date: Some(date(2024, 5, 20)),
        execution: ExecutionType::SepaCreditTransfer,
        coordinates: Some("IT60X0542811101000000123456".into()),
        operation_ref: Some("0306909606321320480000000001IT".into()),
        end_to_end_id: Some("SCT202405170011234567890".into()),
        stamp_duty: StampDuty::Exempt,
        client: Party {
            name: "Intesa Sanpaolo S.p.A.".into(),
            tax_code: Some("00799960158".into()),
        },
        causale: causale.into(),
        provisionals: Vec::new(),
    }
}

fn journal(version: Version) -> Journal {
    let mut reversale = credit(3, 250_000, "REVERSALE 12/2024 TARI");
    reversale.document = DocumentType::Reversale;
    reversale.operation = OperationType::Regolarizzato;
    reversale.document_progressive = 1;
    reversale.receipt_number = None;
    reversale.value_date = None;
    reversale.coordinates = None;
    reversale.operation_ref = None;
    reversale.end_to_end_id = None;
    reversale.client.tax_code = None;
    reversale.provisionals = vec![
        Provisional {
            number: 141_001,
            amount_cents: 150_000,
        },
        Provisional {
            number: 141_002,
            amount_cents: 100_000,
        },
    ];
    let mut mandato = credit(4, 9_990, "MANDATO 7/2024 FORNITURA CANCELLERIA");
    mandato.kind = MovementKind::Outgoing;
    mandato.document = DocumentType::Mandato;
    mandato.document_progressive = 1;
    mandato.stamp_duty = StampDuty::ChargedToClient;
    Journal {
        version,
        header: Header {
            bank_abi: "05428".into(),
            created_at: date(2024, 5, 21).and_hms_opt(6, 30, 0).unwrap(),
            ente_ipa_code: "UFABC1".into(),
            ente_name: "Comune di Esempio".into(),
            ente_istat_code: "012345678".into(),
            ente_fiscal_code: "80012345678".into(),
            ente_a2a_code: "A2A-12345678".into(),
            bank_a2a_code: "A2A-87654321".into(),
            ente_bank_code: "0001234".into(),
        },
        bt_flow_id: opi::bt_flow_id(date(2024, 5, 20), "80012345678054282", 1, 1).unwrap(),
        page: 1,
        total_pages: 1,
        ente_reference: Some("RIF-01".into()),
        fiscal_year: 2024,
        date: date(2024, 5, 20),
        accounts: vec![
            Account {
                code: "X0542811101000000123456".into(),
                description: Some("IT60X0542811101000000123456".into()),
                movements: vec![
                    credit(
                        1,
                        123_456,
                        "ACCREDITO BONIFICO RI1/PUR/LGPE-RIVERSAMENTO/URI/2024-05-20BCITITMM-240517001",
                    ),
                    credit(2, 1, "BONIFICO A VOSTRO FAVORE"),
                    reversale,
                    mandato,
                ],
                opening_balance_cents: Some(1_000_000),
            },
            Account {
                code: "0000001".into(),
                description: None,
                movements: Vec::new(),
                opening_balance_cents: None,
            },
        ],
    }
}

#[test]
fn a_journal_validates_against_the_schema_of_its_version() {
    for version in [Version::V1_7_1, Version::V1_8] {
        let j = journal(version);
        j.validate().unwrap();
        let xml = render(&j);
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
        assert_valid(&xsd(version), std::slice::from_ref(&xml));
        assert_eq!(xpath_texts(&xml, "movimento_conto_evidenza").len(), 4);
        assert_eq!(xpath_texts(&xml, "sospeso").len(), 2);
    }
    let mut minimal = journal(Version::V1_8);
    minimal.ente_reference = None;
    minimal.accounts.truncate(1);
    minimal.accounts[0].movements.clear();
    minimal.accounts[0].opening_balance_cents = None;
    minimal.accounts[0].description = None;
    minimal.validate().unwrap();
    assert_valid(&xsd(Version::V1_8), &[render(&minimal)]);
}

#[test]
fn sepa_instant_is_allowed_only_from_version_1_8() {
    let mut docs = Vec::new();
    for version in [Version::V1_7_1, Version::V1_8] {
        let mut j = journal(version);
        j.accounts[0].movements[0].execution = ExecutionType::SepaInstantCreditTransfer;
        assert_eq!(j.validate().is_ok(), version == Version::V1_8);
        docs.push(render(&j));
    }
    let old = xmllint(&xsd(Version::V1_7_1), &docs[..1]);
    assert!(
        old[0].as_ref().unwrap_err().contains("tipo_esecuzione"),
        "{old:?}"
    );
    assert_valid(&xsd(Version::V1_8), &docs[1..]);
}

#[test]
fn the_mandatory_signature_is_a_placeholder_of_the_xmldsig_shape() {
    let xml = render(&journal(Version::V1_8));
    let start = xml.find("  <ds:Signature").unwrap();
    let end = xml.find("</ds:Signature>\n").unwrap() + "</ds:Signature>\n".len();
    assert!(xml[end..].starts_with("</flusso_giornale_di_cassa>"));
    let unsigned = format!("{}{}", &xml[..start], &xml[end..]);
    let no_value = xml.replace(
        &xml[xml.find("    <ds:SignatureValue>").unwrap()
            ..xml.find("</ds:SignatureValue>\n").unwrap() + "</ds:SignatureValue>\n".len()],
        "",
    );
    let results = xmllint(&xsd(Version::V1_8), &[xml, unsigned, no_value]);
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert!(results[1].is_err(), "the schema requires the signature");
    assert!(
        results[2].is_err(),
        "the placeholder needs its SignatureValue"
    );
}

#[test]
fn amounts_have_two_decimals_and_at_most_fifteen_digits() {
    let mut j = journal(Version::V1_8);
    let amounts = [1, 123_456, -150, opi::MAX_AMOUNT_CENTS];
    j.accounts[0].movements = amounts
        .iter()
        .enumerate()
        .map(|(i, &a)| credit(i as u64 + 1, a, "X"))
        .collect();
    j.accounts[0].opening_balance_cents = Some(0);
    j.accounts[0].movements[3].kind = MovementKind::Outgoing;
    j.validate().unwrap();
    let xml = render(&j);
    assert_valid(&xsd(Version::V1_8), std::slice::from_ref(&xml));
    assert_eq!(
        xpath_texts(&xml, "importo"),
        ["0.01", "1234.56", "-1.50", "9999999999999.99"]
    );
    assert_eq!(
        xpath_texts(&xml, "totale_entrate_conto_evidenza"),
        ["1233.07"]
    );
    assert_eq!(
        xpath_texts(&xml, "totale_uscite_conto_evidenza"),
        ["9999999999999.99"]
    );
    assert_eq!(
        xpath_texts(&xml, "saldo_finale_conto_evidenza"),
        ["-9999999998766.92"]
    );

    // 10000000000000.01: 16 significant digits (the schema does not count trailing zeros,
    // so MAX + 1 = 10000000000000.00 would be valid for it).
    j.accounts[0].movements[3].amount_cents = opi::MAX_AMOUNT_CENTS + 2;
    j.accounts[0].opening_balance_cents = None;
    let err = j.validate().unwrap_err();
    assert!(err.field.ends_with(".importo"), "{err}");
    let results = xmllint(&xsd(Version::V1_8), &[render(&j)]);
    assert!(
        results[0].as_ref().unwrap_err().contains("importo"),
        "{results:?}"
    );
}

#[test]
fn the_balances_of_an_account_follow_its_movements() {
    let xml = render(&journal(Version::V1_8));
    // 1_000_000 + (123_456 + 1 + 250_000) - 9_990 cents
    assert_eq!(
        xpath_texts(&xml, "saldo_precedente_conto_evidenza"),
        ["10000.00"]
    );
    assert_eq!(
        xpath_texts(&xml, "totale_entrate_conto_evidenza"),
        ["3734.57"]
    );
    assert_eq!(xpath_texts(&xml, "totale_uscite_conto_evidenza"), ["99.90"]);
    assert_eq!(
        xpath_texts(&xml, "saldo_finale_conto_evidenza"),
        ["13634.67"]
    );
}

#[test]
fn header_and_movement_rules_are_enforced_like_the_schema() {
    type Mutation = (&'static str, fn(&mut Journal));
    let mutations: Vec<Mutation> = vec![
        ("codice_ABI_BT", |j| j.header.bank_abi = "0542".into()),
        ("codice_ABI_BT", |j| j.header.bank_abi = "0542A".into()),
        ("codice_ente", |j| j.header.ente_ipa_code = "ufabc1".into()),
        ("codice_ente", |j| j.header.ente_ipa_code = "UFABC12".into()),
        ("descrizione_ente", |j| j.header.ente_name.clear()),
        ("codice_istat_ente", |j| {
            j.header.ente_istat_code = "01234567".into()
        }),
        ("codice_istat_ente", |j| {
            j.header.ente_istat_code = "0123456789012345".into()
        }),
        ("codice_fiscale_ente", |j| {
            j.header.ente_fiscal_code = "rssmra80a01h501u".into()
        }),
        ("codice_fiscale_ente", |j| {
            j.header.ente_fiscal_code = "8001234567".into()
        }),
        ("codice_tramite_ente", |j| {
            j.header.ente_a2a_code = "A2A-1234567".into()
        }),
        ("codice_tramite_BT", |j| {
            j.header.bank_a2a_code = "B2B-12345678".into()
        }),
        ("codice_ente_BT", |j| j.header.ente_bank_code.clear()),
        ("identificativo_flusso_BT", |j| {
            j.bt_flow_id = "GDC-20240520SHORT#001#001".into()
        }),
        ("identificativo_flusso_BT", |j| {
            j.bt_flow_id = "GDC-2024052080012345678#1#001".into()
        }),
        ("pagina", |j| j.page = 0),
        ("pagine_totali", |j| j.total_pages = 10_000_000),
        ("esercizio", |j| j.fiscal_year = 2100),
        ("informazioni_conto_evidenza", |j| j.accounts.clear()),
        ("conto_evidenza", |j| j.accounts[0].code = "C".repeat(26)),
        ("conto_evidenza", |j| j.accounts[0].code.clear()),
        ("descrizione_conto_evidenza", |j| {
            j.accounts[0].description = Some(String::new())
        }),
        ("movimento_conto_evidenza[1].identificativo_flusso", |j| {
            j.accounts[0].movements[0].ente_flow_id = "GDC 1".into()
        }),
        ("movimento_conto_evidenza[1].identificativo_flusso", |j| {
            j.accounts[0].movements[0].ente_flow_id = "F".repeat(71)
        }),
        ("movimento_conto_evidenza[1].numero_documento", |j| {
            j.accounts[0].movements[0].document_number = opi::MAX_NUMBER + 1
        }),
        ("movimento_conto_evidenza[1].end_to_end_id", |j| {
            j.accounts[0].movements[0].end_to_end_id = Some("E".repeat(36))
        }),
        ("movimento_conto_evidenza[1].coordinate", |j| {
            j.accounts[0].movements[0].coordinates = Some(String::new())
        }),
        ("movimento_conto_evidenza[1].anagrafica_cliente", |j| {
            j.accounts[0].movements[0].client.name.clear()
        }),
        ("movimento_conto_evidenza[1].codice_fiscale_cliente", |j| {
            j.accounts[0].movements[0].client.tax_code = Some("C".repeat(36))
        }),
        ("movimento_conto_evidenza[1].causale", |j| {
            j.accounts[0].movements[0].causale.clear()
        }),
        ("movimento_conto_evidenza[3].numero_provvisorio", |j| {
            j.accounts[0].movements[2].provisionals[0].number = 0
        }),
        ("movimento_conto_evidenza[3].importo_provvisorio", |j| {
            j.accounts[0].movements[2].provisionals[0].amount_cents = 0
        }),
        ("movimento_conto_evidenza[3].sospeso", |j| {
            let p = j.accounts[0].movements[2].provisionals[0].clone();
            j.accounts[0].movements[2].provisionals = vec![p; 1001]
        }),
    ];
    let base = journal(Version::V1_8);
    base.validate().unwrap();
    let mut docs = vec![render(&base)];
    for (field, mutate) in &mutations {
        let mut j = base.clone();
        mutate(&mut j);
        let err = j.validate().unwrap_err();
        assert_eq!(&err.field, field, "{err}");
        docs.push(render(&j));
    }
    let results = xmllint(&xsd(Version::V1_8), &docs);
    assert!(
        results[0].is_ok(),
        "the unmutated journal: {:?}",
        results[0]
    );
    for ((field, _), result) in mutations.iter().zip(&results[1..]) {
        assert!(result.is_err(), "the schema accepted a bad {field}");
    }
}

#[test]
fn causale_and_names_with_markup_and_accents_read_back_unchanged() {
    let mut j = journal(Version::V1_7_1);
    let causale =
        "Accredito <bonifico> & \"RIVERSAMENTO\" — città di Cefalù 🚀 /PUR/LGPE-RIVERSAMENTO/URI/X";
    j.accounts[0].movements[0].causale = causale.into();
    j.accounts[0].movements[0].client.name = "D'Amico & Figli <srl>".into();
    j.header.ente_name = "Comune di Forlì-Cesena & C.".into();
    j.validate().unwrap();
    let xml = render(&j);
    assert!(xml.contains("&lt;bonifico&gt; &amp;"));
    assert_valid(&xsd(Version::V1_7_1), std::slice::from_ref(&xml));
    assert_eq!(xpath_texts(&xml, "causale")[0], causale);
    assert_eq!(
        xpath_texts(&xml, "anagrafica_cliente")[0],
        "D'Amico & Figli <srl>"
    );
    assert_eq!(
        xpath_texts(&xml, "descrizione_ente")[0],
        "Comune di Forlì-Cesena & C."
    );
}

#[test]
fn the_bank_journal_id_has_the_gdc_shape() {
    let id = opi::bt_flow_id(date(2024, 5, 20), "80012345678054282", 2, 13).unwrap();
    assert_eq!(id, "GDC-2024052080012345678054282#002#013");
    assert!(opi::bt_flow_id(date(2024, 5, 20), "SHORT", 1, 1).is_err());
    assert!(opi::bt_flow_id(date(2024, 5, 20), "800123-45678", 1, 1).is_err());
    assert!(opi::bt_flow_id(date(2024, 5, 20), &"A".repeat(51), 1, 1).is_err());
    assert!(opi::bt_flow_id(date(2024, 5, 20), &"A".repeat(50), 1, 1).is_ok());
    assert!(opi::bt_flow_id(date(2024, 5, 20), "80012345678", 1000, 1).is_err());
}
