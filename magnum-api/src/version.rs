//! Microversions: `OpenStack-API-Version: container-infra X.Y`.
//!
//! No header means 1.1 and `latest` the maximum. Every `/v1` response carries the
//! minimum, maximum and negotiated versions and `Vary`. Malformed headers, foreign
//! service names and versions outside [1.1, 1.14] get 406.

use std::fmt;
use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};

use crate::error::ApiError;

/// The service type this API echoes in version headers.
pub const SERVICE_TYPE: &str = "container-infra";
/// Names accepted in the request header (upstream HEAD accepts all three).
pub const SERVICE_ALIASES: [&str; 3] = [
    "container-infra",
    "container-infrastructure-management",
    "container-infrastructure",
];
/// The request and response header.
pub const VERSION_HEADER: &str = "OpenStack-API-Version";

/// A microversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    /// Always 1 once negotiated.
    pub major: i32,
    /// 1 to 14.
    pub minor: i32,
}

/// The oldest version served.
pub const MIN_VERSION: ApiVersion = ApiVersion { major: 1, minor: 1 };
/// The newest version served (bays and baymodels stay served at every version).
pub const MAX_VERSION: ApiVersion = ApiVersion {
    major: 1,
    minor: 14,
};

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl ApiVersion {
    /// A version.
    pub const fn new(major: i32, minor: i32) -> Self {
        ApiVersion { major, minor }
    }

    /// True when this version is at least `major.minor`.
    pub fn at_least(self, major: i32, minor: i32) -> bool {
        self >= ApiVersion::new(major, minor)
    }

    /// 406 unless this version offers `api` (introduced in `min`).
    pub fn require(self, min: ApiVersion, api: &str) -> Result<(), ApiError> {
        if self >= min {
            Ok(())
        } else {
            Err(ApiError::NotAcceptable(format!(
                "Version {self} was requested but the requested API {api} is not supported for this version."
            )))
        }
    }
}

/// What parsing the header produced: the version (for the response headers) and
/// whether it is in range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The version named (or implied) by the request.
    pub version: ApiVersion,
    /// Set when the version is outside the served range.
    pub unsupported: Option<String>,
}

fn range_text() -> String {
    format!("[{SERVICE_TYPE} {MIN_VERSION}, {SERVICE_TYPE} {MAX_VERSION}]")
}

/// Parses the header value. `Err` is a malformed header (no version headers are
/// then sent back); `Ok` may still carry an out-of-range verdict.
pub fn negotiate(header: Option<&str>) -> Result<Negotiated, ApiError> {
    let Some(value) = header else {
        return Ok(Negotiated {
            version: MIN_VERSION,
            unsupported: None,
        });
    };
    let tokens: Vec<&str> = value.split_whitespace().collect();
    let invalid_service = || {
        ApiError::NotAcceptable("Invalid service type for OpenStack-API-Version header".to_owned())
    };
    let [service, ver] = tokens.as_slice() else {
        return Err(invalid_service());
    };
    if !SERVICE_ALIASES.contains(service) {
        return Err(invalid_service());
    }
    let version = if ver.eq_ignore_ascii_case("latest") {
        MAX_VERSION
    } else {
        let invalid =
            || ApiError::NotAcceptable("Invalid value for OpenStack-API-Version header".to_owned());
        let (major, minor) = ver.split_once('.').ok_or_else(invalid)?;
        ApiVersion::new(
            major.parse().map_err(|_| invalid())?,
            minor.parse().map_err(|_| invalid())?,
        )
    };
    let unsupported = if version.major != 1 {
        Some(format!(
            "Mutually exclusive versions requested. Version {version} requested but not supported by this service. \
             The supported version range is: {}.",
            range_text()
        ))
    } else if version < MIN_VERSION || version > MAX_VERSION {
        Some(format!(
            "Version {version} was requested but the minor version is not supported by this service. \
             The supported version range is: {}.",
            range_text()
        ))
    } else {
        None
    };
    Ok(Negotiated {
        version,
        unsupported,
    })
}

impl FromRequest for ApiVersion {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(req
            .extensions()
            .get::<ApiVersion>()
            .copied()
            .unwrap_or(MIN_VERSION)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(h: Option<&str>) -> ApiVersion {
        let n = negotiate(h).unwrap();
        assert!(n.unsupported.is_none(), "{h:?}: {:?}", n.unsupported);
        n.version
    }

    #[test]
    fn parsing() {
        assert_eq!(ok(None), ApiVersion::new(1, 1));
        assert_eq!(ok(Some("container-infra latest")), MAX_VERSION);
        assert_eq!(ok(Some("container-infra LATEST")), MAX_VERSION);
        assert_eq!(ok(Some("container-infra 1.9")), ApiVersion::new(1, 9));
        assert_eq!(ok(Some("container-infra 01.05")), ApiVersion::new(1, 5));
        assert_eq!(
            ok(Some("container-infrastructure-management 1.14")),
            MAX_VERSION
        );
        for bad in [
            "container-infra",
            "compute 1.2",
            "container-infra 1.2 x",
            "Container-Infra 1.2",
        ] {
            let e = negotiate(Some(bad)).unwrap_err().to_string();
            assert_eq!(
                e, "Invalid service type for OpenStack-API-Version header",
                "{bad}"
            );
        }
        for bad in [
            "container-infra 1",
            "container-infra 1.x",
            "container-infra 1.2.3",
        ] {
            let e = negotiate(Some(bad)).unwrap_err().to_string();
            assert_eq!(e, "Invalid value for OpenStack-API-Version header", "{bad}");
        }
        let n = negotiate(Some("container-infra 1.15")).unwrap();
        assert!(
            n.unsupported
                .unwrap()
                .starts_with("Version 1.15 was requested but the minor version")
        );
        let n = negotiate(Some("container-infra 2.0")).unwrap();
        assert!(
            n.unsupported
                .unwrap()
                .starts_with("Mutually exclusive versions requested.")
        );
        assert!(
            negotiate(Some("container-infra 1.0"))
                .unwrap()
                .unsupported
                .is_some()
        );
    }

    #[test]
    fn gating() {
        let v = ApiVersion::new(1, 8);
        assert!(v.require(ApiVersion::new(1, 7), "resize").is_ok());
        let e = v
            .require(ApiVersion::new(1, 9), "nodegroups")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "Version 1.8 was requested but the requested API nodegroups is not supported for this version."
        );
    }
}
