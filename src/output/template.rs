//! The .xlsx template `hrport template` writes: the data sheet first (one
//! column per template column, a note on each header saying what it
//! accepts, dropdowns, text and date formats), then an "About" sheet, then
//! a hidden "Lists" sheet holding the dropdown lists too long for Excel's
//! inline form.
//!
//! It only lays out what it is given: which values a dropdown offers comes
//! from the target's session (`targets::choices`), never from here. The
//! import reads the file back as any other workbook, without a warning: the
//! headers are the template's own and the data sheet is the first.

use std::path::Path;

use rust_xlsxwriter::utility::column_number_to_name;
use rust_xlsxwriter::{
    Color, DataValidation, DataValidationErrorStyle, Format, Formula, Note, Workbook, Worksheet,
    XlsxError,
};

use crate::error::{Error, Result};
use crate::mapping::field::{FieldSpec, Kind};

/// The data sheet's name.
pub const DATA_SHEET: &str = "People";
/// The hidden sheet with the long dropdown lists.
pub const LISTS_SHEET: &str = "Lists";
/// Excel's limit on an inline list (values joined by commas).
const INLINE_MAX: usize = 255;
/// The last row a dropdown and a column's format reach (Excel's last row).
const LAST_ROW: u32 = 1_048_575;

/// What the template is made of.
pub struct TemplateBook<'a> {
    /// The target's `--target` name and its one-line title.
    pub target: &'a str,
    pub title: &'a str,
    pub fields: &'static [FieldSpec],
    /// Per column, the values its dropdown offers (`targets::choices`).
    pub choices: &'a [Option<Vec<String>>],
    /// Where the lists came from: the tenant's URL, the sandbox, or a profile.
    pub source: &'a str,
    /// The command that imports the filled-in file.
    pub import: &'a str,
    /// When it was made, as shown on the About sheet.
    pub made: &'a str,
}

/// Writes the template to `path`.
pub fn write(path: &Path, t: &TemplateBook) -> Result<()> {
    let xerr = |e: XlsxError| Error::config(format!("{}: {e}", path.display()));
    let mut book = Workbook::new();
    let mut lists = Lists::default();
    let data = data_sheet(t, &mut lists).map_err(xerr)?;
    book.push_worksheet(data);
    book.push_worksheet(about_sheet(t).map_err(xerr)?);
    if let Some(sheet) = lists.sheet().map_err(xerr)? {
        book.push_worksheet(sheet);
    }
    book.save(path).map_err(|e| Error::output(path, std::io::Error::other(e)))
}

/// The sheet a person fills in: headers, notes, formats, dropdowns.
fn data_sheet(t: &TemplateBook, lists: &mut Lists) -> Result<Worksheet, XlsxError> {
    let mut sheet = Worksheet::new();
    sheet.set_name(DATA_SHEET)?;
    let text = Format::new().set_num_format("@");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let header = Format::new().set_num_format("@").set_bold();
    let required = header.clone().set_background_color(Color::RGB(0xFFF2CC));
    for (c, (f, choices)) in t.fields.iter().zip(t.choices).enumerate() {
        let col = c as u16;
        match f.kind {
            Kind::Date | Kind::PastDate => sheet.set_column_format(col, &date)?,
            // Numbers stay numbers; everything else is text, so IDs, phone
            // numbers and postal codes keep their leading zeros.
            Kind::Number { .. } => &mut sheet,
            _ => sheet.set_column_format(col, &text)?,
        };
        let format = if f.required { &required } else { &header };
        sheet.write_string_with_format(0, col, f.column, format)?;
        let width = f.column.chars().count().max(12) as f64 + 4.0;
        sheet.set_column_width(col, width)?;
        let note = Note::new(header_note(f, choices.as_deref()))
            .set_author("hrport")
            .add_author_prefix(false)
            .set_width(320)
            .set_height(140);
        sheet.insert_note(0, col, &note)?;
        if let Some(names) = choices {
            let dv = dropdown(f, names, lists)?;
            sheet.add_data_validation(1, col, LAST_ROW, col, &dv)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(sheet)
}

/// What a header's note says: required or not, what the column accepts,
/// its help line, and where its dropdown's values come from.
pub fn header_note(f: &FieldSpec, choices: Option<&[String]>) -> String {
    let mut lines =
        vec![format!("{} ({})", f.column, if f.required { "required" } else { "optional" })];
    lines.push(format!("Accepts: {}.", f.accepts()));
    if !f.help.is_empty() {
        lines.push(f.help.to_string());
    }
    if let Some(names) = choices {
        let several = matches!(f.kind, Kind::References(_) | Kind::List);
        lines.push(format!(
            "Pick from the list ({} value{}){}.",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            if several { "; for several, type them separated by ;" } else { "" }
        ));
    }
    lines.join("\n")
}

/// A dropdown offering `names`: inline when Excel allows it, else a range
/// of the hidden Lists sheet. A warning, not a stop, on other values:
/// every such column also takes ids, other spellings (y, true) or several
/// values, which the import checks.
fn dropdown(
    f: &FieldSpec,
    names: &[String],
    lists: &mut Lists,
) -> Result<DataValidation, XlsxError> {
    let dv = if fits_inline(names) {
        DataValidation::new().allow_list_strings(names)?
    } else {
        DataValidation::new().allow_list_formula(Formula::new(lists.add(f.column, names)))
    };
    dv.set_error_style(DataValidationErrorStyle::Warning)
        .set_error_title("Not in the list")?
        .set_error_message(
            "This value is not in the list. Keep it anyway? hrport checks every value before \
             sending; the header's note says what the column accepts.",
        )
}

/// Whether Excel can hold `names` as an inline list: at most 255
/// characters joined by commas, and no value holding a comma (Excel would
/// split it).
pub fn fits_inline(names: &[String]) -> bool {
    let joined: usize = names.iter().map(|n| n.encode_utf16().count()).sum::<usize>()
        + names.len().saturating_sub(1);
    joined <= INLINE_MAX && !names.iter().any(|n| n.contains(','))
}

/// The hidden sheet's columns: one list each, its column name in row 1.
#[derive(Default)]
struct Lists {
    columns: Vec<(String, Vec<String>)>,
}

impl Lists {
    /// Adds a list; returns the range that holds it (`Lists!$A$2:$A$9`).
    fn add(&mut self, column: &str, names: &[String]) -> String {
        let letter = column_number_to_name(self.columns.len() as u16);
        self.columns.push((column.to_string(), names.to_vec()));
        format!("{LISTS_SHEET}!${letter}$2:${letter}${}", names.len() + 1)
    }

    fn sheet(&self) -> Result<Option<Worksheet>, XlsxError> {
        if self.columns.is_empty() {
            return Ok(None);
        }
        let mut sheet = Worksheet::new();
        sheet.set_name(LISTS_SHEET)?;
        let bold = Format::new().set_bold();
        for (c, (column, names)) in self.columns.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, column, &bold)?;
            for (r, n) in names.iter().enumerate() {
                sheet.write_string(r as u32 + 1, c as u16, n)?;
            }
        }
        sheet.set_hidden(true);
        Ok(Some(sheet))
    }
}

