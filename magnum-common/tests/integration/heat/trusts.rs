//! Stacks driven with a trust-scoped token of a trustee user, as Magnum's
//! conductor does: which trust settings let Heat create its own trust.

use magnum_common::openstack::catalog::Catalog;
use magnum_common::openstack::heat::{HeatClient, HeatError, StackCreate, StackPatch};
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::{Env, FAULT_LOCK, delete_and_wait, env, tiny_template, unique, wait_status};

/// A trustee user in the trustee domain, made by the trustee domain admin.
async fn trustee(env: &Env) -> (String, String) {
    let (status, admin_token, body) = env
        .keystone(
            Method::POST,
            "/auth/tokens",
            None,
            Some(json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": env.trustee_domain_admin, "password": env.trustee_domain_admin_password,
                    "domain": {"id": env.trustee_domain_id}}}},
                "scope": {"domain": {"id": env.trustee_domain_id}}}})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let admin_token = admin_token.unwrap();
    let (status, _, body) = env
        .keystone(
            Method::POST,
            "/users",
            Some(&admin_token),
            Some(
                json!({"user": {"name": unique("trustee"), "password": env.password,
                "domain_id": env.trustee_domain_id}}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    (body["user"]["id"].as_str().unwrap().to_owned(), admin_token)
}

/// A trust from the token's user to `trustee_id` on the token's project.
async fn trust(
    env: &Env,
    token: &str,
    trustor: &str,
    project: &str,
    trustee_id: &str,
    settings: Value,
) -> String {
    let mut trust =
        json!({"trustor_user_id": trustor, "trustee_user_id": trustee_id, "project_id": project});
    for (k, v) in settings.as_object().unwrap() {
        trust[k] = v.clone();
    }
    let (status, _, body) = env
        .keystone(
            Method::POST,
            "/OS-TRUST/trusts",
            Some(token),
            Some(json!({"trust": trust})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["trust"]["id"].as_str().unwrap().to_owned()
}

/// The trustee's trust-scoped token and its catalog.
async fn trust_token(env: &Env, trustee_id: &str, trust_id: &str) -> (String, Catalog, Value) {
    let (status, token, body) = env
        .keystone(
            Method::POST,
            "/auth/tokens",
            None,
            Some(json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {"id": trustee_id, "password": env.password}}},
                "scope": {"OS-TRUST:trust": {"id": trust_id}}}})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let catalog: Catalog = serde_json::from_value(body["token"]["catalog"].clone()).unwrap();
    (token.unwrap(), catalog, body["token"].clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn create_with_a_trust_scoped_token() {
    let Some(env) = env() else { return };
    let _shared = FAULT_LOCK.read().await;
    assert!(
        !env.trustee_domain_id.is_empty(),
        "MAGNUM_TRUSTEE_DOMAIN_ID (keystone.env) is not set"
    );
    let (demo_token, demo) = env.login("demo", "demo").await;
    let project = demo.project_id.clone().unwrap();
    let (trustee_id, admin_token) = trustee(&env).await;
    // the roles of the user's token: implied ones (reader) included
    let roles: Vec<Value> = demo.roles.iter().map(|r| json!({"name": r})).collect();
    assert!(demo.roles.iter().any(|r| r == "reader"), "{:?}", demo.roles);

    // impersonation + allow_redelegation + all token roles: Heat can make its trust
    let good = trust(
        &env,
        &demo_token,
        &demo.user_id,
        &project,
        &trustee_id,
        json!({"impersonation": true, "allow_redelegation": true, "roles": roles}),
    )
    .await;
    let (token, catalog, info) = trust_token(&env, &trustee_id, &good).await;
    assert_eq!(
        info["user"]["id"],
        json!(demo.user_id),
        "impersonation: the token acts as demo"
    );
    let client = env.heat(&token, &catalog, &project);
    let req = StackCreate {
        name: unique("trusted"),
        template: tiny_template(),
        ..Default::default()
    };
    let stack = client.create_stack(&req).await.unwrap();
    wait_status(&client, &stack, "CREATE_COMPLETE").await;
    let mut params = Map::new();
    params.insert("count".to_owned(), json!(2));
    client
        .patch_stack(
            &stack.name,
            &stack.id,
            &StackPatch {
                parameters: params,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    wait_status(&client, &stack, "UPDATE_COMPLETE").await;

    // not redelegatable (upstream Magnum's trusts): create refused, update still fine
    let plain = trust(
        &env,
        &demo_token,
        &demo.user_id,
        &project,
        &trustee_id,
        json!({"impersonation": true, "allow_redelegation": false, "roles": roles}),
    )
    .await;
    let (plain_token, _, _) = trust_token(&env, &trustee_id, &plain).await;
    let plain_client = HeatClient::new(env.http.clone(), client.base_url(), plain_token).unwrap();
    let refused = plain_client
        .create_stack(&StackCreate {
            name: unique("untrusted"),
            template: tiny_template(),
            ..Default::default()
        })
        .await;
    assert!(
        matches!(refused, Err(HeatError::Forbidden(_))),
        "{refused:?}"
    );
    let mut params = Map::new();
    params.insert("count".to_owned(), json!(1));
    plain_client
        .patch_stack(
            &stack.name,
            &stack.id,
            &StackPatch {
                parameters: params,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    wait_status(&client, &stack, "UPDATE_COMPLETE").await;

    // redelegatable but without the implied reader role: refused as well
    let narrow = trust(
        &env,
        &demo_token,
        &demo.user_id,
        &project,
        &trustee_id,
        json!({"impersonation": true, "allow_redelegation": true, "roles": [{"name": "member"}]}),
    )
    .await;
    let (narrow_token, _, _) = trust_token(&env, &trustee_id, &narrow).await;
    client.set_token(narrow_token);
    let refused = client
        .create_stack(&StackCreate {
            name: unique("narrow"),
            template: tiny_template(),
            ..Default::default()
        })
        .await;
    assert!(
        matches!(refused, Err(HeatError::Forbidden(_))),
        "{refused:?}"
    );

    // without impersonation Heat would make the trustee the trustor: 400
    let noimp = trust(
        &env,
        &demo_token,
        &demo.user_id,
        &project,
        &trustee_id,
        json!({"impersonation": false, "allow_redelegation": true, "roles": roles}),
    )
    .await;
    let (noimp_token, _, _) = trust_token(&env, &trustee_id, &noimp).await;
    client.set_token(noimp_token);
    let refused = client
        .create_stack(&StackCreate {
            name: unique("noimp"),
            template: tiny_template(),
            ..Default::default()
        })
        .await;
    assert!(
        matches!(&refused, Err(HeatError::BadRequest(m)) if m.contains("Missing required credential")),
        "{refused:?}"
    );

    // delete with the good trust's token
    client.set_token(token);
    delete_and_wait(&client, &stack).await;
    for t in [&good, &plain, &narrow, &noimp] {
        let (status, _, _) = env
            .keystone(
                Method::DELETE,
                &format!("/OS-TRUST/trusts/{t}"),
                Some(&demo_token),
                None,
            )
            .await;
        assert_eq!(status, 204);
    }
    let (status, _, _) = env
        .keystone(
            Method::DELETE,
            &format!("/users/{trustee_id}"),
            Some(&admin_token),
            None,
        )
        .await;
    assert_eq!(status, 204);
}
