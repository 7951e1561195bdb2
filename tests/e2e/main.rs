//! End to end: the real magnum-api and magnum-conductor processes, registered in a real
//! Keystone's catalog, with RabbitMQ and a real Heat, driven by the upstream `openstack coe`
//! client (python-magnumclient 5), the legacy `magnum` 3.7 client and plain REST.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed set-up or assertion should panic"
)]

mod conductor;
mod day2;
mod faults;
mod kubernetes;
mod legacy_cli;
mod openstack_cli;
mod swarm;
mod swarm_faults;
