//! The notice's fixed texts in Italian, German and English. Bilingual notices print the Italian
//! text followed by the second language's.

use crate::Language;

/// One text in the three languages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Text {
    pub it: &'static str,
    pub de: &'static str,
    pub en: &'static str,
}

impl Text {
    /// The second language's text, on bilingual notices.
    pub(crate) fn second(&self, lang: Language) -> Option<&'static str> {
        match lang {
            Language::It => None,
            Language::ItDe => Some(self.de),
            Language::ItEn => Some(self.en),
        }
    }

    /// A short label: `"it"`, or `"it / de"` on bilingual notices.
    pub(crate) fn label(&self, lang: Language) -> String {
        match self.second(lang) {
            None => self.it.to_owned(),
            Some(second) => format!("{} / {second}", self.it),
        }
    }
}

const fn t(it: &'static str, de: &'static str, en: &'static str) -> Text {
    Text { it, de, en }
}

pub(crate) const NOTICE: Text = t(
    "AVVISO DI PAGAMENTO",
    "ZAHLUNGSMITTEILUNG",
    "PAYMENT NOTICE",
);
pub(crate) const CREDITOR: Text = t("ENTE CREDITORE", "ZAHLUNGSEMPFÄNGER", "CREDITOR");
pub(crate) const DEBTOR: Text = t(
    "DESTINATARIO AVVISO",
    "EMPFÄNGER DER MITTEILUNG",
    "NOTICE RECIPIENT",
);
pub(crate) const FISCAL_CODE: Text = t("Cod. Fiscale", "Steuernummer", "Tax code");
pub(crate) const HOW_MUCH: Text = t(
    "QUANTO E QUANDO PAGARE?",
    "WIE VIEL UND WANN ZAHLEN?",
    "HOW MUCH AND WHEN TO PAY?",
);
pub(crate) const WHERE: Text = t("DOVE PAGARE?", "WO ZAHLEN?", "WHERE TO PAY?");
pub(crate) const BY: Text = t("entro il", "bis zum", "by");
pub(crate) const NO_DUE_DATE: Text = t("senza scadenza", "ohne Fälligkeit", "no due date");
pub(crate) const TOTAL: Text = t(
    "Importo totale delle rate",
    "Gesamtbetrag der Raten",
    "Total of the instalments",
);
pub(crate) const UPDATED_AMOUNT: Text = t(
    "L'importo è aggiornato automaticamente dal sistema e potrebbe variare per eventuali sgravi, note di credito, indennità di mora, sanzioni o interessi: al momento del pagamento ti potrebbe essere chiesta una cifra diversa da quella qui indicata.",
    "Der Betrag wird vom System automatisch aktualisiert und kann sich durch Erlässe, Gutschriften, Verzugsentschädigungen, Strafen oder Zinsen ändern: bei der Zahlung kann ein anderer als der hier angegebene Betrag verlangt werden.",
    "The amount is updated automatically and may change because of reliefs, credit notes, late-payment charges, penalties or interest: when you pay you may be asked for an amount other than the one shown here.",
);
pub(crate) const ONLINE: Text = t("PAGA ONLINE", "ONLINE ZAHLEN", "PAY ONLINE");
pub(crate) const ONLINE_TEXT: Text = t(
    "Sul sito o con l'app del tuo Ente Creditore, della tua banca o di un altro prestatore di servizi di pagamento aderente a pagoPA. Puoi pagare con carte, conto corrente o CBILL.",
    "Auf der Website oder mit der App Ihres Zahlungsempfängers, Ihrer Bank oder eines anderen an pagoPA teilnehmenden Zahlungsdienstleisters. Sie können mit Karte, Girokonto oder CBILL zahlen.",
    "On the website or in the app of your creditor, of your bank or of another payment service provider taking part in pagoPA. You can pay by card, bank account or CBILL.",
);
pub(crate) const IN_PERSON: Text = t("PAGA SUL TERRITORIO", "VOR ORT ZAHLEN", "PAY IN PERSON");
pub(crate) const IN_PERSON_TEXT: Text = t(
    "Negli uffici postali, in banca, in ricevitoria, dal tabaccaio, al bancomat o al supermercato. Puoi pagare in contanti, con carte o con il conto corrente.",
    "In Postämtern, Banken, Annahmestellen, Tabakläden, an Geldautomaten oder im Supermarkt. Sie können bar, mit Karte oder über Ihr Girokonto zahlen.",
    "At post offices, banks, lottery outlets, tobacconists, cash machines or supermarkets. You can pay in cash, by card or from your bank account.",
);
pub(crate) const USE_PART_PLAN: Text = t(
    "Utilizza la porzione di avviso relativa alla rata e al canale di pagamento che preferisci.",
    "Verwenden Sie den Abschnitt der Mitteilung für die Rate und den Zahlungskanal Ihrer Wahl.",
    "Use the part of the notice for the instalment and the payment channel you prefer.",
);
pub(crate) const USE_PART_SINGLE: Text = t(
    "Utilizza la porzione di avviso relativa al canale di pagamento che preferisci.",
    "Verwenden Sie den Abschnitt der Mitteilung für den Zahlungskanal Ihrer Wahl.",
    "Use the part of the notice for the payment channel you prefer.",
);
pub(crate) const PAYMENT_DATA: Text =
    t("DATI PER IL PAGAMENTO", "ZAHLUNGSDATEN", "PAYMENT DETAILS");
