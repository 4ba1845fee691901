//! The typed content of paForNode messages. Amounts are integer euro cents here; the wire has
//! `\d+\.\d{2}` euro strings. Text fields hold what was (or will be) on the wire, unescaped.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Target namespace of `paForNode.xsd` (the wrapper elements; their children are unqualified).
pub const NS_PA_FOR_NODE: &str = "http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd";
/// SOAP 1.1 envelope namespace.
pub const NS_SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// The six operations of `paForNode.wsdl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operation {
    VerifyPaymentNotice,
    GetPayment,
    GetPaymentV2,
    SendRt,
    SendRtV2,
    DemandPaymentNotice,
}

impl Operation {
    pub const ALL: [Operation; 6] = [
        Self::VerifyPaymentNotice,
        Self::GetPayment,
        Self::GetPaymentV2,
        Self::SendRt,
        Self::SendRtV2,
        Self::DemandPaymentNotice,
    ];

    /// The WSDL operation name, which is also its `soapAction`.
    pub fn name(self) -> &'static str {
        match self {
            Self::VerifyPaymentNotice => "paVerifyPaymentNotice",
            Self::GetPayment => "paGetPayment",
            Self::GetPaymentV2 => "paGetPaymentV2",
            Self::SendRt => "paSendRT",
            Self::SendRtV2 => "paSendRTV2",
            Self::DemandPaymentNotice => "paDemandPaymentNotice",
        }
    }

    /// The body element of the request.
    pub fn request_element(self) -> &'static str {
        match self {
            Self::VerifyPaymentNotice => "paVerifyPaymentNoticeReq",
            Self::GetPayment => "paGetPaymentReq",
            Self::GetPaymentV2 => "paGetPaymentV2Request",
            Self::SendRt => "paSendRTReq",
            Self::SendRtV2 => "paSendRTV2Request",
            Self::DemandPaymentNotice => "paDemandPaymentNoticeRequest",
        }
    }

    /// The body element of the response.
    pub fn response_element(self) -> &'static str {
        match self {
            Self::VerifyPaymentNotice => "paVerifyPaymentNoticeRes",
            Self::GetPayment => "paGetPaymentRes",
            Self::GetPaymentV2 => "paGetPaymentV2Response",
            Self::SendRt => "paSendRTRes",
            Self::SendRtV2 => "paSendRTV2Response",
            Self::DemandPaymentNotice => "paDemandPaymentNoticeResponse",
        }
    }

    pub fn from_request_element(local_name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|o| o.request_element() == local_name)
    }

    pub fn from_response_element(local_name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|o| o.response_element() == local_name)
    }

    /// From a `SOAPAction` header value: the operation name, possibly quoted, possibly a URI
    /// ending in `/name` or `#name`.
    pub fn from_soap_action(value: &str) -> Option<Self> {
        let v = value.trim().trim_matches('"').trim();
        let name = v.rsplit(['/', '#']).next().unwrap_or(v);
        Self::ALL.into_iter().find(|o| o.name() == name)
    }
}

/// Who the node says it is calling: every request starts with these three.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    pub id_pa: String,
    pub id_broker_pa: String,
    pub id_station: String,
}

/// `ctQrCode`: the ente's fiscal code (11 digits) and the 18-digit notice number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrCode {
    pub fiscal_code: String,
    pub notice_number: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransferType {
    /// `POSTAL`: the PSP can credit a postal account; answer with the postal IBAN when there is one.
    Postal,
    /// `PAGOPA`.
    PagoPa,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntityType {
    /// `F`: a natural person.
    Person,
    /// `G`: a legal person.
    Legal,
}

/// `ctSubject`: a debtor or payer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub kind: EntityType,
    /// `entityUniqueIdentifierValue`, 2..16 characters.
    pub id: String,
    pub full_name: String,
    pub street_name: Option<String>,
    pub civic_number: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub state_province_region: Option<String>,
    /// Two capital letters.
    pub country: Option<String>,
    pub email: Option<String>,
}

/// `ctMapEntry`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapEntry {
    pub key: String,
    pub value: String,
}

/// A request of the node, checked against the schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    Verify {
        caller: Caller,
        qr: QrCode,
    },
    GetPayment {
        v2: bool,
        caller: Caller,
        qr: QrCode,
        amount: Option<i64>,
        payment_note: Option<String>,
        transfer_type: Option<TransferType>,
        due_date: Option<NaiveDate>,
    },
    SendRt {
        v2: bool,
        caller: Caller,
        receipt: Box<Receipt>,
    },
    /// `paDemandPaymentNotice`: parsed only far enough to answer it is not supported.
    Demand {
        caller: Caller,
    },
}

