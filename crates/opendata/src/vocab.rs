//! The controlled vocabularies of DCAT-AP_IT: EU data themes, EU frequencies, the Italian licence
//! vocabulary, EU file types and ISTAT territorial codes. Each value carries its code, URI and
//! Italian and English labels.
//!
//! Every lookup is exact on the code: the EU codes (`GOVE`, `ANNUAL`, `CSV`) are accepted in
//! uppercase only, the licence codes with the vocabulary's own case (`A21_CCBY40`, `C1_Unknown`),
//! ISTAT codes with their leading zeros (`01`, `058`, `058091`). Nothing is trimmed or folded.
//!
//! Sources:
//! - data themes and frequencies: the EU Publications Office authority tables `data-theme` and
//!   `frequency` (labels as published there, first letter capitalised);
//! - licences: `VocabolariControllati/licences/licences.ttl` of `italia/dati-semantic-assets`
//!   (modified 2024-09-20): every licence document (third level) plus `C1_Unknown`, with its
//!   ADMS licence type (the `skos:exactMatch` of its second-level concept) and its reference
//!   document; English labels with the vocabulary's typing slips corrected ("Attributon",
//!   "Attribuzione-NoDerivs"). Left out: the category concepts (`A1_PublicDomain`, …) and
//!   `B117_BCS`, whose URI sits outside the scheme's namespace (`…/licenses/`);
//! - file types: the EU authority table `file-type` (the codes used for tables, linked data,
//!   geodata and common downloads);
//! - territories: ISTAT's *Elenco dei comuni italiani*, December 2024 snapshot (7,896 comuni,
//!   107 provinces and equivalent units, 20 regions), see `vocab/comuni.tsv`.

use std::sync::OnceLock;

use crate::model::{Licence, Term, Territory, TerritoryLevel};

macro_rules! term {
    ($base:literal, $code:literal, $it:literal, $en:literal) => {
        Term {
            code: $code,
            uri: concat!($base, $code),
            label_it: $it,
            label_en: $en,
        }
    };
}

// ---------------------------------------------------------------------------------------------
// EU data themes

macro_rules! theme {
    ($code:literal, $it:literal, $en:literal) => {
        term!(
            "http://publications.europa.eu/resource/authority/data-theme/",
            $code,
            $it,
            $en
        )
    };
}

static THEMES: [Term; 13] = [
    theme!(
        "AGRI",
        "Agricoltura, pesca, silvicoltura e prodotti alimentari",
        "Agriculture, fisheries, forestry and food"
    ),
    theme!("ECON", "Economia e finanze", "Economy and finance"),
    theme!(
        "EDUC",
        "Istruzione, cultura e sport",
        "Education, culture and sport"
    ),
    theme!("ENER", "Energia", "Energy"),
    theme!("ENVI", "Ambiente", "Environment"),
    theme!(
        "GOVE",
        "Governo e settore pubblico",
        "Government and public sector"
    ),
    theme!("HEAL", "Salute", "Health"),
    theme!("INTR", "Tematiche internazionali", "International issues"),
    theme!(
        "JUST",
        "Giustizia, sistema giuridico e sicurezza pubblica",
        "Justice, legal system and public safety"
    ),
    theme!("REGI", "Regioni e città", "Regions and cities"),
    theme!("SOCI", "Popolazione e società", "Population and society"),
    theme!("TECH", "Scienza e tecnologia", "Science and technology"),
    theme!("TRAN", "Trasporti", "Transport"),
];

/// The 13 EU data themes (`http://publications.europa.eu/resource/authority/data-theme/<CODE>`),
/// in code order.
pub fn themes() -> &'static [Term] {
    &THEMES
}

/// The EU data theme with this code. Exact match: uppercase codes only (`GOVE`, not `gove`).
pub fn theme(code: &str) -> Option<Term> {
    THEMES.iter().find(|t| t.code == code).copied()
}

// ---------------------------------------------------------------------------------------------
// EU frequencies

macro_rules! freq {
    ($code:literal, $it:literal, $en:literal) => {
        term!(
            "http://publications.europa.eu/resource/authority/frequency/",
            $code,
            $it,
            $en
        )
    };
}

static FREQUENCIES: [Term; 39] = [
    freq!("1MIN", "Ogni minuto", "Every minute"),
    freq!("5MIN", "Ogni cinque minuti", "Every five minutes"),
    freq!("10MIN", "Ogni dieci minuti", "Every ten minutes"),
    freq!("15MIN", "Ogni quindici minuti", "Every fifteen minutes"),
    freq!("30MIN", "Ogni trenta minuti", "Every thirty minutes"),
    freq!("HOURLY", "Ogni ora", "Hourly"),
    freq!("BIHOURLY", "Ogni due ore", "Bihourly"),
    freq!("TRIHOURLY", "Ogni tre ore", "Trihourly"),
    freq!("12HRS", "Ogni dodici ore", "Every twelve hours"),
    freq!("CONT", "Continua", "Continuous"),
    freq!(
        "UPDATE_CONT",
        "In continuo aggiornamento",
        "Continuously updated"
    ),
    freq!("DAILY", "Quotidiana", "Daily"),
    freq!("DAILY_2", "Due volte al giorno", "Twice a day"),
    freq!("WEEKLY", "Settimanale", "Weekly"),
    freq!("WEEKLY_2", "Bisettimanale", "Semiweekly"),
    freq!("WEEKLY_3", "Tre volte a settimana", "Three times a week"),
    freq!("BIWEEKLY", "Quindicinale", "Biweekly"),
    freq!("MONTHLY", "Mensile", "Monthly"),
    freq!("MONTHLY_2", "Bimensile", "Semimonthly"),
    freq!("MONTHLY_3", "Tre volte al mese", "Three times a month"),
    freq!("BIMONTHLY", "Bimestrale", "Bimonthly"),
    freq!("QUARTERLY", "Trimestrale", "Quarterly"),
    freq!("ANNUAL", "Annuale", "Annual"),
    freq!("ANNUAL_2", "Semestrale", "Semiannual"),
    freq!("ANNUAL_3", "Tre volte all'anno", "Three times a year"),
    freq!("BIENNIAL", "Biennale", "Biennial"),
    freq!("TRIENNIAL", "Triennale", "Triennial"),
    freq!("QUADRENNIAL", "Ogni quattro anni", "Quadrennial"),
    freq!("QUINQUENNIAL", "Ogni cinque anni", "Quinquennial"),
    freq!("DECENNIAL", "Decennale", "Decennial"),
    freq!("BIDECENNIAL", "Bidecennale", "Bidecennial"),
    freq!("TRIDECENNIAL", "Tridecennale", "Tridecennial"),
    freq!("IRREG", "Irregolare", "Irregular"),
    freq!("AS_NEEDED", "In base alla necessità", "As needed"),
    freq!("NOT_PLANNED", "Non previsto", "Not planned"),
    freq!("NEVER", "Mai", "Never"),
    freq!("OTHER", "Altro", "Other"),
    freq!("UNKNOWN", "Sconosciuta", "Unknown"),
    freq!("OP_DATPRO", "Dati provvisori", "Provisional data"),
];

