//! Conductor integration tests.
