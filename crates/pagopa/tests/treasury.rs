//! The treasury statement readers: OPI journals the writer renders (and hand-written ones
//! with every optional element, validated by `xmllint` against the official 1.7.1 and 1.8
//! schemas first) read back exactly; each schema facet broken is refused by both `xmllint`
//! and the reader, which names the element and its line; camt.053 and CSV statements.
#![allow(clippy::unwrap_used)]

mod support;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use pagopa::daybook::{self, Anomalies, DayInput, Paid, PaidTransfer, Psp};
use pagopa::opi::{
    self, Account, DocumentType, ExecutionType, Header, Journal, Movement, MovementKind,
    OperationType, Party, Provisional, StampDuty, Version, render,
};
use pagopa::read::ReadError;
use pagopa::remittance::{self, Remittance};
use pagopa::treasury::{
    self, BankMovement, StatementFormat, parse, parse_camt053, parse_csv, parse_opi, read_opi,
};
use support::{assert_valid, opi_xsd as xsd, xmllint};

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
    let mut reversale = credit(3, 250_000, "REVERSALE 12/2024 TARI <&> città");
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
    let mut storno = credit(5, -1_500, "STORNO BONIFICO");
    storno.operation = OperationType::Stornato;
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
        bt_flow_id: opi::bt_flow_id(date(2024, 5, 20), "80012345678054282", 1, 2).unwrap(),
        page: 1,
        total_pages: 2,
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
                    storno,
                ],
                opening_balance_cents: Some(1_000_000),
            },
            Account {
                code: "0000001".into(),
                description: None,
                movements: vec![credit(1, 700, "X")],
                opening_balance_cents: None,
            },
        ],
    }
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn paid(n: u32, ente: &str, psp: &Psp, at: DateTime<Utc>, t: Vec<(i64, &str, &str)>) -> Paid {
    Paid {
        iuv: format!("010000000000{n:05}"),
        receipt_id: format!("{n:02}c4f1e2a9b8d7c6e5f4a3b2c1d0e9f8"),
        ente: ente.into(),
        transfers: t
            .into_iter()
            .enumerate()
            .map(|(i, (amount_cents, beneficiary, iban))| PaidTransfer {
                index: u8::try_from(i + 1).unwrap(),
                amount_cents,
                beneficiary: beneficiary.into(),
                iban: iban.into(),
            })
            .collect(),
        psp: psp.clone(),
        paid_at: at,
    }
}

fn day_input(seed: u64, version: Version) -> DayInput {
    let intesa = Psp {
        id: "BCITITMM".into(),
        name: "Intesa Sanpaolo S.p.A.".into(),
        bic: Some("BCITITMM".into()),
    };
    let poste = Psp {
        id: "60000000001".into(),
        name: "Poste Italiane".into(),
        bic: None,
    };
    let (e1, e2) = ("80012345678", "01199250158");
    let (i1, i2) = ("IT60X0542811101000000123456", "IT28W0760101600000000012345");
    let payments = vec![
        paid(
            1,
            e1,
            &intesa,
            utc(2024, 5, 17, 7, 1),
            vec![(1_500, e1, i1)],
        ),
        paid(
            2,
            e1,
            &intesa,
            utc(2024, 5, 17, 8, 2),
            vec![(2_500, e1, i1), (700, e2, i2)],
        ),
        paid(
            3,
            e1,
            &poste,
            utc(2024, 5, 17, 9, 3),
            vec![(10_000, e1, i1)],
        ),
        paid(4, e2, &poste, utc(2024, 5, 17, 9, 4), vec![(99, e2, i2)]),
    ];
    let mut input = DayInput::new(date(2024, 5, 17), payments, seed);
    input.opi_version = version;
    input.anomalies = Anomalies {
        stray: true,
        ..Anomalies::default()
    };
    input
}

/// The common form the reader must give for a journal.
fn expected_movements(j: &Journal) -> Vec<BankMovement> {
    j.accounts
        .iter()
        .flat_map(|a| {
            a.movements.iter().map(move |m| BankMovement {
                id: format!("{}/{}", a.code, m.number),
                account: a.code.clone(),
                incoming: m.kind == MovementKind::Incoming,
                amount_cents: m.amount_cents.abs(),
                booking_date: m.booking_date,
                value_date: m.value_date,
                causale: m.causale.clone(),
                end_to_end_id: m.end_to_end_id.clone(),
                reference: m.operation_ref.clone(),
                reversal: m.operation == OperationType::Stornato || m.amount_cents < 0,
            })
        })
        .collect()
}

#[test]
fn every_rendered_journal_reads_back_the_same() {
    let mut journals = Vec::new();
    for version in [Version::V1_7_1, Version::V1_8] {
        journals.push(journal(version));
        let mut minimal = journal(version);
        minimal.ente_reference = None;
        minimal.accounts.truncate(1);
        minimal.accounts[0].movements.clear();
        minimal.accounts[0].opening_balance_cents = None;
        minimal.accounts[0].description = None;
        journals.push(minimal);
        for seed in [0, 7, 42] {
            let out = daybook::plan(&day_input(seed, version)).unwrap();
            journals.extend(out.journals.into_iter().map(|j| j.journal));
        }
    }
    let mut instant = journal(Version::V1_8);
    instant.accounts[0].movements[1].execution = ExecutionType::SepaInstantCreditTransfer;
    journals.push(instant);
    for version in [Version::V1_7_1, Version::V1_8] {
        let docs: Vec<String> = journals
            .iter()
            .filter(|j| j.version == version)
            .map(render)
            .collect();
        assert_valid(&xsd(version), &docs);
    }
    for j in &journals {
        let xml = render(j);
        let read = read_opi(xml.as_bytes(), Some(j.version)).unwrap();
        assert_eq!(&read.journal, j);
        assert!(!read.signature_first);
        assert!(read.signature.starts_with("<ds:Signature"));
        assert!(read.signature.ends_with("</ds:Signature>"));
        assert!(xml.contains(&read.signature));
        let st = parse(xml.as_bytes()).unwrap();
        let uses_instant = j
            .accounts
            .iter()
            .flat_map(|a| &a.movements)
            .any(|m| m.execution == ExecutionType::SepaInstantCreditTransfer);
        let format = if uses_instant {
            StatementFormat::Opi1_8
        } else {
            StatementFormat::Opi1_7_1
        };
        assert_eq!(st.format, format);
        assert_eq!(st.document_id, j.bt_flow_id);
        assert_eq!(
            st.ente_fiscal_code.as_deref(),
            Some(&*j.header.ente_fiscal_code)
        );
        assert_eq!(st.date, Some(j.date));
        assert_eq!(st.signature.as_deref(), Some(&*read.signature));
        assert_eq!(st.movements, expected_movements(j));
        assert_eq!(parse_opi(xml.as_bytes()).unwrap(), st);
    }
}

