//! The Magnum conductor: turns the operations the API accepted into Heat stacks,
//! follows them to completion and keeps each cluster's status true.
//!
//! - [`reconciler`]: the outbox work loop (leases, ordering, retries);
//! - [`ops`]: one module per operation (`cluster_create`, …);
//! - [`sync`]: the periodic status sync (and nodes that die meanwhile); [`health`]: health
//!   polling of Kubernetes and Swarm clusters; [`swarm`]: the Docker API of Swarm clusters;
//! - [`endpoint`]: the RPC methods; [`service`]: start-up and shutdown;
//! - [`drivers`], [`certs`], [`trust`], [`notify`]: what the operations use.

pub mod certs;
pub mod db;
pub mod drivers;
pub mod endpoint;
pub mod error;
pub mod health;
pub mod kube;
pub mod notify;
pub mod ops;
pub mod reconciler;
pub mod rollup;
pub mod service;
pub mod services;
pub mod stack_name;
pub mod swarm;
pub mod sync;
pub mod trust;
