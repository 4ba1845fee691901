//! The e-mails Sportello sends, in Italian (informal "tu", gender-neutral) and English: new
//! message, due-date reminder, address confirmation, and the sandbox copy for delegates. Each
//! renders to `(subject, text, html)`; the HTML part escapes every interpolated value.
//!
//! The wording lives here, compiled into the binary. A message whose service requires the secure
//! channel is announced without its subject or body.

/// The language of an e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Italian, the default.
    #[default]
    It,
    /// English.
    En,
}

/// A rendered e-mail: `(subject, text, html)`.
pub type Rendered = (String, String, String);

impl Lang {
    /// The first of the citizen's preferred languages (`it_IT`, `en_GB`, `de_DE`, …) that is
    /// supported; Italian when none is.
    pub fn from_preferences(preferred: &[String]) -> Self {
        preferred
            .iter()
            .find_map(|tag| {
                let language = tag.split(['_', '-']).next().unwrap_or_default();
                if language.eq_ignore_ascii_case("it") {
                    Some(Lang::It)
                } else if language.eq_ignore_ascii_case("en") {
                    Some(Lang::En)
                } else {
                    None
                }
            })
            .unwrap_or_default()
    }

    /// The BCP 47 code, for the HTML `lang` attribute.
    pub fn code(self) -> &'static str {
        match self {
            Lang::It => "it",
            Lang::En => "en",
        }
    }
}

/// Escapes `s` for HTML text and double- or single-quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// One piece of an e-mail body, rendered both as text and as HTML.
enum Block<'a> {
    /// A paragraph. The fixed wording holds no markup, so escaping the whole paragraph escapes
    /// every value interpolated into it.
    Para(String),
    /// Text written by a sender (Markdown source), kept as is with its line breaks.
    Quote(&'a str),
    /// A link with its label; the text part shows the address after the label.
    Link { label: &'a str, url: &'a str },
}

fn footer(lang: Lang) -> &'static str {
    match lang {
        Lang::It => {
            "Questa e-mail è stata inviata automaticamente da Sportello: non rispondere a questo indirizzo."
        }
        Lang::En => "This e-mail was sent automatically by Sportello: please do not reply to it.",
    }
}

fn render(lang: Lang, subject: String, blocks: &[Block<'_>]) -> Rendered {
    let mut text = String::new();
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head><meta charset=\"utf-8\"><title>{}</title></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.5;\">\n",
        lang.code(),
        escape_html(&subject)
    );
    for block in blocks {
        match block {
            Block::Para(p) => {
                text.push_str(p);
                html.push_str(&format!("<p>{}</p>\n", escape_html(p)));
            }
            Block::Quote(q) => {
                text.push_str(q.trim_end());
                html.push_str(&format!(
                    "<blockquote style=\"white-space: pre-wrap; border-left: 3px solid #0066cc; \
                     margin: 0; padding-left: 1em;\">{}</blockquote>\n",
                    escape_html(q.trim_end())
                ));
            }
            Block::Link { label, url } => {
                text.push_str(&format!("{label}: {url}"));
                html.push_str(&format!(
                    "<p><a href=\"{}\">{}</a></p>\n",
                    escape_html(url),
                    escape_html(label)
                ));
            }
        }
        text.push_str("\n\n");
    }
    let footer = footer(lang);
    text.push_str("-- \n");
    text.push_str(footer);
    text.push('\n');
    html.push_str(&format!(
        "<hr>\n<p style=\"font-size: smaller; color: #555;\">{}</p>\n</body>\n</html>\n",
        escape_html(footer)
    ));
    (subject, text, html)
}

/// The notice of a new message. With `content` (`(subject, markdown)`) the e-mail carries the
/// message; without it (the service requires the secure channel) it says only that a message
/// from the service is waiting in the app.
pub fn new_message(
    lang: Lang,
    service_name: &str,
    organization_name: &str,
    content: Option<(&str, &str)>,
    open_url: &str,
) -> Rendered {
    match (lang, content) {
        (Lang::It, Some((subject, markdown))) => render(
            lang,
            format!("{subject} — {organization_name}"),
            &[
                Block::Para(format!(
                    "Hai ricevuto un messaggio da {service_name} ({organization_name}):"
                )),
                Block::Para(subject.to_owned()),
                Block::Quote(markdown),
                Block::Link {
                    label: "Apri il messaggio",
                    url: open_url,
                },
                Block::Para(
                    "Ricevi questa e-mail perché hai attivato l'inoltro dei messaggi via e-mail; \
                     puoi disattivarlo nelle preferenze dell'app."
                        .to_owned(),
                ),
            ],
        ),
        (Lang::En, Some((subject, markdown))) => render(
            lang,
            format!("{subject} — {organization_name}"),
            &[
                Block::Para(format!(
                    "You have received a message from {service_name} ({organization_name}):"
                )),
                Block::Para(subject.to_owned()),
                Block::Quote(markdown),
                Block::Link {
                    label: "Open the message",
                    url: open_url,
                },
                Block::Para(
                    "You receive this e-mail because you turned on e-mail forwarding of your \
                     messages; you can turn it off in the app's preferences."
                        .to_owned(),
                ),
            ],
        ),
        (Lang::It, None) => render(
            lang,
            format!("Hai un nuovo messaggio da {organization_name}"),
            &[
                Block::Para(format!(
                    "C'è un nuovo messaggio per te da {service_name} ({organization_name})."
                )),
                Block::Para(
                    "Per tutelare la tua riservatezza, il messaggio si può leggere solo nell'app."
                        .to_owned(),
                ),
                Block::Link {
                    label: "Leggilo nell'app",
                    url: open_url,
                },
            ],
        ),
        (Lang::En, None) => render(
            lang,
            format!("You have a new message from {organization_name}"),
            &[
                Block::Para(format!(
                    "A new message from {service_name} ({organization_name}) is waiting for you."
                )),
                Block::Para("To protect your privacy, it can be read only in the app.".to_owned()),
                Block::Link {
                    label: "Read it in the app",
                    url: open_url,
                },
            ],
        ),
    }
}

