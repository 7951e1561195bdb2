//! Authentication: keystonemiddleware's contract.

use crate::app;
use crate::harness::TestApp;

#[actix_web::test]
async fn missing_and_bad_tokens_are_401() {
    let app = app!();
    for req in [
        app.get("/v1/clusters"),
        app.get("/v1/clusters").token("gAAAAAnot-a-token"),
    ] {
        let r = req.send().await.expect(401);
        assert_eq!(r.json["error"]["code"], 401);
        assert_eq!(r.json["error"]["title"], "Unauthorized");
        let www = r.header("WWW-Authenticate").unwrap();
        assert_eq!(www, format!("Keystone uri=\"{}\"", app.env.auth_url));
    }
    // The openapi document and every other /v1 route need a token too.
    app.get("/v1/openapi.json").send().await.expect(401);
    app.get("/v1/openapi.json")
        .user("demo")
        .send()
        .await
        .expect(200);
}

#[actix_web::test]
async fn valid_tokens_are_cached() {
    let app = app!();
    app.get("/v1/clusters")
        .user("demo")
        .send()
        .await
        .expect(200);
    app.get("/v1/clusters")
        .user("demo")
        .send()
        .await
        .expect(200);
    let magnum_api::auth::Authenticator::Keystone(ks) = app.state.auth.as_ref() else {
        panic!("keystone mode")
    };
    assert_eq!(
        ks.cached_tokens(),
        1,
        "one validation, then served from the cache"
    );
}

#[actix_web::test]
async fn client_identity_headers_are_ignored() {
    let app = app!();
    let r = app
        .get("/v1/mservices")
        .user("demo")
        .header("X-Roles", "admin")
        .header("X-User-Id", "someone-else")
        .header("X-Project-Id", "another")
        .send()
        .await;
    r.expect_error(
        403,
        "Policy doesn't allow magnum-service:get_all to be performed.",
    );
}

#[actix_web::test]
async fn service_tokens_need_the_service_role() {
    let app = app!();
    let demo = crate::harness::token(&app.env, "demo").await;
    app.get("/v1/clusters")
        .user("demo")
        .header("X-Service-Token", &demo)
        .send()
        .await
        .expect(401);
}

#[actix_web::test]
async fn keystone_unreachable_is_503() {
    let Some(env) = crate::harness::env() else {
        return;
    };
    let app =
        TestApp::with(|raw| raw.set("keystone_authtoken", "auth_url", "http://127.0.0.1:1/v3"))
            .await
            .unwrap();
    let token = crate::harness::token(&env, "demo").await;
    let r = app
        .get("/v1/clusters")
        .token(&token)
        .send()
        .await
        .expect(503);
    assert!(r.text.contains("unavailable"), "{}", r.text);
    // Public routes still answer.
    app.get("/").send().await.expect(200);
}

#[actix_web::test]
async fn forged_or_expired_jws_tokens_are_refused_offline() {
    let Some(env) = crate::harness::env() else {
        return;
    };
    let Some(dir) = env.jws_dir.clone() else {
        eprintln!("skipped: Keystone does not issue JWS tokens here");
        return;
    };
    // Keystone is unreachable for this app: a token refused with 401 was refused offline.
    let app = TestApp::with(|raw| {
        raw.set("keystone_authtoken", "auth_url", "http://127.0.0.1:1/v3");
        raw.set("keystone_authtoken", "jws_public_key_repository", &dir);
    })
    .await
    .unwrap();
    let real = crate::harness::token(&env, "demo").await;
    let mut parts: Vec<String> = real.split('.').map(str::to_owned).collect();
    assert_eq!(parts.len(), 3, "a JWS token");
    // Tamper with the payload: the signature no longer matches.
    use base64_url as b64;
    let payload = b64::decode(&parts[1]);
    let mut claims: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    claims["openstack_project_id"] = serde_json::json!("someone-elses-project");
    parts[1] = b64::encode(&serde_json::to_vec(&claims).unwrap());
    app.get("/v1/clusters")
        .token(&parts.join("."))
        .send()
        .await
        .expect(401);
    // An expired token signed with Keystone's real key.
    if let Some(key) = std::env::var("KEYSTONE_DIR")
        .ok()
        .map(|d| format!("{d}/jws-keys/private/private.pem"))
        .and_then(|p| std::fs::read(p).ok())
    {
        let mut claims = claims.clone();
        claims["openstack_project_id"] = serde_json::json!(app.project("demo"));
        claims["exp"] = serde_json::json!(1_000_000);
        let key = jsonwebtoken::EncodingKey::from_ec_pem(&key).unwrap();
        let expired = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
            &claims,
            &key,
        )
        .unwrap();
        app.get("/v1/clusters")
            .token(&expired)
            .send()
            .await
            .expect(401);
    }
    // The genuine token passes the offline check and then needs Keystone: 503.
    app.get("/v1/clusters")
        .token(&real)
        .send()
        .await
        .expect(503);
}

#[actix_web::test]
async fn noauth_takes_identity_from_headers() {
    if crate::harness::env().is_none() {
        return;
    }
    let app = TestApp::with(|raw| raw.set("DEFAULT", "auth_strategy", "noauth"))
        .await
        .unwrap();
    let r = app
        .get("/v1/clusters")
        .header("X-Project-Id", "p-noauth")
        .header("X-User-Id", "u-noauth")
        .send()
        .await
        .expect(200);
    assert_eq!(r.json["clusters"], serde_json::json!([]));
    app.get("/v1/mservices")
        .header("X-Project-Id", "p")
        .header("X-Roles", "admin")
        .send()
        .await
        .expect(200);
}

/// Base64url without padding, as JWS uses.
mod base64_url {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub fn encode(data: &[u8]) -> String {
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    pub fn decode(text: &str) -> Vec<u8> {
        let vals: Vec<u32> = text
            .bytes()
            .filter_map(|c| ALPHABET.iter().position(|a| *a == c).map(|p| p as u32))
            .collect();
        let mut out = Vec::new();
        for chunk in vals.chunks(4) {
            let mut n = 0u32;
            for (i, v) in chunk.iter().enumerate() {
                n |= v << (18 - 6 * i);
            }
            for i in 0..chunk.len().saturating_sub(1) {
                out.push((n >> (16 - 8 * i)) as u8);
            }
        }
        out
    }
}

#[actix_web::test]
async fn policy_file_overrides_defaults() {
    if crate::harness::env().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.yaml");
    std::fs::write(
        &file,
        "\"cluster:get_all\": \"role:admin\"\n\"clustertemplate:publish\": \"role:member\"\n",
    )
    .unwrap();
    let app = TestApp::with(|raw| raw.set("oslo_policy", "policy_file", file.to_str().unwrap()))
        .await
        .unwrap();
    app.get("/v1/clusters")
        .user("demo")
        .send()
        .await
        .expect_error(403, "Policy doesn't allow cluster:get_all to be performed.");
    app.get("/v1/clusters")
        .user("admin")
        .send()
        .await
        .expect(200);
    // Members may now publish templates.
    let mut t = crate::harness::k8s_template("pub");
    t["public"] = serde_json::json!(true);
    app.post("/v1/clustertemplates")
        .user("demo")
        .json(t)
        .send()
        .await
        .expect(201);
}
