//! Writing CSV cells for the exports people open in spreadsheets (the citizen's export, batch
//! reports): RFC 4180 quoting, and neutralisation of text a spreadsheet would run as a formula
//! (CSV injection): a cell starting with `=`, `+`, `-`, `@`, tab or carriage return gets a
//! leading `'`, which spreadsheets show as text and do not evaluate.

/// The characters that make a spreadsheet read a cell as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Appends `value` as one CSV cell: always quoted, inner quotes doubled, and prefixed with `'`
/// when it starts like a formula. The prefix is the documented price: a negative number or a
/// text beginning with `-` reads `'-…` in the file.
pub fn cell(out: &mut String, value: &str) {
    out.push('"');
    if value.starts_with(FORMULA_START) {
        out.push('\'');
    }
    out.push_str(&value.replace('"', "\"\""));
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(value: &str) -> String {
        let mut out = String::new();
        cell(&mut out, value);
        out
    }

    #[test]
    fn cells_are_quoted_with_inner_quotes_doubled() {
        assert_eq!(
            written("Rata \"TARI\",\nscadenza"),
            "\"Rata \"\"TARI\"\",\nscadenza\""
        );
        assert_eq!(written(""), "\"\"");
    }

    #[test]
    fn cells_that_start_like_a_formula_are_written_as_text() {
        assert_eq!(
            written("=HYPERLINK(\"http://evil.example\",\"Paga qui\")"),
            "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"Paga qui\"\")\""
        );
        for start in FORMULA_START {
            let value = format!("{start}1+1");
            assert_eq!(written(&value), format!("\"'{value}\""), "{value:?}");
        }
        // Only the first character matters: formulas cannot start mid-cell.
        assert_eq!(written("a=1+1"), "\"a=1+1\"");
        assert_eq!(written(" =1"), "\" =1\"");
    }
}