/// A reminder that a message has a due date (`due_date` already formatted for `lang`). The
/// message's subject is named only when given.
pub fn reminder(
    lang: Lang,
    service_name: &str,
    organization_name: &str,
    due_date: &str,
    content_subject: Option<&str>,
    open_url: &str,
) -> Rendered {
    match lang {
        Lang::It => render(
            lang,
            format!("Promemoria: scadenza il {due_date} — {organization_name}"),
            &[
                Block::Para(match content_subject {
                    Some(subject) => format!(
                        "Ti ricordiamo che il messaggio «{subject}» di {service_name} \
                         ({organization_name}) scade il {due_date}."
                    ),
                    None => format!(
                        "Ti ricordiamo che un messaggio di {service_name} ({organization_name}) \
                         scade il {due_date}."
                    ),
                }),
                Block::Link {
                    label: "Apri il messaggio",
                    url: open_url,
                },
            ],
        ),
        Lang::En => render(
            lang,
            format!("Reminder: due on {due_date} — {organization_name}"),
            &[
                Block::Para(match content_subject {
                    Some(subject) => format!(
                        "This is a reminder that the message “{subject}” from {service_name} \
                         ({organization_name}) is due on {due_date}."
                    ),
                    None => format!(
                        "This is a reminder that a message from {service_name} \
                         ({organization_name}) is due on {due_date}."
                    ),
                }),
                Block::Link {
                    label: "Open the message",
                    url: open_url,
                },
            ],
        ),
    }
}

/// The request to confirm an e-mail address, with the absolute `validation_url`.
pub fn email_validation(lang: Lang, validation_url: &str) -> Rendered {
    match lang {
        Lang::It => render(
            lang,
            "Conferma il tuo indirizzo e-mail".to_owned(),
            &[
                Block::Para(
                    "Per ricevere gli avvisi di Sportello a questo indirizzo, confermalo aprendo \
                     il collegamento qui sotto."
                        .to_owned(),
                ),
                Block::Link {
                    label: "Conferma l'indirizzo e-mail",
                    url: validation_url,
                },
                Block::Para(
                    "Se non hai chiesto tu questa conferma, ignora questa e-mail: l'indirizzo \
                     non verrà usato."
                        .to_owned(),
                ),
            ],
        ),
        Lang::En => render(
            lang,
            "Confirm your e-mail address".to_owned(),
            &[
                Block::Para(
                    "To receive Sportello notices at this address, confirm it by opening the \
                     link below."
                        .to_owned(),
                ),
                Block::Link {
                    label: "Confirm the e-mail address",
                    url: validation_url,
                },
                Block::Para(
                    "If you did not ask for this, ignore this e-mail: the address will not be \
                     used."
                        .to_owned(),
                ),
            ],
        ),
    }
}