#[test]
fn the_daybook_credits_name_their_flows_through_the_remittance() {
    for seed in 0..20 {
        let out = daybook::plan(&day_input(seed, Version::V1_8)).unwrap();
        let mut credited = 0;
        for j in &out.journals {
            let st = parse(render(&j.journal).as_bytes()).unwrap();
            for m in &st.movements {
                match remittance::parse(&m.causale) {
                    Some(Remittance::Flow { flow_id }) => {
                        let flow = out.flows.iter().find(|f| f.flow_id == flow_id);
                        let flow = flow.unwrap_or_else(|| panic!("{flow_id} in {:?}", m.causale));
                        assert_eq!(
                            m.amount_cents,
                            flow.lines.iter().map(|l| l.amount_cents).sum::<i64>()
                        );
                        credited += 1;
                    }
                    other => assert!(other.is_none(), "{:?}: {other:?}", m.causale),
                }
            }
        }
        assert_eq!(credited, out.flows.len(), "seed {seed}");
    }
}

/// A journal with every optional element the writer does not produce, the signature first.
const FULL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<flusso_giornale_di_cassa Id="GDC1">
  <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
    <ds:SignedInfo>
      <ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
      <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
      <ds:Reference URI="">
        <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
        <ds:DigestValue>AAAA</ds:DigestValue>
      </ds:Reference>
    </ds:SignedInfo>
    <ds:SignatureValue>AAAA</ds:SignatureValue>
    <ds:KeyInfo><ds:KeyName>tesoriere</ds:KeyName></ds:KeyInfo>
  </ds:Signature>
  <testata_messaggio>
    <codice_ABI_BT>05428</codice_ABI_BT>
    <data_ora_creazione_flusso>2024-05-21T06:30:00.250+02:00</data_ora_creazione_flusso>
    <codice_ente>UFABC1</codice_ente>
    <descrizione_ente>Comune di Esempio</descrizione_ente>
    <codice_istat_ente>012345678</codice_istat_ente>
    <codice_fiscale_ente>80012345678</codice_fiscale_ente>
    <codice_tramite_ente>A2A-12345678</codice_tramite_ente>
    <codice_tramite_BT>A2A-87654321</codice_tramite_BT>
    <codice_ente_BT>0001234</codice_ente_BT>
  </testata_messaggio>
  <identificativo_flusso_BT>GDC-2024052080012345678054282#001#001</identificativo_flusso_BT>
  <pagina>1</pagina>
  <pagine_totali>1</pagine_totali>
  <esercizio>2024</esercizio>
  <data_riferimento_GdC>2024-05-20</data_riferimento_GdC>
  <informazioni_conto_evidenza>
    <conto_evidenza>X0542811101000000123456</conto_evidenza>
    <movimento_conto_evidenza>
      <identificativo_flusso>GDC-2024052080012345678054282#001#001</identificativo_flusso>
      <numero_movimento>1</numero_movimento>
      <tipo_movimento>ENTRATA</tipo_movimento>
      <tipo_documento>SOSPESO ENTRATA</tipo_documento>
      <tipo_operazione>ESEGUITO</tipo_operazione>
      <numero_documento>141001</numero_documento>
      <sospeso_da_regolarizzare>
        <data_effettiva_sospeso>2024-05-20</data_effettiva_sospeso>
        <codice_gestionale_provvisorio>1234</codice_gestionale_provvisorio>
      </sospeso_da_regolarizzare>
      <tipologia_pagamento_funzionario_delegato>ORDINARIO</tipologia_pagamento_funzionario_delegato>
      <numero_pagamento_funzionario_delegato>7</numero_pagamento_funzionario_delegato>
      <progressivo_documento>0</progressivo_documento>
      <importo> 1234.50 </importo>
      <importo_ritenute>1.00</importo_ritenute>
      <numero_bolletta_quietanza>141001</numero_bolletta_quietanza>
      <numero_bolletta_quietanza_storno>0</numero_bolletta_quietanza_storno>
      <data_movimento>2024-05-20</data_movimento>
      <data_movimento_siope>2024-05-20Z</data_movimento_siope>
      <data_valuta_ente>2024-05-21</data_valuta_ente>
      <tipo_esecuzione>SEPA CREDIT TRANSFER</tipo_esecuzione>
      <coordinate>IT60X0542811101000000123456</coordinate>
      <codice_riferimento_operazione>0306909606321320480000000001IT</codice_riferimento_operazione>
      <end_to_end_id>SCT202405170011234567890</end_to_end_id>
      <codice_riferimento_interno>INT-1</codice_riferimento_interno>
      <tipo_contabilita>INFRUTTIFERO</tipo_contabilita>
      <destinazione>LIBERA</destinazione>
      <assoggettamento_bollo>ASSOGGETTATO BOLLO A CARICO ENTE</assoggettamento_bollo>
      <importo_bollo>2.00</importo_bollo>
      <assoggettamento_spese>ASSOGGETTAMENTO SPESE A CARICO ENTE</assoggettamento_spese>
      <importo_spese>0.50</importo_spese>
      <assoggettamento_commissioni>ASSOGGETTAMENTO COMMISSIONI A CARICO CLIENTE</assoggettamento_commissioni>
      <importo_commissioni>0.10</importo_commissioni>
      <cliente>
        <anagrafica_cliente>Intesa Sanpaolo S.p.A.</anagrafica_cliente>
        <indirizzo_cliente>Piazza San Carlo 156</indirizzo_cliente>
        <cap_cliente>10121</cap_cliente>
        <localita_cliente>Torino</localita_cliente>
        <provincia_cliente>TO</provincia_cliente>
        <stato_cliente>IT</stato_cliente>
        <partita_iva_cliente>10810700152</partita_iva_cliente>
        <codice_fiscale_cliente>00799960158</codice_fiscale_cliente>
      </cliente>
      <delegato>
        <anagrafica_delegato></anagrafica_delegato>
        <stato_delegato>IT</stato_delegato>
        <codice_fiscale_delegato>RSSMRA80A01H501U</codice_fiscale_delegato>
      </delegato>
      <creditore_effettivo>
        <anagrafica_creditore_effettivo>Comune di Esempio</anagrafica_creditore_effettivo>
        <partita_iva_creditore_effettivo>80012345678</partita_iva_creditore_effettivo>
      </creditore_effettivo>
      <causale>RI1/PUR/LGPE-RIVERSAMENTO/URI/2024-05-20BCITITMM-240517001 BONIFICO</causale>
      <sospeso>
        <numero_provvisorio>141001</numero_provvisorio>
        <importo_provvisorio>1234.5</importo_provvisorio>
      </sospeso>
      <dati_a_disposizione_BT>nota <x a="1"><y>libera</y></x> fine</dati_a_disposizione_BT>
    </movimento_conto_evidenza>
    <movimento_conto_evidenza>
      <identificativo_flusso>F.1</identificativo_flusso>
      <numero_movimento>1</numero_movimento>
      <tipo_movimento>USCITA</tipo_movimento>
      <tipo_documento>MANDATO</tipo_documento>
      <tipo_operazione>STORNATO</tipo_operazione>
      <numero_documento>+00012</numero_documento>
      <progressivo_documento>1</progressivo_documento>
      <importo>-9.9</importo>
      <data_movimento>2024-05-20</data_movimento>
      <data_movimento_siope>2024-05-20</data_movimento_siope>
      <tipo_esecuzione>CASSA</tipo_esecuzione>
      <assoggettamento_bollo>ESENTE BOLLO</assoggettamento_bollo>
      <cliente>
        <anagrafica_cliente>Cartoleria Rossi</anagrafica_cliente>
      </cliente>
      <causale>MANDATO 7/2024</causale>
    </movimento_conto_evidenza>
    <saldo_precedente_conto_evidenza>10000.00</saldo_precedente_conto_evidenza>
    <totale_entrate_conto_evidenza>1234.50</totale_entrate_conto_evidenza>
    <totale_uscite_conto_evidenza>9.90</totale_uscite_conto_evidenza>
    <saldo_finale_conto_evidenza>11224.60</saldo_finale_conto_evidenza>
  </informazioni_conto_evidenza>
  <saldo_complessivo_precedente>10000.00</saldo_complessivo_precedente>
  <totale_complessivo_entrate>1234.50</totale_complessivo_entrate>
  <totale_complessivo_uscite>9.90</totale_complessivo_uscite>
  <saldo_complessivo_finale>11224.60</saldo_complessivo_finale>
  <totali_esercizio>
    <fondo_di_cassa>0</fondo_di_cassa>
    <totale_reversali_riscosse>0</totale_reversali_riscosse>
    <totale_sospesi_entrata>1234.50</totale_sospesi_entrata>
    <totale_entrate>1234.50</totale_entrate>
    <deficit_di_cassa>0</deficit_di_cassa>
    <totale_mandati_pagati>9.90</totale_mandati_pagati>
    <totale_sospesi_uscita>0</totale_sospesi_uscita>
    <totale_uscite>9.90</totale_uscite>
    <saldo_esercizio>-11224.60</saldo_esercizio>
  </totali_esercizio>
  <totali_disponibilita_liquide>
    <saldo_conti_correnti>11224.60</saldo_conti_correnti>
    <saldo_conti_BI>0</saldo_conti_BI>
    <totale_vincoli>0</totale_vincoli>
    <anticipazione_accordata>0</anticipazione_accordata>
    <anticipazione_utilizzata>0</anticipazione_utilizzata>
    <disponibilita>11224.60</disponibilita>
  </totali_disponibilita_liquide>
