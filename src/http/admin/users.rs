//! `/admin/v1/users`: accounts, their browser sessions and refresh-token families.

use rocket::http::{ContentType, Status};
use rocket::serde::json::{json, Json, Value};
use rocket::serde::Deserialize;
use rocket::{delete, get, patch, post, put, routes, Route, State};

use super::{body, page_size, rfc3339, AdminCaller, AdminError, AdminResult};
use crate::config::Config;
use crate::guard::GuardError;
use crate::password::PasswordHasher;
use crate::services::users;
use crate::services::views::{UserDetail, UserView};
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

type Caller<'r> = Result<AdminCaller, GuardError>;
type Body<'r, T> = Result<Json<T>, rocket::serde::json::Error<'r>>;

fn view(user: &UserDoc) -> Value {
    json!(UserView::from(user))
}

/// The user a path names; an id that is not one is simply not found.
async fn user(store: &Store, id: &str) -> AdminResult<UserDoc> {
    users::find_user_by_id(store, id)
        .await?
        .ok_or_else(|| AdminError::not_found("user"))
}

#[derive(Deserialize)]
#[serde(crate = "rocket::serde", deny_unknown_fields)]
struct NewUser {
    username: String,
    password: String,
    role: String,
}

#[post("/admin/v1/users", data = "<new>")]
async fn create(
    caller: Caller<'_>,
    content_type: Option<&ContentType>,
    new: Body<'_, NewUser>,
    store: &State<Store>,
    hasher: &State<PasswordHasher>,
    config: &State<Config>,
) -> AdminResult<(Status, Json<Value>)> {
    let caller = caller?;
    let new = body(content_type, new)?;
    let user = users::create_user(
        store,
        hasher,
        config,
        &caller.actor,
        &new.username,
        &new.password,
        &new.role,
    )
    .await?;
    Ok((Status::Created, Json(view(&user))))
}

/// Users in username order; `prefix` narrows to names starting with it (case-insensitive),
/// `after` is the previous page's `next`.
#[get("/admin/v1/users?<prefix>&<after>&<limit>")]
async fn list(
    caller: Caller<'_>,
    prefix: Option<&str>,
    after: Option<&str>,
    limit: Option<&str>,
    store: &State<Store>,
) -> AdminResult<Json<Value>> {
    caller?;
    let limit = page_size(limit)?;
    let page = users::search_users(store, prefix.unwrap_or(""), after, limit).await?;
    let next = (page.len() == usize::try_from(limit).unwrap_or(usize::MAX))
        .then(|| page.last().map(|u| u.username_key.clone()))
        .flatten();
    let found: Vec<Value> = page.iter().map(view).collect();
    Ok(Json(json!({ "users": found, "next": next })))
}

#[get("/admin/v1/users/<id>")]
async fn get_one(caller: Caller<'_>, id: &str, store: &State<Store>) -> AdminResult<Json<Value>> {
    caller?;
    let user = user(store, id).await?;
    let locked_until = users::locked_until(store, &user).await?;
    Ok(Json(json!(UserDetail::new(&user, locked_until))))
}

#[derive(Deserialize)]
#[serde(crate = "rocket::serde", deny_unknown_fields)]
struct UserChanges {
    role: Option<String>,
    disabled: Option<bool>,
}

/// Changes the role and/or disables or enables the account. Disabling ends its sessions and
/// revokes its tokens. An administrator cannot demote or disable their own account.
#[patch("/admin/v1/users/<id>", data = "<changes>")]
async fn update(
    caller: Caller<'_>,
    id: &str,
    content_type: Option<&ContentType>,
    changes: Body<'_, UserChanges>,
    store: &State<Store>,
    config: &State<Config>,
) -> AdminResult<Json<Value>> {
    let caller = caller?;
    let changes = body(content_type, changes)?;
    let mut user = user(store, id).await?;
    if changes.role.is_none() && changes.disabled.is_none() {
        return Err(AdminError::bad_request(
            "nothing to change: give role or disabled",
        ));
    }
    if caller.is(&user)
        && (changes.disabled == Some(true)
            || changes.role.as_deref().is_some_and(|r| r != user.role))
    {
        return Err(AdminError::conflict(
            "an administrator cannot demote or disable their own account",
        ));
    }
    if let Some(role) = &changes.role {
        user = users::set_role(store, config, &caller.actor, &user.username, role).await?;
    }
    if let Some(disabled) = changes.disabled {
        user = users::set_disabled(store, config, &caller.actor, &user.username, disabled).await?;
    }
    Ok(Json(view(&user)))
}

