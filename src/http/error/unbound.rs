//! What the error page says about an authorization request that cannot be bound to a client
//! and redirect URI: which of the cases it is, for the developer who sent it, and what the
//! person who followed it can do. Nothing the request itself carries is shown; the client's
//! name is what its registration says (and the page template escapes it).

use std::borrow::Cow;

use crate::oauth::authorize::{Unbound, UnboundRequest};

/// The title and message of the page.
pub fn unbound_page(unbound: &UnboundRequest) -> (&'static str, Cow<'static, str>) {
    let name = unbound.client_name.as_deref().unwrap_or("The application");
    match unbound.reason {
        Unbound::NoClientId => (
            "No application named",
            "This address is where applications send you to sign in, and this request names no application (it has no client_id). Open the application you want to use and sign in from there."
                .into(),
        ),
        Unbound::UnknownClient => (
            "Unknown application",
            "The application that sent you here is not registered with this server (no client has the client_id it sent), so it cannot be trusted with a sign-in. Close this page and contact the application's provider."
                .into(),
        ),
        Unbound::NoCodeGrant => (
            "Sign-in not allowed for this application",
            format!("“{name}” is not registered for browser sign-in (the authorization_code grant), so the sign-in was stopped. Its developer can add that grant to the client's registration.").into(),
        ),
        Unbound::UnregisteredRedirect => (
            "Unregistered return address",
            format!("“{name}” asked to send you back to an address (redirect_uri) it has not registered, so the sign-in was stopped: your sign-in could otherwise end up elsewhere. Its developer must register that exact redirect_uri.").into(),
        ),
        Unbound::RedirectRequired => (
            "Return address missing",
            format!("“{name}” did not say where to send you back (redirect_uri), and it has not exactly one registered address to fall back on, so the sign-in was stopped. Its developer must send a registered redirect_uri.").into(),
        ),
    }
}
