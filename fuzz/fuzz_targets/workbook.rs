//! Fuzz target: any bytes as a workbook, saved as .xlsx and as .ods.
//!
//! The content decides the reader (zip: .xlsx streamed or .ods whole;
//! OLE: .xls), so one input can reach calamine's zip, XML and BIFF parsers
//! behind hrport's zip-bomb guard and panic containment.
#![no_main]

use hrport::input::ReadOptions;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    for name in ["input.xlsx", "input.ods"] {
        let path = common::write(name, data);
        let _ = common::read_all(&path, &ReadOptions::default());
    }
});
