//! `/admin/v1/users`: accounts, their browser sessions and refresh-token families.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::serde::{Deserialize, Serialize};
use rocket::{delete, get, patch, post, put, routes, Route, State};

use super::{next_after, page_size, AdminResult, Body, Caller};
use crate::http::error::HttpError;
use crate::http::AppState;
use crate::services::profile::ProfileChange;
use crate::services::users::{self, NewAccount, UserChanges};
use crate::services::views::{FamilyView, SessionView, UserDetail, UserView};
use crate::store::{Store, UserDoc};

pub fn routes() -> Vec<Route> {
    routes![
        create,
        list,
        get_one,
        update,
        reset_password,
        unlock,
        remove,
        sessions,
        end_sessions
    ]
}

/// The user a path names; an id that is not one is simply not found.
async fn user(store: &Store, id: &str) -> AdminResult<UserDoc> {
    store
        .find_user_by_hex(id)
        .await?
        .ok_or_else(|| HttpError::not_found("user"))
}

#[derive(Deserialize)]
#[serde(crate = "rocket::serde", deny_unknown_fields)]
struct NewUser {
    username: String,
    password: String,
    role: String,
    #[serde(default)]
    profile: ProfileChange,
}

#[post("/admin/v1/users", data = "<new>")]
async fn create(
    caller: Caller,
    new: Body<NewUser>,
    app: &State<AppState>,
) -> AdminResult<(Status, Json<UserView>)> {
    let caller = caller?;
    let new = new?.0;
    let account = NewAccount {
        username: &new.username,
        password: &new.password,
        role: &new.role,
        profile: &new.profile,
    };
    let user = users::create_account(
        &app.store,
        &app.hasher,
        &app.config,
        &caller.actor,
        &account,
    )
    .await?;
    Ok((Status::Created, Json(UserView::from(&user))))
}

/// A page of users and where the next one starts.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct UserPage {
    users: Vec<UserView>,
    next: Option<String>,
}

/// Users in username order; `prefix` narrows to names starting with it (case-insensitive),
/// `after` is the previous page's `next`.
#[get("/admin/v1/users?<prefix>&<after>&<limit>")]
async fn list(
    caller: Caller,
    prefix: Option<&str>,
    after: Option<&str>,
    limit: Option<&str>,
    app: &State<AppState>,
) -> AdminResult<Json<UserPage>> {
    caller?;
    let limit = page_size(limit)?;
    let page = users::search_users(&app.store, prefix.unwrap_or(""), after, limit).await?;
    Ok(Json(UserPage {
        next: next_after(&page, limit, |user| user.username_key.clone()),
        users: page.iter().map(UserView::from).collect(),
    }))
}

#[get("/admin/v1/users/<id>")]
async fn get_one(caller: Caller, id: &str, app: &State<AppState>) -> AdminResult<Json<UserDetail>> {
    caller?;
    let user = user(&app.store, id).await?;
    let locked_until = users::locked_until(&app.store, &user).await?;
    Ok(Json(UserDetail::new(&user, locked_until)))
}

#[derive(Deserialize)]
#[serde(crate = "rocket::serde", deny_unknown_fields)]
struct ChangesBody {
    role: Option<String>,
    disabled: Option<bool>,
    #[serde(default)]
    profile: ProfileChange,
}

/// Changes the profile, the role and/or disables or enables the account. Disabling ends its sessions and
/// revokes its tokens. An administrator cannot demote or disable their own account.
#[patch("/admin/v1/users/<id>", data = "<changes>")]
async fn update(
    caller: Caller,
    id: &str,
    changes: Body<ChangesBody>,
    app: &State<AppState>,
) -> AdminResult<Json<UserView>> {
    let caller = caller?;
    let ChangesBody {
        role,
        disabled,
        profile,
    } = changes?.0;
    let user = user(&app.store, id).await?;
    let changes = UserChanges {
        role,
        disabled,
        profile,
    };
    let (store, config, revocations) = (&app.store, &app.config, &app.revocations);
    let user =
        users::change_user(store, config, revocations, &caller.actor, user, &changes).await?;
    Ok(Json(UserView::from(&user)))
}

#[derive(Deserialize)]
#[serde(crate = "rocket::serde", deny_unknown_fields)]
struct NewPassword {
    password: String,
}

/// Sets a new password; the user's sessions end and their tokens are revoked.
#[put("/admin/v1/users/<id>/password", data = "<new>")]
async fn reset_password(
    caller: Caller,
    id: &str,
    new: Body<NewPassword>,
    app: &State<AppState>,
) -> AdminResult<Status> {
    let caller = caller?;
    let new = new?.0;
    let user = user(&app.store, id).await?;
    users::set_password(
        &app.store,
        &app.hasher,
        &app.revocations,
        &caller.actor,
        &user.username,
        &new.password,
    )
    .await?;
    Ok(Status::NoContent)
}

/// Whether a lockout was ended.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct Unlocked {
    unlocked: bool,
}

/// Ends a lockout (failed sign-ins); `unlocked` says whether there was one.
#[post("/admin/v1/users/<id>/unlock")]
async fn unlock(caller: Caller, id: &str, app: &State<AppState>) -> AdminResult<Json<Unlocked>> {
    let caller = caller?;
    let user = user(&app.store, id).await?;
    let unlocked = users::unlock(&app.store, &caller.actor, &user.username).await?;
    Ok(Json(Unlocked { unlocked }))
}

/// Deletes the account; its sessions end and every token it holds is revoked.
#[delete("/admin/v1/users/<id>")]
async fn remove(caller: Caller, id: &str, app: &State<AppState>) -> AdminResult<Status> {
    let caller = caller?;
    let user = user(&app.store, id).await?;
    users::delete_user(&app.store, &app.revocations, &caller.actor, &user).await?;
    Ok(Status::NoContent)
}

/// A user's browser sessions and live refresh-token families.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct Sessions {
    sessions: Vec<SessionView>,
    refresh_token_families: Vec<FamilyView>,
}

/// The user's browser sessions and live refresh-token families.
#[get("/admin/v1/users/<id>/sessions")]
async fn sessions(caller: Caller, id: &str, app: &State<AppState>) -> AdminResult<Json<Sessions>> {
    caller?;
    let user = user(&app.store, id).await?;
    let sessions = app.store.user_sessions(user.id).await?;
    let families = app.store.live_refresh_families(user.id).await?;
    Ok(Json(Sessions {
        sessions: sessions.iter().map(SessionView::from).collect(),
        refresh_token_families: families.iter().map(FamilyView::from).collect(),
    }))
}

/// What ending a user's sessions ended.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct SessionsEnded {
    sessions_ended: u64,
    refresh_token_families_revoked: usize,
}

/// Ends every browser session of the user and revokes every refresh-token family (and the
/// access tokens issued from them).
#[delete("/admin/v1/users/<id>/sessions")]
async fn end_sessions(
    caller: Caller,
    id: &str,
    app: &State<AppState>,
) -> AdminResult<Json<SessionsEnded>> {
    let caller = caller?;
    let user = user(&app.store, id).await?;
    let ended = users::end_sessions(&app.store, &app.revocations, &caller.actor, &user).await?;
    Ok(Json(SessionsEnded {
        sessions_ended: ended.sessions,
        refresh_token_families_revoked: ended.families,
    }))
}
