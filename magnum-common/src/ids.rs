//! Typed identifiers.
//!
//! Magnum exposes UUIDs to users and keeps integer primary keys internal; the
//! newtypes here keep the two (and the kinds of resource) from being mixed up.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// True when `value` is something oslo's `is_uuid_like` accepts: 32 hex digits,
/// with or without dashes, braces or a `urn:uuid:` prefix, in any case.
pub fn is_uuid_like(value: &str) -> bool {
    parse_uuid_like(value).is_some()
}

/// Parses a UUID in any form `is_uuid_like` accepts.
pub fn parse_uuid_like(value: &str) -> Option<Uuid> {
    // The canonical form (every stored uuid) parses without allocating.
    if value.len() == 36
        && value
            .bytes()
            .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && let Ok(u) = Uuid::try_parse(value)
    {
        return Some(u);
    }
    let stripped = value
        .replace("urn:", "")
        .replace("uuid:", "")
        .trim_matches(|c| c == '{' || c == '}')
        .replace('-', "")
        .to_ascii_lowercase();
    if stripped.len() != 32 || !stripped.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Uuid::parse_str(&stripped).ok()
}

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh random (v4) identifier.
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidUuid;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_uuid_like(s).map(Self).ok_or_else(|| InvalidUuid(s.to_owned()))
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }
    };
}

uuid_id!(
    /// External identifier of a cluster (bay).
    ClusterUuid
);
uuid_id!(
    /// External identifier of a cluster template (baymodel).
    ClusterTemplateUuid
);
uuid_id!(
    /// External identifier of a node group.
    NodeGroupUuid
);
uuid_id!(
    /// External identifier of a federation.
    FederationUuid
);
uuid_id!(
    /// Identifier of a pending conductor operation.
    OperationUuid
);

/// A string that is not a UUID where one was required.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Expected a uuid but received {0}.")]
pub struct InvalidUuid(pub String);

macro_rules! keystone_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as Keystone spells it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}

keystone_id!(
    /// A Keystone project id (opaque; usually 32 hex digits).
    ProjectId
);
keystone_id!(
    /// A Keystone user id (opaque).
    UserId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_like_accepts_oslo_forms() {
        let canonical = "27e3153e-d5bf-4b7e-b517-fb518e17f34c";
        for form in [
            canonical,
            "27E3153E-D5BF-4B7E-B517-FB518E17F34C",
            "27e3153ed5bf4b7eb517fb518e17f34c",
            "{27e3153e-d5bf-4b7e-b517-fb518e17f34c}",
            "urn:uuid:27e3153e-d5bf-4b7e-b517-fb518e17f34c",
        ] {
            let id: ClusterUuid = form.parse().unwrap();
            assert_eq!(id.to_string(), canonical, "{form}");
        }
        for bad in [
            "",
            "k8s",
            "27e3153e-d5bf-4b7e-b517-fb518e17f34",
            "zze3153e-d5bf-4b7e-b517-fb518e17f34c",
        ] {
            assert!(!is_uuid_like(bad), "{bad}");
        }
    }
}
