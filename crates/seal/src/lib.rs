//! Sealing personal data at rest: AES-256-GCM with a keyring whose first key seals and whose
//! every key opens, so keys can rotate without rewriting old rows. Also the random API keys
//! and their look-up hashes.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore;
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("keyring entry {0}: expected `id:base64-of-32-bytes`")]
    BadEntry(usize),
    #[error("keyring entry {0}: key id must be 1-32 characters of [A-Za-z0-9_-]")]
    BadKeyId(usize),
    #[error("keyring entry {0}: key must decode to exactly 32 bytes")]
    BadKeyLength(usize),
    #[error("keyring has the key id `{0}` twice")]
    DuplicateKeyId(String),
    #[error("keyring is empty")]
    Empty,
    #[error("no key `{0}` in the keyring: the data was sealed with a key that is not configured")]
    UnknownKey(String),
    #[error("sealed data is corrupt or was sealed with a different key")]
    Corrupt,
}

/// The configured content keys. The first one seals; all of them open.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<(String, Aes256Gcm)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Keyring")
            .field("key_ids", &ids)
            .field("keys", &"[redacted]")
            .finish()
    }
}

impl Keyring {
    /// Parses `id:base64key` entries separated by commas, semicolons or new lines.
    pub fn parse(spec: &str) -> Result<Self, SealError> {
        let mut keys: Vec<(String, Aes256Gcm)> = Vec::new();
        let entries = spec
            .split([',', ';', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty() && !e.starts_with('#'));
        for (i, entry) in entries.enumerate() {
            let n = i + 1;
            let (id, key) = entry.split_once(':').ok_or(SealError::BadEntry(n))?;
            let id = id.trim();
            if id.is_empty()
                || id.len() > 32
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(SealError::BadKeyId(n));
            }
            let bytes = B64
                .decode(key.trim())
                .map_err(|_| SealError::BadKeyLength(n))?;
            if bytes.len() != 32 {
                return Err(SealError::BadKeyLength(n));
            }
            if keys.iter().any(|(k, _)| k == id) {
                return Err(SealError::DuplicateKeyId(id.to_owned()));
            }
            let cipher =
                Aes256Gcm::new_from_slice(&bytes).map_err(|_| SealError::BadKeyLength(n))?;
            keys.push((id.to_owned(), cipher));
        }
        if keys.is_empty() {
            return Err(SealError::Empty);
        }
        Ok(Self { keys })
    }

    /// A fresh keyring spec with one random key named `id`.
    pub fn generate_spec(id: &str) -> String {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        format!("{id}:{}", B64.encode(key))
    }

    /// The id of the key that seals.
    pub fn active_key_id(&self) -> &str {
        &self.keys[0].0
    }

    /// Seals `plain`; `context` (e.g. the record id) is bound to the ciphertext, so sealed data
    /// moved to another record does not open. Returns the key id and nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, plain: &[u8], context: &[u8]) -> (String, Vec<u8>) {
        let (id, cipher) = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        // Encryption with a valid key and in-memory buffers cannot fail.
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context,
                },
            )
            .unwrap_or_default();
        out.extend_from_slice(&ct);
        (id.clone(), out)
    }

    /// Opens data sealed by [`Keyring::seal`] with key `key_id` and the same `context`.
    pub fn open(&self, key_id: &str, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, SealError> {
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(id, _)| id == key_id)
            .ok_or_else(|| SealError::UnknownKey(key_id.to_owned()))?;
        if sealed.len() < NONCE_LEN + 16 {
            return Err(SealError::Corrupt);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context,
                },
            )
            .map_err(|_| SealError::Corrupt)
    }
}

/// A new random API key: 128 bits as 32 lowercase hex characters (the shape of IO's keys).
pub fn new_api_key() -> String {
    let mut key = [0u8; 16];
    rand::rng().fill_bytes(&mut key);
    hex::encode(key)
}

/// The look-up hash of an API key (SHA-256, hex). Keys carry 128 random bits, so a plain hash
/// is enough: there is nothing to brute-force.
pub fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// SHA-256 of some bytes, hex (used for idempotency request hashes).
pub fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sealed_content_opens_with_the_same_key_and_context() {
        let ring = Keyring::parse(&Keyring::generate_spec("k1")).unwrap();
        let (id, sealed) = ring.seal(b"hello", b"msg-1");
        assert_eq!(id, "k1");
        assert!(!sealed.windows(5).any(|w| w == b"hello"));
        assert_eq!(ring.open(&id, &sealed, b"msg-1").unwrap(), b"hello");
        assert_eq!(ring.open(&id, &sealed, b"msg-2"), Err(SealError::Corrupt));
    }

    #[test]
    fn a_rotated_keyring_still_opens_old_data_and_seals_with_the_new_key() {
        let old = Keyring::generate_spec("old");
        let ring1 = Keyring::parse(&old).unwrap();
        let (id, sealed) = ring1.seal(b"data", b"");
        let ring2 = Keyring::parse(&format!("{},{old}", Keyring::generate_spec("new"))).unwrap();
        assert_eq!(ring2.open(&id, &sealed, b"").unwrap(), b"data");
        assert_eq!(ring2.seal(b"x", b"").0, "new");
        let ring3 = Keyring::parse(&Keyring::generate_spec("new")).unwrap();
        assert_eq!(
            ring3.open(&id, &sealed, b""),
            Err(SealError::UnknownKey("old".into()))
        );
    }

    #[test]
    fn malformed_keyrings_are_refused_precisely() {
        assert_eq!(Keyring::parse("").unwrap_err(), SealError::Empty);
        assert_eq!(Keyring::parse("nokey").unwrap_err(), SealError::BadEntry(1));
        assert_eq!(
            Keyring::parse("k1:c2hvcnQ=").unwrap_err(),
            SealError::BadKeyLength(1)
        );
        let k = Keyring::generate_spec("a");
        assert_eq!(
            Keyring::parse(&format!("{k},{k}")).unwrap_err(),
            SealError::DuplicateKeyId("a".into())
        );
    }

    #[test]
    fn the_debug_form_never_shows_key_material() {
        let spec = Keyring::generate_spec("k1");
        let ring = Keyring::parse(&spec).unwrap();
        let shown = format!("{ring:?}");
        let secret = spec.split_once(':').unwrap().1;
        assert!(!shown.contains(secret));
        assert!(shown.contains("k1"));
    }

    #[test]
    fn api_keys_are_random_and_hash_stably() {
        let a = new_api_key();
        assert_eq!(a.len(), 32);
        assert_ne!(a, new_api_key());
        assert_eq!(key_hash(&a), key_hash(&a));
        assert_ne!(key_hash(&a), key_hash(&new_api_key()));
    }
}
