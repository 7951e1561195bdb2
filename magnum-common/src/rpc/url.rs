//! oslo's `transport_url` (`rabbit://user:pass@host:port[,user:pass@host2:port]/vhost`),
//! turned into the AMQP URIs lapin connects to, one per broker, tried in order.

use super::RpcError;
use std::fmt;

/// One broker of a transport URL.
#[derive(Clone, PartialEq, Eq)]
struct BrokerHost {
    host: String,
    port: u16,
    username: Option<String>,
    password: Option<String>,
}

/// A parsed oslo transport URL. Its `Display` and `Debug` never show passwords,
/// so it can be logged as is.
#[derive(Clone, PartialEq, Eq)]
pub struct TransportUrl {
    tls: bool,
    hosts: Vec<BrokerHost>,
    vhost: String,
}

impl TransportUrl {
    /// Parses `rabbit://…` (also `amqp://`, `kombu+rabbit://`; `amqps://` or
    /// `?ssl=1` for TLS). The vhost is percent-decoded; `/`, `%2F` and an empty
    /// path all mean the vhost `/`, as kombu reads them.
    pub fn parse(url: &str) -> Result<Self, RpcError> {
        let bad = |why: &str| RpcError::InvalidUrl(format!("{why} (in {})", redact_raw(url)));
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let ssl_query = query.split('&').any(|kv| {
            matches!(
                kv.split_once('=').unwrap_or((kv, "")),
                ("ssl", "1" | "true" | "True" | "yes")
            )
        });
        let tls = match scheme.trim_start_matches("kombu+") {
            "rabbit" | "amqp" => ssl_query,
            "amqps" => true,
            other => return Err(bad(&format!("unsupported transport '{other}'"))),
        };
        let (netloc, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let vhost = percent_decode(path).map_err(|e| bad(&e))?;
        let vhost = if vhost.is_empty() {
            "/".to_owned()
        } else {
            vhost
        };
        let default_port = if tls { 5671 } else { 5672 };
        let mut hosts = Vec::new();
        for entry in netloc.split(',').filter(|e| !e.is_empty()) {
            let (creds, hostport) = match entry.rsplit_once('@') {
                Some((c, h)) => (Some(c), h),
                None => (None, entry),
            };
            let (username, password) = match creds {
                None => (None, None),
                Some(c) => {
                    let (u, p) = c.split_once(':').map_or((c, None), |(u, p)| (u, Some(p)));
                    let p = p.map(percent_decode).transpose().map_err(|e| bad(&e))?;
                    (Some(percent_decode(u).map_err(|e| bad(&e))?), p)
                }
            };
            let (host, port) = split_host_port(hostport).map_err(|e| bad(&e))?;
            hosts.push(BrokerHost {
                host: if host.is_empty() {
                    "localhost".to_owned()
                } else {
                    host
                },
                port: port.unwrap_or(default_port),
                username: username.filter(|u| !u.is_empty()),
                password,
            });
        }
        if hosts.is_empty() {
            hosts.push(BrokerHost {
                host: "localhost".to_owned(),
                port: default_port,
                username: None,
                password: None,
            });
        }
        Ok(Self { tls, hosts, vhost })
    }

    /// The AMQP URIs for lapin, one per broker, in the configured order. They
    /// contain the passwords: never log them.
    pub(crate) fn amqp_uris(&self) -> Vec<String> {
        let scheme = if self.tls { "amqps" } else { "amqp" };
        let vhost = percent_encode(&self.vhost);
        self.hosts
            .iter()
            .map(|h| {
                let creds = match (&h.username, &h.password) {
                    (Some(u), Some(p)) => format!("{}:{}@", percent_encode(u), percent_encode(p)),
                    (Some(u), None) => format!("{}@", percent_encode(u)),
                    _ => String::new(),
                };
                format!("{scheme}://{creds}{}:{}/{vhost}", bracket(&h.host), h.port)
            })
            .collect()
    }

    /// `host:port` of broker `i`, for logs.
    pub(crate) fn host_label(&self, i: usize) -> String {
        self.hosts
            .get(i)
            .map(|h| format!("{}:{}", bracket(&h.host), h.port))
            .unwrap_or_default()
    }
}

impl fmt::Display for TransportUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .enumerate()
            .map(|(i, h)| match &h.username {
                Some(u) => format!("{u}:***@{}", self.host_label(i)),
                None => self.host_label(i),
            })
            .collect();
        let scheme = if self.tls { "amqps" } else { "rabbit" };
        write!(
            f,
            "{scheme}://{}/{}",
            hosts.join(","),
            percent_encode(&self.vhost)
        )
    }
}

impl fmt::Debug for TransportUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TransportUrl({self})")
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`.
fn split_host_port(s: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or("unclosed '[' in host")?;
        (h, after.strip_prefix(':'))
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().map_err(|_| format!("bad port '{p}'"))?),
        None => None,
    };
    Ok((host.to_owned(), port))
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or("truncated %-escape")?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("bad %-escape '%{hex}'"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "%-escapes are not UTF-8".to_owned())
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A URL we failed to parse, for the error message, without its passwords.
fn redact_raw(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find('/').unwrap_or(rest.len());
    let hosts: Vec<String> = rest[..end]
        .split(',')
        .map(|h| match h.rsplit_once('@') {
            Some((c, host)) => format!("{}:***@{host}", c.split(':').next().unwrap_or("")),
            None => h.to_owned(),
        })
        .collect();
    format!("{scheme}://{}{}", hosts.join(","), &rest[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_host_and_vhost_forms() {
        for (url, want) in [
            ("rabbit://u:p@h:5673/", "amqp://u:p@h:5673/%2F"),
            ("rabbit://u:p@h:5673", "amqp://u:p@h:5673/%2F"),
            ("rabbit://u:p@h:5673/%2F", "amqp://u:p@h:5673/%2F"),
            ("rabbit://u:p@h:5673//", "amqp://u:p@h:5673/%2F"),
            ("rabbit://u:p@h/magnum", "amqp://u:p@h:5672/magnum"),
            (
                "amqp://guest:guest@127.0.0.1:5672/%2f",
                "amqp://guest:guest@127.0.0.1:5672/%2F",
            ),
            ("rabbit://u:p%40ss@h:1/v?ssl=1", "amqps://u:p%40ss@h:1/v"),
            ("rabbit://[::1]:5672/", "amqp://[::1]:5672/%2F"),
            ("rabbit:///", "amqp://localhost:5672/%2F"),
        ] {
            let t = TransportUrl::parse(url).unwrap();
            assert_eq!(t.amqp_uris(), vec![want.to_owned()], "{url}");
        }
    }

    #[test]
    fn several_hosts_in_order_and_no_password_in_display() {
        let t = TransportUrl::parse("rabbit://a:s3cret@h1:5672,b:s3cret@h2:5673/v").unwrap();
        assert_eq!(
            t.amqp_uris(),
            vec!["amqp://a:s3cret@h1:5672/v", "amqp://b:s3cret@h2:5673/v"]
        );
        let shown = format!("{t} {t:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("a:***@h1:5672"), "{shown}");
    }

    #[test]
    fn bad_urls_are_rejected_without_leaking_passwords() {
        for url in [
            "h:5672",
            "kafka://u:pw@h/",
            "rabbit://u:pw@h:port/",
            "rabbit://u:pw@h/%zz",
        ] {
            let err = TransportUrl::parse(url).unwrap_err().to_string();
            assert!(!err.contains("pw@"), "{err}");
        }
    }
}
