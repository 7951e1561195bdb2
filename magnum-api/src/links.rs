//! Links in responses: `self` under /v1 and `bookmark` without the version.

use actix_web::HttpRequest;
use serde::Serialize;
use utoipa::ToSchema;

/// A link.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct Link {
    /// Where.
    pub href: String,
    /// `self`, `bookmark`, `next`, `describedby`…
    pub rel: String,
    /// Media type, for documentation links.
    #[serde(skip_serializing_if = "Option::is_none", rename = "type")]
    pub media_type: Option<String>,
}

/// The request's `scheme://host[:port]`, as upstream's `request.host_url`.
pub fn host_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// `self` and `bookmark` links for `{res}/{id}`.
pub fn resource(host: &str, res: &str, id: &str) -> Vec<Link> {
    vec![
        Link {
            href: format!("{host}/v1/{res}/{id}"),
            rel: "self".to_owned(),
            media_type: None,
        },
        Link {
            href: format!("{host}/{res}/{id}"),
            rel: "bookmark".to_owned(),
            media_type: None,
        },
    ]
}
