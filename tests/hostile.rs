//! Hostile and broken input: every file of tests/corpus/ (see
//! scripts/make-corpus.py), and files too big to commit made here (a 10 MB
//! cell, 20,000 columns, zip bombs), is imported as an offline dry run. Each
//! must end with its exact exit code and message naming the file (and the
//! row where there is one), never a panic, and in bounded time and memory.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    secs: f64,
    out: PathBuf,
}

impl Run {
    /// The exit code, and that nothing panicked whatever the code.
    fn expect(&self, code: i32) -> &Run {
        assert!(!self.stderr.contains("panicked"), "a panic: {self:?}");
        assert!((0..=2).contains(&self.code), "exit 0, 1 or 2 only: {self:?}");
        assert_eq!(self.code, code, "{self:?}");
        self
    }

    /// `line` is one whole line of stderr.
    fn says(&self, line: &str) -> &Run {
        assert!(
            self.stderr.lines().any(|l| l == line),
            "wanted the line\n{line}\nin:\n{}",
            self.stderr
        );
        self
    }

    /// (hrport_row, hrport_status, hrport_error) of each row of results.csv.
    fn statuses(&self) -> Vec<(String, String, String)> {
        rows(&self.out.join("results.csv"))
            .into_iter()
            .map(|r| {
                (r["hrport_row"].clone(), r["hrport_status"].clone(), r["hrport_error"].clone())
            })
            .collect()
    }

    fn summary(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.out.join("summary.json")).expect("summary.json");
        serde_json::from_str(&text).unwrap()
    }
}

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(name)
}

/// `hrport import FILE --target tracktik --dry-run --out DIR` with no target
/// (so offline), killed if it runs past `limit`.
fn dry_run_within(file: &Path, limit: Duration, extra: &[&str]) -> Run {
    let out = tempfile::tempdir().unwrap().keep();
    let err_path = out.with_extension("stderr");
    let out_path = out.with_extension("stdout");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hrport"));
    cmd.args(["import", file.to_str().unwrap(), "--target", "tracktik", "--dry-run", "--out"])
        .arg(&out)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    for (k, _) in std::env::vars() {
        if k.starts_with("HRPORT_") {
            cmd.env_remove(k);
        }
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("run hrport");
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{}: still running after {limit:?}", file.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr: String::from_utf8_lossy(&std::fs::read(&err_path).unwrap()).into_owned(),
        secs: started.elapsed().as_secs_f64(),
        out,
    }
}

fn dry_run(file: &Path) -> Run {
    dry_run_within(file, Duration::from_secs(120), &[])
}

/// A CSV hrport wrote (with its BOM), as maps from column to cell.
fn rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let bytes = std::fs::read(path).unwrap();
    let mut r = csv::ReaderBuilder::new().from_reader(&bytes[3..]);
    let header = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            header.iter().map(String::from).zip(rec.unwrap().iter().map(String::from)).collect()
        })
        .collect()
}

fn st(row: &str, status: &str, error: &str) -> (String, String, String) {
    (row.into(), status.into(), error.into())
}

fn error_line(file: &Path, message: &str) -> String {
    format!("hrport: error: {}: {message}", file.display())
}

const HEADER: &str = "First Name,Last Name,Email,Region,Role";

// ---- binary junk and encodings ----

#[test]
fn binary_junk_renamed_csv_is_refused() {
    let png = corpus("png-renamed.csv");
    dry_run(&png).expect(2).says(&error_line(
        &png,
        "this is not a text file (it contains a NUL byte on line 3); give a CSV, .xlsx, .xls or .ods file",
    ));
    let elf = corpus("elf-renamed.csv");
    dry_run(&elf).expect(2).says(&error_line(
        &elf,
        "this is not a text file (it contains a NUL byte on line 1); give a CSV, .xlsx, .xls or .ods file",
    ));
}

#[test]
fn utf16_without_a_bom_is_read() {
    let f = corpus("utf16le-no-bom.csv");
    let r = dry_run(&f);
    r.expect(0).says(&format!(
        "hrport: warning: {} has no byte-order mark but looks like UTF-16LE; reading it as such",
        f.display()
    ));
    let names: Vec<String> =
        rows(&r.out.join("results.csv")).iter().map(|r| r["Last Name"].clone()).collect();
    assert_eq!(names, ["Müller", "Ødegård"]);
}

