//! `GET/POST /register` as a browser form, with the rules of the JSON endpoint (same service
//! call, `user` role only). Open only when self-registration is on. Reached from the sign-in
//! page in the middle of an authorization request, it keeps that request (`return_to`, held to
//! the sign-in page's rules) and, once the account exists, signs the new user in and carries
//! on with it: consent, then the redirect with the code.

use rocket::http::{CookieJar, Status};
use rocket::response::Redirect;
use rocket::{get, post, routes, Route, State};
use rocket_dyn_templates::{context, Template};

use super::login::{safe_return_to, Answer, LoginPage, PostedCredentials};
use super::origin::SameOrigin;
use super::session::{pre_session_csrf, sign_in};
use super::{Page, PageError};
use crate::config::Config;
use crate::error::Error;
use crate::http::error::HttpError;
use crate::http::form::OAuthForm;
use crate::http::AppState;
use crate::oauth::context::RequestMeta;
use crate::oauth::rate_limit::{over_limit, Bucket};
use crate::services::profile::ProfileChange;
use crate::services::registration;
use crate::signin::SignIn;
use crate::store::UserDoc;

pub fn routes() -> Vec<Route> {
    routes![register_page, register]
}

/// What the form shows back after a refusal.
#[derive(Default)]
struct Shown<'a> {
    return_to: Option<&'a str>,
    username: &'a str,
    email: &'a str,
}

fn page(status: Status, csrf: &str, shown: &Shown<'_>, error: Option<&str>) -> Answer {
    let Shown {
        return_to,
        username,
        email,
    } = shown;
    Answer::Page(Page((
        status,
        Template::render(
            "register",
            context! { csrf, return_to, username, email, error },
        ),
    )))
}

fn ensure_open(config: &Config) -> Result<(), PageError> {
    if registration::is_open(config) {
        Ok(())
    } else {
        Err(PageError::BadRequest("Registration is closed."))
    }
}

/// Signs in the user who just chose their password, as a sign-in with that password would.
async fn sign_in_new(
    app: &AppState,
    cookies: &CookieJar<'_>,
    user: &UserDoc,
) -> crate::error::Result<bool> {
    match SignIn::after_password(user.clone()) {
        SignIn::SignedIn(authenticated) => sign_in(app, cookies, &authenticated).await,
        SignIn::FactorsPending { next, .. } => match next {},
    }
}

#[get("/register?<return_to>")]
fn register_page(
    return_to: Option<&str>,
    cookies: &CookieJar<'_>,
    app: &State<AppState>,
) -> Result<Answer, PageError> {
    let config = &app.config;
    ensure_open(config)?;
    let csrf = pre_session_csrf(config, cookies)?;
    let return_to = safe_return_to(return_to);
    let shown = Shown {
        return_to: return_to.as_deref(),
        ..Shown::default()
    };
    Ok(page(Status::Ok, &csrf, &shown, None))
}

#[post("/register", format = "form", data = "<form>")]
async fn register(
    same_origin: Result<SameOrigin, PageError>,
    meta: RequestMeta,
    form: Result<OAuthForm, HttpError>,
    cookies: &CookieJar<'_>,
    app: &State<AppState>,
) -> Result<Answer, PageError> {
    let (store, config) = (&app.store, &app.config);
    ensure_open(config)?;
    same_origin?;
    if let Some(wait) = over_limit(store, config, Bucket::Register, &meta).await? {
        return Err(PageError::TooManyRequests(wait));
    }
    let posted = PostedCredentials::read(config, cookies, form)?;
    let csrf = pre_session_csrf(config, cookies)?;
    let return_to = posted.return_to.as_deref();
    let (username, email) = (posted.shown_username(), posted.shown_email());
    let shown = Shown {
        return_to,
        username: &username,
        email: &email,
    };
    let profile = ProfileChange {
        email: posted.email.clone().map(Some),
        ..ProfileChange::default()
    };
    let (username, password) = (&posted.username, &posted.password);
    match registration::register(store, &app.hasher, config, username, password, &profile).await {
        // In the middle of an authorization request: the user who just chose the password is
        // signed in, and the request carries on.
        Ok(user) if return_to.is_some() && sign_in_new(app, cookies, &user).await? => {
            let target = return_to.unwrap_or_default().to_owned();
            Ok(Answer::Redirect(Redirect::to(target)))
        }
        Ok(user) => {
            let page = LoginPage {
                csrf: &csrf,
                username: &user.username,
                notice: Some("Account created. You can sign in now."),
                ..LoginPage::default()
            };
            Ok(page.answer(Status::Created, config))
        }
        Err(Error::Conflict(what)) => {
            let taken = if what.contains("email") {
                "That email address belongs to another account."
            } else {
                "That username is taken."
            };
            Ok(page(Status::Conflict, &csrf, &shown, Some(taken)))
        }
        Err(Error::Invalid { field, reason }) => Ok(page(
            Status::BadRequest,
            &csrf,
            &shown,
            Some(&format!("The {field} {reason}.")),
        )),
        Err(other) => Err(other.into()),
    }
}
