//! What happens to a running Kubernetes cluster after its creation, through the real conductor,
//! RabbitMQ, Keystone and Heat: its notifications, its trustee and trust, certificate signing,
//! health polling of its API, CA and credential rotation, upgrade, and the clean-up at delete.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use magnum_tests::api::{Api, Driver, kube_tags};
use magnum_tests::kubectl::{KubeClient, config_dir};
use magnum_tests::nodes::Engine;
use magnum_tests::notifications::Listener;
use magnum_tests::{Env, unique};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(600);
const CADF_EVENT: &str = "http://schemas.dmtf.org/cloud/audit/1.0/event";

/// `(event_type, outcome)` of the notifications about cluster `uuid`, in arrival order.
fn events_of(seen: &[Value], uuid: &str) -> Vec<(String, String)> {
    seen.iter()
        .filter(|m| m["payload"]["target"]["id"] == uuid)
        .map(|m| {
            (
                m["event_type"].as_str().unwrap_or_default().to_owned(),
                m["payload"]["outcome"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

fn has(seen: &[Value], uuid: &str, event: &str, outcome: &str) -> bool {
    events_of(seen, uuid)
        .iter()
        .any(|(e, o)| e == event && o == outcome)
}

/// The stack's `name` parameter as the conductor sent it (Heat's environment; hidden ones are
/// masked).
async fn sent_parameter(api: &Api, stack_id: &str, name: &str) -> String {
    let env = api.stack_environment(stack_id).await.unwrap();
    env["parameters"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no string parameter {name} in {env}"))
        .to_owned()
}

/// Polls the cluster until `check` holds for it.
async fn wait_cluster(api: &Api, uuid: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let t0 = Instant::now();
    loop {
        let c = api.cluster(uuid).await.unwrap();
        if check(&c) {
            return c;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "cluster never {what}: {c}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A CSR for a server at `ip` (its key is thrown away: only the signing is tested).
fn server_csr(ip: IpAddr) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "kube-apiserver");
    params.subject_alt_names = vec![rcgen::SanType::IpAddress(ip)];
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.serialize_request(&key).unwrap().pem().unwrap()
}

/// One cluster through its second day: notifications of create, its trustee and trust in
/// Keystone, a CSR signed by the cluster CA, the health of its API as the conductor polls it, a CA rotation, a credential rotation,
/// then delete, which takes the trustee and the trust with it.
#[tokio::test]
async fn kubernetes_cluster_second_day() {
    let Some(env) = Env::get() else { return };
    let rabbit = std::env::var("MAGNUM_TEST_RABBIT_URL")
        .expect("MAGNUM_TEST_RABBIT_URL: scripts/test.sh sets it with the rest");
    let listener = Listener::bind(&rabbit, "magnum").await.unwrap();
    let api = Api::login(&env, "demo").await.unwrap();
    // the controller manager's node grace period short, so a stopped kubelet shows soon
    let t = api
        .create_template_with(
            &unique("ct"),
            Driver::K8sFedoraCoreos,
            json!({"labels": {"kubecontroller_options": "--node-monitor-grace-period=25s"}}),
        )
        .await
        .unwrap();
    let uuid = api.create_cluster(&unique("c"), &t, 1, 1).await.unwrap();
    let c = api
        .wait_status(&uuid, "CREATE_COMPLETE", WAIT)
        .await
        .unwrap();
    let stack_id = c["cluster_id"].as_str().unwrap().to_owned();

    // Notifications: create pending, then success, as CADF events on notifications.info.
    let seen = listener
        .until(Duration::from_secs(60), |s| {
            has(s, &uuid, "magnum.cluster.create", "success")
        })
        .await
        .unwrap();
    let mine: Vec<&Value> = seen
        .iter()
        .filter(|m| m["payload"]["target"]["id"] == uuid.as_str())
        .collect();
    assert_eq!(
        events_of(&seen, &uuid)[..2],
        [
            ("magnum.cluster.create".to_owned(), "pending".to_owned()),
            ("magnum.cluster.create".to_owned(), "success".to_owned())
        ],
        "{mine:#?}"
    );
    for m in &mine {
        assert_eq!(m["oslo.version"], "2.0");
        assert_eq!(m["priority"], "INFO");
        assert_eq!(m["routing_key"], "notifications.info");
        assert_eq!(m["payload"]["typeURI"], CADF_EVENT);
        assert_eq!(m["payload"]["action"], "create");
        assert_eq!(
            m["payload"]["initiator"]["project_id"],
            api.project_id.as_str()
        );
    }
    let success = mine.last().unwrap();
    let data = &success["payload"]["target"]["attachments"][0]["content"];
    assert_eq!(data["status"], "CREATE_COMPLETE", "{success}");
    assert_eq!(data["stack_id"], stack_id.as_str());

    // The trustee: a Keystone user "<cluster>_<project>" in the trustee domain; the trust: the
    // user's, for the project, to that trustee, with impersonation.
    let admin = Api::login(&env, "admin").await.unwrap();
    let trustee = sent_parameter(&api, &stack_id, "trustee_user_id").await;
    let user = admin
        .keystone_get(&format!("/users/{trustee}"))
        .await
        .unwrap()
        .expect(200)
        .unwrap();
    assert_eq!(
        user["user"]["name"],
        format!("{uuid}_{}", api.project_id).as_str()
    );
    assert_eq!(
        user["user"]["domain_id"],
        sent_parameter(&api, &stack_id, "trustee_domain_id")
            .await
            .as_str()
    );
    let trusts = api
        .keystone_get(&format!("/OS-TRUST/trusts?trustor_user_id={}", api.user_id))
        .await
        .unwrap()
        .expect(200)
        .unwrap();
    let trust = trusts["trusts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["trustee_user_id"] == trustee.as_str())
        .unwrap_or_else(|| panic!("no trust to {trustee}: {trusts}"))
        .clone();
    assert_eq!(trust["impersonation"], true, "{trust}");
    assert_eq!(trust["project_id"], api.project_id.as_str(), "{trust}");
    let trust_id = trust["id"].as_str().unwrap().to_owned();
    // `[trust] cluster_user_trust` (true in the tests) hands the nodes the trust, and with it
    // the cloud provider is on by default.
    let params = api.stack_parameters(&stack_id).await.unwrap();
    assert_eq!(
        params["cloud_provider_enabled"]
            .as_str()
            .map(str::to_lowercase)
            .as_deref(),
        Some("true"),
        "{params}"
    );

    // Certificates: the cluster CA, and a CSR for the API's address signed with it.
    let ca = api
        .get(&format!("/certificates/{uuid}"))
        .await
        .unwrap()
        .expect(200)
        .unwrap();
    let ca_pem = ca["pem"].as_str().unwrap().to_owned();
    assert!(ca_pem.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    assert_eq!(ca["cluster_uuid"], uuid.as_str());
    let address = c["api_address"].as_str().unwrap();
    let addr: SocketAddr = address
        .trim_start_matches("https://")
        .parse()
        .unwrap_or_else(|e| panic!("api_address {address}: {e}"));
    let csr = server_csr(addr.ip());
    let signed = api
        .post("/certificates", json!({"cluster_uuid": uuid, "csr": csr}))
        .await
        .unwrap()
        .expect(201)
        .unwrap();
    let cert_pem = signed["pem"].as_str().unwrap().to_owned();
    assert!(cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(
        api.post(
            "/certificates",
            json!({"cluster_uuid": uuid, "csr": "not a CSR"})
        )
        .await
        .unwrap()
        .status,
        400
    );

    // Health, polled by the conductor from the cluster's real API (mutual TLS with the cluster
    // CA): HEALTHY with every node Ready; a minion whose kubelet stops turns NotReady once the
    // controller manager's grace period (25 s here, from the template's label) has passed, and
    // the cluster UNHEALTHY naming it; the API itself stopped: UNKNOWN.
    let engine = Engine::get().unwrap();
    let stack = api
        .heat_get(&format!("/stacks/{stack_id}"))
        .await
        .unwrap()
        .expect(200)
        .unwrap();
    let servers = api
        .servers_named(stack["stack"]["stack_name"].as_str().unwrap())
        .await
        .unwrap();
    let master = servers
        .iter()
        .find(|(_, n, _)| n.contains("-master-"))
        .unwrap();
    let minion = servers
        .iter()
        .find(|(_, n, _)| !n.contains("-master-"))
        .unwrap();
    let minion_node = engine
        .exec(&minion.0, &["hostname"])
        .unwrap()
        .trim()
        .to_owned();
    let c = wait_cluster(&api, &uuid, "HEALTHY", |c| c["health_status"] == "HEALTHY").await;
    assert_eq!(c["health_status_reason"]["api"], "ok", "{c}");
    assert_eq!(
        c["health_status_reason"][format!("{minion_node}.Ready")],
        "True",
        "{c}"
    );
    engine
        .exec(&minion.0, &["systemctl", "stop", "kubelet"])
        .unwrap();
    let c = wait_cluster(&api, &uuid, "UNHEALTHY", |c| {
        c["health_status"] == "UNHEALTHY"
    })
    .await;
    assert_ne!(
        c["health_status_reason"][format!("{minion_node}.Ready")],
        "True",
        "{c}"
    );
    engine
        .exec(&master.0, &["systemctl", "stop", "kube-apiserver"])
        .unwrap();
    let c = wait_cluster(&api, &uuid, "UNKNOWN", |c| c["health_status"] == "UNKNOWN").await;
    assert!(
        c["health_status_reason"]["api"]
            .as_str()
            .unwrap_or_default()
            .contains("not accessible"),
        "{c}"
    );

    // CA rotation: a new CA, and the nodes told to fetch it (ca_rotation_id changes); their
    // agents see the new CA in Magnum and issue every certificate of theirs again: kubectl with
    // a configuration made after the rotation works, the one made before is refused.
    let before = config_dir(&env, "demo", &uuid).unwrap();
    api.patch(&format!("/certificates/{uuid}"), json!({}))
        .await
        .unwrap()
        .expect(202)
        .unwrap();
    api.wait_status(&uuid, "UPDATE_COMPLETE", WAIT)
        .await
        .unwrap();
    let rotated = api
        .get(&format!("/certificates/{uuid}"))
        .await
        .unwrap()
        .expect(200)
        .unwrap();
    assert_ne!(rotated["pem"].as_str().unwrap(), ca_pem, "the CA changed");
    let params = api.stack_parameters(&stack_id).await.unwrap();
    assert!(
        !params["ca_rotation_id"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{params}"
    );
    let after = config_dir(&env, "demo", &uuid).unwrap();
    let (old_client, new_client) = (
        KubeClient::from_dir(&before).unwrap(),
        KubeClient::from_dir(&after).unwrap(),
    );
    let t0 = Instant::now();
    loop {
        let new_nodes = new_client.nodes().unwrap_or_default();
        let old_refused = old_client.nodes().is_err();
        if old_refused && new_nodes.len() == 2 && new_nodes.iter().all(|(_, r, _)| r == "True") {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(240),
            "after the CA rotation: new client sees {new_nodes:?}, old client refused: {old_refused}"
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    for d in [before, after] {
        let _ = std::fs::remove_dir_all(d);
    }

    // Credential rotation: Keystone changes the trustee's password (so revokes its tokens), and
    // the stack PATCH that gives the nodes the new one is made with a trust token the conductor
    // got with it.
    let revocations = || async {
        let events = admin
            .keystone_get("/OS-REVOKE/events")
            .await
            .unwrap()
            .expect(200)
            .unwrap();
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["user_id"] == trustee.as_str())
            .count()
    };
    let before = revocations().await;
    api.patch(&format!("/credentials/{uuid}"), json!({}))
        .await
        .unwrap()
        .expect(202)
        .unwrap();
    api.wait_status(&uuid, "UPDATE_COMPLETE", WAIT)
        .await
        .unwrap();
    assert!(
        revocations().await > before,
        "the trustee's password did not change"
    );

    // Delete: the stack, the trustee and the trust go; delete pending then success.
    api.delete_cluster(&uuid, WAIT).await.unwrap();
    assert!(api.stacks_of(&uuid).await.unwrap().is_empty());
    assert_eq!(
        admin
            .keystone_get(&format!("/users/{trustee}"))
            .await
            .unwrap()
            .status,
        404,
        "the trustee is gone"
    );
    assert_eq!(
        api.keystone_get(&format!("/OS-TRUST/trusts/{trust_id}"))
            .await
            .unwrap()
            .status,
        404,
        "the trust is gone"
    );
    let seen = listener
        .until(Duration::from_secs(60), |s| {
            has(s, &uuid, "magnum.cluster.delete", "success")
        })
        .await
        .unwrap();
    let events = events_of(&seen, &uuid);
    let pending = events
        .iter()
        .position(|e| e == &("magnum.cluster.delete".to_owned(), "pending".to_owned()));
    let done = events
        .iter()
        .position(|e| e == &("magnum.cluster.delete".to_owned(), "success".to_owned()));
    assert!(pending.is_some() && pending < done, "{events:?}");
    assert!(
        events
            .iter()
            .any(|e| e == &("magnum.cluster.update".to_owned(), "pending".to_owned())),
        "rotations notify updates: {events:?}"
    );
    api.delete_template(&t).await.unwrap();
}

/// An upgrade to a template with a newer kube_tag rolls the new version to the stack; one with
/// an older kube_tag is refused and changes nothing.
#[tokio::test]
async fn kubernetes_cluster_upgrade() {
    let Some(env) = Env::get() else { return };
    let api = Api::login(&env, "demo").await.unwrap();
    let template = |tag: &str| {
        let api = api.clone();
        let tag = tag.to_owned();
        async move {
            api.create_template_with(
                &unique("ct"),
                Driver::K8sFedoraCoreos,
                json!({"labels": {"kube_tag": tag}}),
            )
            .await
            .unwrap()
        }
    };
    // three versions the local registry has images of, oldest first
    let tags = kube_tags();
    let (old, current, newer) = (
        template(&tags[0]).await,
        template(&tags[1]).await,
        template(&tags[2]).await,
    );
    let uuid = api
        .create_cluster(&unique("c"), &current, 1, 1)
        .await
        .unwrap();
    let c = api
        .wait_status(&uuid, "CREATE_COMPLETE", WAIT)
        .await
        .unwrap();
    let stack_id = c["cluster_id"].as_str().unwrap().to_owned();
    let params = api.stack_parameters(&stack_id).await.unwrap();
    assert_eq!(params["kube_tag"], tags[1].as_str(), "{params}");

    let refused = api
        .post(
            &format!("/clusters/{uuid}/actions/upgrade"),
            json!({"cluster_template": old}),
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 400, "{}", refused.json);
    let shown = api.cluster(&uuid).await.unwrap();
    assert_eq!(shown["cluster_template_id"], current.as_str());
    assert_eq!(shown["status"], "CREATE_COMPLETE");

    api.post(
        &format!("/clusters/{uuid}/actions/upgrade"),
        json!({"cluster_template": newer, "max_batch_size": 1}),
    )
    .await
    .unwrap()
    .expect(202)
    .unwrap();
    let c = api
        .wait_status(&uuid, "UPDATE_COMPLETE", WAIT)
        .await
        .unwrap();
    assert_eq!(c["cluster_template_id"], newer.as_str(), "{c}");
    let params = api.stack_parameters(&stack_id).await.unwrap();
    for key in ["kube_tag", "master_kube_tag", "minion_kube_tag"] {
        assert_eq!(params[key], tags[2].as_str(), "{key}: {params}");
    }
    assert_eq!(params["update_max_batch_size"], "1", "{params}");
    // the nodes roll their components to the new images (their agent reads the cluster's
    // kube-system/magnum-cluster ConfigMap, which the conductor updated) and report it
    let dir = config_dir(&env, "demo", &uuid).unwrap();
    let client = KubeClient::from_dir(&dir).unwrap();
    let t0 = Instant::now();
    loop {
        let nodes = client.nodes().unwrap_or_default();
        if nodes.len() == 2
            && nodes
                .iter()
                .all(|(_, ready, v)| ready == "True" && *v == tags[2])
        {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(180),
            "nodes not at {}: {nodes:?}",
            tags[2]
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let version = client.kubectl(&["version", "-o", "json"]).unwrap();
    assert!(version.contains(&tags[2]), "{version}");
    let _ = std::fs::remove_dir_all(&dir);

    api.delete_cluster(&uuid, WAIT).await.unwrap();
    for t in [old, current, newer] {
        api.delete_template(&t).await.unwrap();
    }
}
