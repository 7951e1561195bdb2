//! Faults while clusters are being built: the conductor killed, the broker stopped, Heat failing,
//! two conductors at once. Every cluster must reach a terminal state, with exactly one stack, and
//! none lost. `scripts/test.sh` runs these one at a time, after the other tests (they disturb the
//! shared conductor, broker and Heat).

use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::join_all;
use magnum_tests::api::{Api, Driver};
use magnum_tests::control::Rig;
use magnum_tests::{Env, unique};

const WAIT: Duration = Duration::from_secs(900);

async fn setup() -> Option<(Api, Rig, String)> {
    let env = Env::get()?;
    let rig = Rig::get()?;
    let api = Api::login(&env, "demo").await.unwrap();
    // The lightest real clusters: Swarm nodes (one Docker daemon each), without volumes or
    // floating IPs; the faults are the conductor's, not the nodes'.
    let t = api
        .create_template_with(
            &unique("ct"),
            Driver::SwarmFedoraAtomic,
            serde_json::json!({"docker_volume_size": null, "floating_ip_enabled": false}),
        )
        .await
        .unwrap();
    Some((api, rig, t))
}

/// Asks for `n` small clusters at once; returns their uuids.
async fn create_many(api: &Api, template: &str, n: usize) -> Vec<String> {
    let names: Vec<String> = (0..n).map(|i| unique(&format!("f{i}"))).collect();
    join_all(
        names
            .iter()
            .map(|name| api.create_cluster(name, template, 1, 1)),
    )
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect()
}

/// Every cluster reaches CREATE_COMPLETE with exactly one stack; then all are deleted.
async fn all_complete_once_then_delete(api: &Api, uuids: &[String], template: &str) {
    for uuid in uuids {
        api.wait_status(uuid, "CREATE_COMPLETE", WAIT)
            .await
            .unwrap();
    }
    for uuid in uuids {
        let stacks = api.stacks_of(uuid).await.unwrap();
        assert_eq!(stacks.len(), 1, "cluster {uuid}: {stacks:?}");
    }
    for uuid in uuids {
        api.delete(&format!("/clusters/{uuid}"))
            .await
            .unwrap()
            .expect(204)
            .unwrap();
    }
    for uuid in uuids {
        api.wait_gone(uuid, WAIT).await.unwrap();
    }
    api.delete(&format!("/clustertemplates/{template}"))
        .await
        .unwrap()
        .expect(204)
        .unwrap();
}

/// How many of `uuids` have their stack create request sent (a stack id recorded).
async fn with_stack(api: &Api, uuids: &[String]) -> usize {
    let mut n = 0;
    for uuid in uuids {
        let c = api.get(&format!("/clusters/{uuid}")).await.unwrap();
        if c.json["stack_id"].is_string() {
            n += 1;
        }
    }
    n
}

#[tokio::test]
async fn conductor_killed_during_twenty_creates() {
    let Some((api, rig, t)) = setup().await else {
        return;
    };
    let uuids = create_many(&api, &t, 20).await;
    // Kill it with work half done: some stacks requested, some not.
    let t0 = std::time::Instant::now();
    while with_stack(&api, &uuids).await < 5 && t0.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    rig.kill_conductor("conductor").unwrap();
    let done_before = with_stack(&api, &uuids).await;
    assert!(done_before < 20, "the kill came too late to test anything");
    tokio::time::sleep(Duration::from_secs(2)).await;
    rig.start_conductor("conductor").unwrap();
    all_complete_once_then_delete(&api, &uuids, &t).await;
}

#[tokio::test]
async fn broker_stopped_for_ten_seconds_during_creates() {
    let Some((api, rig, t)) = setup().await else {
        return;
    };
    let mut uuids = create_many(&api, &t, 4).await;
    rig.stop_rabbitmq().unwrap();
    // Accepted while the broker is down: the API cannot cast, the outbox still has them.
    uuids.extend(create_many(&api, &t, 4).await);
    tokio::time::sleep(Duration::from_secs(10)).await;
    rig.start_rabbitmq().unwrap();
    uuids.extend(create_many(&api, &t, 4).await);
    all_complete_once_then_delete(&api, &uuids, &t).await;
}

