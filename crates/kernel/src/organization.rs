//! The organizations (enti) every domain serves, the people who act for them (delegates) and
//! the aggregators' mandates.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::values::{Email, FiscalCode, OrganizationFiscalCode, ServiceId};

/// A public body (ente).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organization {
    pub fiscal_code: OrganizationFiscalCode,
    pub name: String,
    /// What kind of body it is (decides the expected full name and the service scope).
    pub kind: OrganizationKind,
    /// Code in the national index of public administrations (IPA), when known.
    pub ipa_code: Option<String>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// The declared type of an organization, deciding its expected name and scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganizationKind {
    Comune,
    Provincia,
    CittaMetropolitana,
    Regione,
    UnioneDiComuni,
    Other,
}

impl OrganizationKind {
    /// The identifier of the kind (`comune`, `citta_metropolitana`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Comune => "comune",
            Self::Provincia => "provincia",
            Self::CittaMetropolitana => "citta_metropolitana",
            Self::Regione => "regione",
            Self::UnioneDiComuni => "unione_di_comuni",
            Self::Other => "other",
        }
    }

    /// The kind named by `s`, as [`Self::as_str`] spells it.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Comune,
            Self::Provincia,
            Self::CittaMetropolitana,
            Self::Regione,
            Self::UnioneDiComuni,
            Self::Other,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Whether the body serves a bounded territory, so that its services must be `LOCAL`.
    pub fn is_territorial(self) -> bool {
        !matches!(self, Self::Other)
    }

    /// How the full name of such a body starts ("Comune di "), when there is a fixed form.
    pub fn expected_name_prefix(self) -> Option<&'static str> {
        match self {
            Self::Comune => Some("Comune di "),
            Self::Provincia => Some("Provincia di "),
            Self::CittaMetropolitana => Some("Città metropolitana di "),
            Self::Regione => Some("Regione "),
            Self::UnioneDiComuni => Some("Unione "),
            Self::Other => None,
        }
    }

    /// Every accepted start of the full name: the expected one and official variants.
    pub fn accepted_name_prefixes(self) -> &'static [&'static str] {
        match self {
            Self::Comune => &["Comune di "],
            // The autonomous provinces of Trento and Bolzano.
            Self::Provincia => &["Provincia di ", "Provincia autonoma di "],
            Self::CittaMetropolitana => &["Città metropolitana di "],
            Self::Regione => &["Regione "],
            Self::UnioneDiComuni => &["Unione "],
            Self::Other => &[],
        }
    }

    /// A correct full name and the short form delegates often write instead.
    pub fn name_example(self) -> (&'static str, &'static str) {
        match self {
            Self::Comune => ("Comune di Varese", "Varese"),
            Self::Provincia => ("Provincia di Varese", "Varese"),
            Self::CittaMetropolitana => ("Città metropolitana di Milano", "Milano"),
            Self::Regione => ("Regione Lombardia", "Lombardia"),
            Self::UnioneDiComuni => ("Unione dei comuni della Valle del Savio", "Valle del Savio"),
            Self::Other => ("Istituto nazionale della previdenza sociale", "INPS"),
        }
    }

    /// The kind in Italian and English, for messages.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Self::Comune => ("un comune", "a municipality (comune)"),
            Self::Provincia => ("una provincia", "a province"),
            Self::CittaMetropolitana => ("una città metropolitana", "a metropolitan city"),
            Self::Regione => ("una regione", "a region"),
            Self::UnioneDiComuni => ("un'unione di comuni", "a union of municipalities"),
            Self::Other => ("un ente", "a public body"),
        }
    }
}

/// A person named by an organization to manage its services, holding a manage key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delegate {
    pub id: String,
    pub organization_fiscal_code: OrganizationFiscalCode,
    pub email: Email,
    /// Full name of the person.
    pub name: Option<String>,
    pub fiscal_code: Option<FiscalCode>,
    pub role: DelegateRole,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// What a delegate does for the organization (seed 002 §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DelegateRole {
    Administrative,
    Technical,
}

impl DelegateRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Administrative => "administrative",
            Self::Technical => "technical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "administrative" => Some(Self::Administrative),
            "technical" => Some(Self::Technical),
            _ => None,
        }
    }
}

/// The owner of a manage key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegateAuth {
    pub delegate: Delegate,
    pub organization_disabled: bool,
}

/// An aggregator's mandate over an aggregated organization: every service (`service_id`
/// `None`) or one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mandate {
    pub aggregator: OrganizationFiscalCode,
    pub organization: OrganizationFiscalCode,
    pub service_id: Option<ServiceId>,
    pub created_at: DateTime<Utc>,
}
