//! Integration tests: the real application over Rocket's in-process HTTP client and the real
//! binary, against a real database server (started by `scripts/test.sh`). One binary, many
//! modules, so the suite links once.

mod abuse;
mod admin;
mod authorize;
mod browser;
mod cli;
mod cli_commands;
mod code_exchange;
mod code_flow;
mod common;
mod compliance;
mod config;
mod dev_run;
mod faults;
mod fleet;
mod health;
mod jwt;
mod keys;
mod kit;
mod kit_axum;
mod kit_issuer;
mod observability;
mod oidc;
mod protection;
mod races;
mod recipes;
mod refresh;
mod refresh_grace;
mod register;
mod revocation_load;
mod revoke;
mod secrecy;
mod store;
mod tls;
mod token;
mod transport;
mod well_known;