#[test]
fn a_nul_byte_in_a_data_row_makes_that_row_invalid() {
    let r = dry_run(&corpus("nul-mid-file.csv"));
    r.expect(1);
    assert_eq!(
        r.statuses(),
        [
            st("2", "skipped", ""),
            st("3", "invalid", "a cell holds a NUL character (binary data?)"),
            st("4", "skipped", ""),
        ]
    );
}

#[test]
fn mixed_utf8_and_windows_1252_is_refused_naming_both_lines() {
    let f = corpus("mixed-utf8-cp1252.csv");
    dry_run(&f).expect(2).says(&format!(
        "hrport: error: {} mixes two text encodings: line 2 is UTF-8 but line 3 is not \
         (Windows-1252?), so some accents would come out wrong whichever way it is read; \
         save it again in one encoding (in Excel: Save As, CSV UTF-8), or give --encoding",
        f.display()
    ));
    // Told how to read it, hrport does as told.
    let r = dry_run_within(&f, Duration::from_secs(60), &["--encoding", "windows-1252"]);
    r.expect(0);

    // The same far past the part checked up front: found when reached.
    let dir = tempfile::tempdir().unwrap();
    let far = dir.path().join("far.csv");
    let mut text = format!("{HEADER}\nChloé,Müller,chloe@example.com,EMEA,Guard\n").into_bytes();
    for i in 0..3000 {
        text.extend_from_slice(format!("P{i},Plain,p{i}@example.com,EMEA,Guard\n").as_bytes());
    }
    text.extend_from_slice(b"Zo\xe9,Caf\xe9,zoe@example.com,EMEA,Guard\n");
    std::fs::write(&far, text).unwrap();
    dry_run(&far).expect(2).says(&format!(
        "hrport: error: {} mixes two text encodings: line 2 is UTF-8 but line 3003 is not \
         (Windows-1252?), so some accents would come out wrong whichever way it is read; \
         save it again in one encoding (in Excel: Save As, CSV UTF-8), or give --encoding",
        far.display()
    ));
}

#[test]
fn escape_sequences_in_a_file_never_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("escapes.csv");
    // A header that would retitle the terminal window and clear the screen.
    std::fs::write(&f, "First Name,\u{1b}]0;owned\u{7}\u{1b}[2JLast Name,Email,Region,Role\nA,B,c@d.e,EMEA,Guard\n")
        .unwrap();
    let r = dry_run(&f);
    r.expect(2).says(&error_line(
        &f,
        &format!(
            "missing required column Last Name. Expected headers (* = required): Employee ID, \
         First Name*, Middle Name, Last Name*, Username, Email, Primary Phone, Secondary Phone, \
         Job Title, Gender, Birthday, Language, Region*, Role*, Tags, Address Line 1, Address \
         Line 2, City, State, Postal Code, Country, Employee Type, Employment Date, Pay Rate \
         Type, Hourly Rate, Overtime Exempt, Weekly Hours Target, Weekly Hours Minimum, Weekly \
         Hours Maximum, Temporary Password, Force Password Change, Status, Termination Date, \
         Termination Reason. Found: First Name, \
         \\u{{1b}}]0;owned\\u{{7}}\\u{{1b}}[2JLast Name, Email, Region, Role. Rename the columns, or \
         map them with --profile (see `hrport profile init --target tracktik --from {}`).",
            f.display()
        ),
    ));
    assert!(!r.stderr.contains('\u{1b}') && !r.stderr.contains('\u{7}'), "{:?}", r.stderr);
}

// ---- shapes of CSV ----

#[test]
fn a_header_only_file_has_no_rows_and_says_so() {
    let f = corpus("header-only.csv");
    let r = dry_run(&f);
    r.expect(0)
        .says(&format!("hrport: warning: {} has a header row but no data rows", f.display()));
    assert!(r.stdout.contains("0 rows"), "{r:?}");
}

#[test]
fn only_blank_lines_is_no_header() {
    let f = corpus("blank-lines.csv");
    dry_run(&f).expect(2).says(&error_line(&f, "the file has no header row"));
}

