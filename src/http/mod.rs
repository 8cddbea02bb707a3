//! The HTTP surface: each module owns its routes; this one mounts them and the catchers.

mod admin;
mod api;
mod authorize;
mod catchers;
pub mod error;
mod form;
mod guards;
mod health;
mod metrics;
mod metrics_access;
mod observe;
mod pages;
pub mod peer;
mod register;
mod responses;
mod revocation;
mod state;
mod token;
mod userinfo;
mod well_known;

use rocket::{Catcher, Route};

/// Every route Portcullis serves, mounted at `/`.
pub fn routes() -> Vec<Route> {
    [
        health::routes(),
        metrics::routes(),
        token::routes(),
        well_known::routes(),
        register::routes(),
        revocation::routes(),
        api::routes(),
        userinfo::routes(),
        admin::routes(),
        pages::routes(),
        authorize::routes(),
    ]
    .concat()
}

pub use form::OAuthForm;
pub use metrics_access::MetricsAccess;
pub use observe::RequestObserver;
pub use responses::NoStoreByDefault;
pub use state::AppState;

/// JSON answers for every error status, so no framework page or internal detail leaks.
pub fn catchers() -> Vec<Catcher> {
    catchers::catchers()
}
