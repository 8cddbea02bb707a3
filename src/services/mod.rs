//! Account and client management shared by the CLI and the HTTP API, so every rule (name
//! syntax, password strength, what a change revokes) is written once.

mod actor;
pub mod clients;
pub mod keys;
pub mod profile;
pub mod registration;
pub mod sessions;
pub mod users;
pub mod views;

pub use actor::Actor;