/// The EU frequencies (`http://publications.europa.eu/resource/authority/frequency/<CODE>`), from
/// the most to the least frequent, then the irregular and unknown ones.
pub fn frequencies() -> &'static [Term] {
    &FREQUENCIES
}

/// The EU frequency with this code. Exact match: uppercase codes only (`ANNUAL`, `ANNUAL_2`).
pub fn frequency(code: &str) -> Option<Term> {
    FREQUENCIES.iter().find(|t| t.code == code).copied()
}

// ---------------------------------------------------------------------------------------------
// Italian licences

const ADMS_PUBLIC_DOMAIN: &str = "http://purl.org/adms/licencetype/PublicDomain";
const ADMS_ATTRIBUTION: &str = "http://purl.org/adms/licencetype/Attribution";
const ADMS_SHARE_ALIKE: &str = "http://purl.org/adms/licencetype/ViralEffect-ShareAlike";
const ADMS_NOT_COMPATIBLE: &str = "http://purl.org/adms/licencetype/ShareAlike-NotCompatible";
const ADMS_NON_COMMERCIAL: &str = "http://purl.org/adms/licencetype/NonCommercialUseOnly";
const ADMS_NO_DERIVATIVES: &str = "http://purl.org/adms/licencetype/NoDerivativeWork";
const ADMS_UNKNOWN: &str = "http://purl.org/adms/licencetype/UnknownIPR";

macro_rules! licence {
    ($code:literal, $adms:expr, $doc:expr, $it:literal, $en:literal) => {
        Licence {
            term: term!(
                "https://w3id.org/italia/controlled-vocabulary/licences/",
                $code,
                $it,
                $en
            ),
            adms_type: $adms,
            document_url: $doc,
        }
    };
}

macro_rules! cc {
    ($path:literal) => {
        Some(concat!("https://creativecommons.org/licenses/", $path))
    };
}