#[test]
fn an_unclosed_quote_at_the_end_makes_its_row_invalid_and_keeps_the_text() {
    let f = corpus("unclosed-quote.csv");
    let r = dry_run(&f);
    r.expect(1).says(&format!(
        "hrport: {} row 3: a quote opened in this row is never closed, so the rest of the file \
         was read into one cell; close the quote or remove it; Region is required; Role is \
         required; give at least one of Username or Email",
        f.display()
    ));
    let rows = rows(&r.out.join("results.csv"));
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[1]["Last Name"],
        "Stone,bob@example.com,EMEA,Guard\nCy,Ray,cy@example.com,EMEA,Guard\n",
        "nothing lost: the swallowed row is in the cell, and nothing hrport appended"
    );
}

#[test]
fn a_quote_never_closed_in_the_header_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("q.csv");
    std::fs::write(&f, "First Name,\"Last Name,Email\nAna,Silva,a@example.com\n").unwrap();
    dry_run(&f).expect(2).says(&error_line(
        &f,
        "a quote opened in the header row is never closed, so the whole file reads as one \
         header; close the quote or remove it",
    ));
}

#[test]
fn cr_only_line_endings_number_rows_like_excel() {
    let f = corpus("cr-only.csv");
    let r = dry_run(&f);
    r.expect(1).says(&format!(
        "hrport: {} row 4: Email: \"bob@example\" is not a valid e-mail address",
        f.display()
    ));
    assert_eq!(
        r.statuses(),
        [
            st("2", "skipped", ""),
            st("4", "invalid", "Email: \"bob@example\" is not a valid e-mail address"),
            st("5", "skipped", ""),
        ]
    );
}

#[test]
fn deeply_ragged_rows_are_invalid_rows_with_short_messages() {
    let r = dry_run(&corpus("ragged.csv"));
    r.expect(1);
    assert_eq!(
        r.statuses(),
        [
            st(
                "2",
                "invalid",
                "the row has 1 fields but the header has 5 columns; check for a missing delimiter \
                 or an unclosed quote; Last Name is required; Region is required; Role is \
                 required; give at least one of Username or Email"
            ),
            st(
                "3",
                "invalid",
                "the row has 3 fields but the header has 5 columns; check for a missing delimiter \
                 or an unclosed quote; Region is required; Role is required"
            ),
            st("4", "skipped", ""),
            st(
                "5",
                "invalid",
                "the row has 7 fields but the header has 5 columns (extra values: \"x\", \"y\")"
            ),
            st(
                "6",
                "invalid",
                "the row has 505 fields but the header has 5 columns (extra values: \"v0\", \
                 \"v1\", \"v2\", \"v3\", \"v4\" and 495 more)"
            ),
            st("7", "skipped", ""),
        ]
    );
}

#[test]
fn a_10_mb_cell_makes_its_row_invalid_naming_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("big-cell.csv");
    let mut file = std::fs::File::create(&f).unwrap();
    writeln!(file, "{HEADER},Job Title").unwrap();
    write!(file, "Ana,Silva,ana@example.com,EMEA,Guard,").unwrap();
    file.write_all(&vec![b'x'; 10 << 20]).unwrap();
    writeln!(file, "\nBob,Stone,bob@example.com,EMEA,Guard,Guard").unwrap();
    drop(file);
    let r = dry_run(&f);
    r.expect(1).says(&format!(
        "hrport: {} row 2: Job Title: the cell is 10,485,760 characters long; a cell holds at \
         most 32,767 (Excel's limit)",
        f.display()
    ));
    let statuses: Vec<(String, String)> =
        r.statuses().into_iter().map(|(row, status, _)| (row, status)).collect();
    assert_eq!(statuses, [("2".into(), "invalid".into()), ("3".into(), "skipped".into())]);
    let peak = r.summary()["peak_memory_mib"].as_f64().unwrap();
    assert!(peak < 256.0, "memory stays bounded: {peak} MiB");
}

#[test]
fn a_row_longer_than_16_mib_stops_the_file_naming_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("huge-row.csv");
    let mut file = std::fs::File::create(&f).unwrap();
    writeln!(file, "{HEADER}\nAna,Silva,ana@example.com,EMEA,Guard").unwrap();
    // A quote opened and never closed: the rest of the file is one cell.
    write!(file, "Bob,\"").unwrap();
    let line = format!("{}\n", "y".repeat(1023));
    for _ in 0..(20 << 10) {
        file.write_all(line.as_bytes()).unwrap();
    }
    drop(file);
    let r = dry_run(&f);
    r.expect(2).says(&error_line(
        &f,
        "row 3 is longer than 16 MiB, more than any spreadsheet row holds; is a quote left open?",
    ));
    assert!(!r.out.join("errors.csv").exists(), "nothing half-read is left as a result");
    assert!(!r.out.join("results.csv").exists(), "nothing half-read is left as a result");
}

