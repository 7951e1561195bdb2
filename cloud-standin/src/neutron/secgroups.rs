//! Security groups and their rules: recorded as Neutron keeps them, not enforced (the nodes of
//! a network reach each other on every port; nothing outside this machine reaches them at all).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::{CloudData, cloud_error, created, list, member, project, show, text};
use crate::compute::CloudError;
use crate::compute::state::{CloudState, SecurityGroup, SecurityGroupRule, new_id, now};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v2.0/security-groups", web::get().to(list_groups))
        .route("/v2.0/security-groups", web::post().to(create_group))
        .route("/v2.0/security-groups/{id}", web::get().to(show_group))
        .route("/v2.0/security-groups/{id}", web::put().to(update_group))
        .route("/v2.0/security-groups/{id}", web::delete().to(delete_group))
        .route("/v2.0/security-group-rules", web::get().to(list_rules))
        .route("/v2.0/security-group-rules", web::post().to(create_rules))
        .route("/v2.0/security-group-rules/{id}", web::get().to(show_rule))
        .route(
            "/v2.0/security-group-rules/{id}",
            web::delete().to(delete_rule),
        );
}

fn rule_view(r: &SecurityGroupRule) -> Value {
    json!({
        "id": r.id, "security_group_id": r.security_group_id,
        "tenant_id": r.project_id, "project_id": r.project_id,
        "direction": r.direction, "ethertype": r.ethertype, "protocol": r.protocol,
        "port_range_min": r.port_range_min, "port_range_max": r.port_range_max,
        "remote_ip_prefix": r.remote_ip_prefix, "remote_group_id": r.remote_group_id,
        "remote_address_group_id": null, "normalized_cidr": r.remote_ip_prefix,
        "description": r.description, "tags": [],
        "created_at": r.created_at, "updated_at": r.created_at, "revision_number": 0,
    })
}

fn group_view(s: &CloudState, g: &SecurityGroup) -> Value {
    let rules: Vec<Value> = s
        .security_group_rules
        .values()
        .filter(|r| r.security_group_id == g.id)
        .map(rule_view)
        .collect();
    json!({
        "id": g.id, "name": g.name, "description": g.description,
        "tenant_id": g.project_id, "project_id": g.project_id, "stateful": true, "shared": false,
        "security_group_rules": rules, "tags": [],
        "created_at": g.created_at, "updated_at": g.created_at, "revision_number": 1,
    })
}

/// A new group with Neutron's default egress rules (IPv4 and IPv6, any protocol).
fn new_group(s: &mut CloudState, project: &str, name: &str, description: &str) -> String {
    let g = SecurityGroup {
        id: new_id(),
        name: name.to_owned(),
        description: description.to_owned(),
        project_id: project.to_owned(),
        created_at: now(),
    };
    for ethertype in ["IPv4", "IPv6"] {
        let r = SecurityGroupRule {
            id: new_id(),
            security_group_id: g.id.clone(),
            project_id: project.to_owned(),
            direction: "egress".to_owned(),
            ethertype: ethertype.to_owned(),
            protocol: None,
            port_range_min: None,
            port_range_max: None,
            remote_ip_prefix: None,
            remote_group_id: None,
            description: String::new(),
            created_at: now(),
        };
        s.security_group_rules.insert(r.id.clone(), r);
    }
    let id = g.id.clone();
    s.security_groups.insert(id.clone(), g);
    id
}

/// The project's `default` group, made on first use as Neutron does.
pub fn default_group(s: &mut CloudState, project: &str) -> String {
    match s
        .security_groups
        .values()
        .find(|g| g.project_id == project && g.name == "default")
    {
        Some(g) => g.id.clone(),
        None => new_group(s, project, "default", "Default security group"),
    }
}

async fn list_groups(
    req: HttpRequest,
    cloud: CloudData,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        default_group(s, &p);
        Ok(s.security_groups
            .values()
            .filter(|g| g.project_id == p)
            .map(|g| group_view(s, g))
            .collect::<Vec<_>>())
    });
    match r {
        Ok(items) => list("security_groups", &items, &query),
        Err(e) => cloud_error(e, "SecurityGroupNotFound"),
    }
}

async fn show_group(
    req: HttpRequest,
    cloud: CloudData,
    id: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let p = project(&req);
    let item = cloud.read(|s| {
        s.security_groups
            .get(id.as_str())
            .filter(|g| g.project_id == p)
            .map(|g| group_view(s, g))
    });
    show("security_group", "SecurityGroupNotFound", item, &id, &query)
}

async fn create_group(req: HttpRequest, cloud: CloudData, body: web::Json<Value>) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        let m = member(&body, "security_group")?;
        let name = text(m, "name").unwrap_or_default();
        if name == "default"
            && s.security_groups
                .values()
                .any(|g| g.project_id == p && g.name == "default")
        {
            return Err(CloudError::Conflict(
                "Default security group already exists.".to_owned(),
            ));
        }
        let id = new_group(s, &p, &name, &text(m, "description").unwrap_or_default());
        Ok(s.security_groups
            .get(&id)
            .map(|g| group_view(s, g))
            .unwrap_or_default())
    });
    match r {
        Ok(v) => created("security_group", v),
        Err(e) => cloud_error(e, "SecurityGroupNotFound"),
    }
}

