//! CSV cells that a spreadsheet would not run as formulas (OWASP, "CSV
//! Injection"): a text cell that begins with `=`, `+`, `-`, `@`, a tab or a
//! carriage return gets a leading `'`, which spreadsheets show as text and
//! hide. Numbers are written as numbers and never touched.
//!
//! `restore` undoes `neutralize` exactly, so an export imports back
//! byte-identical: a cell that already began with quotes before such a
//! character gets one more quote, which `restore` takes away again.

const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// True when `s` is some quotes (maybe none) and then a trigger character.
fn quoted_trigger(s: &str) -> bool {
    s.trim_start_matches('\'').starts_with(TRIGGERS)
}

/// The text as a CSV cell a spreadsheet shows as text.
pub fn neutralize(s: &str) -> std::borrow::Cow<'_, str> {
    if quoted_trigger(s) {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

/// The text a neutralized cell stood for.
pub fn restore(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if quoted_trigger(rest) => rest,
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_quoted_and_restored() {
        for (raw, cell) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("@SUM(1+1)", "'@SUM(1+1)"),
            ("-2+3", "'-2+3"),
            ("+1", "'+1"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("'=x", "''=x"),
            ("''-x", "'''-x"),
        ] {
            assert_eq!(neutralize(raw), cell, "{raw:?}");
            assert_eq!(restore(cell), raw, "{cell:?}");
        }
    }

    #[test]
    fn plain_text_is_untouched() {
        for raw in ["Verin Shorzha", "", "'tis", "'", "a=b", "2023-08-15T11:00:00Z", "''"] {
            assert_eq!(neutralize(raw), raw);
            assert_eq!(restore(raw), raw);
        }
    }
}