#[test]
fn twenty_thousand_columns_are_read_and_the_warning_stays_short() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("wide.csv");
    let extra: Vec<String> = (1..=19_995).map(|i| format!("Extra {i}")).collect();
    let cells: Vec<String> = (1..=19_995).map(|i| format!("v{i}")).collect();
    let text = format!(
        "{HEADER},{}\nAna,Silva,ana@example.com,EMEA,Guard,{}\n",
        extra.join(","),
        cells.join(",")
    );
    std::fs::write(&f, text).unwrap();
    let r = dry_run(&f);
    r.expect(0).says(
        "hrport: warning: these columns are not TrackTik columns, so they are not sent (they are \
         kept in results.csv): \"Extra 1\", \"Extra 2\", \"Extra 3\", \"Extra 4\", \"Extra 5\", \
         \"Extra 6\", \"Extra 7\", \"Extra 8\", \"Extra 9\", \"Extra 10\" and 19,985 more",
    );
    let rows = rows(&r.out.join("results.csv"));
    assert_eq!(rows[0]["Extra 19995"], "v19995", "every column is kept");
}

#[test]
fn more_than_100_000_columns_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("commas.csv");
    std::fs::write(&f, format!("{HEADER}{}\n", ",".repeat(200_000))).unwrap();
    dry_run(&f)
        .expect(2)
        .says(&error_line(&f, "the header row has 200,005 columns; hrport reads at most 100,000"));
}

#[test]
fn a_50_000_character_header_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("long-header.csv");
    std::fs::write(
        &f,
        format!("{HEADER},{}\nAna,Silva,ana@example.com,EMEA,Guard,x\n", "H".repeat(50_000)),
    )
    .unwrap();
    dry_run(&f).expect(2).says(&error_line(
        &f,
        "the header of column F is 50,000 characters long; a cell holds at most 32,767 \
         characters (Excel's limit), so row 1 cannot be a header row",
    ));
}

// ---- workbooks ----

#[test]
fn damaged_workbooks_are_input_errors() {
    let cases = [
        (
            "truncated.xlsx",
            "cannot read this .xlsx workbook: invalid Zip archive: Could not find EOCD",
        ),
        (
            "truncated.ods",
            "cannot read this .ods workbook: invalid Zip archive: Could not find EOCD",
        ),
        (
            "truncated.xls",
            "cannot read this .xls workbook: Cfb error: Sector 8 points past end of file",
        ),
        (
            "garbage-sheet.xlsx",
            "cannot read sheet \"Staff\": Xml error: syntax error: tag not closed: `>` not found \
             before end of input",
        ),
        (
            "no-shared-strings.xlsx",
            "cannot read sheet \"Staff\": Cell string index not found in shared strings table",
        ),
        ("missing-sheet.xlsx", "cannot read sheet \"Staff\": Worksheet 'Staff' not found"),
        // Read as they stream, these made two rows 2, and a cell given
        // twice one cell "AnaBob" (sent as such): now a damaged sheet.
        (
            "backwards-rows.xlsx",
            "cannot read sheet \"Staff\": the file is damaged (cell A2 comes after cell E3; \
             Excel writes them in order); open it in Excel and save it again",
        ),
        (
            "repeated-cell.xlsx",
            "cannot read sheet \"Staff\": the file is damaged (cell A2 comes after cell E2; \
             Excel writes them in order); open it in Excel and save it again",
        ),
    ];
    for (name, message) in cases {
        let f = corpus(name);
        let r = dry_run(&f);
        r.expect(2).says(&error_line(&f, message));
        assert!(!r.out.join("results.csv").exists(), "{name}: nothing written");
    }
}

