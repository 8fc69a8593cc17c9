//! Fuzzes the XFCC header parser and the element → certificates decoding: must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(elements) = certs::Xfcc::parse(header) {
        for selector in [
            certs::ElementSelector::First,
            certs::ElementSelector::Last,
            certs::ElementSelector::FromEnd(1),
        ] {
            let _ = selector.select(&elements);
        }
        for element in &elements {
            let _ = element.certificates();
        }
    }
});
