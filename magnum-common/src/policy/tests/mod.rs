//! Tests of the policy engine, one module per topic: the rule language's parser,
//! how checks evaluate, Magnum's default rules, policy files (overrides, search and
//! reloading) and the generated sample. The helpers here build the credentials and
//! targets Magnum passes to the enforcer.

mod checks;
mod default_rules;
mod parsing;
mod policy_files;
mod sample;

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::*;

const TRUSTEE_DOMAIN: &str = "trustee-domain";

fn user(id: &str, project: &str, roles: &[&str]) -> Credentials {
    Credentials {
        user_id: id.to_owned(),
        project_id: Some(project.to_owned()),
        domain_id: Some("default".to_owned()),
        user_domain_id: Some("default".to_owned()),
        project_domain_id: Some("default".to_owned()),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        is_admin: false,
    }
}

/// A cluster's trustee: a user of the trustee domain with an unscoped token.
fn trustee(id: &str) -> Credentials {
    Credentials {
        user_id: id.to_owned(),
        project_id: None,
        domain_id: Some(TRUSTEE_DOMAIN.to_owned()),
        user_domain_id: Some(TRUSTEE_DOMAIN.to_owned()),
        project_domain_id: None,
        roles: Vec::new(),
        is_admin: false,
    }
}

/// The target Magnum builds when there is no object: the caller's own ids.
fn own(creds: &Credentials) -> Target {
    let mut t = Target::new().with("user_id", creds.user_id.clone());
    if let Some(p) = &creds.project_id {
        t.insert("project_id", p.clone());
    }
    t
}

fn cluster(project: &str, owner: &str, trustee_user: &str) -> Target {
    Target::new()
        .with("project_id", project)
        .with("user_id", owner)
        .with("trustee_user_id", trustee_user)
}

fn enforcer(new_defaults: bool) -> PolicyEnforcer {
    PolicyEnforcer::with_rules(new_defaults, Some(TRUSTEE_DOMAIN.to_owned()), []).unwrap()
}

fn with(rules: &[(&str, &str)]) -> PolicyEnforcer {
    PolicyEnforcer::with_rules(
        false,
        Some(TRUSTEE_DOMAIN.to_owned()),
        rules.iter().copied(),
    )
    .unwrap()
}

fn allowed(e: &PolicyEnforcer, action: &str, creds: &Credentials, target: &Target) -> bool {
    e.authorize(action, creds, target).is_ok()
}

fn opts(policy_file: &str, new_defaults: bool) -> OsloPolicyOpts {
    OsloPolicyOpts {
        policy_file: policy_file.to_owned(),
        enforce_new_defaults: new_defaults,
        ..OsloPolicyOpts::default()
    }
}

fn set_mtime(path: &Path, secs: u64) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}