static LICENCES: [Licence; 51] = [
    // A.1 Public domain
    licence!(
        "A11_CCO10",
        ADMS_PUBLIC_DOMAIN,
        Some("https://creativecommons.org/publicdomain/zero/1.0/"),
        "Creative Commons CC0 1.0 Universale - Public Domain Dedication (CC0 1.0)",
        "Creative Commons CC0 1.0 Universal - Public Domain Dedication (CC0 1.0)"
    ),
    licence!(
        "A12_PDDL",
        ADMS_PUBLIC_DOMAIN,
        Some("https://opendatacommons.org/licenses/pddl/1.0/"),
        "ODC Public Domain Dedication and License (PDDL)",
        "ODC Public Domain Dedication and License (PDDL)"
    ),
    // A.2 Attribution
    licence!(
        "A21_CCBY40",
        ADMS_ATTRIBUTION,
        cc!("by/4.0/"),
        "Creative Commons Attribuzione 4.0 Internazionale (CC BY 4.0)",
        "Creative Commons Attribution 4.0 International (CC BY 4.0)"
    ),
    licence!(
        "A22_CCBY30",
        ADMS_ATTRIBUTION,
        cc!("by/3.0/"),
        "Creative Commons Attribuzione 3.0 Unported (CC BY 3.0)",
        "Creative Commons Attribution 3.0 Unported (CC BY 3.0)"
    ),
    licence!(
        "A23_CCBY30IT",
        ADMS_ATTRIBUTION,
        cc!("by/3.0/it/"),
        "Creative Commons Attribuzione Italia 3.0 (CC BY 3.0 IT)",
        "Creative Commons Attribution Italy 3.0 (CC BY 3.0 IT)"
    ),
    licence!(
        "A24_CCBY25",
        ADMS_ATTRIBUTION,
        cc!("by/2.5/"),
        "Creative Commons Attribuzione 2.5 Generica (CC BY 2.5)",
        "Creative Commons Attribution 2.5 Generic (CC BY 2.5)"
    ),
    licence!(
        "A25_CCBY25IT",
        ADMS_ATTRIBUTION,
        cc!("by/2.5/it/"),
        "Creative Commons Attribuzione 2.5 Italia (CC BY 2.5 IT)",
        "Creative Commons Attribution 2.5 Italy (CC BY 2.5 IT)"
    ),
    licence!(
        "A26_CCBY20",
        ADMS_ATTRIBUTION,
        cc!("by/2.0/"),
        "Creative Commons Attribuzione 2.0 Generica (CC BY 2.0)",
        "Creative Commons Attribution 2.0 Generic (CC BY 2.0)"
    ),
    licence!(
        "A27_CCBY20IT",
        ADMS_ATTRIBUTION,
        cc!("by/2.0/it/"),
        "Creative Commons Attribuzione 2.0 Italia (CC BY 2.0 IT)",
        "Creative Commons Attribution 2.0 Italy (CC BY 2.0 IT)"
    ),
    licence!(
        "A28_CCBY10",
        ADMS_ATTRIBUTION,
        cc!("by/1.0/"),
        "Creative Commons Attribuzione 1.0 Generica (CC BY 1.0)",
        "Creative Commons Attribution 1.0 Generic (CC BY 1.0)"
    ),
    licence!(
        "A29_IODL20",
        ADMS_ATTRIBUTION,
        Some("https://www.dati.gov.it/content/italian-open-data-license-v20"),
        "Italian Open Data License 2.0 (IODL 2.0)",
        "Italian Open Data License 2.0 (IODL 2.0)"
    ),
    licence!(
        "A210_ODCBY",
        ADMS_ATTRIBUTION,
        Some("https://opendatacommons.org/category/odc-by/"),
        "Open Data Commons Attribution License (ODC_BY)",
        "Open Data Commons Attribution License (ODC_BY)"
    ),
    // A.3 Share-alike
    licence!(
        "A31_CCBYSA40",
        ADMS_SHARE_ALIKE,
        cc!("by-sa/4.0/"),
        "Creative Commons Attribuzione-Condividi allo stesso modo 4.0 Internazionale (CC BY-SA 4.0)",
        "Creative Commons Attribution-ShareAlike 4.0 International (CC BY-SA 4.0)"
    ),
    licence!(
        "A32_CCBYSA30",
        ADMS_SHARE_ALIKE,
        cc!("by-sa/3.0/"),
        "Creative Commons Attribuzione-Condividi allo stesso modo 3.0 Unported (CC BY-SA 3.0)",
        "Creative Commons Attribution-ShareAlike 3.0 Unported (CC BY-SA 3.0)"
    ),
    licence!(
        "A33_CCBYSA30IT",
        ADMS_SHARE_ALIKE,
        cc!("by-sa/3.0/it/"),
        "Creative Commons Attribuzione-Condividi allo stesso modo 3.0 Italia (CC BY-SA 3.0 IT)",
        "Creative Commons Attribution-ShareAlike 3.0 Italy (CC BY-SA 3.0 IT)"
    ),
    licence!(
        "A34_CCBYSA25",
        ADMS_SHARE_ALIKE,
        cc!("by-sa/2.5/"),
        "Creative Commons Attribuzione-Condividi allo stesso modo 2.5 Generica (CC BY-SA 2.5)",
        "Creative Commons Attribution-ShareAlike 2.5 Generic (CC BY-SA 2.5)"
    ),
    licence!(
        "A35_CCBYSA25IT",
        ADMS_SHARE_ALIKE,
        cc!("by-sa/2.5/it/"),
        "Creative Commons Attribuzione-Condividi allo stesso modo 2.5 Italia (CC BY-SA 2.5 IT)",
        "Creative Commons Attribution-ShareAlike 2.5 Italy (CC BY-SA 2.5 IT)"
    ),
    licence!(
        "A36_CCBYSA20",
        ADMS_SHARE_ALIKE,
        cc!("by-sa/2.0/"),
        "Creative Commons Attribuzione-Condividi allo stesso modo 2.0 Generica (CC BY-SA 2.0)",
        "Creative Commons Attribution-ShareAlike 2.0 Generic (CC BY-SA 2.0)"
    ),
    licence!(
        "A37_CCBYSA20IT",
        ADMS_SHARE_ALIKE,
        cc!("by-sa/2.0/it/"),
        "Creative Commons Attribuzione-Condividi allo stesso modo 2.0 Italia (CC BY-SA 2.0 IT)",
        "Creative Commons Attribution-ShareAlike 2.0 Italy (CC BY-SA 2.0 IT)"
    ),
    licence!(
        "A38_CCBYSA10",
        ADMS_SHARE_ALIKE,
        cc!("by-sa/1.0/"),
        "Creative Commons Attribuzione-Condividi allo stesso modo 1.0 Generica (CC BY-SA 1.0)",
        "Creative Commons Attribution-ShareAlike 1.0 Generic (CC BY-SA 1.0)"
    ),
    licence!(
        "A39_IODL10",
        ADMS_SHARE_ALIKE,
        Some("http://www.formez.it/iodl/"),
        "Italian Open Data License 1.0 (IODL 1.0)",
        "Italian Open Data License 1.0 (IODL 1.0)"
    ),
    licence!(
        "A310_ODBL",
        ADMS_SHARE_ALIKE,
        Some("https://opendatacommons.org/licenses/odbl/summary/"),
        "Open Data Commons Open Database License 1.0 (ODbL)",
        "Open Data Commons Open Database License 1.0 (ODbL)"
    ),
    licence!(
        "A311_GFDL13",
        ADMS_SHARE_ALIKE,
        Some("https://www.gnu.org/licenses/fdl.html"),
        "GNU Free Documentation License 1.3 (GFDL 1.3)",
        "GNU Free Documentation License 1.3 (GFDL 1.3)"
    ),
    // A.4 Share-alike, copyleft not compatible
    licence!(
        "A41_ADRM",
        ADMS_NOT_COMPATIBLE,
        Some(
            "http://web.archive.org/web/20160513222943/http://www.freecreations.org:80/Against_DRM2.html"
        ),
        "Against DRM (2.0)",
        "Against DRM (2.0)"
    ),
    // B.1 Non-commercial use only
    licence!(
        "B11_CCBYNC40",
        ADMS_NON_COMMERCIAL,
        cc!("by-nc/4.0/"),
        "Creative Commons Attribuzione-Non Commerciale 4.0 Internazionale (CC BY-NC 4.0)",
        "Creative Commons Attribution-NonCommercial 4.0 International (CC BY-NC 4.0)"
    ),
    licence!(
        "B12_CCBYNC30",
        ADMS_NON_COMMERCIAL,
        cc!("by-nc/3.0/"),
        "Creative Commons Attribuzione-Non Commerciale 3.0 Unported (CC BY-NC 3.0)",
        "Creative Commons Attribution-NonCommercial 3.0 Unported (CC BY-NC 3.0)"
    ),
    licence!(
        "B13_CCBYNC30IT",
        ADMS_NON_COMMERCIAL,
        cc!("by-nc/3.0/it/"),
        "Creative Commons Attribuzione-Non Commerciale 3.0 Italia (CC BY-NC 3.0 IT)",
        "Creative Commons Attribution-NonCommercial 3.0 Italy (CC BY-NC 3.0 IT)"
    ),
    licence!(
        "B14_CCBYNC25",
        ADMS_NON_COMMERCIAL,
        cc!("by-nc/2.5/"),
        "Creative Commons Attribuzione-Non Commerciale 2.5 Generica (CC BY-NC 2.5)",
        "Creative Commons Attribution-NonCommercial 2.5 Generic (CC BY-NC 2.5)"
    ),
    licence!(
        "B15_CCBYNC25IT",
        ADMS_NON_COMMERCIAL,
        cc!("by-nc/2.5/it/"),
        "Creative Commons Attribuzione-Non Commerciale 2.5 Italia (CC BY-NC 2.5 IT)",
        "Creative Commons Attribution-NonCommercial 2.5 Italy (CC BY-NC 2.5 IT)"
    ),
    licence!(
        "B16_CCBYNC20",
        ADMS_NON_COMMERCIAL,
        cc!("by-nc/2.0/"),
        "Creative Commons Attribuzione-Non Commerciale 2.0 Generica (CC BY-NC 2.0)",
        "Creative Commons Attribution-NonCommercial 2.0 Generic (CC BY-NC 2.0)"
    ),
    licence!(
        "B17_CCBYNC20IT",
        ADMS_NON_COMMERCIAL,
        cc!("by-nc/2.0/it/"),
        "Creative Commons Attribuzione-Non Commerciale 2.0 Italia (CC BY-NC 2.0 IT)",
        "Creative Commons Attribution-NonCommercial 2.0 Italy (CC BY-NC 2.0 IT)"
    ),
    licence!(
        "B18_CCBYNC10",
        ADMS_NON_COMMERCIAL,
        cc!("by-nc/1.0/"),
        "Creative Commons Attribuzione-Non Commerciale 1.0 Generica (CC BY-NC 1.0)",
        "Creative Commons Attribution-NonCommercial 1.0 Generic (CC BY-NC 1.0)"
    ),
    licence!(
        "B19_CCBYNCSA40",
        ADMS_NON_COMMERCIAL,
        cc!("by-nc-sa/4.0/"),
        "Creative Commons Attribuzione-Non Commerciale-Condividi allo stesso modo 4.0 Internazionale (CC BY-NC-SA 4.0)",
        "Creative Commons Attribution-NonCommercial-ShareAlike 4.0 International (CC BY-NC-SA 4.0)"
    ),
    licence!(
        "B110_CCBYNCSA30",
        ADMS_NON_COMMERCIAL,
        cc!("by-nc-sa/3.0/"),
        "Creative Commons Attribuzione-Non Commerciale-Condividi allo stesso modo 3.0 Unported (CC BY-NC-SA 3.0)",
        "Creative Commons Attribution-NonCommercial-ShareAlike 3.0 Unported (CC BY-NC-SA 3.0)"
    ),
    licence!(
        "B111_CCBYNCSA30IT",
        ADMS_NON_COMMERCIAL,
        cc!("by-nc-sa/3.0/it/"),
        "Creative Commons Attribuzione-Non Commerciale-Condividi allo stesso modo 3.0 Italia (CC BY-NC-SA 3.0 IT)",
        "Creative Commons Attribution-NonCommercial-ShareAlike 3.0 Italy (CC BY-NC-SA 3.0 IT)"
    ),
    licence!(
        "B112_CCBYNCSA25",
        ADMS_NON_COMMERCIAL,
        cc!("by-nc-sa/2.5/"),
        "Creative Commons Attribuzione-Non Commerciale-Condividi allo stesso modo 2.5 Generica (CC BY-NC-SA 2.5)",
        "Creative Commons Attribution-NonCommercial-ShareAlike 2.5 Generic (CC BY-NC-SA 2.5)"
    ),
    licence!(
        "B113_CCBYNCSA25IT",
        ADMS_NON_COMMERCIAL,
        cc!("by-nc-sa/2.5/it/"),
        "Creative Commons Attribuzione-Non Commerciale-Condividi allo stesso modo 2.5 Italia (CC BY-NC-SA 2.5 IT)",
        "Creative Commons Attribution-NonCommercial-ShareAlike 2.5 Italy (CC BY-NC-SA 2.5 IT)"
    ),
    licence!(
        "B114_CCBYNCSA20",
        ADMS_NON_COMMERCIAL,
        cc!("by-nc-sa/2.0/"),
        "Creative Commons Attribuzione-Non Commerciale-Condividi allo stesso modo 2.0 Generica (CC BY-NC-SA 2.0)",
        "Creative Commons Attribution-NonCommercial-ShareAlike 2.0 Generic (CC BY-NC-SA 2.0)"
    ),
    licence!(
        "B115_CCBYNCSA20IT",
        ADMS_NON_COMMERCIAL,
        cc!("by-nc-sa/2.0/it/"),
        "Creative Commons Attribuzione-Non Commerciale-Condividi allo stesso modo 2.0 Italia (CC BY-NC-SA 2.0 IT)",
        "Creative Commons Attribution-NonCommercial-ShareAlike 2.0 Italy (CC BY-NC-SA 2.0 IT)"
    ),
    licence!(
        "B116_CCBYNCSA10",
        ADMS_NON_COMMERCIAL,
        cc!("by-nc-sa/1.0/"),
        "Creative Commons Attribuzione-Non Commerciale-Condividi allo stesso modo 1.0 Generica (CC BY-NC-SA 1.0)",
        "Creative Commons Attribution-NonCommercial-ShareAlike 1.0 Generic (CC BY-NC-SA 1.0)"
    ),
    // B.2 No derivative works
    licence!(
        "B21_CCBYND40",
        ADMS_NO_DERIVATIVES,
        cc!("by-nd/4.0/"),
        "Creative Commons Attribuzione-Non Opere Derivate 4.0 Internazionale (CC BY-ND 4.0)",
        "Creative Commons Attribution-NoDerivs 4.0 International (CC BY-ND 4.0)"
    ),
    licence!(
        "B22_CCBYND30",
        ADMS_NO_DERIVATIVES,
        cc!("by-nd/3.0/"),
        "Creative Commons Attribuzione-Non Opere Derivate 3.0 Unported (CC BY-ND 3.0)",
        "Creative Commons Attribution-NoDerivs 3.0 Unported (CC BY-ND 3.0)"
    ),
    licence!(
        "B23_CCBYND30IT",
        ADMS_NO_DERIVATIVES,
        cc!("by-nd/3.0/it/"),
        "Creative Commons Attribuzione-Non Opere Derivate 3.0 Italia (CC BY-ND 3.0 IT)",
        "Creative Commons Attribution-NoDerivs 3.0 Italy (CC BY-ND 3.0 IT)"
    ),
    licence!(
        "B24_CCBYND25",
        ADMS_NO_DERIVATIVES,
        cc!("by-nd/2.5/"),
        "Creative Commons Attribuzione-Non Opere Derivate 2.5 Generica (CC BY-ND 2.5)",
        "Creative Commons Attribution-NoDerivs 2.5 Generic (CC BY-ND 2.5)"
    ),
    licence!(
        "B25_CCBYND25IT",
        ADMS_NO_DERIVATIVES,
        cc!("by-nd/2.5/it/"),
        "Creative Commons Attribuzione-Non Opere Derivate 2.5 Italia (CC BY-ND 2.5 IT)",
        "Creative Commons Attribution-NoDerivs 2.5 Italy (CC BY-ND 2.5 IT)"
    ),
    licence!(
        "B26_CCBYND20",
        ADMS_NO_DERIVATIVES,
        cc!("by-nd/2.0/"),
        "Creative Commons Attribuzione-Non Opere Derivate 2.0 Generica (CC BY-ND 2.0)",
        "Creative Commons Attribution-NoDerivs 2.0 Generic (CC BY-ND 2.0)"
    ),
    licence!(
        "B27_CCBYND20IT",
        ADMS_NO_DERIVATIVES,
        cc!("by-nd/2.0/it/"),
        "Creative Commons Attribuzione-Non Opere Derivate 2.0 Italia (CC BY-ND 2.0 IT)",
        "Creative Commons Attribution-NoDerivs 2.0 Italy (CC BY-ND 2.0 IT)"
    ),
    licence!(
        "B28_CCBYND10",
        ADMS_NO_DERIVATIVES,
        cc!("by-nd/1.0/"),
        "Creative Commons Attribuzione-Non Opere Derivate 1.0 Generica (CC BY-ND 1.0)",
        "Creative Commons Attribution-NoDerivs 1.0 Generic (CC BY-ND 1.0)"
    ),
    licence!(
        "B29_CCBYNDNC10",
        ADMS_NO_DERIVATIVES,
        cc!("by-nd-nc/1.0/"),
        "Creative Commons Attribuzione-Non Opere Derivate-Non Commerciale 1.0 Generica (CC BY-ND-NC 1.0)",
        "Creative Commons Attribution-NoDerivs-NonCommercial 1.0 Generic (CC BY-ND-NC 1.0)"
    ),
    // C Unknown
    licence!(
        "C1_Unknown",
        ADMS_UNKNOWN,
        None,
        "Licenza Sconosciuta",
        "Unknown IPR"
    ),
    licence!(
        "C11_Unknown",
        ADMS_UNKNOWN,
        None,
        "Licenza Sconosciuta",
        "Unknown IPR"
    ),
];

