//! Authenticated encryption of credentials at rest (ChaCha20-Poly1305). Each sealed value starts
//! with the id of the key that sealed it, so keys can be rotated without losing what is stored.

use crate::server::config::CredentialKeys;
use chacha20poly1305::{
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload},
    ChaCha20Poly1305, Key, Nonce,
};
use secrecy::{ExposeSecret, SecretBox};
use std::sync::Arc;

const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct Cipher {
    /// (key id, cipher); the first one seals.
    keys: Vec<(String, ChaCha20Poly1305)>,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Cipher").field("key_ids", &ids).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CipherError {
    #[error("the sealed value is truncated or malformed")]
    Malformed,
    #[error("the value was sealed with key {0:?}, which is no longer configured")]
    UnknownKey(String),
    #[error("the value does not decrypt: wrong key, or it was tampered with")]
    Forged,
}

impl Cipher {
    pub fn new(keys: &CredentialKeys) -> Self {
        let keys = keys
            .keys
            .iter()
            .map(|(id, key)| (id.clone(), ChaCha20Poly1305::new(Key::from_slice(key.expose_secret()))))
            .collect();
        Self { keys }
    }

    /// A key for this process only: credentials sealed with it are lost on restart. For the
    /// development default, where the in-process stores are lost on restart anyway.
    pub fn ephemeral() -> Self {
        let key = ChaCha20Poly1305::generate_key(&mut OsRng);
        Self::new(&CredentialKeys {
            keys: vec![("ephemeral".to_owned(), Arc::new(SecretBox::new(Box::new(key.into()))))],
        })
    }

    /// Encrypts `plaintext`, binding it to `context` (e.g. the storage key), so a sealed value
    /// moved to another key does not open.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let (id, cipher) = &self.keys[0];
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        // Encryption fails only for inputs beyond 2^38 bytes.
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .unwrap_or_default();
        let mut sealed = Vec::with_capacity(1 + id.len() + NONCE_LEN + ciphertext.len());
        sealed.push(id.len() as u8);
        sealed.extend_from_slice(id.as_bytes());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, CipherError> {
        let (&id_len, rest) = sealed.split_first().ok_or(CipherError::Malformed)?;
        let id_len = usize::from(id_len);
        if rest.len() < id_len + NONCE_LEN {
            return Err(CipherError::Malformed);
        }
        let (id, rest) = rest.split_at(id_len);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let id = std::str::from_utf8(id).map_err(|_| CipherError::Malformed)?;
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(known, _)| known == id)
            .ok_or_else(|| CipherError::UnknownKey(id.to_owned()))?;
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| CipherError::Forged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(spec: &str) -> CredentialKeys {
        CredentialKeys::parse(spec).expect("valid keys")
    }

    const OLD: &str = "old:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
    const NEW: &str = "new:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn seals_and_opens_with_context() {
        let cipher = Cipher::new(&keys(NEW));
        let sealed = cipher.seal(b"refresh-token", b"bluesky:credentials:1");
        assert!(
            !sealed.windows(13).any(|w| w == b"refresh-token"),
            "no plaintext at rest"
        );
        assert_eq!(
            cipher.open(&sealed, b"bluesky:credentials:1"),
            Ok(b"refresh-token".to_vec())
        );
        assert_eq!(cipher.open(&sealed, b"bluesky:credentials:2"), Err(CipherError::Forged));
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let before = Cipher::new(&keys(OLD)).seal(b"secret", b"k");
        let rotated = Cipher::new(&keys(&format!("{NEW},{OLD}")));
        assert_eq!(rotated.open(&before, b"k"), Ok(b"secret".to_vec()));
        assert!(rotated.seal(b"secret", b"k").starts_with(b"\x03new"));
        let dropped = Cipher::new(&keys(NEW));
        assert_eq!(
            dropped.open(&before, b"k"),
            Err(CipherError::UnknownKey("old".to_owned()))
        );
    }

    #[test]
    fn tampering_and_truncation_are_detected() {
        let cipher = Cipher::new(&keys(NEW));
        let mut sealed = cipher.seal(b"secret", b"k");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(cipher.open(&sealed, b"k"), Err(CipherError::Forged));
        assert_eq!(cipher.open(&sealed[..5], b"k"), Err(CipherError::Malformed));
        assert_eq!(cipher.open(&[], b"k"), Err(CipherError::Malformed));
    }
}