impl Request {
    pub fn operation(&self) -> Operation {
        match self {
            Self::Verify { .. } => Operation::VerifyPaymentNotice,
            Self::GetPayment { v2: false, .. } => Operation::GetPayment,
            Self::GetPayment { v2: true, .. } => Operation::GetPaymentV2,
            Self::SendRt { v2: false, .. } => Operation::SendRt,
            Self::SendRt { v2: true, .. } => Operation::SendRtV2,
            Self::Demand { .. } => Operation::DemandPaymentNotice,
        }
    }

    pub fn caller(&self) -> &Caller {
        match self {
            Self::Verify { caller, .. }
            | Self::GetPayment { caller, .. }
            | Self::SendRt { caller, .. }
            | Self::Demand { caller } => caller,
        }
    }
}

/// `ctReceipt` / `ctReceiptV2` (the V2-only fields are `None` in a V1 receipt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub receipt_id: String,
    pub notice_number: String,
    /// The ente that issued the notice (for a multi-beneficiary payment, the primary one).
    pub fiscal_code: String,
    /// `OK` or `KO`.
    pub outcome_ok: bool,
    /// The IUV.
    pub creditor_reference_id: String,
    pub payment_amount: i64,
    pub description: String,
    pub company_name: String,
    pub office_name: Option<String>,
    pub debtor: Subject,
    pub transfers: Vec<ReceiptTransfer>,
    pub id_psp: String,
    pub psp_fiscal_code: Option<String>,
    pub psp_partita_iva: Option<String>,
    pub psp_company_name: String,
    pub id_channel: String,
    pub channel_description: String,
    pub payer: Option<Subject>,
    pub payment_method: Option<String>,
    pub payment_note: Option<String>,
    pub fee: Option<i64>,
    pub primary_ci_incurred_fee: Option<i64>,
    pub id_bundle: Option<String>,
    pub id_ci_bundle: Option<String>,
    /// `paymentDateTime` (a zone-less value is read as Europe/Rome local time... see
    /// `soap::parse_date_time`): UTC here.
    pub payment_date_time: Option<DateTime<Utc>>,
    pub application_date: Option<NaiveDate>,
    pub transfer_date: Option<NaiveDate>,
    pub metadata: Vec<MapEntry>,
    pub stand_in: Option<bool>,
}

/// One transfer of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptTransfer {
    /// 1..=5.
    pub id_transfer: u8,
    pub amount: i64,
    /// The beneficiary ente.
    pub fiscal_code_pa: String,
    pub company_name: Option<String>,
    pub target: ReceiptTarget,
    pub remittance_information: String,
    pub transfer_category: String,
    pub metadata: Vec<MapEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReceiptTarget {
    Iban(String),
    /// `MBDAttachment`: the base64 text as received and, when it decodes to a MarcaDaBollo
    /// document, what it says.
    Stamp {
        attachment: String,
        stamp: Option<crate::mbd::MarcaDaBollo>,
    },
}

/// The fault codes Sportello answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FaultCode {
    IdDominioErrato,
    IdIntermediarioErrato,
    StazioneIntErrata,
    PagamentoSconosciuto,
    PagamentoScaduto,
    PagamentoAnnullato,
    PagamentoDuplicato,
    ReceiptDuplicata,
    Semantica,
    SintassiXsd,
    SystemError,
}

impl FaultCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IdDominioErrato => "PAA_ID_DOMINIO_ERRATO",
            Self::IdIntermediarioErrato => "PAA_ID_INTERMEDIARIO_ERRATO",
            Self::StazioneIntErrata => "PAA_STAZIONE_INT_ERRATA",
            Self::PagamentoSconosciuto => "PAA_PAGAMENTO_SCONOSCIUTO",
            Self::PagamentoScaduto => "PAA_PAGAMENTO_SCADUTO",
            Self::PagamentoAnnullato => "PAA_PAGAMENTO_ANNULLATO",
            Self::PagamentoDuplicato => "PAA_PAGAMENTO_DUPLICATO",
            Self::ReceiptDuplicata => "PAA_RECEIPT_DUPLICATA",
            Self::Semantica => "PAA_SEMANTICA",
            Self::SintassiXsd => "PAA_SINTASSI_XSD",
            Self::SystemError => "PAA_SYSTEM_ERROR",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        use FaultCode::*;
        [
            IdDominioErrato,
            IdIntermediarioErrato,
            StazioneIntErrata,
            PagamentoSconosciuto,
            PagamentoScaduto,
            PagamentoAnnullato,
            PagamentoDuplicato,
            ReceiptDuplicata,
            Semantica,
            SintassiXsd,
            SystemError,
        ]
        .into_iter()
        .find(|c| c.as_str() == code)
    }

    /// The short Italian sentence of `faultString`.
    pub fn fault_string(self) -> &'static str {
        match self {
            Self::IdDominioErrato => "Ente creditore sconosciuto o non servito da questa stazione.",
            Self::IdIntermediarioErrato => "Intermediario errato.",
            Self::StazioneIntErrata => "Stazione errata.",
            Self::PagamentoSconosciuto => "Pagamento sconosciuto.",
            Self::PagamentoScaduto => "Pagamento scaduto.",
            Self::PagamentoAnnullato => "Pagamento annullato.",
            Self::PagamentoDuplicato => "Pagamento già effettuato.",
            Self::ReceiptDuplicata => "Ricevuta già ricevuta.",
            Self::Semantica => "Errore semantico.",
            Self::SintassiXsd => "Richiesta non conforme allo schema XSD.",
            Self::SystemError => "Errore interno dell'ente creditore.",
        }
    }
}

