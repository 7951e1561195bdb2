//! The per-cluster PKI (spec §5): self-signed CAs, the conductor's client
//! certificate, and signing of the nodes' and users' CSRs.
//!
//! Keys are ECDSA P-256 where upstream uses RSA-2048: they are generated in
//! microseconds instead of tens of milliseconds (a cluster create makes four),
//! and every consumer (Kubernetes, etcd, Docker, kubectl) accepts them. The
//! CSRs we sign may carry any key type.

use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_ED25519,
    PKCS_RSA_SHA256, PublicKeyData, SanType, SerialNumber, SignatureAlgorithm,
};
use time::{Duration, OffsetDateTime};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

/// Why a certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// The CSR is unusable; the message says why (a 400 to the caller).
    #[error("Received invalid csr: {0}")]
    InvalidCsr(String),
    /// Key generation or signing failed.
    #[error("certificate generation failed: {0}")]
    Crypto(String),
}

impl From<rcgen::Error> for PkiError {
    fn from(e: rcgen::Error) -> Self {
        PkiError::Crypto(e.to_string())
    }
}

/// A certificate and its private key, both PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct CertAndKey {
    /// The certificate.
    pub cert: String,
    /// The PKCS#8 private key.
    pub key: String,
}

impl std::fmt::Debug for CertAndKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertAndKey")
            .field("cert", &self.cert)
            .field("key", &"***")
            .finish()
    }
}

/// How certificates are issued (`[x509]`).
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Days a certificate is valid.
    pub validity_days: i64,
    /// Whether a CSR may ask for a CA certificate.
    pub allow_ca: bool,
}

fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7f; // positive
    SerialNumber::from_slice(&bytes)
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(days);
}

fn cn(name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn
}

