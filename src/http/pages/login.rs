//! `GET/POST /login` and `POST /logout` for the browser. After signing in, the user returns
//! to the authorization request they came from, and only there: `return_to` must be a path on
//! `/oauth/authorize`, so the page cannot be used as an open redirect.

use rocket::http::{CookieJar, Status};
use rocket::response::Redirect;
use rocket::{get, post, routes, Responder, Route, State};
use rocket_dyn_templates::{context, Template};

use super::origin::SameOrigin;
use super::session::{
    pre_session_csrf, pre_session_csrf_matches, session_csrf_matches, sign_in, sign_out, Browser,
};
use super::{Page, PageError};
use crate::config::Config;
use crate::http::error::HttpError;
use crate::http::form::OAuthForm;
use crate::http::AppState;
use crate::oauth::context::RequestMeta;
use crate::oauth::login::{check_password, Attempt, PasswordCheck};
use crate::signin::SignIn;

pub fn routes() -> Vec<Route> {
    routes![login_page, login, logout]
}

/// Where a successful sign-in may send the browser.
pub fn safe_return_to(value: Option<&str>) -> Option<String> {
    let value = value?;
    let on_authorize = value == "/oauth/authorize" || value.starts_with("/oauth/authorize?");
    // No control character (Rocket cannot build a redirect to one: it would answer 500) and only
    // what parses as an origin-form URI, so the redirect built from it cannot fail.
    let clean = value.len() <= 4096
        && !value.contains(['\\', '#'])
        && !value.chars().any(char::is_control)
        && rocket::http::uri::Origin::parse(value).is_ok();
    (on_authorize && clean).then(|| value.to_owned())
}

#[derive(Responder)]
pub enum Answer {
    Page(Page<(Status, Template)>),
    Redirect(Redirect),
}

/// The sign-in form (status 200, or 401 after a failed attempt).
pub fn login_form(
    status: Status,
    csrf: &str,
    return_to: Option<&str>,
    username: &str,
    error: Option<&str>,
    notice: Option<&str>,
    config: &Config,
) -> Answer {
    Answer::Page(Page((
        status,
        Template::render(
            "login",
            context! {
                csrf,
                return_to,
                username,
                error,
                notice,
                registration_open: crate::services::registration::is_open(config),
            },
        ),
    )))
}

#[get("/login?<return_to>")]
fn login_page(
    return_to: Option<&str>,
    browser: Result<Browser, PageError>,
    cookies: &CookieJar<'_>,
    app: &State<AppState>,
) -> Result<Answer, PageError> {
    let config = &app.config;
    let return_to = safe_return_to(return_to);
    if let Some(signed_in) = browser?.signed_in {
        if let Some(target) = return_to {
            return Ok(Answer::Redirect(Redirect::to(target)));
        }
        return Ok(Answer::Page(Page((
            Status::Ok,
            Template::render(
                "signed_in",
                context! { username: &signed_in.user.username, csrf: &signed_in.session.csrf },
            ),
        ))));
    }
    let csrf = pre_session_csrf(config, cookies)?;
    Ok(login_form(
        Status::Ok,
        &csrf,
        return_to.as_deref(),
        "",
        None,
        None,
        config,
    ))
}

#[post("/login", data = "<form>")]
async fn login(
    same_origin: Result<SameOrigin, PageError>,
    form: Result<OAuthForm, HttpError>,
    meta: RequestMeta,
    cookies: &CookieJar<'_>,
    app: &State<AppState>,
) -> Result<Answer, PageError> {
    same_origin?;
    let config = &app.config;
    let mut form = form.map_err(|_| PageError::BadRequest("The form could not be read."))?;
    if !pre_session_csrf_matches(config, cookies, form.take("csrf").as_deref()) {
        return Err(PageError::Forbidden);
    }
    let return_to = safe_return_to(form.take("return_to").as_deref());
    let username = form.take("username").unwrap_or_default();
    let password = form.take("password").unwrap_or_default();
    let attempt = Attempt {
        client_id: None,
        channel: "login_page",
        meta: &meta,
    };
    let signed_in = match check_password(
        &app.store,
        &app.hasher,
        config,
        &username,
        &password,
        attempt,
    )
    .await?
    {
        PasswordCheck::Throttled { retry_after_secs } => {
            return Err(PageError::TooManyRequests(retry_after_secs))
        }
        PasswordCheck::Valid(user) => match SignIn::after_password(user) {
            SignIn::SignedIn(authenticated) => sign_in(app, cookies, &authenticated).await?,
            SignIn::FactorsPending { next, .. } => match next {},
        },
        PasswordCheck::Invalid => false,
    };
    match signed_in {
        true => {
            let target = return_to.unwrap_or_else(|| "/login".to_owned());
            Ok(Answer::Redirect(Redirect::to(target)))
        }
        // Invalid, or the account changed while the password was checked.
        false => {
            // The same words whether the name exists or not.
            let csrf = pre_session_csrf(config, cookies)?;
            let display: String = username.chars().take(64).collect();
            Ok(login_form(
                Status::Unauthorized,
                &csrf,
                return_to.as_deref(),
                &display,
                Some("Invalid username or password."),
                None,
                config,
            ))
        }
    }
}

#[post("/logout", data = "<form>")]
async fn logout(
    same_origin: Result<SameOrigin, PageError>,
    form: Result<OAuthForm, HttpError>,
    browser: Result<Browser, PageError>,
    cookies: &CookieJar<'_>,
    app: &State<AppState>,
) -> Result<Page<(Status, Template)>, PageError> {
    same_origin?;
    let mut form = form.map_err(|_| PageError::BadRequest("The form could not be read."))?;
    if let Some(signed_in) = browser?.signed_in {
        if !session_csrf_matches(&signed_in, form.take("csrf").as_deref()) {
            return Err(PageError::Forbidden);
        }
        sign_out(app, cookies).await?;
    }
    Ok(Page((
        Status::Ok,
        Template::render("signed_out", context! {}),
    )))
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn only_the_authorization_endpoint_is_a_return_target() {
        let ok = "/oauth/authorize?client_id=a&state=b";
        assert_eq!(safe_return_to(Some(ok)).as_deref(), Some(ok));
        for bad in [
            "https://evil.example/",
            "//evil.example/oauth/authorize?x",
            "/oauth/authorizer",
            "/oauth/authorize/../../x",
            "/\\evil.example",
            "/oauth/authorize?x#frag",
            "/oauth/authorize?client_id=a\tb",
            "/oauth/authorize?client_id=a\u{7f}",
            "/oauth/authorize?client_id=a\u{85}",
            "/oauth/authorize?client_id=a b",
            "/login",
        ] {
            assert_eq!(safe_return_to(Some(bad)), None, "{bad}");
        }
    }
}
