//! The service-wide APIs: Magnum's services and quotas (administrators only,
//! except reading one's own quota) and stats.

use super::{ADMIN_OR_OWNER, ADMIN_OR_PROJECT_READER, RuleDefault, action, admin};

/// The rules of this section, in upstream's order.
pub(super) const RULES: &[RuleDefault] = &[
    // Magnum services.
    admin(
        "magnum-service:get_all",
        "Retrieve a list of magnum-services.",
        &[("GET", "/v1/mservices")],
    ),
    // Quotas.
    admin("quota:create", "Create quota.", &[("POST", "/v1/quotas")]),
    admin(
        "quota:delete",
        "Delete quota for a given project_id and resource.",
        &[("DELETE", "/v1/quotas/{project_id}/{resource}")],
    ),
    action(
        "quota:get",
        ADMIN_OR_PROJECT_READER,
        ADMIN_OR_OWNER,
        "Retrieve Quota information for the given project_id.",
        &[("GET", "/v1/quotas/{project_id}/{resource}")],
    ),
    admin(
        "quota:get_all",
        "Retrieve a list of quotas.",
        &[("GET", "/v1/quotas")],
    ),
    admin(
        "quota:update",
        "Update quota for a given project_id.",
        &[("PATCH", "/v1/quotas/{project_id}/{resource}")],
    ),
    // Stats.
    action(
        "stats:get_all",
        ADMIN_OR_PROJECT_READER,
        ADMIN_OR_OWNER,
        "Retrieve magnum stats.",
        &[("GET", "/v1/stats")],
    ),
];