/// Each of these made calamine (and so hrport) abort on a failed allocation
/// of petabytes or loop for ever growing memory, before the check in
/// src/input/biff.rs.
#[test]
fn xls_files_that_would_take_unbounded_memory_are_refused() {
    let cases = [
        (
            "absurd-dimensions.xls",
            "sheet 1 declares 4,294,967,294 rows by 65,535 columns; an .xls sheet has at most \
             65,536 by 256",
        ),
        ("far-cells.xls", "sheet 1 has a cell in column 65,001; an .xls sheet has 256"),
        ("looping-directory.xls", "a chain of its sectors loops"),
    ];
    for (name, why) in cases {
        let f = corpus(name);
        let r = dry_run_within(&f, Duration::from_secs(20), &[]);
        r.expect(2).says(&error_line(
            &f,
            &format!("cannot read this .xls workbook: it is damaged ({why})"),
        ));
    }
}

#[test]
fn a_sheet_declaring_absurd_dimensions_reads_its_real_cells() {
    let r = dry_run(&corpus("absurd-dimensions.xlsx"));
    r.expect(0);
    assert_eq!(r.statuses(), [st("2", "skipped", ""), st("3", "skipped", "")]);
}

#[test]
fn formulas_read_as_their_values_and_error_cells_invalidate_their_row() {
    let f = corpus("formula-errors.xlsx");
    let r = dry_run(&f);
    let message = "Email is the Excel error #N/A, left by a formula that failed; type the value \
                   instead; Job Title is the Excel error #REF!, left by a formula that failed; \
                   type the value instead; Weekly Hours Target is the Excel error #DIV/0!, left \
                   by a formula that failed; type the value instead";
    r.expect(1).says(&format!("hrport: {} row 3: {message}", f.display()));
    // A formula never calculated is no value at all: its row is invalid.
    let uncached = "Job Title: formula without a saved value: open and save the file in Excel, \
                    or paste values (cell F2)";
    assert_eq!(r.statuses(), [st("2", "invalid", uncached), st("3", "invalid", message)]);
    let ana = &rows(&r.out.join("results.csv"))[0];
    assert_eq!(ana["Last Name"], "SILVA", "a formula's cached value is what is read");
    assert_eq!(ana["Weekly Hours Target"], "40");
}

// ---- zip bombs, made here: a few MB that inflate to gigabytes ----

/// Bits out, least significant first, as deflate wants them.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u64, n: u32) {
        self.acc |= value << self.n;
        self.n += n;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    /// A Huffman code: most significant bit first.
    fn code(&mut self, code: u64, n: u32) {
        for i in (0..n).rev() {
            self.put((code >> i) & 1, 1);
        }
    }
    fn literals(&mut self, bytes: &[u8], last: bool) {
        // A block with the fixed codes: 8 bits for bytes below 144.
        self.put(u64::from(last), 1);
        self.put(1, 2);
        for &b in bytes {
            assert!(b < 144);
            self.code(0x30 + u64::from(b), 8);
        }
        self.code(0, 7);
    }
}

/// Raw deflate of `prefix`, then `fill` repeated `1 + 258 * matches` times,
/// then `suffix`: the repeats as 2-bit back-references (1,032:1).
fn deflate_bomb(prefix: &[u8], fill: u8, matches: u64, suffix: &[u8]) -> Vec<u8> {
    let mut w = Bits::default();
    w.literals(&[prefix, &[fill]].concat(), false);
    // A dynamic block whose only codes are end-of-block (0), length 258 (1)
    // and distance 1 (0), each one bit.
    w.put(0, 1);
    w.put(2, 2);
    w.put(29, 5); // 286 literal/length codes
    w.put(0, 5); // 1 distance code
    w.put(14, 4); // 18 code-length codes
    for sym in [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1] {
        w.put(u64::from(sym == 1 || sym == 18), 3);
    }
    let zeros = |w: &mut Bits, mut n: u64| {
        while n > 0 {
            let k = n.min(138);
            w.code(1, 1);
            w.put(k - 11, 7);
            n -= k;
        }
    };
    zeros(&mut w, 138);
    zeros(&mut w, 118);
    w.code(0, 1); // 256
    zeros(&mut w, 28);
    w.code(0, 1); // 285
    w.code(0, 1); // distance code 0
    let mut left = matches;
    while w.n != 0 && left > 0 {
        w.code(1, 1);
        w.code(0, 1);
        left -= 1;
    }
    // Aligned, four references are one byte: 0b01010101.
    w.out.resize(w.out.len() + (left / 4) as usize, 0x55);
    for _ in 0..left % 4 {
        w.code(1, 1);
        w.code(0, 1);
    }
    w.code(0, 1);
    w.literals(suffix, true);
    if w.n > 0 {
        w.out.push(w.acc as u8);
    }
    w.out
}

