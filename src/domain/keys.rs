//! API key tokens: long random strings, known to the server only by hash.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Every key starts with this, so a leaked one is easy to recognise.
pub const PREFIX: &str = "cf_";

/// A new key: `cf_` and 256 random bits in base64url.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What the database stores. Keys carry 256 bits of entropy, so a fast
/// hash is enough: there is nothing to brute-force.
pub fn hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_long_random_and_distinct() {
        let a = super::generate();
        let b = super::generate();
        assert!(a.starts_with("cf_") && a.len() == 46);
        assert_ne!(a, b);
        assert_ne!(super::hash(&a), super::hash(&b));
    }
}