</flusso_giornale_di_cassa>
"#;

#[test]
fn a_journal_with_every_optional_element_validates_and_reads() {
    for version in [Version::V1_7_1, Version::V1_8] {
        assert_valid(&xsd(version), &[FULL.to_owned()]);
    }
    let read = read_opi(FULL.as_bytes(), None).unwrap();
    assert!(read.signature_first);
    assert!(read.signature.starts_with("<ds:Signature xmlns:ds="));
    assert!(
        read.signature
            .contains("<ds:KeyName>tesoriere</ds:KeyName>")
    );
    let j = &read.journal;
    assert_eq!(j.version, Version::V1_7_1);
    assert_eq!(
        j.header.created_at,
        date(2024, 5, 21).and_hms_milli_opt(6, 30, 0, 250).unwrap()
    );
    assert_eq!(j.accounts[0].opening_balance_cents, Some(1_000_000));
    let m = &j.accounts[0].movements;
    assert_eq!(m[0].amount_cents, 123_450);
    assert_eq!(m[0].provisionals[0].amount_cents, 123_450);
    assert_eq!(m[0].client.tax_code.as_deref(), Some("00799960158"));
    assert_eq!(m[1].document_number, 12);
    assert_eq!(m[1].amount_cents, -990);
    let st = parse(FULL.as_bytes()).unwrap();
    assert_eq!(st.format, StatementFormat::Opi1_7_1);
    // The same numero_movimento twice in one account: the second id is disambiguated.
    let ids: Vec<&str> = st.movements.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        ["X0542811101000000123456/1", "X0542811101000000123456/1#2"]
    );
    assert!(st.movements[1].reversal && !st.movements[1].incoming);
    assert_eq!(st.movements[1].amount_cents, 990);
    assert_eq!(st.movements[0].value_date, Some(date(2024, 5, 21)));
    assert_eq!(
        remittance::parse(&st.movements[0].causale),
        Some(Remittance::Flow {
            flow_id: "2024-05-20BCITITMM-240517001".into()
        })
    );
}

