//! Stack life cycle: create, outputs, PATCH (scale, removal policies), list,
//! delete, 404s, failures and conflicts.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use magnum_common::openstack::heat::{
    ConflictKind, EventQuery, HeatError, StackCreate, StackListQuery, StackLookup, StackPatch,
    is_failure,
};
use serde_json::{Map, Value, json};

use super::templates::cluster;
use super::{FAULT_LOCK, delete_and_wait, env, tiny_template, unique, wait, wait_status};

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the IPv4 address `ip` is in `cidr`.
fn in_cidr(ip: &str, cidr: &str) -> bool {
    let parse = |a: &str| a.parse::<std::net::Ipv4Addr>().map(u32::from).ok();
    let Some((net, len)) = cidr.split_once('/') else {
        return false;
    };
    let (Some(ip), Some(net), Ok(len)) = (parse(ip), parse(net), len.parse::<u32>()) else {
        return false;
    };
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    ip & mask == net & mask
}

/// Member names of the `nodes` group.
async fn members(
    client: &magnum_common::openstack::heat::HeatClient,
    name: &str,
    id: &str,
) -> BTreeSet<String> {
    client
        .resources(name, id, 1, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.parent_resource.as_deref() == Some("nodes"))
        .map(|r| r.resource_name)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn cluster_life_cycle() {
    let Some(env) = env() else { return };
    let _shared = FAULT_LOCK.read().await;
    let client = env.demo().await;
    let name = unique("life");
    let t0 = Instant::now();
    let stack = client.create_stack(&cluster(&name, 2)).await.unwrap();
    assert_eq!(stack.name, name);
    assert!(
        stack.url.ends_with(&format!("/stacks/{name}/{}", stack.id)),
        "{}",
        stack.url
    );
    wait_status(&client, &stack, "CREATE_COMPLETE").await;
    eprintln!("create (2 nodes): {:.1}s", t0.elapsed().as_secs_f64());

    // outputs: distinct plausible addresses, Magnum's attribute paths
    let StackLookup::Found(s) = client.get_stack(&name, &stack.id, true).await.unwrap() else {
        panic!("gone")
    };
    assert_eq!(
        s.tags.as_deref(),
        Some(&["magnum-test".to_owned(), "heat-client".to_owned()][..])
    );
    assert_eq!(s.timeout_mins, Some(10));
    assert_eq!(s.parameters.get("node_count"), Some(&json!("2")));
    let ips = strings(s.output("node_ips"));
    let fips = strings(s.output("node_external_ips"));
    assert_eq!(ips.len(), 2, "{ips:?}");
    // The local cloud gives the subnet 10.0.0.0/24 unless that block is taken on this machine
    // (then the first free one of its tenant pool, and the subnet says so).
    let cidr = s
        .output("fixed_subnet_cidr")
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    assert!(cidr.ends_with("/24"), "{cidr}");
    assert!(ips.iter().all(|ip| in_cidr(ip, &cidr)), "{ips:?} {cidr}");
    // The local cloud's floating IPs: the `public` network's 172.24.4.0/24.
    let floating = "172.24.4.".to_owned();
    assert!(fips.iter().all(|ip| ip.starts_with(&floating)), "{fips:?}");
    assert_ne!(ips[0], ips[1]);
    assert_eq!(s.output("first_node_ip"), Some(&json!(ips[0])));
    let api = s.output("api_address").and_then(Value::as_str).unwrap();
    assert!(
        in_cidr(api, &cidr) && !ips.contains(&api.to_owned()),
        "{api}"
    );
    assert!(
        s.output("api_port_id")
            .and_then(Value::as_str)
            .is_some_and(|p| p.len() == 36)
    );
    assert!(
        s.output("api_floating_address")
            .and_then(Value::as_str)
            .is_some_and(|a| a.starts_with(&floating))
    );
    let fixed = s
        .output("node_fixed_ips")
        .and_then(Value::as_array)
        .unwrap();
    assert_eq!(fixed.len(), 2);
    for (f, ip) in fixed.iter().zip(&ips) {
        assert_eq!(f[0]["ip_address"], json!(ip), "{fixed:?}");
    }
    assert!(
        s.outputs.iter().all(|o| o.output_error.is_none()),
        "{:?}",
        s.outputs
    );
    let one = client
        .get_output(&name, &stack.id, "node_ips")
        .await
        .unwrap();
    assert_eq!(strings(Some(&one.output_value)), ips);

    // resource attributes as Magnum's node-group driver reads them
    let secgroup = client.resource(&name, &stack.id, "secgroup").await.unwrap();
    let sg_id = secgroup
        .attributes
        .as_ref()
        .and_then(|a| a.get("id"))
        .and_then(Value::as_str)
        .unwrap();
    assert_eq!(s.output("secgroup_id"), Some(&json!(sg_id)));
    let network = client.resource(&name, &stack.id, "network").await.unwrap();
    let attrs = network.attributes.unwrap();
    assert_eq!(attrs.get("fixed_network"), s.output("fixed_network"));
    assert!(attrs.get("fixed_subnet").and_then(Value::as_str).is_some());

    // list: one request, status and reason included
    let listed = client
        .list_stacks(&StackListQuery {
            tags: Some("heat-client".to_owned()),
            ..Default::default()
        })
        .await
        .unwrap();
    let mine = listed
        .iter()
        .find(|x| x.id == stack.id)
        .expect("listed by tag");
    assert_eq!(mine.stack_status, "CREATE_COMPLETE");
    assert_eq!(
        mine.stack_status_reason.as_deref(),
        Some("Stack CREATE completed successfully")
    );
    let by_status = client
        .list_stacks(&StackListQuery {
            status: vec!["COMPLETE".to_owned()],
            name: vec![name.clone()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_status.len(), 1);
    assert!(
        client
            .list_stacks(&StackListQuery {
                status: vec!["IN_PROGRESS".to_owned()],
                name: vec![name.clone()],
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        client.find_stack(&name).await.unwrap().map(|r| r.id),
        Some(stack.id.clone())
    );

    // PATCH: scale out
    let t0 = Instant::now();
    let mut params = Map::new();
    params.insert("node_count".to_owned(), json!(3));
    client
        .patch_stack(
            &name,
            &stack.id,
            &StackPatch {
                parameters: params,
                disable_rollback: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    wait_status(&client, &stack, "UPDATE_COMPLETE").await;
    eprintln!("update 2 -> 3 nodes: {:.1}s", t0.elapsed().as_secs_f64());
    assert_eq!(
        members(&client, &name, &stack.id).await,
        BTreeSet::from(["0".into(), "1".into(), "2".into()])
    );
    let ips3 = strings(Some(
        &client
            .get_output(&name, &stack.id, "node_ips")
            .await
            .unwrap()
            .output_value,
    ));
    assert_eq!(ips3.len(), 3);
    assert_eq!(
        &ips3[..2],
        &ips[..],
        "existing members keep their addresses"
    );

    // PATCH: scale in removing member 1 (removal_policies)
    let mut params = Map::new();
    params.insert("node_count".to_owned(), json!(2));
    params.insert("nodes_to_remove".to_owned(), json!("1"));
    client
        .patch_stack(
            &name,
            &stack.id,
            &StackPatch {
                parameters: params,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    wait_status(&client, &stack, "UPDATE_COMPLETE").await;
    assert_eq!(
        members(&client, &name, &stack.id).await,
        BTreeSet::from(["0".into(), "2".into()])
    );
    let ips2 = strings(Some(
        &client
            .get_output(&name, &stack.id, "node_ips")
            .await
            .unwrap()
            .output_value,
    ));
    assert_eq!(ips2, vec![ips3[0].clone(), ips3[2].clone()]);

    // delete: gone by id (DELETE_COMPLETE) and by name; a second delete is fine
    let t0 = Instant::now();
    delete_and_wait(&client, &stack).await;
    eprintln!("delete: {:.1}s", t0.elapsed().as_secs_f64());
    assert_eq!(
        client.get_stack(&name, &stack.id, true).await.unwrap(),
        StackLookup::Gone
    );
    client.delete_stack(&name, &stack.id).await.unwrap();
    assert!(client.find_stack(&name).await.unwrap().is_none());
    let deleted = client
        .list_stacks(&StackListQuery {
            name: vec![name.clone()],
            show_deleted: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        deleted
            .iter()
            .map(|s| s.stack_status.as_str())
            .collect::<Vec<_>>(),
        ["DELETE_COMPLETE"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn resource_group_of_ten_nodes_is_quick() {
    let Some(env) = env() else { return };
    let _shared = FAULT_LOCK.read().await;
    let client = env.demo().await;
    let t0 = Instant::now();
    let mut req = cluster(&unique("ten"), 10);
    req.tags = None;
    let stack = client.create_stack(&req).await.unwrap();
    wait_status(&client, &stack, "CREATE_COMPLETE").await;
    let secs = t0.elapsed().as_secs_f64();
    eprintln!("create (10 nodes, 4 resources each): {secs:.1}s");
    let ips = strings(Some(
        &client
            .get_output(&stack.name, &stack.id, "node_ips")
            .await
            .unwrap()
            .output_value,
    ));
    assert_eq!(ips.iter().collect::<BTreeSet<_>>().len(), 10, "{ips:?}");
    assert!(secs < 90.0, "{secs}");
    delete_and_wait(&client, &stack).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_stacks() {
    let Some(env) = env() else { return };
    let _shared = FAULT_LOCK.read().await;
    let client = env.demo().await;
    let id = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        client.get_stack("nosuch", &id, false).await.unwrap(),
        StackLookup::Gone
    );
    assert!(matches!(
        client.get_output("nosuch", &id, "x").await,
        Err(HeatError::NotFound(_))
    ));
    assert!(matches!(
        client.resources("nosuch", &id, 0, None).await,
        Err(HeatError::NotFound(_))
    ));
    let patch = client
        .patch_stack("nosuch", &id, &StackPatch::default())
        .await;
    assert!(matches!(patch, Err(HeatError::NotFound(_))), "{patch:?}");
    client.delete_stack("nosuch", &id).await.unwrap();
    assert!(client.find_stack("nosuch").await.unwrap().is_none());

    // a missing output of an existing stack
    let stack = client
        .create_stack(&StackCreate {
            name: unique("outputs"),
            template: tiny_template(),
            ..Default::default()
        })
        .await
        .unwrap();
    wait_status(&client, &stack, "CREATE_COMPLETE").await;
    assert!(matches!(
        client.get_output(&stack.name, &stack.id, "nosuch").await,
        Err(HeatError::NotFound(_))
    ));
    delete_and_wait(&client, &stack).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_resource_is_named() {
    let Some(env) = env() else { return };
    let _shared = FAULT_LOCK.read().await;
    let client = env.demo().await;
    let template = json!({
        "heat_template_version": "queens",
        "resources": {
            "api_lb": {"type": "OS::Heat::TestResource", "properties": {"value": "fine"}},
            "kube_masters": {"type": "OS::Heat::ResourceGroup", "properties": {"count": 2,
                "resource_def": {"type": "OS::Heat::TestResource", "properties": {"fail": true, "wait_secs": 0.2}}}}
        }
    })
    .to_string();
    let stack = client
        .create_stack(&StackCreate {
            name: unique("failing"),
            template: template.clone(),
            disable_rollback: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    wait_status(&client, &stack, "CREATE_FAILED").await;
    let StackLookup::Found(s) = client
        .get_stack(&stack.name, &stack.id, false)
        .await
        .unwrap()
    else {
        panic!("gone")
    };
    assert!(is_failure(&s.stack_status));
    let reason = client
        .stack_failure_reason(&stack.name, &stack.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        reason.starts_with("kube_masters: CREATE_FAILED: "),
        "{reason}"
    );
    assert!(reason.contains("Test Resource failed"), "{reason}");
    let events = client
        .events(
            &stack.name,
            &stack.id,
            &EventQuery {
                resource_status: Some("FAILED".to_owned()),
                limit: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        !events.is_empty()
            && events
                .iter()
                .all(|e| e.resource_status.ends_with("_FAILED")),
        "{events:?}"
    );
    delete_and_wait(&client, &stack).await;

    // with rollback: the create ends ROLLBACK_COMPLETE, still a failure
    let stack = client
        .create_stack(&StackCreate {
            name: unique("rollback"),
            template,
            disable_rollback: Some(false),
            ..Default::default()
        })
        .await
        .unwrap();
    match wait(&client, &stack, Duration::from_secs(180)).await {
        StackLookup::Found(s) => assert!(is_failure(&s.stack_status), "{}", s.stack_status),
        StackLookup::Gone => panic!("gone"),
    }
    delete_and_wait(&client, &stack).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn conflicts_and_bad_requests() {
    let Some(env) = env() else { return };
    let _shared = FAULT_LOCK.read().await;
    let client = env.demo().await;
    let req = StackCreate {
        name: unique("exists"),
        template: tiny_template(),
        ..Default::default()
    };
    let stack = client.create_stack(&req).await.unwrap();
    match client.create_stack(&req).await {
        Err(HeatError::Conflict {
            kind: ConflictKind::StackExists,
            message,
        }) => {
            assert!(message.contains(&req.name), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let mut bad = StackCreate {
        name: unique("bad"),
        template: tiny_template(),
        ..Default::default()
    };
    bad.parameters
        .insert("no_such_parameter".to_owned(), json!(1));
    match client.create_stack(&bad).await {
        Err(HeatError::BadRequest(message)) => {
            assert!(message.contains("no_such_parameter"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    bad.parameters.clear();
    bad.template = "heat_template_version: queens\nresources: {x: {type: OS::No::Such}}".to_owned();
    assert!(matches!(
        client.create_stack(&bad).await,
        Err(HeatError::BadRequest(_))
    ));
    wait_status(&client, &stack, "CREATE_COMPLETE").await;
    delete_and_wait(&client, &stack).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_token_is_unauthorized() {
    let Some(env) = env() else { return };
    let _shared = FAULT_LOCK.read().await;
    let client = env.demo().await;
    client.set_token("gAAAAA-not-a-token");
    let err = client
        .list_stacks(&StackListQuery::default())
        .await
        .unwrap_err();
    assert!(matches!(err, HeatError::Unauthorized), "{err:?}");
    // alt_demo cannot use demo's endpoint (project in the URL is not theirs)
    let (alt, _) = env.login("alt_demo", "alt_demo").await;
    client.set_token(alt);
    let err = client
        .list_stacks(&StackListQuery::default())
        .await
        .unwrap_err();
    assert!(matches!(err, HeatError::Forbidden(_)), "{err:?}");
}