/// The Italian licence vocabulary (`https://w3id.org/italia/controlled-vocabulary/licences/<CODE>`):
/// every licence document, from the open ones (A) to the non-open ones (B) and the unknown (C).
pub fn licences() -> &'static [Licence] {
    &LICENCES
}

/// The licence with this code of the Italian vocabulary. Exact match, in the vocabulary's own
/// case (`A21_CCBY40`, `C1_Unknown`).
pub fn licence(code: &str) -> Option<Licence> {
    LICENCES.iter().find(|l| l.term.code == code).copied()
}

// ---------------------------------------------------------------------------------------------
// EU file types

macro_rules! file_type {
    ($code:literal, $label:literal, $media:literal) => {
        (
            term!(
                "http://publications.europa.eu/resource/authority/file-type/",
                $code,
                $label,
                $label
            ),
            $media,
        )
    };
}

static FILE_TYPES: [(Term, &str); 29] = [
    file_type!("CSV", "CSV", "text/csv"),
    file_type!("TSV", "TSV", "text/tab-separated-values"),
    file_type!("JSON", "JSON", "application/json"),
    file_type!("GEOJSON", "GeoJSON", "application/geo+json"),
    file_type!("JSON_LD", "JSON-LD", "application/ld+json"),
    file_type!("XML", "XML", "application/xml"),
    file_type!("RDF_XML", "RDF/XML", "application/rdf+xml"),
    file_type!("RDF_TURTLE", "RDF Turtle", "text/turtle"),
    file_type!("RDF_N_TRIPLES", "RDF N-Triples", "application/n-triples"),
    file_type!("RDF_N_QUADS", "RDF N-Quads", "application/n-quads"),
    file_type!("N3", "N3", "text/n3"),
    file_type!(
        "XLSX",
        "XLSX",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ),
    file_type!("XLS", "XLS", "application/vnd.ms-excel"),
    file_type!(
        "ODS",
        "ODS",
        "application/vnd.oasis.opendocument.spreadsheet"
    ),
    file_type!(
        "DOCX",
        "DOCX",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    ),
    file_type!("ODT", "ODT", "application/vnd.oasis.opendocument.text"),
    file_type!("PDF", "PDF", "application/pdf"),
    file_type!("HTML", "HTML", "text/html"),
    file_type!("TXT", "TXT", "text/plain"),
    file_type!("ZIP", "ZIP", "application/zip"),
    file_type!("GZIP", "GZIP", "application/gzip"),
    file_type!("SHP", "SHP", "application/vnd.shp"),
    file_type!("KML", "KML", "application/vnd.google-earth.kml+xml"),
    file_type!("KMZ", "KMZ", "application/vnd.google-earth.kmz"),
    file_type!("GML", "GML", "application/gml+xml"),
    file_type!("GPKG", "GeoPackage", "application/geopackage+sqlite3"),
    file_type!("PNG", "PNG", "image/png"),
    file_type!("JPEG", "JPEG", "image/jpeg"),
    file_type!("SVG", "SVG", "image/svg+xml"),
];

