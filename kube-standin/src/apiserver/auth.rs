//! Authentication by client certificate, as kube-apiserver's `--client-cert-auth`: the TLS
//! handshake already refused clients without a certificate the client CA signed; here the
//! certificate's CN becomes the user and its O values the groups. There is no authorization
//! (no RBAC enforcement): every authenticated user may do everything.

use std::any::Any;

use actix_tls::accept::rustls_0_23::TlsStream;
use actix_web::dev::Extensions;
use actix_web::rt::net::TcpStream;

use crate::tls::subject;

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The certificate's CN (e.g. `admin`, `system:node:n1`).
    pub user: String,
    /// The certificate's O values (e.g. `system:masters`).
    pub groups: Vec<String>,
}

/// Records the peer's identity on each new connection.
pub fn on_connect(conn: &dyn Any, ext: &mut Extensions) {
    let Some(tls) = conn.downcast_ref::<TlsStream<TcpStream>>() else {
        return;
    };
    let (_, session) = tls.get_ref();
    let identity = session
        .peer_certificates()
        .and_then(|certs| certs.first())
        .and_then(subject);
    if let Some((user, groups)) = identity {
        ext.insert(Identity { user, groups });
    }
}
