//! Header JSON: any bytes as the protected header of a JWS and of a JWE.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signed_payloads::{Limits, dangerous};

fuzz_target!(|data: &[u8]| {
    let header = base64url(data);
    let _ = dangerous::peek_header(&format!("{header}.e30.AAAA"), &Limits::default());
    let _ = dangerous::decode_unverified(&format!("{header}..AAAA"), &Limits::default());
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = signed_payloads::Jwk::from_json(text);
    }
});

fn base64url(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(data.len() * 4 / 3 + 4);
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}