/// The copy of a test message sent to the sandbox fiscal code, for the delegates of the
/// organization (Italian).
pub fn sandbox_copy(service_name: &str, subject: &str, markdown: &str) -> Rendered {
    render(
        Lang::It,
        format!("[PROVA] {subject}"),
        &[
            Block::Para(format!(
                "Questo è un messaggio di prova che il servizio «{service_name}» ha inviato al \
                 codice fiscale di test: non è stato recapitato a nessuna persona. Ricevi questa \
                 copia come referente dell'ente."
            )),
            Block::Para(subject.to_owned()),
            Block::Quote(markdown),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn langs(tags: &[&str]) -> Lang {
        Lang::from_preferences(&tags.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn the_first_supported_preferred_language_is_chosen() {
        assert_eq!(langs(&["en_GB", "it_IT"]), Lang::En);
        assert_eq!(langs(&["de_DE", "en_US", "it_IT"]), Lang::En);
        assert_eq!(langs(&["de_DE", "it_IT", "en_GB"]), Lang::It);
        assert_eq!(langs(&["EN-gb"]), Lang::En);
        assert_eq!(langs(&["it"]), Lang::It);
    }

    #[test]
    fn italian_is_the_default_when_no_preferred_language_is_supported() {
        assert_eq!(langs(&[]), Lang::It);
        assert_eq!(langs(&["de_DE", "fr_FR", "sl_SI"]), Lang::It);
        assert_eq!(langs(&["english"]), Lang::It);
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape_html(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn a_message_with_content_carries_subject_and_body_in_the_citizens_language() {
        let content = Some((
            "Rinnovo carta d'identità",
            "La tua carta scade a **maggio**.",
        ));
        let (subject, text, html) = new_message(
            Lang::It,
            "Anagrafe",
            "Comune di Roma",
            content,
            "https://app/m/1",
        );
        assert_eq!(subject, "Rinnovo carta d'identità — Comune di Roma");
        assert!(text.contains("Hai ricevuto un messaggio da Anagrafe (Comune di Roma)"));
        assert!(text.contains("La tua carta scade a **maggio**."));
        assert!(text.contains("Apri il messaggio: https://app/m/1"));
        assert!(html.contains("<html lang=\"it\">"));
        assert!(html.contains("Rinnovo carta d&#39;identità"));

        let (_, text, html) = new_message(
            Lang::En,
            "Anagrafe",
            "Comune di Roma",
            content,
            "https://app/m/1",
        );
        assert!(text.contains("You have received a message from Anagrafe (Comune di Roma)"));
        assert!(text.contains("Open the message: https://app/m/1"));
        assert!(html.contains("<html lang=\"en\">"));
    }

    #[test]
    fn a_message_without_content_reveals_neither_its_subject_nor_its_body() {
        for lang in [Lang::It, Lang::En] {
            let (subject, text, html) =
                new_message(lang, "Tributi", "Comune di Milano", None, "https://app/m/2");
            for part in [&subject, &text, &html] {
                assert!(part.contains("Comune di Milano"), "{part}");
                assert!(!part.contains("TARI"), "{part}");
                assert!(!part.contains("Avviso"), "{part}");
            }
            assert!(text.contains("Tributi"));
            assert!(text.contains("https://app/m/2"));
        }
        let (subject, text, _) = new_message(Lang::It, "Tributi", "Comune di Milano", None, "u");
        assert_eq!(subject, "Hai un nuovo messaggio da Comune di Milano");
        assert!(text.contains("solo nell'app"));
    }

    #[test]
    fn every_interpolated_value_is_escaped_in_the_html_part() {
        let (_, text, html) = new_message(
            Lang::It,
            "<b>Servizio</b>",
            "Ente & Co",
            Some(("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")),
            "https://app/m?id=1&x=\"><script>",
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b>Servizio"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("Ente &amp; Co"));
        assert!(html.contains("href=\"https://app/m?id=1&amp;x=&quot;&gt;&lt;script&gt;\""));
        // The text part is plain text: no escaping there.
        assert!(text.contains("<script>alert(1)</script>"));
    }

    #[test]
    fn a_reminder_names_the_subject_only_when_given() {
        let (subject, text, _) = reminder(
            Lang::It,
            "Tributi",
            "Comune di Milano",
            "31/05/2026",
            Some("Avviso TARI"),
            "https://app/m/3",
        );
        assert_eq!(
            subject,
            "Promemoria: scadenza il 31/05/2026 — Comune di Milano"
        );
        assert!(text.contains("«Avviso TARI»"));

        let (subject, text, html) = reminder(
            Lang::En,
            "Tributi",
            "Comune di Milano",
            "31 May 2026",
            None,
            "https://app/m/3",
        );
        assert_eq!(subject, "Reminder: due on 31 May 2026 — Comune di Milano");
        assert!(text.contains("a message from Tributi (Comune di Milano) is due on 31 May 2026"));
        assert!(!text.contains("Avviso") && !html.contains("Avviso"));
    }

    #[test]
    fn the_validation_mail_carries_the_absolute_link() {
        let url = "https://sportello.example.it/email/validate?token=abc";
        let (subject, text, html) = email_validation(Lang::It, url);
        assert_eq!(subject, "Conferma il tuo indirizzo e-mail");
        assert!(text.contains(url));
        assert!(html.contains(&format!("href=\"{}\"", escape_html(url))));
        let (subject, text, _) = email_validation(Lang::En, url);
        assert_eq!(subject, "Confirm your e-mail address");
        assert!(text.contains(url));
    }

    #[test]
    fn the_sandbox_copy_says_it_is_a_test() {
        let (subject, text, html) = sandbox_copy("Anagrafe", "Prova <1>", "Testo di **prova**");
        assert_eq!(subject, "[PROVA] Prova <1>");
        assert!(text.contains("messaggio di prova"));
        assert!(text.contains("Testo di **prova**"));
        assert!(html.contains("Prova &lt;1&gt;"));
    }
}
