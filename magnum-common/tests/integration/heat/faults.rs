//! Retries against heat.sh's fault injection (`HEAT_FAULT_URL`). Each test holds
//! the fault lock exclusively: the rule applies to every request Heat gets.

use std::time::{Duration, Instant};

use magnum_common::openstack::heat::{
    HeatError, RetryPolicy, StackCreate, StackListQuery, StackLookup,
};
use serde_json::{Value, json};

use super::{Env, FAULT_LOCK, delete_and_wait, env, tiny_template, unique, wait_status};

/// Sets the fault rule; `None` when this Heat has no fault injection.
async fn fault(env: &Env, rule: Option<Value>) -> Option<()> {
    let url = env.fault_url.as_deref()?;
    let resp = match rule {
        Some(rule) => env.http.put(url).json(&rule).send().await,
        None => env.http.delete(url).send().await,
    }
    .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    Some(())
}

/// Runs `op` under the fault `rule`, cleared afterwards.
async fn under_fault<T>(env: &Env, rule: Value, op: impl Future<Output = T>) -> T {
    fault(env, Some(rule)).await;
    let out = op.await;
    fault(env, None).await;
    out
}

/// A Heat without fault injection skips these tests, unless MAGNUM_TEST_REQUIRE_HEAT=1.
fn skip() {
    assert!(
        std::env::var("MAGNUM_TEST_REQUIRE_HEAT").as_deref() != Ok("1"),
        "MAGNUM_TEST_REQUIRE_HEAT=1 but HEAT_FAULT_URL is not set (heat.env of a heat.sh \
         started with HEAT_FAULT_INJECTION=1)"
    );
    eprintln!("skipped: HEAT_FAULT_URL not set (heat.sh with HEAT_FAULT_INJECTION=1)");
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        retries: 5,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(400),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_errors_are_retried() {
    let Some(env) = env() else { return };
    let _exclusive = FAULT_LOCK.write().await;
    let client = env.demo().await.with_retry(fast());
    if fault(&env, Some(json!({"status": 500, "count": 3})))
        .await
        .is_none()
    {
        return skip();
    }
    let t0 = Instant::now();
    let listed = client.list_stacks(&StackListQuery::default()).await;
    let rule = env
        .http
        .get(env.fault_url.as_deref().unwrap())
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    fault(&env, None).await;
    listed.unwrap();
    assert_eq!(rule, json!({}), "all three faults consumed");
    eprintln!(
        "list through 3 injected 500s: {:.2}s",
        t0.elapsed().as_secs_f64()
    );

    // a time window of 503s longer than the retries: Unavailable
    let client = client.with_retry(RetryPolicy {
        retries: 2,
        ..fast()
    });
    let err = under_fault(
        &env,
        json!({"status": 503, "seconds": 30}),
        client.get_stack("x", &uuid::Uuid::new_v4().to_string(), false),
    )
    .await;
    match err {
        Err(HeatError::Unavailable { attempts, message }) => {
            assert_eq!(attempts, 3);
            assert!(
                message.contains("503") && message.contains("fault injected"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn create_is_not_duplicated_by_retries() {
    let Some(env) = env() else { return };
    let _exclusive = FAULT_LOCK.write().await;
    let client = env.demo().await.with_retry(fast());

    // the POST fails before reaching Heat twice: re-sent, one stack
    if fault(
        &env,
        Some(json!({"status": 502, "count": 2, "method": "POST"})),
    )
    .await
    .is_none()
    {
        return skip();
    }
    let req = StackCreate {
        name: unique("retried"),
        template: tiny_template(),
        ..Default::default()
    };
    let created = client.create_stack(&req).await;
    fault(&env, None).await;
    let first = created.unwrap();

    // Heat creates the stack but its answer is lost: the client finds it by name
    let req2 = StackCreate {
        name: unique("lost"),
        template: tiny_template(),
        ..Default::default()
    };
    let second = under_fault(
        &env,
        json!({"status": 500, "count": 1, "method": "POST", "when": "after"}),
        client.create_stack(&req2),
    )
    .await
    .unwrap();
    for (req, stack) in [(&req, &first), (&req2, &second)] {
        let same_name = client
            .list_stacks(&StackListQuery {
                name: vec![req.name.clone()],
                show_deleted: true,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(same_name.len(), 1, "{same_name:?}");
        assert_eq!(same_name[0].id, stack.id);
        assert!(
            stack
                .url
                .ends_with(&format!("/stacks/{}/{}", req.name, stack.id)),
            "{}",
            stack.url
        );
        wait_status(&client, stack, "CREATE_COMPLETE").await;
    }

    // a delete whose answer is lost: retried, 404, fine
    under_fault(
        &env,
        json!({"status": 500, "count": 1, "method": "DELETE", "when": "after"}),
        client.delete_stack(&first.name, &first.id),
    )
    .await
    .unwrap();
    delete_and_wait(&client, &first).await;

    // Heat can fail a DELETE of a stack it already shows DELETE_COMPLETE (400
    // from inside its engine): the stack is gone, so that is fine ...
    let bad_delete = json!({"status": 400, "count": 1, "method": "DELETE"});
    under_fault(
        &env,
        bad_delete.clone(),
        client.delete_stack(&first.name, &first.id),
    )
    .await
    .unwrap();
    // ... but a 400 for a stack that is still there stays an error
    let refused = under_fault(
        &env,
        bad_delete,
        client.delete_stack(&second.name, &second.id),
    )
    .await;
    assert!(
        matches!(refused, Err(HeatError::BadRequest(_))),
        "{refused:?}"
    );
    assert!(matches!(
        client.get_stack(&second.name, &second.id, false).await,
        Ok(StackLookup::Found(_))
    ));
    delete_and_wait(&client, &second).await;
    assert_eq!(
        client
            .get_stack(&second.name, &second.id, false)
            .await
            .unwrap(),
        StackLookup::Gone
    );
}
