//! Offline check of Keystone JWS tokens (`[token] provider = jws`).
//!
//! Keystone signs with ES256 (or ES384/ES512/EdDSA) and puts no `kid` in the
//! header, so every public key of the repository is tried. A token that fails
//! here is refused without a round trip; one that passes is still validated
//! online (roles, revocation and the catalog are not in the token).

use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};

/// What the offline check concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not a JWS token (e.g. fernet): only online validation can tell.
    NotJws,
    /// Signed by one of our keys and not expired.
    Valid,
    /// Forged, tampered with or expired.
    Invalid(String),
}

/// The public keys of a JWS key repository.
pub struct JwsKeys {
    keys: Vec<(Algorithm, DecodingKey)>,
}

impl std::fmt::Debug for JwsKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JwsKeys({} keys)", self.keys.len())
    }
}

impl JwsKeys {
    /// Loads every PEM public key in `dir` (EC P-256/P-384/P-521 or Ed25519).
    pub fn load(dir: &Path) -> Result<Self, String> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read JWS key directory {}: {e}", dir.display()))?;
        let mut keys = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(pem) = std::fs::read(&path) else {
                continue;
            };
            if let Ok(k) = DecodingKey::from_ec_pem(&pem) {
                for alg in [Algorithm::ES256, Algorithm::ES384] {
                    keys.push((alg, k.clone()));
                }
            } else if let Ok(k) = DecodingKey::from_ed_pem(&pem) {
                keys.push((Algorithm::EdDSA, k));
            }
        }
        if keys.is_empty() {
            return Err(format!(
                "no usable public key in JWS key directory {}",
                dir.display()
            ));
        }
        Ok(JwsKeys { keys })
    }

    /// Checks `token` offline.
    pub fn check(&self, token: &str) -> Verdict {
        if token.split('.').count() != 3 {
            return Verdict::NotJws;
        }
        let Ok(header) = decode_header(token) else {
            return Verdict::NotJws;
        };
        let mut last = String::from("no key for its algorithm");
        for (alg, key) in self.keys.iter().filter(|(a, _)| *a == header.alg) {
            let mut validation = Validation::new(*alg);
            validation.validate_aud = false;
            validation.leeway = 0;
            validation.set_required_spec_claims(&["exp", "sub"]);
            match decode::<serde_json::Value>(token, key, &validation) {
                Ok(_) => return Verdict::Valid,
                Err(e) => {
                    if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) {
                        return Verdict::Invalid("token expired".to_owned());
                    }
                    last = e.to_string();
                }
            }
        }
        Verdict::Invalid(last)
    }
}