/// 1-based line of the first occurrence of `needle` in `doc`.
fn line_of(doc: &str, needle: &str) -> u32 {
    let at = doc
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in the document"));
    u32::try_from(doc[..at].matches('\n').count() + 1).unwrap()
}

const M1: &str =
    "flusso_giornale_di_cassa/informazioni_conto_evidenza[1]/movimento_conto_evidenza[1]";
const M2: &str =
    "flusso_giornale_di_cassa/informazioni_conto_evidenza[1]/movimento_conto_evidenza[2]";

#[test]
fn each_broken_facet_is_refused_by_xmllint_and_by_the_reader_with_path_and_line() {
    // (what to replace, with what, the path the reader must name, the text whose line it
    // must give)
    let h = "flusso_giornale_di_cassa/testata_messaggio";
    let acc = "flusso_giornale_di_cassa/informazioni_conto_evidenza[1]";
    let root = "flusso_giornale_di_cassa";
    let cases: Vec<(&str, String, String, &str)> = vec![
        ("<codice_ABI_BT>05428<", "<codice_ABI_BT>0542<".into(), format!("{h}/codice_ABI_BT"), "<codice_ABI_BT>"),
        ("06:30:00.250+02:00<", "06:30<".into(), format!("{h}/data_ora_creazione_flusso"), "<data_ora_creazione_flusso>"),
        ("<codice_ente>UFABC1<", "<codice_ente>ufabc1<".into(), format!("{h}/codice_ente"), "<codice_ente>"),
        ("<descrizione_ente>Comune di Esempio<", "<descrizione_ente><".into(), format!("{h}/descrizione_ente"), "<descrizione_ente>"),
        ("<codice_istat_ente>012345678<", "<codice_istat_ente>01234567<".into(), format!("{h}/codice_istat_ente"), "<codice_istat_ente>"),
        ("<codice_fiscale_ente>80012345678<", "<codice_fiscale_ente>8001234567a<".into(), format!("{h}/codice_fiscale_ente"), "<codice_fiscale_ente>"),
        ("<codice_tramite_BT>A2A-87654321<", "<codice_tramite_BT>A2A-8765432<".into(), format!("{h}/codice_tramite_BT"), "<codice_tramite_BT>"),
        ("<identificativo_flusso_BT>GDC-2024052080012345678054282#001#001<", "<identificativo_flusso_BT>GDC-20240520SHORT#001#001<".into(), format!("{root}/identificativo_flusso_BT"), "<identificativo_flusso_BT>"),
        ("<pagina>1<", "<pagina>0<".into(), format!("{root}/pagina"), "<pagina>"),
        ("<pagine_totali>1<", "<pagine_totali>10000000<".into(), format!("{root}/pagine_totali"), "<pagine_totali>"),
        ("<esercizio>2024<", "<esercizio>2100<".into(), format!("{root}/esercizio"), "<esercizio>"),
        ("<data_riferimento_GdC>2024-05-20<", "<data_riferimento_GdC>2024-02-30<".into(), format!("{root}/data_riferimento_GdC"), "<data_riferimento_GdC>"),
        ("<conto_evidenza>X0542811101000000123456<", format!("<conto_evidenza>{}<", "C".repeat(26)), format!("{acc}/conto_evidenza"), "<conto_evidenza>"),
        ("<identificativo_flusso>F.1<", "<identificativo_flusso>F 1<".into(), format!("{M2}/identificativo_flusso"), "<identificativo_flusso>F"),
        ("<numero_movimento>1</numero_movimento>\n      <tipo_movimento>USCITA", "<numero_movimento>1000000000000000000</numero_movimento>\n      <tipo_movimento>USCITA".into(), format!("{M2}/numero_movimento"), "<numero_movimento>1000"),
        ("<tipo_movimento>ENTRATA<", "<tipo_movimento>Entrata<".into(), format!("{M1}/tipo_movimento"), "<tipo_movimento>"),
        ("<tipo_documento>SOSPESO ENTRATA<", "<tipo_documento>SOSPESO<".into(), format!("{M1}/tipo_documento"), "<tipo_documento>"),
        ("<tipo_operazione>ESEGUITO<", "<tipo_operazione>ESEGUITA<".into(), format!("{M1}/tipo_operazione"), "<tipo_operazione>"),
        ("<numero_documento>+00012<", "<numero_documento>-12<".into(), format!("{M2}/numero_documento"), "<numero_documento>-12"),
        ("<codice_gestionale_provvisorio>1234<", "<codice_gestionale_provvisorio>12345<".into(), format!("{M1}/sospeso_da_regolarizzare/codice_gestionale_provvisorio"), "<codice_gestionale_provvisorio>"),
        ("<importo> 1234.50 <", "<importo>1234.505<".into(), format!("{M1}/importo"), "<importo>"),
        ("<importo> 1234.50 <", "<importo>123456789012345.6<".into(), format!("{M1}/importo"), "<importo>"),
        ("<importo> 1234.50 <", "<importo>1.234,50<".into(), format!("{M1}/importo"), "<importo>"),
        ("<importo_ritenute>1.00<", "<importo_ritenute>0.00<".into(), format!("{M1}/importo_ritenute"), "<importo_ritenute>"),
        ("<numero_bolletta_quietanza>141001<", "<numero_bolletta_quietanza>A1<".into(), format!("{M1}/numero_bolletta_quietanza"), "<numero_bolletta_quietanza>"),
        ("<data_movimento>2024-05-20<", "<data_movimento>20/05/2024<".into(), format!("{M1}/data_movimento"), "<data_movimento>"),
        ("<data_movimento_siope>2024-05-20Z<", "<data_movimento_siope>2024-05-20+15:00<".into(), format!("{M1}/data_movimento_siope"), "<data_movimento_siope>"),
        ("<tipo_esecuzione>SEPA CREDIT TRANSFER<", "<tipo_esecuzione>SEPA INSTANT CREDIT TRANSFER<".into(), String::new(), ""),
        ("<tipo_esecuzione>CASSA<", "<tipo_esecuzione>BONIFICO<".into(), format!("{M2}/tipo_esecuzione"), "<tipo_esecuzione>BONIFICO"),
        ("<coordinate>IT60X0542811101000000123456<", "<coordinate><".into(), format!("{M1}/coordinate"), "<coordinate>"),
        ("<end_to_end_id>SCT202405170011234567890<", format!("<end_to_end_id>{}<", "E".repeat(36)), format!("{M1}/end_to_end_id"), "<end_to_end_id>"),
        ("<codice_riferimento_interno>INT-1<", format!("<codice_riferimento_interno>{}<", "I".repeat(61)), format!("{M1}/codice_riferimento_interno"), "<codice_riferimento_interno>"),
        ("<tipo_contabilita>INFRUTTIFERO<", "<tipo_contabilita>MISTA<".into(), format!("{M1}/tipo_contabilita"), "<tipo_contabilita>"),
        ("<destinazione>LIBERA<", "<destinazione>libera<".into(), format!("{M1}/destinazione"), "<destinazione>"),
        ("<assoggettamento_bollo>ESENTE BOLLO<", "<assoggettamento_bollo>ESENTE<".into(), format!("{M2}/assoggettamento_bollo"), "<assoggettamento_bollo>ESENTE<"),
        ("<importo_bollo>2.00<", "<importo_bollo>0<".into(), format!("{M1}/importo_bollo"), "<importo_bollo>"),
        ("<assoggettamento_spese>ASSOGGETTAMENTO SPESE A CARICO ENTE<", "<assoggettamento_spese>SPESE<".into(), format!("{M1}/assoggettamento_spese"), "<assoggettamento_spese>"),
        ("<assoggettamento_commissioni>ASSOGGETTAMENTO COMMISSIONI A CARICO CLIENTE<", "<assoggettamento_commissioni>ESENTE COMMISSIONI<".into(), format!("{M1}/assoggettamento_commissioni"), "<assoggettamento_commissioni>"),
        ("<anagrafica_cliente>Cartoleria Rossi<", "<anagrafica_cliente><".into(), format!("{M2}/cliente/anagrafica_cliente"), "<anagrafica_cliente><"),
        ("<cap_cliente>10121<", format!("<cap_cliente>{}<", "1".repeat(17)), format!("{M1}/cliente/cap_cliente"), "<cap_cliente>"),
        ("<stato_cliente>IT<", "<stato_cliente>It<".into(), format!("{M1}/cliente/stato_cliente"), "<stato_cliente>"),
        ("<partita_iva_cliente>10810700152<", "<partita_iva_cliente><".into(), format!("{M1}/cliente/partita_iva_cliente"), "<partita_iva_cliente>"),
        ("<codice_fiscale_delegato>RSSMRA80A01H501U<", format!("<codice_fiscale_delegato>{}<", "R".repeat(36)), format!("{M1}/delegato/codice_fiscale_delegato"), "<codice_fiscale_delegato>"),
        ("<anagrafica_creditore_effettivo>Comune di Esempio<", "<anagrafica_creditore_effettivo><".into(), format!("{M1}/creditore_effettivo/anagrafica_creditore_effettivo"), "<anagrafica_creditore_effettivo>"),
        ("<causale>MANDATO 7/2024<", "<causale><".into(), format!("{M2}/causale"), "<causale><"),
        ("<numero_provvisorio>141001<", "<numero_provvisorio>0<".into(), format!("{M1}/sospeso[1]/numero_provvisorio"), "<numero_provvisorio>"),
        ("<importo_provvisorio>1234.5<", "<importo_provvisorio>0.001<".into(), format!("{M1}/sospeso[1]/importo_provvisorio"), "<importo_provvisorio>"),
        ("<saldo_precedente_conto_evidenza>10000.00<", "<saldo_precedente_conto_evidenza>1e4<".into(), format!("{acc}/saldo_precedente_conto_evidenza"), "<saldo_precedente_conto_evidenza>"),
        ("<fondo_di_cassa>0<", "<fondo_di_cassa>-1<".into(), format!("{root}/totali_esercizio/fondo_di_cassa"), "<fondo_di_cassa>"),
        ("<anticipazione_utilizzata>0<", "<anticipazione_utilizzata>-0.01<".into(), format!("{root}/totali_disponibilita_liquide/anticipazione_utilizzata"), "<anticipazione_utilizzata>"),
        // order, cardinality, structure
        ("<pagina>1</pagina>\n  <pagine_totali>1</pagine_totali>", "<pagine_totali>1</pagine_totali>\n  <pagina>1</pagina>".into(), format!("{root}/pagina"), "<pagine_totali>"),
        ("<esercizio>2024</esercizio>\n", String::new(), format!("{root}/esercizio"), "<data_riferimento_GdC>"),
        ("<tipo_contabilita>INFRUTTIFERO</tipo_contabilita>\n      <destinazione>LIBERA</destinazione>", "<destinazione>LIBERA</destinazione>\n      <tipo_contabilita>INFRUTTIFERO</tipo_contabilita>".into(), format!("{M1}/assoggettamento_bollo"), "<tipo_contabilita>"),
        ("<causale>MANDATO 7/2024</causale>", "<causale>MANDATO 7/2024</causale><causale>BIS</causale>".into(), format!("{M2}/causale"), "<causale>BIS"),
        ("<stato_delegato>IT</stato_delegato>", "<partita_iva_delegato>1</partita_iva_delegato>".into(), format!("{M1}/delegato/partita_iva_delegato"), "<partita_iva_delegato>"),
        ("<conto_evidenza>X0542811101000000123456</conto_evidenza>", "<conto_evidenza a=\"1\">X0542811101000000123456</conto_evidenza>".into(), format!("{acc}/conto_evidenza"), "<conto_evidenza"),
        ("<cliente>\n        <anagrafica_cliente>Cartoleria", "<cliente>testo\n        <anagrafica_cliente>Cartoleria".into(), format!("{M2}/cliente"), "<cliente>testo"),
        ("<importo>-9.9</importo>", "<importo>-9.9<x/></importo>".into(), format!("{M2}/importo"), "<importo>-9.9<x/>"),
        ("<dati_a_disposizione_BT>", "<dati_a_disposizione_BT a=\"1\">".into(), format!("{M1}/dati_a_disposizione_BT"), "<dati_a_disposizione_BT"),
        ("<ds:SignatureValue>AAAA</ds:SignatureValue>\n", String::new(), format!("{root}/Signature/SignatureValue"), "<ds:KeyInfo>"),
        ("<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">", "<ds:Signature xmlns:ds=\"urn:other\">".into(), format!("{root}/Signature"), "<ds:Signature"),
        ("<totale_vincoli>0</totale_vincoli>", "<totale_vincoli>0</totale_vincoli><vincoli_conti_BI>0</vincoli_conti_BI>".into(), format!("{root}/totali_disponibilita_liquide/anticipazione_accordata"), "<totale_vincoli>"),
        ("<flusso_giornale_di_cassa Id=\"GDC1\">", "<flusso_giornale_di_cassa Id=\"GDC1\" version=\"1\">".into(), root.to_owned(), "<flusso_giornale_di_cassa"),
    ];
    let mut docs = Vec::new();
    for (from, to, _, _) in &cases {
        assert!(
            FULL.contains(from),
            "{from} must occur (its first occurrence is changed)"
        );
        docs.push(FULL.replacen(from, to, 1));
    }
    // The signature, moved from first to nowhere: missing.
    let sig_end = FULL.find("</ds:Signature>\n").unwrap() + "</ds:Signature>\n".len();
    let unsigned = format!(
        "{}{}",
        &FULL[..FULL.find("  <ds:Signature").unwrap()],
        &FULL[sig_end..]
    );
    // Moved last, it is fine; twice, it is not.
    let sig = &FULL[FULL.find("  <ds:Signature").unwrap()..sig_end];
    let last = unsigned.replace(
        "</flusso_giornale_di_cassa>",
        &format!("{sig}</flusso_giornale_di_cassa>"),
    );
    let twice = FULL.replace(
        "</flusso_giornale_di_cassa>",
        &format!("{sig}</flusso_giornale_di_cassa>"),
    );
    let results = xmllint(&xsd(Version::V1_7_1), &docs);
    for ((from, to, path, at), (doc, result)) in cases.iter().zip(docs.iter().zip(&results)) {
        assert!(result.is_err(), "xmllint accepted {to:?} for {from:?}");
        let err: ReadError = read_opi(
            doc.as_bytes(),
            if path.is_empty() {
                Some(Version::V1_7_1)
            } else {
                None
            },
        )
        .map(|_| ())
        .unwrap_err();
        if path.is_empty() {
            assert_eq!(err.element, format!("{M1}/tipo_esecuzione"));
            continue;
        }
        assert_eq!(&err.element, path, "{to:?}: {err}");
        assert_eq!(err.line, Some(line_of(doc, at)), "{to:?}: {err}");
    }
    let results = xmllint(
        &xsd(Version::V1_8),
        &[unsigned.clone(), last.clone(), twice.clone()],
    );
    assert!(results[0].is_err() && results[1].is_ok() && results[2].is_err());
    let err = read_opi(unsigned.as_bytes(), None).unwrap_err();
    assert_eq!(err.element, "flusso_giornale_di_cassa/Signature");
    assert!(!read_opi(last.as_bytes(), None).unwrap().signature_first);
    let err = read_opi(twice.as_bytes(), None).unwrap_err();
    assert_eq!(err.element, "flusso_giornale_di_cassa/Signature");
}

