//! Fuzz target: any bytes as a .csv file, read to the end as an import does.
//!
//! `Source::open` with default options, then every row; a file found not to
//! be UTF-8 part-way is read again as Windows-1252, as `hrport import` does.
//! Errors are fine; a panic, a hang or runaway memory is a finding.
#![no_main]

use hrport::error::Error;
use hrport::input::ReadOptions;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let path = common::write("input.csv", data);
    let mut opts = ReadOptions::default();
    while let Err(Error::Encoding(_)) = common::read_all(&path, &opts) {
        if opts.encoding.is_some() {
            panic!("an encoding error while reading as Windows-1252");
        }
        opts.encoding = Some(encoding_rs::WINDOWS_1252);
    }
});