/// The media type given when a file type is unknown.
pub const DEFAULT_MEDIA_TYPE: &str = "application/octet-stream";

/// The EU file types we name (`http://publications.europa.eu/resource/authority/file-type/<CODE>`):
/// tables, linked data, geodata and common downloads. Labels are the format names, the same in
/// both languages.
pub fn file_types() -> &'static [Term] {
    static TERMS: OnceLock<Vec<Term>> = OnceLock::new();
    TERMS.get_or_init(|| FILE_TYPES.iter().map(|(t, _)| *t).collect())
}

/// The EU file type with this code. Exact match: uppercase codes only (`CSV`, `RDF_TURTLE`).
pub fn file_type(code: &str) -> Option<Term> {
    FILE_TYPES
        .iter()
        .find(|(t, _)| t.code == code)
        .map(|(t, _)| *t)
}

/// The media type of an EU file type (`CSV` → `text/csv`, `GEOJSON` → `application/geo+json`);
/// [`DEFAULT_MEDIA_TYPE`] for a code we do not name. Exact match on the code, like [`file_type`].
pub fn media_type(file_type_code: &str) -> &'static str {
    FILE_TYPES
        .iter()
        .find(|(t, _)| t.code == file_type_code)
        .map_or(DEFAULT_MEDIA_TYPE, |(_, m)| m)
}

// ---------------------------------------------------------------------------------------------
// ISTAT territories

macro_rules! region {
    ($code:literal, $it:literal, $en:literal) => {
        Territory {
            term: term!(
                "https://w3id.org/italia/controlled-vocabulary/territorial-classifications/regions/",
                $code,
                $it,
                $en
            ),
            level: TerritoryLevel::Region,
        }
    };
}

/// The 20 regions, by ISTAT code. Italian labels are ISTAT's official names; English labels are
/// the usual English names.
static REGIONS: [Territory; 20] = [
    region!("01", "Piemonte", "Piedmont"),
    region!("02", "Valle d'Aosta/Vallée d'Aoste", "Aosta Valley"),
    region!("03", "Lombardia", "Lombardy"),
    region!("04", "Trentino-Alto Adige/Südtirol", "Trentino-South Tyrol"),
    region!("05", "Veneto", "Veneto"),
    region!("06", "Friuli-Venezia Giulia", "Friuli-Venezia Giulia"),
    region!("07", "Liguria", "Liguria"),
    region!("08", "Emilia-Romagna", "Emilia-Romagna"),
    region!("09", "Toscana", "Tuscany"),
    region!("10", "Umbria", "Umbria"),
    region!("11", "Marche", "Marche"),
    region!("12", "Lazio", "Lazio"),
    region!("13", "Abruzzo", "Abruzzo"),
    region!("14", "Molise", "Molise"),
    region!("15", "Campania", "Campania"),
    region!("16", "Puglia", "Apulia"),
    region!("17", "Basilicata", "Basilicata"),
    region!("18", "Calabria", "Calabria"),
    region!("19", "Sicilia", "Sicily"),
    region!("20", "Sardegna", "Sardinia"),
];

macro_rules! province {
    ($code:literal, $name:literal, $region:literal) => {
        (
            Territory {
                term: term!(
                    "https://w3id.org/italia/controlled-vocabulary/territorial-classifications/provinces/",
                    $code,
                    $name,
                    $name
                ),
                level: TerritoryLevel::Province,
            },
            $region,
        )
    };
}