#[test]
fn sepa_instant_makes_a_journal_version_1_8() {
    let doc = FULL.replacen(
        "<tipo_esecuzione>SEPA CREDIT TRANSFER<",
        "<tipo_esecuzione>SEPA INSTANT CREDIT TRANSFER<",
        1,
    );
    let r = xmllint(&xsd(Version::V1_7_1), std::slice::from_ref(&doc));
    assert!(r[0].is_err());
    assert_valid(&xsd(Version::V1_8), std::slice::from_ref(&doc));
    assert_eq!(
        parse(doc.as_bytes()).unwrap().format,
        StatementFormat::Opi1_8
    );
    let err = read_opi(doc.as_bytes(), Some(Version::V1_7_1)).unwrap_err();
    assert_eq!(err.element, format!("{M1}/tipo_esecuzione"));
    assert_eq!(err.line, Some(line_of(&doc, "<tipo_esecuzione>")));
    assert_eq!(
        read_opi(doc.as_bytes(), Some(Version::V1_8))
            .unwrap()
            .journal
            .version,
        Version::V1_8
    );
    // Without it, the hint decides.
    assert_eq!(
        read_opi(FULL.as_bytes(), Some(Version::V1_8))
            .unwrap()
            .journal
            .version,
        Version::V1_8
    );
}