pub(crate) const SINGLE: Text = t("RATA UNICA", "EINMALZAHLUNG", "SINGLE PAYMENT");
pub(crate) const RECIPIENT: Text = t("Destinatario", "Empfänger", "Recipient");
pub(crate) const CREDITOR_FIELD: Text = t("Ente Creditore", "Zahlungsempfänger", "Creditor");
pub(crate) const SUBJECT: Text = t("Oggetto del pagamento", "Zahlungsgrund", "Payment subject");
pub(crate) const CODE: Text = t("Codice Avviso", "Kodex der Mitteilung", "Notice code");
pub(crate) const CREDITOR_CF: Text = t(
    "Cod. Fiscale Ente Creditore",
    "Steuernr. Zahlungsempfänger",
    "Creditor tax code",
);
pub(crate) const AMOUNT: Text = t("Importo", "Betrag", "Amount");
pub(crate) const CBILL: Text = t("Codice CBILL", "CBILL-Kodex", "CBILL code");
pub(crate) const SCAN: Text = t(
    "Inquadra il codice QR con l'app",
    "QR-Code mit der App scannen",
    "Scan the QR code with the app",
);

/// "RATA 2 di 5" and its translations.
pub(crate) fn installment(lang: Language, n: usize, of: usize) -> String {
    let it = format!("RATA {n} di {of}");
    match lang {
        Language::It => it,
        Language::ItDe => format!("{it} / RATE {n} von {of}"),
        Language::ItEn => format!("{it} / INSTALMENT {n} of {of}"),
    }
}

/// `AVVISO.RATE.INFO`: how the notice can be paid.
pub(crate) fn plan_info(lang: Language, with_single: bool, count: usize) -> Vec<String> {
    let (it, de, en) = if with_single {
        (
            format!("Puoi pagare con una unica rata o in {count} rate."),
            format!("Sie können in einer Einmalzahlung oder in {count} Raten zahlen."),
            format!("You can pay in a single payment or in {count} instalments."),
        )
    } else {
        (
            format!("Puoi pagare in {count} rate."),
            format!("Sie können in {count} Raten zahlen."),
            format!("You can pay in {count} instalments."),
        )
    };
    match lang {
        Language::It => vec![it],
        Language::ItDe => vec![it, de],
        Language::ItEn => vec![it, en],
    }
}