/// The CRC-32 of what `deflate_bomb` inflates to, without inflating it.
fn bomb_crc(prefix: &[u8], fill: u8, matches: u64, suffix: &[u8]) -> u32 {
    let mut run = crc32fast::Hasher::new();
    run.update(&[fill; 258]);
    let mut fills = crc32fast::Hasher::new();
    fills.update(&[fill]);
    let mut k = matches;
    while k > 0 {
        if k & 1 == 1 {
            fills.combine(&run);
        }
        let copy = run.clone();
        run.combine(&copy);
        k >>= 1;
    }
    let mut all = crc32fast::Hasher::new();
    all.update(prefix);
    all.combine(&fills);
    all.update(suffix);
    all.finalize()
}

struct Part {
    name: &'static str,
    data: Vec<u8>,
    /// Deflated: (inflated size, CRC-32); else stored.
    deflated: Option<(u64, u32)>,
}

fn stored(name: &'static str, text: &str) -> Part {
    Part { name, data: text.as_bytes().to_vec(), deflated: None }
}

/// A zip written by hand (the zip crate cannot take data deflated elsewhere).
fn write_zip(path: &Path, parts: &[Part]) {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for p in parts {
        let (method, size, crc) = match p.deflated {
            Some((size, crc)) => (8u16, size, crc),
            None => (0, p.data.len() as u64, crc32fast::hash(&p.data)),
        };
        let size = u32::try_from(size).expect("no zip64 here");
        let offset = out.len() as u32;
        let common = |v: &mut Vec<u8>| {
            v.extend_from_slice(&20u16.to_le_bytes()); // version needed
            v.extend_from_slice(&0u16.to_le_bytes()); // flags
            v.extend_from_slice(&method.to_le_bytes());
            v.extend_from_slice(&[0, 0, 0x21, 0]); // 1980-01-01 00:00
            v.extend_from_slice(&crc.to_le_bytes());
            v.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
            v.extend_from_slice(&size.to_le_bytes());
            v.extend_from_slice(&(p.name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes()); // extra
        };
        out.extend_from_slice(b"PK\x03\x04");
        common(&mut out);
        out.extend_from_slice(p.name.as_bytes());
        out.extend_from_slice(&p.data);
        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&20u16.to_le_bytes()); // made by
        common(&mut central);
        central.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(p.name.as_bytes());
    }
    let start = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    out.extend_from_slice(&(parts.len() as u16).to_le_bytes());
    out.extend_from_slice(&(parts.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    std::fs::write(path, out).unwrap();
}

const SHEET_START: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><worksheet \
    xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData><row r=\"1\">\
    <c r=\"A1\" t=\"inlineStr\"><is><t>";
const SHEET_END: &str = "</t></is></c></row></sheetData></worksheet>";

/// A sheet whose one cell is `matches * 258` letters.
fn bomb_sheet(name: &'static str, matches: u64) -> Part {
    let (start, end) = (SHEET_START.as_bytes(), SHEET_END.as_bytes());
    Part {
        name,
        data: deflate_bomb(start, b'A', matches, end),
        deflated: Some((
            start.len() as u64 + 1 + 258 * matches + end.len() as u64,
            bomb_crc(start, b'A', matches, end),
        )),
    }
}

fn xlsx_parts() -> Vec<Part> {
    vec![
        stored(
            "[Content_Types].xml",
            "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
             <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
             <Default Extension=\"xml\" ContentType=\"application/xml\"/></Types>",
        ),
        stored(
            "_rels/.rels",
            "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
             <Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>",
        ),
        stored(
            "xl/workbook.xml",
            "<?xml version=\"1.0\"?><workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
             xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">\
             <sheets><sheet name=\"Staff\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>",
        ),
        stored(
            "xl/_rels/workbook.xml.rels",
            "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
             <Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>",
        ),
    ]
}

#[test]
fn the_bomb_maker_makes_real_bombs() {
    // Small enough to inflate here: checks the hand-made deflate and CRC.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("small.xlsx");
    let mut parts = xlsx_parts();
    parts.push(bomb_sheet("xl/worksheets/sheet1.xml", 4001));
    write_zip(&f, &parts);
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&f).unwrap()).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(), &mut text)
        .unwrap();
    let cell = "A".repeat(1 + 258 * 4001);
    assert_eq!(text, format!("{SHEET_START}{cell}{SHEET_END}"));
    // And hrport reads such a workbook: its one header cell is too long.
    dry_run(&f).expect(2).says(&error_line(
        &f,
        "the header of column A is 1,032,259 characters long; a cell holds at most 32,767 \
         characters (Excel's limit), so row 1 cannot be a header row",
    ));
}