#[test]
fn a_doctype_an_entity_or_a_foreign_root_is_refused() {
    let with_doctype = FULL.replacen(
        "<flusso_giornale_di_cassa",
        "<!DOCTYPE flusso_giornale_di_cassa [<!ENTITY e \"x\">]>\n<flusso_giornale_di_cassa",
        1,
    );
    let err = parse(with_doctype.as_bytes()).unwrap_err();
    assert!(err.why.contains("DOCTYPE"), "{err}");
    let entity = FULL.replacen("Comune di Esempio<", "&e;<", 1);
    assert!(parse(entity.as_bytes()).is_err());
    let err = parse(b"<r xmlns=\"urn:x\"/>").unwrap_err();
    assert_eq!(err.element, "r");
    let err = parse(b"<?xml version=\"1.0\"?>\n<a>\n<b></a>").unwrap_err();
    assert!(err.line.is_some(), "{err}");
    let deep = "<a>".repeat(treasury::MAX_DEPTH + 1) + &"</a>".repeat(treasury::MAX_DEPTH + 1);
    assert!(parse(deep.as_bytes()).unwrap_err().why.contains("deeper"));
}

#[test]
fn a_journal_of_a_hundred_thousand_movements_is_read() {
    let mut j = journal(Version::V1_8);
    j.accounts.truncate(1);
    let m = credit(
        0,
        1_000,
        "/PUR/LGPE-RIVERSAMENTO/URI/2024-05-20BCITITMM-240517001",
    );
    j.accounts[0].movements = (1..=100_000)
        .map(|n| Movement {
            number: n,
            ..m.clone()
        })
        .collect();
    let xml = render(&j);
    let st = parse(xml.as_bytes()).unwrap();
    assert_eq!(st.movements.len(), 100_000);
    assert_eq!(st.movements[99_999].id, "X0542811101000000123456/100000");
}