async fn update_group(
    req: HttpRequest,
    cloud: CloudData,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        let m = member(&body, "security_group")?.clone();
        let g = s
            .security_groups
            .get_mut(id.as_str())
            .filter(|g| g.project_id == p)
            .ok_or_else(|| CloudError::NotFound(format!("Security group {id} does not exist")))?;
        if let Some(n) = text(&m, "name") {
            g.name = n;
        }
        if let Some(d) = text(&m, "description") {
            g.description = d;
        }
        let g = g.clone();
        Ok(group_view(s, &g))
    });
    match r {
        Ok(v) => HttpResponse::Ok().json(json!({"security_group": v})),
        Err(e) => cloud_error(e, "SecurityGroupNotFound"),
    }
}

async fn delete_group(req: HttpRequest, cloud: CloudData, id: web::Path<String>) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        if s.security_groups
            .get(id.as_str())
            .is_none_or(|g| g.project_id != p)
        {
            return Err(CloudError::NotFound(format!(
                "Security group {id} does not exist"
            )));
        }
        if s.ports
            .values()
            .any(|port| port.security_groups.iter().any(|g| g == id.as_str()))
        {
            return Err(CloudError::Conflict(format!("Security Group {id} in use.")));
        }
        s.security_groups.remove(id.as_str());
        s.security_group_rules
            .retain(|_, r| r.security_group_id != id.as_str());
        Ok(())
    });
    match r {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => cloud_error(e, "SecurityGroupNotFound"),
    }
}

async fn list_rules(
    req: HttpRequest,
    cloud: CloudData,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let p = project(&req);
    let items: Vec<Value> = cloud.read(|s| {
        s.security_group_rules
            .values()
            .filter(|r| r.project_id == p)
            .map(rule_view)
            .collect()
    });
    list("security_group_rules", &items, &query)
}

async fn show_rule(
    req: HttpRequest,
    cloud: CloudData,
    id: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let p = project(&req);
    let item = cloud.read(|s| {
        s.security_group_rules
            .get(id.as_str())
            .filter(|r| r.project_id == p)
            .map(rule_view)
    });
    show(
        "security_group_rule",
        "SecurityGroupRuleNotFound",
        item,
        &id,
        &query,
    )
}

/// A port number as Heat sends it (a string or a number).
fn port_number(m: &Map<String, Value>, key: &str) -> Result<Option<u16>, CloudError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let s = v
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string());
            s.parse()
                .map(Some)
                .map_err(|_| CloudError::BadRequest(format!("Invalid value for port {s}")))
        }
    }
}

fn new_rule(
    s: &CloudState,
    project: &str,
    m: &Map<String, Value>,
) -> Result<SecurityGroupRule, CloudError> {
    let group = text(m, "security_group_id")
        .ok_or_else(|| CloudError::BadRequest("security_group_id is required.".to_owned()))?;
    if s.security_groups
        .get(&group)
        .is_none_or(|g| g.project_id != project)
    {
        return Err(CloudError::NotFound(format!(
            "Security group {group} does not exist"
        )));
    }
    let direction = text(m, "direction").unwrap_or_else(|| "ingress".to_owned());
    if direction != "ingress" && direction != "egress" {
        return Err(CloudError::BadRequest(format!(
            "{direction} is not a valid direction"
        )));
    }
    Ok(SecurityGroupRule {
        id: new_id(),
        security_group_id: group,
        project_id: project.to_owned(),
        direction,
        ethertype: text(m, "ethertype").unwrap_or_else(|| "IPv4".to_owned()),
        protocol: text(m, "protocol"),
        port_range_min: port_number(m, "port_range_min")?,
        port_range_max: port_number(m, "port_range_max")?,
        remote_ip_prefix: text(m, "remote_ip_prefix"),
        remote_group_id: text(m, "remote_group_id"),
        description: text(m, "description").unwrap_or_default(),
        created_at: now(),
    })
}

/// `{"security_group_rule": {...}}`, or Heat's bulk `{"security_group_rules": [...]}`.
async fn create_rules(req: HttpRequest, cloud: CloudData, body: web::Json<Value>) -> HttpResponse {
    let p = project(&req);
    let bulk = body
        .get("security_group_rules")
        .and_then(Value::as_array)
        .cloned();
    let r = cloud.update(|s| {
        let bodies: Vec<Map<String, Value>> = match &bulk {
            Some(items) => items
                .iter()
                .map(|i| {
                    i.get("security_group_rule")
                        .unwrap_or(i)
                        .as_object()
                        .cloned()
                        .ok_or_else(|| {
                            CloudError::BadRequest("Each rule must be a JSON object.".to_owned())
                        })
                })
                .collect::<Result<_, _>>()?,
            None => vec![member(&body, "security_group_rule")?.clone()],
        };
        let mut views = Vec::new();
        for m in &bodies {
            let r = new_rule(s, &p, m)?;
            views.push(rule_view(&r));
            s.security_group_rules.insert(r.id.clone(), r);
        }
        Ok(views)
    });
    match r {
        Ok(mut views) if bulk.is_none() => {
            created("security_group_rule", views.pop().unwrap_or_default())
        }
        Ok(views) => HttpResponse::Created().json(json!({"security_group_rules": views})),
        Err(e) => cloud_error(e, "SecurityGroupNotFound"),
    }
}

async fn delete_rule(req: HttpRequest, cloud: CloudData, id: web::Path<String>) -> HttpResponse {
    let p = project(&req);
    let r = cloud.update(|s| {
        s.security_group_rules
            .remove(id.as_str())
            .filter(|r| r.project_id == p)
            .map(drop)
            .ok_or_else(|| CloudError::NotFound(format!("Security group rule {id} does not exist")))
    });
    match r {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => cloud_error(e, "SecurityGroupRuleNotFound"),
    }
}
