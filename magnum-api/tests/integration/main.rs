//! magnum-api against a real Keystone (and the cloud look-up stand-in it lists in
//! its catalog), on a fresh database per test.
//!
//! `./scripts/test.sh` starts both and exports their coordinates (the variables of
//! devstack/lib/keystone.sh's `keystone.env`). Without them these tests print why
//! and pass vacuously — unless `MAGNUM_TEST_REQUIRE_KEYSTONE=1`, as the test script
//! sets, which makes a missing Keystone a failure.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed set-up or assertion should panic"
)]

mod harness;

mod auth;
mod backends;
mod bad_input;
mod bays;
mod binaries;
mod certificates;
mod cluster_templates;
mod clusters;
mod clusters_change;
mod clusters_read;
mod federations;
mod isolation;
mod nodegroups;
mod openapi;
mod quotas;
mod root;
mod stats_services;
mod versions;