/// `ctFaultBean` as Sportello fills it: `faultString` from the code, `id` the ente (or the
/// station when the ente is unknown), `description` the detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub code: FaultCode,
    pub id: String,
    pub description: String,
}

impl Fault {
    pub fn new(code: FaultCode, id: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            code,
            id: id.into(),
            description: description.into(),
        }
    }
}

/// An OK `paVerifyPaymentNoticeRes`: one option, `EQ`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyOk {
    pub amount: i64,
    pub due_date: Option<NaiveDate>,
    pub detail_description: Option<String>,
    /// Every transfer can be credited to a postal account.
    pub all_ccp: bool,
    pub payment_description: String,
    pub fiscal_code_pa: String,
    pub company_name: String,
    pub office_name: Option<String>,
}

/// The `data` of an OK `paGetPaymentRes` / `paGetPaymentV2Response`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentData {
    pub creditor_reference_id: String,
    pub payment_amount: i64,
    pub due_date: NaiveDate,
    pub retention_date: Option<DateTime<Utc>>,
    pub last_payment: Option<bool>,
    pub description: String,
    pub company_name: String,
    pub office_name: Option<String>,
    pub debtor: Subject,
    pub transfers: Vec<TransferData>,
    pub metadata: Vec<MapEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferData {
    pub id_transfer: u8,
    pub amount: i64,
    pub fiscal_code_pa: String,
    /// Written in V2 only.
    pub company_name: Option<String>,
    pub target: TransferTarget,
    pub remittance_information: String,
    pub transfer_category: String,
    pub metadata: Vec<MapEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransferTarget {
    Iban(String),
    /// `richiestaMarcaDaBollo` (V2 only; a V1 response cannot carry a stamp).
    Stamp {
        hash_document: String,
        stamp_type: String,
        province: String,
    },
}

/// A response to render (server side) or that was parsed (client side).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Verify(Result<VerifyOk, Fault>),
    GetPayment {
        v2: bool,
        result: Result<Box<PaymentData>, Fault>,
    },
    SendRt {
        v2: bool,
        result: Result<(), Fault>,
    },
    Demand(Fault),
}

impl Response {
    pub fn operation(&self) -> Operation {
        match self {
            Self::Verify(_) => Operation::VerifyPaymentNotice,
            Self::GetPayment { v2: false, .. } => Operation::GetPayment,
            Self::GetPayment { v2: true, .. } => Operation::GetPaymentV2,
            Self::SendRt { v2: false, .. } => Operation::SendRt,
            Self::SendRt { v2: true, .. } => Operation::SendRtV2,
            Self::Demand(_) => Operation::DemandPaymentNotice,
        }
    }

    pub fn fault(&self) -> Option<&Fault> {
        match self {
            Self::Verify(Err(f))
            | Self::GetPayment { result: Err(f), .. }
            | Self::SendRt { result: Err(f), .. }
            | Self::Demand(f) => Some(f),
            _ => None,
        }
    }

    /// A KO of this operation with this fault.
    pub fn ko(op: Operation, fault: Fault) -> Self {
        match op {
            Operation::VerifyPaymentNotice => Self::Verify(Err(fault)),
            Operation::GetPayment => Self::GetPayment {
                v2: false,
                result: Err(fault),
            },
            Operation::GetPaymentV2 => Self::GetPayment {
                v2: true,
                result: Err(fault),
            },
            Operation::SendRt => Self::SendRt {
                v2: false,
                result: Err(fault),
            },
            Operation::SendRtV2 => Self::SendRt {
                v2: true,
                result: Err(fault),
            },
            Operation::DemandPaymentNotice => Self::Demand(fault),
        }
    }
}

/// Why a request body could not be turned into a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not XML, not a SOAP envelope, a DOCTYPE, too deep or too big, or no known operation in
    /// the body: answered with a SOAP fault and HTTP 400.
    #[error("{0}")]
    Malformed(String),
    /// A known operation whose content breaks the schema (`PAA_SINTASSI_XSD`, naming the element
    /// at fault) or whose `SOAPAction` contradicts the body (`PAA_SEMANTICA`): answered with a KO
    /// of that operation, HTTP 200.
    #[error("{}: {}", .fault.code.as_str(), .fault.description)]
    Rejected {
        operation: Operation,
        /// The three caller fields when they could be read.
        caller: Option<Caller>,
        fault: Fault,
    },
}
