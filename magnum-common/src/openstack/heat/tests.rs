//! Unit tests of the Heat client that need no Heat.

use super::client::*;
use super::http::*;
use super::types::*;
use reqwest::StatusCode;
use serde_json::Value;

use super::*;
use serde_json::json;

fn res(name: &str, status: &str, parent: Option<&str>, reason: &str) -> Resource {
    serde_json::from_value(json!({
        "resource_name": name, "resource_status": status, "parent_resource": parent,
        "resource_status_reason": reason, "resource_type": "OS::Heat::TestResource"
    }))
    .unwrap()
}

#[test]
fn failure_reason_names_top_level_resources() {
    let resources = vec![
        res(
            "0",
            "CREATE_FAILED",
            Some("kube_masters"),
            "ValueError: resources[0]: boom",
        ),
        res(
            "kube_masters",
            "CREATE_FAILED",
            None,
            "ValueError: resources.kube_masters.resources[0]: boom",
        ),
        res("api_lb", "CREATE_COMPLETE", None, "state changed"),
    ];
    assert_eq!(
        failure_reason(&resources, &[]).as_deref(),
        Some("kube_masters: CREATE_FAILED: ValueError: resources.kube_masters.resources[0]: boom")
    );
    // only nested failures: those are named
    assert_eq!(
        failure_reason(&resources[..1], &[]).as_deref(),
        Some("0: CREATE_FAILED: ValueError: resources[0]: boom")
    );
}

#[test]
fn failure_reason_falls_back_to_events() {
    let ev = |id: &str, name: &str, pid: &str, t: &str, status: &str| -> Event {
        serde_json::from_value(json!({
            "id": id, "resource_name": name, "physical_resource_id": pid, "event_time": t,
            "resource_status": status, "resource_status_reason": format!("{name} said no"),
            "links": [{"href": "http://h/v1/p/stacks/s1/SID", "rel": "stack"}]
        }))
        .unwrap()
    };
    let events = vec![
        ev("1", "s1", "SID", "2026-01-01T00:00:03Z", "CREATE_FAILED"),
        ev(
            "2",
            "kube_minions",
            "NID",
            "2026-01-01T00:00:02Z",
            "CREATE_FAILED",
        ),
        ev(
            "3",
            "api_lb",
            "LID",
            "2026-01-01T00:00:01Z",
            "CREATE_FAILED",
        ),
        ev(
            "4",
            "api_lb",
            "LID",
            "2026-01-01T00:00:04Z",
            "CREATE_COMPLETE",
        ),
    ];
    assert_eq!(
        failure_reason(&[], &events).as_deref(),
        Some("kube_minions: CREATE_FAILED: kube_minions said no")
    );
    assert_eq!(
        failure_reason(&[], &events[..1]).as_deref(),
        Some("s1: CREATE_FAILED: s1 said no")
    );
    assert_eq!(failure_reason(&[], &[]), None);
}

#[test]
fn errors_map_heat_bodies() {
    let answer = |status: u16, body: Value| Answer {
        status: StatusCode::from_u16(status).unwrap(),
        location: None,
        body: body.to_string().into_bytes(),
    };
    let e = error_of(&answer(
        409,
        json!({"code": 409, "title": "Conflict",
        "explanation": "There was a conflict", "error": {"type": "StackExists",
        "message": "The Stack (c1) already exists.", "traceback": null}}),
    ));
    assert!(
        matches!(e, HeatError::Conflict { kind: ConflictKind::StackExists, ref message } if message == "The Stack (c1) already exists.")
    );
    let e = error_of(&answer(
        400,
        json!({"error": {"type": "StackValidationFailed",
        "message": "Parameter 'n' is invalid"}}),
    ));
    assert!(matches!(e, HeatError::BadRequest(ref m) if m == "Parameter 'n' is invalid"));
    let e = error_of(&answer(
        403,
        json!({"explanation": "Access was denied to this resource.",
        "error": {"type": "Forbidden", "traceback": null}}),
    ));
    assert!(matches!(e, HeatError::Forbidden(ref m) if m == "Access was denied to this resource."));
    assert!(matches!(
        error_of(&answer(401, json!({}))),
        HeatError::Unauthorized
    ));
    assert!(matches!(
        error_of(&answer(404, json!({}))),
        HeatError::NotFound(_)
    ));
}

#[test]
fn urls_are_canonical_and_encoded() {
    crate::tls::init();
    let c = HeatClient::new(reqwest::Client::new(), "http://h:8004/v1/p1/", "tok-123").unwrap();
    assert_eq!(
        c.stack_url("s1", "id1"),
        "http://h:8004/v1/p1/stacks/s1/id1"
    );
    assert_eq!(
        c.url(&["stacks", "s1", "id1", "outputs", "a b/c"]).as_str(),
        "http://h:8004/v1/p1/stacks/s1/id1/outputs/a%20b%2Fc"
    );
    assert!(matches!(
        HeatClient::new(
            reqwest::Client::new(),
            "http://h:8004/v1/$(project_id)s",
            "t"
        ),
        Err(HeatError::InvalidEndpoint(_))
    ));
    assert!(format!("{c:?}").contains("h:8004") && !format!("{c:?}").contains("tok-123"));
}

#[test]
fn backoff_grows_and_is_capped() {
    let p = RetryPolicy::default();
    assert!(p.backoff(1) <= Duration::from_millis(300));
    assert!(p.backoff(3) >= Duration::from_millis(800));
    assert!(p.backoff(30) <= Duration::from_millis(9600));
    assert!(
        is_failure("ROLLBACK_COMPLETE")
            && is_failure("UPDATE_FAILED")
            && !is_failure("CREATE_COMPLETE")
    );
}