/// The 107 provinces and equivalent units (città metropolitane, liberi consorzi comunali of
/// Sicily, autonomous provinces, the former provinces of Friuli-Venezia Giulia kept by ISTAT as
/// non-administrative units) with their region, as ISTAT lists them in December 2024. The code is
/// the historical province code that prefixes every comune's code (`058` Roma, `111` Sud
/// Sardegna): ISTAT's 2xx codes of the città metropolitane (`258`) are not used, nor the
/// Sardinian provinces re-established by regional law 9/2023 (not yet in the ISTAT list of that
/// date). The name is ISTAT's *denominazione dell'unità territoriale sovracomunale*.
static PROVINCES: [(Territory, &str); 107] = [
    province!("001", "Torino", "01"),      // città metropolitana
    province!("002", "Vercelli", "01"),    // provincia
    province!("003", "Novara", "01"),      // provincia
    province!("004", "Cuneo", "01"),       // provincia
    province!("005", "Asti", "01"),        // provincia
    province!("006", "Alessandria", "01"), // provincia
    province!("007", "Valle d'Aosta/Vallée d'Aoste", "02"), // provincia
    province!("008", "Imperia", "07"),     // provincia
    province!("009", "Savona", "07"),      // provincia
    province!("010", "Genova", "07"),      // città metropolitana
    province!("011", "La Spezia", "07"),   // provincia
    province!("012", "Varese", "03"),      // provincia
    province!("013", "Como", "03"),        // provincia
    province!("014", "Sondrio", "03"),     // provincia
    province!("015", "Milano", "03"),      // città metropolitana
    province!("016", "Bergamo", "03"),     // provincia
    province!("017", "Brescia", "03"),     // provincia
    province!("018", "Pavia", "03"),       // provincia
    province!("019", "Cremona", "03"),     // provincia
    province!("020", "Mantova", "03"),     // provincia
    province!("021", "Bolzano/Bozen", "04"), // provincia autonoma
    province!("022", "Trento", "04"),      // provincia autonoma
    province!("023", "Verona", "05"),      // provincia
    province!("024", "Vicenza", "05"),     // provincia
    province!("025", "Belluno", "05"),     // provincia
    province!("026", "Treviso", "05"),     // provincia
    province!("027", "Venezia", "05"),     // città metropolitana
    province!("028", "Padova", "05"),      // provincia
    province!("029", "Rovigo", "05"),      // provincia
    province!("030", "Udine", "06"),       // unità non amministrativa (ex provincia)
    province!("031", "Gorizia", "06"),     // unità non amministrativa (ex provincia)
    province!("032", "Trieste", "06"),     // unità non amministrativa (ex provincia)
    province!("033", "Piacenza", "08"),    // provincia
    province!("034", "Parma", "08"),       // provincia
    province!("035", "Reggio nell'Emilia", "08"), // provincia
    province!("036", "Modena", "08"),      // provincia
    province!("037", "Bologna", "08"),     // città metropolitana
    province!("038", "Ferrara", "08"),     // provincia
    province!("039", "Ravenna", "08"),     // provincia
    province!("040", "Forlì-Cesena", "08"), // provincia
    province!("041", "Pesaro e Urbino", "11"), // provincia
    province!("042", "Ancona", "11"),      // provincia
    province!("043", "Macerata", "11"),    // provincia
    province!("044", "Ascoli Piceno", "11"), // provincia
    province!("045", "Massa-Carrara", "09"), // provincia
    province!("046", "Lucca", "09"),       // provincia
    province!("047", "Pistoia", "09"),     // provincia
    province!("048", "Firenze", "09"),     // città metropolitana
    province!("049", "Livorno", "09"),     // provincia
    province!("050", "Pisa", "09"),        // provincia
    province!("051", "Arezzo", "09"),      // provincia
    province!("052", "Siena", "09"),       // provincia
    province!("053", "Grosseto", "09"),    // provincia
    province!("054", "Perugia", "10"),     // provincia
    province!("055", "Terni", "10"),       // provincia
    province!("056", "Viterbo", "12"),     // provincia
    province!("057", "Rieti", "12"),       // provincia
    province!("058", "Roma", "12"),        // città metropolitana
    province!("059", "Latina", "12"),      // provincia
    province!("060", "Frosinone", "12"),   // provincia
    province!("061", "Caserta", "15"),     // provincia
    province!("062", "Benevento", "15"),   // provincia
    province!("063", "Napoli", "15"),      // città metropolitana
    province!("064", "Avellino", "15"),    // provincia
    province!("065", "Salerno", "15"),     // provincia
    province!("066", "L'Aquila", "13"),    // provincia
    province!("067", "Teramo", "13"),      // provincia
    province!("068", "Pescara", "13"),     // provincia
    province!("069", "Chieti", "13"),      // provincia
    province!("070", "Campobasso", "14"),  // provincia
    province!("071", "Foggia", "16"),      // provincia
    province!("072", "Bari", "16"),        // città metropolitana
    province!("073", "Taranto", "16"),     // provincia
    province!("074", "Brindisi", "16"),    // provincia
    province!("075", "Lecce", "16"),       // provincia
    province!("076", "Potenza", "17"),     // provincia
    province!("077", "Matera", "17"),      // provincia
    province!("078", "Cosenza", "18"),     // provincia
    province!("079", "Catanzaro", "18"),   // provincia
    province!("080", "Reggio Calabria", "18"), // città metropolitana
    province!("081", "Trapani", "19"),     // libero consorzio comunale
    province!("082", "Palermo", "19"),     // città metropolitana
    province!("083", "Messina", "19"),     // città metropolitana
    province!("084", "Agrigento", "19"),   // libero consorzio comunale
    province!("085", "Caltanissetta", "19"), // libero consorzio comunale
    province!("086", "Enna", "19"),        // libero consorzio comunale
    province!("087", "Catania", "19"),     // città metropolitana
    province!("088", "Ragusa", "19"),      // libero consorzio comunale
    province!("089", "Siracusa", "19"),    // libero consorzio comunale
    province!("090", "Sassari", "20"),     // provincia
    province!("091", "Nuoro", "20"),       // provincia
    province!("092", "Cagliari", "20"),    // città metropolitana
    province!("093", "Pordenone", "06"),   // unità non amministrativa (ex provincia)
    province!("094", "Isernia", "14"),     // provincia
    province!("095", "Oristano", "20"),    // provincia
    province!("096", "Biella", "01"),      // provincia
    province!("097", "Lecco", "03"),       // provincia
    province!("098", "Lodi", "03"),        // provincia
    province!("099", "Rimini", "08"),      // provincia
    province!("100", "Prato", "09"),       // provincia
    province!("101", "Crotone", "18"),     // provincia
    province!("102", "Vibo Valentia", "18"), // provincia
    province!("103", "Verbano-Cusio-Ossola", "01"), // provincia
    province!("108", "Monza e della Brianza", "03"), // provincia
    province!("109", "Fermo", "11"),       // provincia
    province!("110", "Barletta-Andria-Trani", "16"), // provincia
    province!("111", "Sud Sardegna", "20"), // provincia
];

