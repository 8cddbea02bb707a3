//! The browser pages: the landing page, sign-in, sign-out, registration, the consent page's
//! shell, and the stylesheet. Pages are tera templates from `templates/`, served with a strict
//! Content-Security-Policy (no script, except the form-post answer's one, by nonce), never cached,
//! never framed.

mod assets;
mod end_session;
mod landing;
mod login;
pub mod origin;
mod register;
pub mod session;

use rocket::Route;

pub use super::error::PageError;
pub use super::responses::Page;

pub fn routes() -> Vec<Route> {
    [
        landing::routes(),
        login::routes(),
        end_session::routes(),
        register::routes(),
        assets::routes(),
    ]
    .concat()
}
