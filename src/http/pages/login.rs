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

/// The sign-in form, with what to show on it.
#[derive(Default)]
pub struct LoginPage<'a> {
    pub csrf: &'a str,
    pub return_to: Option<&'a str>,
    pub username: &'a str,
    pub error: Option<&'a str>,
    pub notice: Option<&'a str>,
}

impl LoginPage<'_> {
    /// The page with `status` (200, 201 after registering, 401 after a failed attempt).
    pub fn answer(self, status: Status, config: &Config) -> Answer {
        let LoginPage {
            csrf,
            return_to,
            username,
            error,
            notice,
        } = self;
        let registration_open = crate::services::registration::is_open(config);
        let context = context! { csrf, return_to, username, error, notice, registration_open };
        Answer::Page(Page((status, Template::render("login", context))))
    }
}

/// What the sign-in and registration forms post, once their CSRF token has been checked.
pub struct PostedCredentials {
    pub return_to: Option<String>,
    pub username: String,
    pub password: String,
    /// The registration form's optional email address (the sign-in form has none).
    pub email: Option<String>,
}

impl PostedCredentials {
    pub fn read(
        config: &Config,
        cookies: &CookieJar<'_>,
        form: Result<OAuthForm, HttpError>,
    ) -> Result<PostedCredentials, PageError> {
        let mut form = form.map_err(|_| PageError::BadRequest("The form could not be read."))?;
        if !pre_session_csrf_matches(config, cookies, form.take("csrf").as_deref()) {
            return Err(PageError::Forbidden);
        }
        Ok(PostedCredentials {
            return_to: safe_return_to(form.take("return_to").as_deref()),
            username: form.take("username").unwrap_or_default(),
            password: form.take("password").unwrap_or_default(),
            email: form.take("email"),
        })
    }

    /// The name as the form shows it back after a refusal.
    pub fn shown_username(&self) -> String {
        self.username.chars().take(64).collect()
    }

    /// The email address as the registration form shows it back.
    pub fn shown_email(&self) -> String {
        self.email
            .as_deref()
            .unwrap_or("")
            .chars()
            .take(254)
            .collect()
    }
}

/// The sign-in form. Signed in already, the browser goes straight back to the request, unless
/// the request asked to sign in again (`prompt=login`, OpenID Connect Core §3.1.2.1); the name
/// starts as `login_hint` says.
#[get("/login?<return_to>&<login_hint>&<prompt>")]
fn login_page(
    return_to: Option<&str>,
    login_hint: Option<&str>,
    prompt: Option<&str>,
    browser: Result<Browser, PageError>,
    cookies: &CookieJar<'_>,
    app: &State<AppState>,
) -> Result<Answer, PageError> {
    let config = &app.config;
    let return_to = safe_return_to(return_to);
    let again = prompt == Some("login") && return_to.is_some();
    let signed_in = browser?.signed_in;
    if let Some(signed_in) = signed_in.as_ref().filter(|_| !again) {
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
    let hint: String = login_hint.unwrap_or("").chars().take(64).collect();
    let current = signed_in.as_ref().map(|s| s.user.username.as_str());
    let page = LoginPage {
        csrf: &csrf,
        return_to: return_to.as_deref(),
        username: if hint.is_empty() {
            current.unwrap_or("")
        } else {
            &hint
        },
        notice: (again && signed_in.is_some())
            .then_some("The application asks you to sign in again."),
        ..LoginPage::default()
    };
    Ok(page.answer(Status::Ok, config))
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
    let posted = PostedCredentials::read(config, cookies, form)?;
    let (username, password) = (&posted.username, &posted.password);
    let attempt = Attempt {
        client_id: None,
        channel: "login_page",
        meta: &meta,
    };
    let signed_in = match check_password(&app.oauth(), username, password, attempt).await? {
        PasswordCheck::Throttled { retry_after_secs } => {
            return Err(PageError::TooManyRequests(retry_after_secs))
        }
        PasswordCheck::Valid(user) => match SignIn::after_password(*user) {
            SignIn::SignedIn(authenticated) => sign_in(app, cookies, &authenticated).await?,
            SignIn::FactorsPending { next, .. } => match next {},
        },
        PasswordCheck::Invalid => false,
    };
    match signed_in {
        true => {
            let target = posted.return_to.unwrap_or_else(|| "/login".to_owned());
            Ok(Answer::Redirect(Redirect::to(target)))
        }
        // Invalid, or the account changed while the password was checked.
        false => {
            // The same words whether the name exists or not.
            let csrf = pre_session_csrf(config, cookies)?;
            let page = LoginPage {
                csrf: &csrf,
                return_to: posted.return_to.as_deref(),
                username: &posted.shown_username(),
                error: Some("Invalid username or password."),
                notice: None,
            };
            Ok(page.answer(Status::Unauthorized, config))
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