/// The sheet after the data: what the template is for, where its lists
/// came from, how to import it, and every column explained.
fn about_sheet(t: &TemplateBook) -> Result<Worksheet, XlsxError> {
    let mut sheet = Worksheet::new();
    sheet.set_name("About")?;
    let bold = Format::new().set_bold();
    sheet.write_string_with_format(0, 0, format!("hrport template for {}", t.title), &bold)?;
    let facts = [
        ("Target", t.target.to_string()),
        ("Lists from", t.source.to_string()),
        ("Made", t.made.to_string()),
        ("hrport", env!("CARGO_PKG_VERSION").to_string()),
        (
            "How to import",
            format!(
                "Fill in the sheet \"{DATA_SHEET}\", one person per row (keep its header row and \
                 keep it the first sheet), save, then run:"
            ),
        ),
        ("", t.import.to_string()),
        (
            "Columns",
            "Bold headers on yellow are required. Each header's note says what it accepts; \
             dropdowns offer the tenant's values."
                .to_string(),
        ),
    ];
    for (r, (k, v)) in facts.iter().enumerate() {
        sheet.write_string_with_format(r as u32 + 2, 0, *k, &bold)?;
        sheet.write_string(r as u32 + 2, 1, v)?;
    }
    let top = facts.len() as u32 + 3;
    for (c, h) in ["Column", "Required", "Accepts", "Notes"].iter().enumerate() {
        sheet.write_string_with_format(top, c as u16, *h, &bold)?;
    }
    for (r, f) in t.fields.iter().enumerate() {
        let row = top + 1 + r as u32;
        sheet.write_string(row, 0, f.column)?;
        sheet.write_string(row, 1, if f.required { "yes" } else { "" })?;
        sheet.write_string(row, 2, f.accepts())?;
        sheet.write_string(row, 3, f.help)?;
    }
    sheet.set_column_width(0, 24)?;
    sheet.set_column_width(1, 60)?;
    sheet.set_column_width(2, 40)?;
    sheet.set_column_width(3, 60)?;
    Ok(sheet)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_list_goes_inline_up_to_excels_255_characters_without_commas() {
        let at_limit = vec!["x".repeat(127), "y".repeat(127)];
        assert!(fits_inline(&at_limit), "127 + comma + 127 = 255");
        let over = vec!["x".repeat(128), "y".repeat(127)];
        assert!(!fits_inline(&over));
        assert!(!fits_inline(&names(&["Smith, John", "Other"])));
        assert!(fits_inline(&names(&["yes", "no"])));
    }

    #[test]
    fn a_long_list_is_a_range_of_the_lists_sheet_one_column_each() {
        let mut lists = Lists::default();
        assert_eq!(lists.add("Region", &names(&["a", "b", "c"])), "Lists!$A$2:$A$4");
        assert_eq!(lists.add("Role", &names(&["r"])), "Lists!$B$2:$B$2");
    }

    #[test]
    fn a_note_says_required_what_the_column_accepts_and_how_many_choices() {
        let f = FieldSpec::new("Region", Kind::Reference("region"), "region").required();
        assert_eq!(
            header_note(&f, Some(&names(&["EMEA", "APAC"]))),
            "Region (required)\nAccepts: region name or id.\nPick from the list (2 values)."
        );
        let g = FieldSpec::new("Groups", Kind::List, "g").help("Group names.");
        assert_eq!(
            header_note(&g, Some(&names(&["Staff"]))),
            "Groups (optional)\nAccepts: list separated by ; or ,.\nGroup names.\n\
             Pick from the list (1 value); for several, type them separated by ;."
        );
    }
}