const CAMT_02: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <BkToCstmrStmt>
    <GrpHdr>
      <MsgId>STMT-20240520-001</MsgId>
      <CreDtTm>2024-05-21T06:00:00</CreDtTm>
    </GrpHdr>
    <Stmt>
      <Id>0542811101-2024-140</Id>
      <ElctrncSeqNb>140</ElctrncSeqNb>
      <CreDtTm>2024-05-21T06:00:00</CreDtTm>
      <FrToDt>
        <FrDtTm>2024-05-20T00:00:00</FrDtTm>
        <ToDtTm>2024-05-20T23:59:59+02:00</ToDtTm>
      </FrToDt>
      <Acct>
        <Id><IBAN>IT60X0542811101000000123456</IBAN></Id>
        <Ccy>EUR</Ccy>
        <Ownr>
          <Nm>COMUNE DI ESEMPIO</Nm>
          <Id><OrgId><Othr><Id>80012345678</Id></Othr></OrgId></Id>
        </Ownr>
      </Acct>
      <Bal>
        <Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">10000.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>2024-05-20</Dt></Dt>
      </Bal>
      <Ntry>
        <NtryRef>1</NtryRef>
        <Amt Ccy="EUR">1234.56</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2024-05-20</Dt></BookgDt>
        <ValDt><Dt>2024-05-20</Dt></ValDt>
        <AcctSvcrRef>0306909606321320480000000001IT</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs>
              <EndToEndId>SCT202405170011234567890</EndToEndId>
              <TxId>TX-1</TxId>
            </Refs>
            <RmtInf>
              <Ustrd>ACCREDITO BONIFICO RI1/PUR/LGPE-RIVERSAMENTO/URI/2024-05-20BCITI</Ustrd>
              <Ustrd>TMM-240517001 BONIFICO A VOSTRO FAVORE</Ustrd>
            </RmtInf>
          </TxDtls>
        </NtryDtls>
        <AddtlNtryInf>BONIFICO SEPA DA INTESA SANPAOLO</AddtlNtryInf>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">99.9</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <RvslInd>true</RvslInd>
        <Sts>BOOK</Sts>
        <BookgDt><DtTm>2024-05-20T10:00:00</DtTm></BookgDt>
        <NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId><TxId>TX-2</TxId></Refs></TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">5.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>PDNG</Sts>
        <ValDt><Dt>2024-05-21</Dt></ValDt>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"#;

#[test]
fn a_camt_053_statement_reads_with_its_noisy_remittance() {
    let st = parse(CAMT_02.as_bytes()).unwrap();
    assert_eq!(st, parse_camt053(CAMT_02.as_bytes()).unwrap());
    assert_eq!(st.format, StatementFormat::Camt053);
    assert_eq!(st.document_id, "STMT-20240520-001/0542811101-2024-140");
    assert_eq!(st.ente_fiscal_code.as_deref(), Some("80012345678"));
    assert_eq!(st.date, Some(date(2024, 5, 20)));
    assert_eq!(st.signature, None);
    assert_eq!(st.movements.len(), 2, "the pending entry is skipped");
    let m = &st.movements[0];
    assert_eq!(m.id, "0306909606321320480000000001IT");
    assert_eq!(m.account, "IT60X0542811101000000123456");
    assert!(m.incoming && !m.reversal);
    assert_eq!(m.amount_cents, 123_456);
    assert_eq!(m.end_to_end_id.as_deref(), Some("SCT202405170011234567890"));
    assert_eq!(
        m.reference.as_deref(),
        Some("0306909606321320480000000001IT")
    );
    assert_eq!(
        remittance::parse(&m.causale),
        Some(Remittance::Flow {
            flow_id: "2024-05-20BCITITMM-240517001".into()
        }),
        "{:?}",
        m.causale
    );
    assert!(m.causale.ends_with("\nBONIFICO SEPA DA INTESA SANPAOLO"));
    let d = &st.movements[1];
    assert_eq!(d.id, "IT60X0542811101000000123456/2");
    assert!(!d.incoming && d.reversal);
    assert_eq!(d.amount_cents, 9_990);
    assert_eq!(d.end_to_end_id, None);
    assert_eq!(d.reference.as_deref(), Some("TX-2"));
    assert_eq!(d.value_date, None);

    // camt.053.001.08: Sts/Cd, and the same reader.
    let v08 = CAMT_02
        .replace("camt.053.001.02", "camt.053.001.08")
        .replace("<Sts>BOOK</Sts>", "<Sts><Cd>BOOK</Cd></Sts>");
    let st08 = parse(v08.as_bytes()).unwrap();
    assert_eq!(st08.movements, st.movements);

    let stmt = "Document/BkToCstmrStmt/Stmt[1]";
    for (from, to, element) in [
        (
            "<Amt Ccy=\"EUR\">1234.56",
            "<Amt Ccy=\"USD\">1234.56",
            format!("{stmt}/Ntry[1]/Amt"),
        ),
        (
            "<Amt Ccy=\"EUR\">1234.56",
            "<Amt>1234.56",
            format!("{stmt}/Ntry[1]/Amt"),
        ),
        (
            "<Amt Ccy=\"EUR\">1234.56",
            "<Amt Ccy=\"EUR\">1234.565",
            format!("{stmt}/Ntry[1]/Amt"),
        ),
        (
            "<Amt Ccy=\"EUR\">99.9",
            "<Amt Ccy=\"EUR\">-99.9",
            format!("{stmt}/Ntry[2]/Amt"),
        ),
        (
            "<CdtDbtInd>DBIT",
            "<CdtDbtInd>DEBIT",
            format!("{stmt}/Ntry[2]/CdtDbtInd"),
        ),
        (
            "<RvslInd>true",
            "<RvslInd>yes",
            format!("{stmt}/Ntry[2]/RvslInd"),
        ),
        (
            "<DtTm>2024-05-20T10:00:00",
            "<DtTm>2024-05-20",
            format!("{stmt}/Ntry[2]/BookgDt/DtTm"),
        ),
        (
            "<IBAN>IT60X0542811101000000123456</IBAN>",
            "",
            format!("{stmt}/Acct/Id/IBAN"),
        ),
        (
            "<MsgId>STMT-20240520-001</MsgId>",
            "",
            "Document/BkToCstmrStmt/GrpHdr/MsgId".to_owned(),
        ),
    ] {
        let doc = CAMT_02.replacen(from, to, 1);
        let err = parse(doc.as_bytes()).unwrap_err();
        assert_eq!(err.element, element, "{to}: {err}");
        assert!(err.line.is_some());
    }
    let other = CAMT_02.replace("camt.053.001.02", "camt.052.001.02");
    assert!(parse(other.as_bytes()).is_err());
}

