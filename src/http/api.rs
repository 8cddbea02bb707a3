//! The example protected API: what Portcullis protects itself, and the pattern to copy.
//! Every handler takes its guard as `Result<_, GuardError>` so a refusal carries the exact
//! RFC 6750 answer.

use rocket::http::Status;
use rocket::serde::json::{Json, Value};
use rocket::serde::Serialize;
use rocket::{get, patch, post, routes, Route, State};

use super::admin::{next_after, page_size, Body};
use super::error::HttpError;
use super::state::AppState;
use crate::ids::UserId;
use crate::services::profile::{change_profile, ProfileChange};
use crate::services::views::rfc3339;
use crate::services::Actor;
use crate::store::{UserDoc, UserProfile};
use portcullis_kit::{
    AccessClaims, Admin, AdminScope, DataRead, DataWrite, GuardError, RequireRole, RequireScope,
};

/// Largest note `POST /api/data` stores, serialised.
pub const MAX_NOTE_BYTES: usize = 4 * 1024;

pub fn routes() -> Vec<Route> {
    routes![me, change_my_profile, read_data, write_data, admin_users]
}

portcullis_kit::scope_requirement!(
    /// The `profile:write` scope: the account's own profile may be changed.
    ProfileWrite = "profile:write"
);

/// The body of `GET /api/me`, borrowed from the token's claims.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct Me<'a> {
    id: &'a str,
    username: &'a str,
    role: Option<&'a str>,
    scopes: Vec<&'a str>,
}

/// The caller, for any valid user token.
#[get("/api/me")]
fn me(auth: Result<&AccessClaims, GuardError>) -> Result<Json<Me<'_>>, HttpError> {
    let claims = auth?;
    let Some(username) = claims.username.as_deref() else {
        return Err(GuardError::UserRequired.into());
    };
    Ok(Json(Me {
        id: &claims.sub,
        username,
        role: claims.role.as_deref(),
        scopes: claims.scope.split(' ').filter(|s| !s.is_empty()).collect(),
    }))
}

/// The profile as it now is.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct MyProfile {
    profile: UserProfile,
    updated_at: String,
}

/// Changes the caller's own profile (the members given; `null` clears one); needs
/// `profile:write`. Only an administrator may mark an address verified, and a changed address
/// is unverified.
#[patch("/api/me/profile", data = "<change>")]
async fn change_my_profile(
    auth: Result<RequireScope<ProfileWrite>, GuardError>,
    change: Body<ProfileChange>,
    app: &State<AppState>,
) -> Result<Json<MyProfile>, HttpError> {
    let RequireScope(claims, _) = auth?;
    let change = change?.0;
    if change.email_verified.is_some() {
        return Err(HttpError::invalid_request(
            "email_verified is set by an administrator",
        ));
    }
    let user = match UserId::parse(&claims.sub) {
        Some(id) => app.store.find_user_by_id(id).await?,
        None => return Err(GuardError::UserRequired.into()),
    };
    let Some(user) = user else {
        return Err(GuardError::UserRequired.into());
    };
    let actor = Actor::SelfService;
    let user = change_profile(&app.store, &actor, &user, &change).await?;
    Ok(Json(MyProfile {
        profile: user.profile,
        updated_at: rfc3339(user.updated_at),
    }))
}

/// The caller's note, `null` when there is none.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct Note {
    note: Value,
    updated_at: Option<String>,
}

/// The caller's note; needs `data:read`.
#[get("/api/data")]
async fn read_data(
    auth: Result<RequireScope<DataRead>, GuardError>,
    app: &State<AppState>,
) -> Result<Json<Note>, HttpError> {
    let RequireScope(claims, _) = auth?;
    let stored = app.store.find_note(&claims.sub).await?;
    let note = stored
        .as_ref()
        .and_then(|n| serde_json::from_str::<Value>(&n.json).ok())
        .unwrap_or(Value::Null);
    Ok(Json(Note {
        note,
        updated_at: stored.map(|n| rfc3339(n.updated_at)),
    }))
}

/// The note just stored.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct Saved {
    note: Value,
}

/// Replaces the caller's note (any JSON value up to 4 KiB); needs `data:write`.
#[post("/api/data", data = "<note>")]
async fn write_data(
    auth: Result<RequireScope<DataWrite>, GuardError>,
    note: Result<Json<Value>, rocket::serde::json::Error<'_>>,
    app: &State<AppState>,
) -> Result<(Status, Json<Saved>), HttpError> {
    let RequireScope(claims, _) = auth?;
    let Ok(Json(note)) = note else {
        return Err(HttpError::invalid_request("the body must be JSON"));
    };
    let text = note.to_string();
    if text.len() > MAX_NOTE_BYTES {
        return Err(HttpError::invalid_request("the note is larger than 4 KiB"));
    }
    app.store.save_note(&claims.sub, &text).await?;
    Ok((Status::Created, Json(Saved { note })))
}

/// One user in the example API's listing.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct UserSummary {
    id: String,
    username: String,
    role: String,
    disabled: bool,
    created_at: String,
}

impl From<UserDoc> for UserSummary {
    fn from(user: UserDoc) -> Self {
        UserSummary {
            id: user.id.to_hex(),
            username: user.username,
            role: user.role,
            disabled: user.disabled,
            created_at: rfc3339(user.created_at),
        }
    }
}

/// A page of users and where the next one starts.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct UserPage {
    users: Vec<UserSummary>,
    next: Option<String>,
}

/// A page of users; needs role `admin` and scope `admin`.
#[get("/api/admin/users?<limit>&<after>")]
async fn admin_users(
    role: Result<RequireRole<Admin>, GuardError>,
    scope: Result<RequireScope<AdminScope>, GuardError>,
    limit: Option<&str>,
    after: Option<&str>,
    app: &State<AppState>,
) -> Result<Json<UserPage>, HttpError> {
    role?;
    scope?;
    let limit = page_size(limit)?;
    let after = match after {
        Some(id) => Some(
            UserId::parse(id)
                .ok_or_else(|| HttpError::invalid_request("after must be a user id"))?,
        ),
        None => None,
    };
    let users = app.store.list_users(after, limit).await?;
    let next = next_after(&users, limit, |user| user.id.to_hex());
    Ok(Json(UserPage {
        users: users.into_iter().map(UserSummary::from).collect(),
        next,
    }))
}
