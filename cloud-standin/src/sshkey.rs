//! OpenSSH public keys: checking, fingerprints, and the made-up keys the stand-in hands out.

use std::sync::LazyLock;

use rand::Rng;
use sha2::{Digest, Sha256};

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes() {
        let v = B64.iter().position(|&b| b == c)?;
        acc = acc << 6 | u32::try_from(v).ok()?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from(acc >> bits & 0xff).ok()?);
        }
    }
    Some(out)
}

/// Appends an SSH wire-format string (u32 length, bytes).
fn ssh_string(buf: &mut Vec<u8>, data: &[u8]) {
    buf.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
    buf.extend_from_slice(data);
}

fn ed25519_blob(key: &[u8; 32]) -> Vec<u8> {
    let mut blob = Vec::new();
    ssh_string(&mut blob, b"ssh-ed25519");
    ssh_string(&mut blob, key);
    blob
}

/// Nova shows an MD5 fingerprint; the stand-in uses the first 16 bytes of SHA-256,
/// in the same `aa:bb:…` form.
pub fn fingerprint(blob: &[u8]) -> String {
    Sha256::digest(blob)[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Checks an OpenSSH public key line; returns its fingerprint.
pub fn check_public_key(line: &str) -> Option<String> {
    let mut parts = line.split_whitespace();
    let (kind, data) = (parts.next()?, parts.next()?);
    let blob = b64_decode(data)?;
    let len = usize::try_from(u32::from_be_bytes(blob.get(..4)?.try_into().ok()?)).ok()?;
    (blob.get(4..4 + len)? == kind.as_bytes() && blob.len() > 4 + len).then(|| fingerprint(&blob))
}

/// A freshly generated ed25519-shaped key: (public line, OpenSSH private key PEM).
///
/// Both are well-formed, but the key material is random bytes: the private key does
/// not match the public one and cannot log in anywhere.
pub fn generate_key(comment: &str) -> (String, String) {
    let mut rng = rand::rng();
    let (mut public, mut secret, mut check) = ([0u8; 32], [0u8; 32], [0u8; 4]);
    rng.fill(&mut public);
    rng.fill(&mut secret);
    rng.fill(&mut check);
    let blob = ed25519_blob(&public);
    let mut private = Vec::new();
    private.extend_from_slice(&check);
    private.extend_from_slice(&check);
    ssh_string(&mut private, b"ssh-ed25519");
    ssh_string(&mut private, &public);
    ssh_string(&mut private, &[secret, public].concat());
    ssh_string(&mut private, comment.as_bytes());
    let mut pad = 1u8;
    while private.len() % 8 != 0 {
        private.push(pad);
        pad += 1;
    }
    let mut file = b"openssh-key-v1\0".to_vec();
    ssh_string(&mut file, b"none");
    ssh_string(&mut file, b"none");
    ssh_string(&mut file, b"");
    file.extend_from_slice(&1u32.to_be_bytes());
    ssh_string(&mut file, &blob);
    ssh_string(&mut file, &private);
    let body = b64_encode(&file);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(70)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    let pem = format!(
        "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
        lines.join("\n")
    );
    (format!("ssh-ed25519 {} {comment}", b64_encode(&blob)), pem)
}

/// The public key of every user's implicit `default` keypair (fixed across runs).
pub static DEFAULT_PUBLIC_KEY: LazyLock<String> = LazyLock::new(|| {
    let key: [u8; 32] = Sha256::digest(b"magnum-cloud-standin default keypair").into();
    format!(
        "ssh-ed25519 {} magnum-cloud-standin-default",
        b64_encode(&ed25519_blob(&key))
    )
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        for data in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar"] {
            assert_eq!(b64_decode(&b64_encode(data)).as_deref(), Some(data));
        }
        assert_eq!(b64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(b64_encode(b"fo"), "Zm8=");
    }

    #[test]
    fn keys_are_well_formed() {
        assert!(check_public_key(&DEFAULT_PUBLIC_KEY).is_some());
        let (public, private) = generate_key("c");
        assert!(check_public_key(&public).is_some());
        assert!(private.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
        assert!(check_public_key("ssh-rsa AAAA").is_none());
        assert!(check_public_key("not a key").is_none());
    }
}
