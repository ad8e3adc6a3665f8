//! Fuzzes `dogwatch_search::parse` on arbitrary UTF-8: it must never panic, errors must point inside the input and
//! say where, and every accepted query must print as text that parses back to the same tree.
//!
//! Run with `cargo +nightly fuzz run parse` from the crate directory.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    match dogwatch_search::parse(input) {
        Ok(query) => {
            let printed = query.to_string();
            assert_eq!(
                dogwatch_search::parse(&printed).as_ref(),
                Ok(&query),
                "printed as {printed:?}"
            );
            let _ = query.terms().count();
        }
        Err(error) => {
            let chars = input.chars().count();
            assert!(error.position + error.len <= chars, "{error:?} outside {chars} chars");
            assert!(
                error.message.contains(&format!("at character {}", error.position)),
                "{error:?}"
            );
        }
    }
});