/// A new self-signed CA named `common_name` (the cluster's name).
pub fn generate_ca(common_name: &str, policy: Policy) -> Result<CertAndKey, PkiError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = cn(common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.serial_number = Some(random_serial());
    validity(&mut params, policy.validity_days);
    let cert = params.self_signed(&key)?;
    Ok(CertAndKey {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// A client certificate (`CN=<cn>, O=<org>`, clientAuth) issued by `ca`.
pub fn generate_client(
    ca: &CertAndKey,
    common_name: &str,
    organization: &str,
    policy: Policy,
) -> Result<CertAndKey, PkiError> {
    let issuer = issuer(ca)?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    let mut dn = cn(common_name);
    dn.push(DnType::OrganizationName, organization);
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(random_serial());
    validity(&mut params, policy.validity_days);
    let cert = params.signed_by(&key, &issuer)?;
    Ok(CertAndKey {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// A fresh keypair (public PEM, private PEM) for Kubernetes service-account tokens.
pub fn service_account_keypair() -> Result<(String, String), PkiError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    Ok((key.public_key_pem(), key.serialize_pem()))
}

fn issuer(ca: &CertAndKey) -> Result<Issuer<'static, KeyPair>, PkiError> {
    let key = KeyPair::from_pem(&ca.key)?;
    Ok(Issuer::from_ca_cert_pem(&ca.cert, key)?)
}

/// The public key of a CSR, as rcgen needs it to issue a certificate.
struct CsrKey {
    raw: Vec<u8>,
    alg: &'static SignatureAlgorithm,
}

impl PublicKeyData for CsrKey {
    fn der_bytes(&self) -> &[u8] {
        &self.raw
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.alg
    }
}

const OID_KEY_USAGE: &str = "2.5.29.15";
const OID_EXT_KEY_USAGE: &str = "2.5.29.37";
const OID_SAN: &str = "2.5.29.17";
const OID_BASIC_CONSTRAINTS: &str = "2.5.29.19";
const OID_SKI: &str = "2.5.29.14";

fn key_algorithm(
    spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>,
) -> Result<&'static SignatureAlgorithm, PkiError> {
    let alg = spki.algorithm.algorithm.to_id_string();
    let param = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    match (alg.as_str(), param.as_deref()) {
        ("1.2.840.113549.1.1.1", _) => Ok(&PKCS_RSA_SHA256),
        ("1.2.840.10045.2.1", Some("1.2.840.10045.3.1.7")) => Ok(&PKCS_ECDSA_P256_SHA256),
        ("1.2.840.10045.2.1", Some("1.3.132.0.34")) => Ok(&PKCS_ECDSA_P384_SHA384),
        ("1.3.101.112", _) => Ok(&PKCS_ED25519),
        _ => Err(PkiError::InvalidCsr(format!(
            "unsupported public key algorithm {alg}"
        ))),
    }
}

fn subject(name: &x509_parser::x509::X509Name<'_>) -> Result<DistinguishedName, PkiError> {
    let mut dn = DistinguishedName::new();
    for attr in name.iter_attributes() {
        let value = attr
            .as_str()
            .map_err(|_| PkiError::InvalidCsr("subject is not text".to_owned()))?;
        let ty = match attr.attr_type().to_id_string().as_str() {
            "2.5.4.3" => DnType::CommonName,
            "2.5.4.10" => DnType::OrganizationName,
            "2.5.4.11" => DnType::OrganizationalUnitName,
            "2.5.4.6" => DnType::CountryName,
            "2.5.4.7" => DnType::LocalityName,
            "2.5.4.8" => DnType::StateOrProvinceName,
            _ => DnType::CustomDnType(attr.attr_type().iter().into_iter().flatten().collect()),
        };
        dn.push(ty, value);
    }
    Ok(dn)
}

fn san(name: &GeneralName<'_>) -> Result<Option<SanType>, PkiError> {
    let ia5 = |s: &str| {
        rcgen::string::Ia5String::try_from(s)
            .map_err(|_| PkiError::InvalidCsr(format!("invalid name {s:?}")))
    };
    Ok(Some(match name {
        GeneralName::DNSName(s) => SanType::DnsName(ia5(s)?),
        GeneralName::RFC822Name(s) => SanType::Rfc822Name(ia5(s)?),
        GeneralName::URI(s) => SanType::URI(ia5(s)?),
        GeneralName::IPAddress(b) => match b.len() {
            4 => SanType::IpAddress(IpAddr::from(
                <[u8; 4]>::try_from(*b).map_err(|_| PkiError::InvalidCsr("bad IP".into()))?,
            )),
            16 => SanType::IpAddress(IpAddr::from(
                <[u8; 16]>::try_from(*b).map_err(|_| PkiError::InvalidCsr("bad IP".into()))?,
            )),
            _ => {
                return Err(PkiError::InvalidCsr(
                    "bad IP address in subjectAltName".to_owned(),
                ));
            }
        },
        _ => return Ok(None),
    }))
}

/// Signs `csr_pem` with `ca`: the subject and permitted extensions come from
/// the CSR (key usage limited to digitalSignature, keyEncipherment and
/// contentCommitment; CA rights only with `allow_ca`); a critical extension we
/// do not allow refuses the request.
pub fn sign_csr(ca: &CertAndKey, csr_pem: &str, policy: Policy) -> Result<String, PkiError> {
    let block = pem_block(csr_pem)?;
    let (_, csr) = X509CertificationRequest::from_der(&block)
        .map_err(|e| PkiError::InvalidCsr(format!("cannot parse the request: {e}")))?;
    csr.verify_signature()
        .map_err(|_| PkiError::InvalidCsr("the request's signature does not verify".to_owned()))?;
    let info = &csr.certification_request_info;
    let key = CsrKey {
        raw: info.subject_pki.subject_public_key.data.to_vec(),
        alg: key_algorithm(&info.subject_pki)?,
    };
    let mut params = CertificateParams::default();
    params.distinguished_name = subject(&info.subject)?;
    params.serial_number = Some(random_serial());
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, policy.validity_days);
    for attr in info.iter_attributes() {
        let ParsedCriAttribute::ExtensionRequest(req) = attr.parsed_attribute() else {
            continue;
        };
        for ext in &req.extensions {
            let oid = ext.oid.to_id_string();
            let allowed = [
                OID_KEY_USAGE,
                OID_EXT_KEY_USAGE,
                OID_SAN,
                OID_BASIC_CONSTRAINTS,
                OID_SKI,
            ]
            .contains(&oid.as_str());
            if !allowed {
                if ext.critical {
                    return Err(PkiError::InvalidCsr(format!(
                        "critical extension {oid} is not allowed"
                    )));
                }
                continue;
            }
            match ext.parsed_extension() {
                ParsedExtension::KeyUsage(ku) => {
                    if ku.digital_signature() {
                        params.key_usages.push(KeyUsagePurpose::DigitalSignature);
                    }
                    if ku.key_encipherment() {
                        params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
                    }
                    if ku.non_repudiation() {
                        params.key_usages.push(KeyUsagePurpose::ContentCommitment);
                    }
                    if policy.allow_ca && ku.key_cert_sign() {
                        params.key_usages.push(KeyUsagePurpose::KeyCertSign);
                    }
                }
                ParsedExtension::ExtendedKeyUsage(eku) => {
                    if eku.server_auth {
                        params
                            .extended_key_usages
                            .push(ExtendedKeyUsagePurpose::ServerAuth);
                    }
                    if eku.client_auth {
                        params
                            .extended_key_usages
                            .push(ExtendedKeyUsagePurpose::ClientAuth);
                    }
                }
                ParsedExtension::SubjectAlternativeName(names) => {
                    for n in &names.general_names {
                        if let Some(s) = san(n)? {
                            params.subject_alt_names.push(s);
                        }
                    }
                }
                ParsedExtension::BasicConstraints(bc) => {
                    params.is_ca = if bc.ca && policy.allow_ca {
                        IsCa::Ca(match bc.path_len_constraint {
                            Some(n) => {
                                BasicConstraints::Constrained(u8::try_from(n).unwrap_or(u8::MAX))
                            }
                            None => BasicConstraints::Unconstrained,
                        })
                    } else {
                        IsCa::ExplicitNoCa
                    };
                }
                _ => {}
            }
        }
    }
    let issuer = issuer(ca)?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok(cert.pem())
}

fn pem_block(text: &str) -> Result<Vec<u8>, PkiError> {
    let start = text
        .find("-----BEGIN ")
        .ok_or_else(|| PkiError::InvalidCsr("no PEM block".to_owned()))?;
    let (_, pem) = x509_parser::pem::parse_x509_pem(&text.as_bytes()[start..])
        .map_err(|_| PkiError::InvalidCsr("malformed PEM".to_owned()))?;
    Ok(pem.contents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::parse_x509_pem;

    const POLICY: Policy = Policy {
        validity_days: 1825,
        allow_ca: false,
    };

    fn parse(pem: &str) -> (String, String, bool, Vec<String>) {
        use x509_parser::extensions::GeneralName;
        let (_, p) = parse_x509_pem(pem.as_bytes()).unwrap();
        let c = p.parse_x509().unwrap();
        let ca = c.basic_constraints().unwrap().is_some_and(|b| b.value.ca);
        let sans = c
            .subject_alternative_name()
            .unwrap()
            .map(|s| {
                s.value
                    .general_names
                    .iter()
                    .map(|n| match n {
                        GeneralName::DNSName(d) => format!("DNSName:{d}"),
                        GeneralName::IPAddress(b) if b.len() == 4 => {
                            format!("IPAddress:{}.{}.{}.{}", b[0], b[1], b[2], b[3])
                        }
                        other => format!("{other:?}"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        (c.subject().to_string(), c.issuer().to_string(), ca, sans)
    }

    #[test]
    fn ca_is_self_signed_with_the_cluster_name() {
        let ca = generate_ca("k8s-cluster", POLICY).unwrap();
        let (subject, issuer, is_ca, _) = parse(&ca.cert);
        assert_eq!(subject, "CN=k8s-cluster");
        assert_eq!(issuer, "CN=k8s-cluster");
        assert!(is_ca);
        assert!(ca.key.contains("PRIVATE KEY"));
        assert!(
            !format!("{ca:?}").contains("PRIVATE"),
            "keys never reach logs"
        );
    }

    #[test]
    fn client_cert_is_issued_by_the_ca() {
        let ca = generate_ca("c1", POLICY).unwrap();
        let client = generate_client(&ca, "admin", "system:masters", POLICY).unwrap();
        let (subject, issuer, is_ca, _) = parse(&client.cert);
        assert_eq!(subject, "CN=admin, O=system:masters");
        assert_eq!(issuer, "CN=c1");
        assert!(!is_ca);
    }

    fn csr(params: CertificateParams) -> String {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        params.serialize_request(&key).unwrap().pem().unwrap()
    }

    #[test]
    fn csr_subject_and_sans_are_kept_and_ca_stripped() {
        let ca = generate_ca("c1", POLICY).unwrap();
        let mut p =
            CertificateParams::new(vec!["node-1".to_owned(), "10.0.0.5".to_owned()]).unwrap();
        p.distinguished_name = cn("system:node:node-1");
        p.distinguished_name
            .push(DnType::OrganizationName, "system:nodes");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let pem = sign_csr(&ca, &csr(p), POLICY).unwrap();
        let (subject, issuer, is_ca, sans) = parse(&pem);
        assert_eq!(subject, "CN=system:node:node-1, O=system:nodes");
        assert_eq!(issuer, "CN=c1");
        assert!(!is_ca, "CA rights need [x509] allow_ca");
        assert_eq!(sans, vec!["DNSName:node-1", "IPAddress:10.0.0.5"]);
        // With allow_ca the request's CA bit is honoured.
        let mut p = CertificateParams::default();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let pem = sign_csr(
            &ca,
            &csr(p),
            Policy {
                allow_ca: true,
                ..POLICY
            },
        )
        .unwrap();
        assert!(parse(&pem).2);
    }

    #[test]
    fn bad_csrs_are_refused() {
        let ca = generate_ca("c1", POLICY).unwrap();
        assert!(matches!(
            sign_csr(&ca, "not a csr", POLICY),
            Err(PkiError::InvalidCsr(_))
        ));
        let garbage =
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n";
        assert!(matches!(
            sign_csr(&ca, garbage, POLICY),
            Err(PkiError::InvalidCsr(_))
        ));
        // A critical extension outside the allowed list.
        let mut p = CertificateParams::default();
        let mut ext = rcgen::CustomExtension::from_oid_content(&[1, 2, 3, 4], vec![0x05, 0x00]);
        ext.set_criticality(true);
        p.custom_extensions.push(ext);
        let err = sign_csr(&ca, &csr(p), POLICY).unwrap_err();
        assert!(
            err.to_string().contains("critical extension 1.2.3.4"),
            "{err}"
        );
    }
}
