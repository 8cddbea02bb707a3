//! `GET/POST /register` as a browser form, with the rules of the JSON endpoint (same service
//! call, `user` role only). Open only when self-registration is on.

use rocket::http::{CookieJar, Status};
use rocket::{get, post, routes, Route, State};
use rocket_dyn_templates::{context, Template};

use super::login::{login_form, Answer};
use super::origin::SameOrigin;
use super::session::{pre_session_csrf, pre_session_csrf_matches};
use super::{Page, PageError};
use crate::config::Config;
use crate::error::Error;
use crate::http::form::OAuthForm;
use crate::http::register::SELF_REGISTERED_ROLE;
use crate::oauth::context::RequestMeta;
use crate::oauth::error::OAuthError;
use crate::oauth::rate_limit::{over_limit, Bucket};
use crate::password::PasswordHasher;
use crate::services::users::create_user;
use crate::services::Actor;
use crate::store::Store;

pub fn routes() -> Vec<Route> {
    routes![register_page, register]
}

fn page(status: Status, csrf: &str, username: &str, error: Option<&str>) -> Answer {
    Answer::Page(Page((
        status,
        Template::render("register", context! { csrf, username, error }),
    )))
}

fn ensure_open(config: &Config) -> Result<(), PageError> {
    if config.self_registration && config.roles.contains_key(SELF_REGISTERED_ROLE) {
        Ok(())
    } else {
        Err(PageError::BadRequest("Registration is closed."))
    }
}

#[get("/register")]
fn register_page(cookies: &CookieJar<'_>, config: &State<Config>) -> Result<Answer, PageError> {
    ensure_open(config)?;
    let csrf = pre_session_csrf(config, cookies)?;
    Ok(page(Status::Ok, &csrf, "", None))
}

#[post("/register", format = "form", data = "<form>")]
async fn register(
    same_origin: Result<SameOrigin, PageError>,
    meta: RequestMeta,
    form: Result<OAuthForm, OAuthError>,
    cookies: &CookieJar<'_>,
    config: &State<Config>,
    store: &State<Store>,
    hasher: &State<PasswordHasher>,
) -> Result<Answer, PageError> {
    ensure_open(config)?;
    same_origin?;
    if let Some(wait) = over_limit(store, config, Bucket::Register, &meta).await? {
        return Err(PageError::TooManyRequests(wait));
    }
    let mut form = form.map_err(|_| PageError::BadRequest("The form could not be read."))?;
    if !pre_session_csrf_matches(config, cookies, form.take("csrf").as_deref()) {
        return Err(PageError::Forbidden);
    }
    let username = form.take("username").unwrap_or_default();
    let password = form.take("password").unwrap_or_default();
    let csrf = pre_session_csrf(config, cookies)?;
    let shown: String = username.chars().take(64).collect();
    match create_user(
        store,
        hasher,
        config,
        &Actor::SelfService,
        &username,
        &password,
        SELF_REGISTERED_ROLE,
    )
    .await
    {
        Ok(user) => Ok(login_form(
            Status::Created,
            &csrf,
            None,
            &user.username,
            None,
            Some("Account created. You can sign in now."),
            config,
        )),
        Err(Error::Conflict(_)) => Ok(page(
            Status::Conflict,
            &csrf,
            &shown,
            Some("That username is taken."),
        )),
        Err(Error::Invalid { field, reason }) => Ok(page(
            Status::BadRequest,
            &csrf,
            &shown,
            Some(&format!("The {field} {reason}.")),
        )),
        Err(other) => Err(other.into()),
    }
}
