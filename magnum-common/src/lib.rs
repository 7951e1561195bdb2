#![doc = include_str!("../README.md")]

pub mod config;
pub mod drivers;
pub mod ids;
pub mod labels;
pub mod names;
pub mod policy;
pub mod status;
pub mod tls;

#[cfg(feature = "db")]
pub mod db;

#[cfg(feature = "openstack")]
pub mod openstack;

#[cfg(feature = "rpc")]
pub mod rpc;