#[derive(Deserialize)]
#[serde(crate = "rocket::serde", deny_unknown_fields)]
struct NewPassword {
    password: String,
}

/// Sets a new password; the user's sessions end and their tokens are revoked.
#[put("/admin/v1/users/<id>/password", data = "<new>")]
async fn reset_password(
    caller: Caller<'_>,
    id: &str,
    content_type: Option<&ContentType>,
    new: Body<'_, NewPassword>,
    store: &State<Store>,
    hasher: &State<PasswordHasher>,
    config: &State<Config>,
) -> AdminResult<Status> {
    let caller = caller?;
    let new = body(content_type, new)?;
    let user = user(store, id).await?;
    users::set_password(
        store,
        hasher,
        config,
        &caller.actor,
        &user.username,
        &new.password,
    )
    .await?;
    Ok(Status::NoContent)
}

/// Ends a lockout (failed sign-ins); `unlocked` says whether there was one.
#[post("/admin/v1/users/<id>/unlock")]
async fn unlock(caller: Caller<'_>, id: &str, store: &State<Store>) -> AdminResult<Json<Value>> {
    let caller = caller?;
    let user = user(store, id).await?;
    let unlocked = users::unlock(store, &caller.actor, &user.username).await?;
    Ok(Json(json!({ "unlocked": unlocked })))
}

/// Deletes the account; its sessions end and every token it holds is revoked.
#[delete("/admin/v1/users/<id>")]
async fn remove(
    caller: Caller<'_>,
    id: &str,
    store: &State<Store>,
    config: &State<Config>,
) -> AdminResult<Status> {
    let caller = caller?;
    let user = user(store, id).await?;
    if caller.is(&user) {
        return Err(AdminError::conflict(
            "an administrator cannot delete their own account",
        ));
    }
    users::delete_user(store, config, &caller.actor, &user).await?;
    Ok(Status::NoContent)
}

/// The user's browser sessions and live refresh-token families.
#[get("/admin/v1/users/<id>/sessions")]
async fn sessions(caller: Caller<'_>, id: &str, store: &State<Store>) -> AdminResult<Json<Value>> {
    caller?;
    let user = user(store, id).await?;
    let user_id = user.id.to_hex();
    let sessions: Vec<Value> = store
        .user_sessions(&user_id)
        .await?
        .into_iter()
        .map(
            |s| json!({ "created_at": rfc3339(s.created_at), "expires_at": rfc3339(s.expires_at) }),
        )
        .collect();
    let families: Vec<Value> = store
        .live_refresh_families(&user_id)
        .await?
        .into_iter()
        .map(|t| {
            json!({
                "family_id": t.family_id,
                "client_id": t.client_id,
                "scope": t.scopes.join(" "),
                "last_used_at": rfc3339(t.rotated_at),
                "expires_at": rfc3339(t.token_expires_at()),
            })
        })
        .collect();
    Ok(Json(
        json!({ "sessions": sessions, "refresh_token_families": families }),
    ))
}

/// Ends every browser session of the user and revokes every refresh-token family (and the
/// access tokens issued from them).
#[delete("/admin/v1/users/<id>/sessions")]
async fn end_sessions(
    caller: Caller<'_>,
    id: &str,
    store: &State<Store>,
    config: &State<Config>,
) -> AdminResult<Json<Value>> {
    let caller = caller?;
    let user = user(store, id).await?;
    let ended = users::end_sessions(store, config, &caller.actor, &user).await?;
    Ok(Json(json!({
        "sessions_ended": ended.sessions,
        "refresh_token_families_revoked": ended.families,
    })))
}