#[test]
fn a_zip_bomb_is_refused_from_its_directory_without_inflating() {
    let dir = tempfile::tempdir().unwrap();
    // 2 MB that inflate to 2 GiB of one cell's text.
    let f = dir.path().join("bomb.xlsx");
    let mut parts = xlsx_parts();
    parts.push(bomb_sheet("xl/worksheets/sheet1.xml", (2u64 << 30) / 258));
    write_zip(&f, &parts);
    assert!(std::fs::metadata(&f).unwrap().len() < 3 << 20);
    let r = dry_run_within(&f, Duration::from_secs(20), &[]);
    r.expect(2).says(&error_line(
        &f,
        "refused as a possible zip bomb: its part \"xl/worksheets/sheet1.xml\" would inflate to \
         2.0 GiB from 2.0 MiB (1,031:1); hrport reads no workbook that inflates to more than 1 \
         GiB in all, nor a part over 64 MiB compressed more than 100:1 (nothing was inflated)",
    ));
    assert!(r.secs < 10.0, "refused at once, not inflated: {:.1}s", r.secs);

    // Twenty parts of 60 MiB, each under the ratio rule, 1.2 GiB together.
    let f = dir.path().join("wide-bomb.xlsx");
    let mut parts = xlsx_parts();
    const NAMES: [&str; 20] = [
        "xl/worksheets/sheet1.xml",
        "xl/media/a2.xml",
        "xl/media/a3.xml",
        "xl/media/a4.xml",
        "xl/media/a5.xml",
        "xl/media/a6.xml",
        "xl/media/a7.xml",
        "xl/media/a8.xml",
        "xl/media/a9.xml",
        "xl/media/a10.xml",
        "xl/media/a11.xml",
        "xl/media/a12.xml",
        "xl/media/a13.xml",
        "xl/media/a14.xml",
        "xl/media/a15.xml",
        "xl/media/a16.xml",
        "xl/media/a17.xml",
        "xl/media/a18.xml",
        "xl/media/a19.xml",
        "xl/media/a20.xml",
    ];
    for name in NAMES {
        parts.push(bomb_sheet(name, (60u64 << 20) / 258));
    }
    write_zip(&f, &parts);
    let r = dry_run_within(&f, Duration::from_secs(20), &[]);
    r.expect(2).says(&error_line(
        &f,
        "refused as a possible zip bomb: its parts would inflate to 1.2 GiB in all; hrport reads \
         no workbook that inflates to more than 1 GiB in all, nor a part over 64 MiB compressed \
         more than 100:1 (nothing was inflated)",
    ));

    // An .ods needs no compression to ask for too much: 2 KB of repeated
    // rows and columns would be 96 million cells (it took 12 GB and minutes).
    let f = corpus("repeat-bomb.ods");
    let r = dry_run_within(&f, Duration::from_secs(20), &[]);
    r.expect(2).says(&error_line(
        &f,
        "refused: its repeated rows and columns would expand to 96,080,027 cells in memory; \
         hrport reads .ods files of at most 20,000,000 cells (save a sheet that big as .xlsx, \
         which is streamed)",
    ));
    assert!(r.secs < 10.0, "refused at once: {:.1}s", r.secs);

    // The same guard stands before .ods.
    let f = dir.path().join("bomb.ods");
    write_zip(
        &f,
        &[
            stored("mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
            bomb_sheet("content.xml", (1u64 << 30) / 258),
        ],
    );
    let r = dry_run_within(&f, Duration::from_secs(20), &[]);
    r.expect(2).says(&error_line(
        &f,
        "refused as a possible zip bomb: its part \"content.xml\" would inflate to 1.0 GiB from \
         1016.3 KiB (1,031:1); hrport reads no workbook that inflates to more than 1 GiB in all, \
         nor a part over 64 MiB compressed more than 100:1 (nothing was inflated)",
    ));
}