/// The regions, in code order.
pub fn regions() -> &'static [Territory] {
    &REGIONS
}

/// The provinces and equivalent units, in code order.
pub fn provinces() -> &'static [Territory] {
    static TERRITORIES: OnceLock<Vec<Territory>> = OnceLock::new();
    TERRITORIES.get_or_init(|| PROVINCES.iter().map(|(t, _)| *t).collect())
}

const CITY_BASE: &str =
    "https://w3id.org/italia/controlled-vocabulary/territorial-classifications/cities/";

/// The comuni, parsed once from `vocab/comuni.tsv`: their territories sorted by code, and at the
/// same index each one's province code.
struct Comuni {
    territories: Vec<Territory>,
    provinces: Vec<&'static str>,
}

impl Comuni {
    fn find(&self, code: &str) -> Option<usize> {
        self.territories
            .binary_search_by(|t| t.term.code.cmp(code))
            .ok()
    }
}

fn comuni() -> &'static Comuni {
    static COMUNI: OnceLock<Comuni> = OnceLock::new();
    COMUNI.get_or_init(|| {
        let mut rows: Vec<(&'static str, &'static str, &'static str)> =
            include_str!("vocab/comuni.tsv")
                .lines()
                .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
                .filter_map(|line| {
                    let mut cols = line.split('\t');
                    Some((cols.next()?, cols.next()?, cols.next()?))
                })
                .collect();
        rows.sort_by_key(|(code, _, _)| *code);
        // One string holds every URI: built once, kept for the life of the process.
        let mut uris = String::with_capacity(rows.len() * (CITY_BASE.len() + 6));
        for (code, _, _) in &rows {
            uris.push_str(CITY_BASE);
            uris.push_str(code);
        }
        let uris: &'static str = Box::leak(uris.into_boxed_str());
        let mut at = 0;
        let mut territories = Vec::with_capacity(rows.len());
        let mut provinces = Vec::with_capacity(rows.len());
        for (code, name, province) in rows {
            let end = at + CITY_BASE.len() + code.len();
            territories.push(Territory {
                term: Term {
                    code,
                    uri: &uris[at..end],
                    label_it: name,
                    label_en: name,
                },
                level: TerritoryLevel::Municipality,
            });
            provinces.push(province);
            at = end;
        }
        Comuni {
            territories,
            provinces,
        }
    })
}

/// Every comune, in code order (7,896 in the December 2024 list).
pub fn municipalities() -> &'static [Territory] {
    &comuni().territories
}

/// A territory by its ISTAT code: a region (2 digits, `01`–`20`), a province or equivalent unit
/// (3 digits, `058`) or a comune (6 digits, `058091`), as ISTAT lists them in December 2024.
/// Exact match: leading zeros are required and nothing is trimmed.
///
/// URIs follow OntoPiA's territorial classifications: `…/regions/<code>`, `…/provinces/<code>`
/// and `…/cities/<code>`. OntoPiA's own city URIs append the comune's date of establishment
/// (`…/cities/058091-(<date>)`), which the ISTAT list does not carry; ours name the code only.
/// Labels are ISTAT's official names (bilingual where the name is, `Bolzano/Bozen`), the same in
/// both languages except for the regions' English names.
pub fn territory(code: &str) -> Option<Territory> {
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match code.len() {
        2 => REGIONS.iter().find(|t| t.term.code == code).copied(),
        3 => PROVINCES
            .iter()
            .find(|(t, _)| t.term.code == code)
            .map(|(t, _)| *t),
        6 => {
            let comuni = comuni();
            comuni.find(code).map(|i| comuni.territories[i])
        }
        _ => None,
    }
}

