//! `GET`/`POST /oauth/end_session`: RP-Initiated Logout 1.0. An app sends the browser here to
//! sign the user out; the request is checked (`oidc::logout`), the user confirms unless the
//! `id_token_hint` names exactly this sign-in (§2), the session ends with the refresh-token
//! families begun in it, and the browser goes to the registered `post_logout_redirect_uri`
//! with `state`, or sees the signed-out page.

use rocket::http::{CookieJar, Status};
use rocket::response::Redirect;
use rocket::{get, post, routes, Route, State};
use rocket_dyn_templates::{context, Template};

use super::login::Answer;
use super::origin::SameOrigin;
use super::session::{session_csrf_matches, sign_out, Browser, SignedIn};
use super::{Page, PageError};
use crate::http::error::HttpError;
use crate::http::form::OAuthForm;
use crate::http::AppState;
use crate::ids::SessionId;
use crate::oidc::logout::{CheckedLogout, LogoutRequest};
use crate::services::sessions;

pub fn routes() -> Vec<Route> {
    routes![end_session_get, end_session_post]
}

/// §2: the OP supports `GET` with the parameters in the query.
#[get("/oauth/end_session?<id_token_hint>&<client_id>&<post_logout_redirect_uri>&<state>")]
async fn end_session_get(
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    browser: Result<Browser, PageError>,
    cookies: &CookieJar<'_>,
    app: &State<AppState>,
) -> Result<Answer, PageError> {
    let request = LogoutRequest {
        id_token_hint,
        client_id,
        post_logout_redirect_uri,
        state,
    };
    end_session(app, cookies, browser?.signed_in, &request, None).await
}

/// §2: and `POST` with them form-encoded. The confirmation form posts here too, with the
/// session's CSRF token and the user's `decision`; only that form must come from this site.
#[post("/oauth/end_session", data = "<form>")]
async fn end_session_post(
    same_origin: Result<SameOrigin, PageError>,
    form: Result<OAuthForm, HttpError>,
    browser: Result<Browser, PageError>,
    cookies: &CookieJar<'_>,
    app: &State<AppState>,
) -> Result<Answer, PageError> {
    let mut form = form.map_err(|_| PageError::BadRequest("The form could not be read."))?;
    let signed_in = browser?.signed_in;
    let decision = match form.take("decision").as_deref() {
        None => None,
        Some(decision) => {
            same_origin?;
            let csrf = form.take("csrf");
            if let Some(signed_in) = &signed_in {
                if !session_csrf_matches(signed_in, csrf.as_deref()) {
                    return Err(PageError::Forbidden);
                }
            }
            match decision {
                "logout" => Some(true),
                "stay" => Some(false),
                _ => return Err(PageError::BadRequest("Choose to sign out or stay.")),
            }
        }
    };
    let request = LogoutRequest {
        id_token_hint: form.take("id_token_hint"),
        client_id: form.take("client_id"),
        post_logout_redirect_uri: form.take("post_logout_redirect_uri"),
        state: form.take("state"),
    };
    end_session(app, cookies, signed_in, &request, decision).await
}

/// The logout itself; `decision` is the confirmation form's answer, when it was posted.
async fn end_session(
    app: &AppState,
    cookies: &CookieJar<'_>,
    signed_in: Option<SignedIn>,
    request: &LogoutRequest,
    decision: Option<bool>,
) -> Result<Answer, PageError> {
    let checked = match request.check(&app.config, &app.keys, &app.store).await? {
        Ok(checked) => checked,
        Err(refusal) => return Err(PageError::BadRequest(refusal.explain())),
    };
    // Nobody signed in here: nothing to end, and nothing to ask.
    let Some(signed_in) = signed_in else {
        return Ok(afterwards(&checked));
    };
    let sid = signed_in.session.sid.as_ref().map(SessionId::as_str);
    let named = checked.names(&signed_in.user.id.to_hex(), sid);
    match decision {
        Some(true) => {}
        None if named => {}
        Some(false) => return Ok(still_signed_in(&signed_in)),
        None => return Ok(confirmation(&checked, request, &signed_in)),
    }
    let client_id = checked.client.as_ref().map(|c| c.client_id.to_string());
    let (store, revocations) = (&app.store, &app.revocations);
    sessions::revoke_session_families(store, revocations, &signed_in, client_id.as_deref()).await?;
    // Ends the session itself, and forgets its cookie.
    sign_out(app, cookies).await?;
    Ok(afterwards(&checked))
}

/// The registered return address with `state`, or the signed-out page.
fn afterwards(checked: &CheckedLogout) -> Answer {
    match &checked.then {
        Some(url) => Answer::Redirect(Redirect::to(url.to_string())),
        None => Answer::Page(Page((
            Status::Ok,
            Template::render("signed_out", context! {}),
        ))),
    }
}

/// §2: "the OP SHOULD ask the End-User whether to log out" when the hint does not settle it.
/// The form carries the client (named or hinted) rather than the hint itself.
fn confirmation(checked: &CheckedLogout, request: &LogoutRequest, signed_in: &SignedIn) -> Answer {
    let client = checked.client.as_ref();
    let page = Template::render(
        "logout",
        context! {
            csrf: &signed_in.session.csrf,
            username: &signed_in.user.username,
            client_name: client.map(|c| c.name.as_str()),
            client_id: client.map(|c| c.client_id.to_string()),
            post_logout_redirect_uri: checked.then.as_ref().and(request.post_logout_redirect_uri.as_deref()),
            state: request.state.as_deref(),
        },
    );
    Answer::Page(Page((Status::Ok, page)))
}

fn still_signed_in(signed_in: &SignedIn) -> Answer {
    let page = Template::render(
        "signed_in",
        context! { username: &signed_in.user.username, csrf: &signed_in.session.csrf },
    );
    Answer::Page(Page((Status::Ok, page)))
}
