//! A throwaway PKI for one test cluster, written as PEM files: the cluster CA (apiserver
//! certificate, admin and kubelet client certificates), a separate etcd CA (etcd's server
//! certificate, the apiserver's etcd client certificate), and a stranger CA whose client
//! certificate the apiserver must refuse.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let pem = params.self_signed(&key).unwrap().pem();
    Ca {
        issuer: Issuer::new(params, key),
        pem,
    }
}

fn leaf(ca: &Ca, cn: &str, orgs: &[&str], server: bool) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    for o in orgs {
        dn.push(DnType::OrganizationName, *o);
    }
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    if server {
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ServerAuth);
        params.subject_alt_names = vec![
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            SanType::DnsName("localhost".try_into().unwrap()),
        ];
    }
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// The files of one test PKI.
#[derive(Debug, Clone)]
pub struct Pki {
    /// Where they are.
    pub dir: PathBuf,
}

impl Pki {
    /// Makes every certificate under `dir`.
    pub fn create(dir: &Path) -> Pki {
        std::fs::create_dir_all(dir).unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
        let pair = |name: &str, (cert, key): (String, String)| {
            write(&format!("{name}.crt"), &cert);
            write(&format!("{name}.key"), &key);
        };
        let cluster = ca("kubernetes");
        let etcd = ca("etcd-ca");
        let stranger = ca("stranger");
        write("ca.crt", &cluster.pem);
        write("etcd-ca.crt", &etcd.pem);
        pair("apiserver", leaf(&cluster, "kube-apiserver", &[], true));
        pair("admin", leaf(&cluster, "admin", &["system:masters"], false));
        pair(
            "kubelet",
            leaf(&cluster, "system:node:n1", &["system:nodes"], false),
        );
        pair("etcd", leaf(&etcd, "etcd", &[], true));
        pair(
            "etcd-client",
            leaf(&etcd, "kube-apiserver-etcd-client", &[], false),
        );
        pair(
            "stranger",
            leaf(&stranger, "admin", &["system:masters"], false),
        );
        Pki {
            dir: dir.to_path_buf(),
        }
    }

    /// The path of one file (`ca.crt`, `admin.key`, ...).
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// The contents of one file.
    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(name)).unwrap()
    }
}