/// The territory directly above: a comune's province, a province's region; `None` for a region
/// (or for a territory not in the lists).
pub fn parent(t: &Territory) -> Option<Territory> {
    match t.level {
        TerritoryLevel::Region => None,
        TerritoryLevel::Province => {
            let (_, region) = PROVINCES.iter().find(|(p, _)| p.term.code == t.term.code)?;
            territory(region)
        }
        TerritoryLevel::Municipality => {
            let comuni = comuni();
            let i = comuni.find(t.term.code)?;
            territory(comuni.provinces[i])
        }
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use std::collections::HashSet;

    use super::*;

    #[test]
    fn there_are_thirteen_data_themes_with_their_official_labels() {
        assert_eq!(themes().len(), 13);
        let gove = theme("GOVE").unwrap();
        assert_eq!(
            gove.uri,
            "http://publications.europa.eu/resource/authority/data-theme/GOVE"
        );
        assert_eq!(gove.label_it, "Governo e settore pubblico");
        assert_eq!(gove.label_en, "Government and public sector");
        let codes: Vec<&str> = themes().iter().map(|t| t.code).collect();
        assert_eq!(
            codes,
            [
                "AGRI", "ECON", "EDUC", "ENER", "ENVI", "GOVE", "HEAL", "INTR", "JUST", "REGI",
                "SOCI", "TECH", "TRAN"
            ]
        );
    }

    #[test]
    fn eu_codes_are_matched_exactly_and_in_uppercase_only() {
        assert!(theme("gove").is_none());
        assert!(theme(" GOVE").is_none());
        assert!(frequency("annual").is_none());
        assert!(file_type("csv").is_none());
        assert!(licence("a21_ccby40").is_none());
    }

    #[test]
    fn the_frequencies_include_the_common_and_the_irregular_codes() {
        for code in [
            "ANNUAL",
            "ANNUAL_2",
            "ANNUAL_3",
            "BIENNIAL",
            "BIMONTHLY",
            "BIWEEKLY",
            "CONT",
            "DAILY",
            "DAILY_2",
            "IRREG",
            "MONTHLY",
            "MONTHLY_2",
            "MONTHLY_3",
            "NEVER",
            "OP_DATPRO",
            "QUARTERLY",
            "TRIENNIAL",
            "UNKNOWN",
            "UPDATE_CONT",
            "WEEKLY",
            "WEEKLY_2",
            "WEEKLY_3",
            "QUINQUENNIAL",
            "DECENNIAL",
            "HOURLY",
            "OTHER",
        ] {
            let f = frequency(code).unwrap_or_else(|| panic!("{code} missing"));
            assert_eq!(
                f.uri,
                format!("http://publications.europa.eu/resource/authority/frequency/{code}")
            );
        }
        assert_eq!(frequency("MONTHLY").unwrap().label_it, "Mensile");
    }

    #[test]
    fn cc_by_4_is_an_attribution_licence_with_its_deed() {
        let l = licence("A21_CCBY40").unwrap();
        assert_eq!(
            l.term.uri,
            "https://w3id.org/italia/controlled-vocabulary/licences/A21_CCBY40"
        );
        assert_eq!(l.adms_type, "http://purl.org/adms/licencetype/Attribution");
        assert_eq!(
            l.document_url,
            Some("https://creativecommons.org/licenses/by/4.0/")
        );
        assert_eq!(
            l.term.label_it,
            "Creative Commons Attribuzione 4.0 Internazionale (CC BY 4.0)"
        );
    }

    #[test]
    fn each_licence_family_has_its_adms_type() {
        let adms = |code: &str| licence(code).unwrap().adms_type;
        assert!(adms("A11_CCO10").ends_with("/PublicDomain"));
        assert!(adms("A29_IODL20").ends_with("/Attribution"));
        assert!(adms("A31_CCBYSA40").ends_with("/ViralEffect-ShareAlike"));
        assert!(adms("A41_ADRM").ends_with("/ShareAlike-NotCompatible"));
        assert!(adms("B11_CCBYNC40").ends_with("/NonCommercialUseOnly"));
        assert!(adms("B21_CCBYND40").ends_with("/NoDerivativeWork"));
        assert!(adms("C1_Unknown").ends_with("/UnknownIPR"));
        assert_eq!(licence("C1_Unknown").unwrap().document_url, None);
    }

    #[test]
    fn every_licence_code_family_matches_its_adms_type() {
        for l in licences() {
            let expected = match l.term.code.split('_').next().unwrap() {
                c if c.starts_with("A1") && c.len() == 3 => ADMS_PUBLIC_DOMAIN,
                c if c.starts_with("A2") => ADMS_ATTRIBUTION,
                c if c.starts_with("A3") => ADMS_SHARE_ALIKE,
                c if c.starts_with("A4") => ADMS_NOT_COMPATIBLE,
                c if c.starts_with("B1") => ADMS_NON_COMMERCIAL,
                c if c.starts_with("B2") => ADMS_NO_DERIVATIVES,
                c if c.starts_with('C') => ADMS_UNKNOWN,
                other => panic!("unexpected code family {other}"),
            };
            assert_eq!(l.adms_type, expected, "{}", l.term.code);
        }
    }

    #[test]
    fn vocabulary_codes_and_uris_are_unique() {
        fn unique<'a>(items: impl Iterator<Item = &'a Term>) {
            let items: Vec<&Term> = items.collect();
            let codes: HashSet<&str> = items.iter().map(|t| t.code).collect();
            let uris: HashSet<&str> = items.iter().map(|t| t.uri).collect();
            assert_eq!(codes.len(), items.len());
            assert_eq!(uris.len(), items.len());
            for t in &items {
                assert!(t.uri.ends_with(t.code), "{}", t.uri);
                assert!(!t.label_it.is_empty() && !t.label_en.is_empty());
            }
        }
        unique(themes().iter());
        unique(frequencies().iter());
        unique(licences().iter().map(|l| &l.term));
        unique(file_types().iter());
        unique(regions().iter().map(|t| &t.term));
        unique(provinces().iter().map(|t| &t.term));
        unique(municipalities().iter().map(|t| &t.term));
    }

    #[test]
    fn file_types_have_their_media_types() {
        assert_eq!(media_type("CSV"), "text/csv");
        assert_eq!(media_type("JSON"), "application/json");
        assert_eq!(media_type("GEOJSON"), "application/geo+json");
        assert_eq!(media_type("RDF_TURTLE"), "text/turtle");
        assert_eq!(media_type("NOPE"), DEFAULT_MEDIA_TYPE);
        for code in [
            "CSV",
            "JSON",
            "GEOJSON",
            "XLSX",
            "ODS",
            "XML",
            "RDF_XML",
            "RDF_TURTLE",
            "JSON_LD",
            "ZIP",
            "PDF",
            "TSV",
            "SHP",
            "KML",
            "HTML",
            "TXT",
        ] {
            let t = file_type(code).unwrap_or_else(|| panic!("{code} missing"));
            assert_eq!(
                t.uri,
                format!("http://publications.europa.eu/resource/authority/file-type/{code}")
            );
            assert_ne!(media_type(code), DEFAULT_MEDIA_TYPE);
        }
    }

    #[test]
    fn regions_are_found_by_their_two_digit_code() {
        assert_eq!(regions().len(), 20);
        let lazio = territory("12").unwrap();
        assert_eq!(lazio.level, TerritoryLevel::Region);
        assert_eq!(lazio.term.label_it, "Lazio");
        assert_eq!(
            lazio.term.uri,
            "https://w3id.org/italia/controlled-vocabulary/territorial-classifications/regions/12"
        );
        assert_eq!(territory("16").unwrap().term.label_en, "Apulia");
        assert!(territory("21").is_none());
        assert!(territory("00").is_none());
    }

    #[test]
    fn provinces_are_found_by_their_historical_three_digit_code() {
        assert_eq!(provinces().len(), 107);
        let roma = territory("058").unwrap();
        assert_eq!(roma.level, TerritoryLevel::Province);
        assert_eq!(roma.term.label_it, "Roma");
        assert_eq!(
            roma.term.uri,
            "https://w3id.org/italia/controlled-vocabulary/territorial-classifications/provinces/058"
        );
        assert_eq!(territory("111").unwrap().term.label_it, "Sud Sardegna");
        assert_eq!(territory("021").unwrap().term.label_it, "Bolzano/Bozen");
        assert!(
            territory("258").is_none(),
            "UTS codes are not province codes"
        );
        for p in provinces() {
            let region = parent(p).unwrap();
            assert_eq!(region.level, TerritoryLevel::Region);
        }
    }

    #[test]
    fn the_full_list_of_comuni_is_there() {
        assert_eq!(municipalities().len(), 7896);
        let roma = territory("058091").unwrap();
        assert_eq!(roma.level, TerritoryLevel::Municipality);
        assert_eq!(roma.term.label_it, "Roma");
        assert_eq!(
            roma.term.uri,
            "https://w3id.org/italia/controlled-vocabulary/territorial-classifications/cities/058091"
        );
        assert_eq!(territory("001272").unwrap().term.label_it, "Torino");
        assert_eq!(territory("021001").unwrap().term.label_it, "Aldino/Aldein");
        assert!(territory("058999").is_none());
        assert!(territory("58091").is_none());
        assert!(territory("O58091").is_none());
    }

    #[test]
    fn a_comune_climbs_to_its_province_then_to_its_region() {
        let comune = territory("058091").unwrap();
        let province = parent(&comune).unwrap();
        assert_eq!(province.term.code, "058");
        let region = parent(&province).unwrap();
        assert_eq!(region.term.code, "12");
        assert_eq!(parent(&region), None);
        for c in municipalities() {
            let p = parent(c).unwrap_or_else(|| panic!("{} has no province", c.term.code));
            assert!(c.term.code.starts_with(p.term.code));
        }
    }
}