#[tokio::test]
async fn heat_failing_for_a_while_is_retried_and_shown() {
    let Some((api, rig, t)) = setup().await else {
        return;
    };
    rig.heat_fault(500, 20).unwrap();
    let uuids = create_many(&api, &t, 3).await;
    // While Heat fails, the cluster says why it waits.
    let t0 = std::time::Instant::now();
    let reason = loop {
        let c = api
            .get(&format!("/clusters/{}", uuids[0]))
            .await
            .unwrap()
            .expect(200)
            .unwrap();
        if let Some(r) = c["status_reason"]
            .as_str()
            .filter(|r| r.contains("retrying"))
        {
            assert_eq!(c["status"], "CREATE_IN_PROGRESS", "{c}");
            break r.to_owned();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no retry shown: {c}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(
        reason.contains("500") || reason.to_lowercase().contains("heat"),
        "{reason}"
    );
    rig.heat_fault_off().unwrap();
    all_complete_once_then_delete(&api, &uuids, &t).await;
}

#[tokio::test]
async fn two_conductors_share_work_without_doing_it_twice() {
    let Some((api, rig, t)) = setup().await else {
        return;
    };
    rig.start_conductor("conductor2").unwrap();
    // Both listen on the bus (not only sweep the outbox), so casts are shared between them.
    for name in ["conductor", "conductor2"] {
        let log = rig.conductor_log(name);
        let last = log
            .lines()
            .rev()
            .find(|l| l.contains("magnum-conductor started"));
        assert!(
            last.is_some_and(|l| l.contains("rpc=true")),
            "{name}: {last:?}"
        );
    }
    let env = Env::get().unwrap();
    let admin = Api::login(&env, "admin").await.unwrap();
    let up = conductors(&admin).await;
    assert!(up.values().filter(|s| *s == "up").count() >= 2, "{up:?}");

    let uuids = create_many(&api, &t, 8).await;
    for uuid in &uuids {
        api.wait_status(uuid, "CREATE_COMPLETE", WAIT)
            .await
            .unwrap();
    }
    // Each stack was created by exactly one of them, and both worked.
    let (one, two) = (
        rig.conductor_log("conductor"),
        rig.conductor_log("conductor2"),
    );
    let created = |log: &str, uuid: &str| {
        log.lines()
            .filter(|l| l.contains("stack created") && l.contains(uuid))
            .count()
    };
    let mut by_two = 0;
    for uuid in &uuids {
        let (a, b) = (created(&one, uuid), created(&two, uuid));
        assert_eq!(a + b, 1, "cluster {uuid}: created {a} + {b} times");
        by_two += b;
    }
    assert!(
        by_two > 0 && by_two < uuids.len(),
        "one conductor did it all ({by_two} of 10 by conductor2)"
    );

    // The second one stops: its heartbeat ends and mservices shows it down.
    rig.stop_conductor("conductor2").unwrap();
    let t0 = std::time::Instant::now();
    loop {
        let now = conductors(&admin).await;
        let downs: Vec<_> = now
            .iter()
            .filter(|(h, s)| h.starts_with("conductor2@") && *s == "down")
            .collect();
        if !downs.is_empty() {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "conductor2 never shown down: {now:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    all_complete_once_then_delete(&api, &uuids, &t).await;
}

/// magnum-conductor records by host, with their state (up/down).
async fn conductors(admin: &Api) -> HashMap<String, String> {
    let m = admin.get("/mservices").await.unwrap().expect(200).unwrap();
    m["mservices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["binary"] == "magnum-conductor")
        .map(|s| {
            (
                s["host"].as_str().unwrap_or_default().to_owned(),
                s["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}