#[test]
fn a_csv_statement_reads_with_either_delimiter_a_bom_and_quotes() {
    let comma = "id,account,direction,amount,booking_date,value_date,causale,end_to_end_id,reference\r\n\
                 M1,IT60X0542811101000000123456,IN,1234.56,2024-05-20,20/05/2024,\"/PUR/LGPE-RIVERSAMENTO/URI/2024-05-20BCITITMM-240517001, \"\"BONIFICO\"\"\",E2E-1,TRN-1\r\n\
                 M2,IT60X0542811101000000123456,out,12,20/05/2024,,\"riga uno\nriga due\",,\r\n";
    let st = parse(comma.as_bytes()).unwrap();
    assert_eq!(st, parse_csv(comma.as_bytes()).unwrap());
    assert_eq!(st.format, StatementFormat::Csv);
    assert!(st.document_id.starts_with("csv-") && st.document_id.len() == 20);
    assert_eq!(st.movements.len(), 2);
    let m = &st.movements[0];
    assert_eq!(m.amount_cents, 123_456);
    assert_eq!(m.value_date, Some(date(2024, 5, 20)));
    assert_eq!(
        m.causale,
        "/PUR/LGPE-RIVERSAMENTO/URI/2024-05-20BCITITMM-240517001, \"BONIFICO\""
    );
    assert_eq!(m.end_to_end_id.as_deref(), Some("E2E-1"));
    assert_eq!(m.reference.as_deref(), Some("TRN-1"));
    let n = &st.movements[1];
    assert!(!n.incoming);
    assert_eq!(n.amount_cents, 1_200);
    assert_eq!(n.booking_date, date(2024, 5, 20));
    assert_eq!((n.value_date, n.end_to_end_id.as_deref()), (None, None));
    assert_eq!(n.causale, "riga uno\nriga due");

    let semicolon = "\u{feff}ID; Account ;direction;amount;booking_date;causale\n\
                     A;IT60;IN;1234,5;2024-05-20;con; punto e virgola\n\
                     \n\
                     B;IT60;IN;\"7,00\";2024-05-21;\"con; punto e virgola\"\n";
    let err = parse(semicolon.as_bytes()).unwrap_err();
    assert_eq!((err.line, err.element.as_str()), (Some(2), "(record)"));
    let semicolon = semicolon.replace("con; punto e virgola\n", "senza\n");
    let st = parse(semicolon.as_bytes()).unwrap();
    assert_eq!(
        st.movements
            .iter()
            .map(|m| m.amount_cents)
            .collect::<Vec<_>>(),
        [123_450, 700]
    );
    assert_eq!(st.movements[1].causale, "con; punto e virgola");
    assert_eq!(
        st.document_id,
        parse(semicolon.as_bytes()).unwrap().document_id
    );

    let header = "id,account,direction,amount,booking_date\n";
    for (row, line, element) in [
        ("M1,IT60,IN,12.345,2024-05-20", 2, "amount"),
        ("M1,IT60,IN,\"12,34\",2024-05-20", 2, "amount"),
        ("M1,IT60,IN,-12,2024-05-20", 2, "amount"),
        ("M1,IT60,SIDEWAYS,12,2024-05-20", 2, "direction"),
        ("M1,IT60,IN,12,2024-02-30", 2, "booking_date"),
        ("M1,IT60,IN,12,05/20/2024", 2, "booking_date"),
        (",IT60,IN,12,2024-05-20", 2, "id"),
        ("M1,,IN,12,2024-05-20", 2, "account"),
        ("M1,IT60,IN,12", 2, "(record)"),
        (
            "M1,IT60,IN,12,2024-05-20\nM1,IT60,IN,13,2024-05-20",
            3,
            "id",
        ),
        (
            "M1,IT60,IN,12,2024-05-20\nM2,IT\"60,IN,12,2024-05-20",
            3,
            "(column 2)",
        ),
        ("M1,\"IT60\"x,IN,12,2024-05-20", 2, "(column 2)"),
        ("M1,\"IT60,IN,12,2024-05-20", 2, "(column 2)"),
    ] {
        let err = parse(format!("{header}{row}\n").as_bytes()).unwrap_err();
        assert_eq!(
            (err.line, err.element.as_str()),
            (Some(line), element),
            "{row}: {err}"
        );
        if !element.starts_with('(') {
            assert!(err.why.contains("(column "), "{err}");
        }
    }
    let err = parse(b"id,account,direction,amount\nM1,IT60,IN,1\n").unwrap_err();
    assert_eq!(err.element, "booking_date");
    let err = parse(b"id,account,direction,amount,booking_date,colour\n").unwrap_err();
    assert_eq!(err.element, "(column 6)");
    let err = parse(b"id,account,direction,amount,booking_date\nM1,IT60,IN,1,2024-05-20\n\xff\n")
        .unwrap_err();
    assert_eq!(err.line, Some(3));
    assert!(
        parse(treasury::CSV_HEADER.as_bytes())
            .unwrap()
            .movements
            .is_empty()
    );
}
