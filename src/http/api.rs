//! The example protected API: what Portcullis protects itself, and the pattern to copy.
//! Every handler takes its guard as `Result<_, GuardError>` so a refusal carries the exact
//! RFC 6750 answer.

use mongodb::bson::oid::ObjectId;
use rocket::http::Status;
use rocket::serde::json::{json, Json, Value};
use rocket::{get, post, routes, Responder, Route, State};

use crate::guard::{
    AccessClaims, Admin, AdminScope, DataRead, DataWrite, GuardError, RequireRole, RequireScope,
};
use crate::store::Store;

/// Largest note `POST /api/data` stores, serialised.
pub const MAX_NOTE_BYTES: usize = 4 * 1024;

pub fn routes() -> Vec<Route> {
    routes![me, read_data, write_data, admin_users]
}

#[derive(Responder)]
enum ApiError {
    Guard(GuardError),
    Other((Status, Json<Value>)),
}

impl From<GuardError> for ApiError {
    fn from(error: GuardError) -> Self {
        ApiError::Guard(error)
    }
}

impl From<crate::error::Error> for ApiError {
    fn from(error: crate::error::Error) -> Self {
        crate::limited!(error, %error, "API request failed");
        let status = match error {
            crate::error::Error::Database(_) => Status::ServiceUnavailable,
            _ => Status::InternalServerError,
        };
        ApiError::Other((
            status,
            Json(
                json!({ "error": "temporarily_unavailable", "error_description": "try again later" }),
            ),
        ))
    }
}

fn bad_request(description: &str) -> ApiError {
    ApiError::Other((
        Status::BadRequest,
        Json(json!({ "error": "invalid_request", "error_description": description })),
    ))
}

/// The body of `GET /api/me`, borrowed from the token's claims.
#[derive(serde::Serialize)]
struct Me<'a> {
    id: &'a str,
    username: &'a str,
    role: Option<&'a str>,
    scopes: Vec<&'a str>,
}

/// The caller, for any valid user token.
#[get("/api/me")]
fn me(auth: Result<&AccessClaims, GuardError>) -> Result<Json<Me<'_>>, ApiError> {
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

/// The caller's note; needs `data:read`.
#[get("/api/data")]
async fn read_data(
    auth: Result<RequireScope<DataRead>, GuardError>,
    store: &State<Store>,
) -> Result<Json<Value>, ApiError> {
    let RequireScope(claims, _) = auth?;
    let note = store.find_note(&claims.sub).await?;
    let value = note
        .as_ref()
        .and_then(|n| serde_json::from_str::<Value>(&n.json).ok())
        .unwrap_or(Value::Null);
    Ok(Json(json!({
        "note": value,
        "updated_at": note.map(|n| n.updated_at.try_to_rfc3339_string().unwrap_or_default()),
    })))
}

/// Replaces the caller's note (any JSON value up to 4 KiB); needs `data:write`.
#[post("/api/data", data = "<note>")]
async fn write_data(
    auth: Result<RequireScope<DataWrite>, GuardError>,
    note: Result<Json<Value>, rocket::serde::json::Error<'_>>,
    store: &State<Store>,
) -> Result<(Status, Json<Value>), ApiError> {
    let RequireScope(claims, _) = auth?;
    let Ok(Json(note)) = note else {
        return Err(bad_request("the body must be JSON"));
    };
    let text = note.to_string();
    if text.len() > MAX_NOTE_BYTES {
        return Err(bad_request("the note is larger than 4 KiB"));
    }
    store.save_note(&claims.sub, &text).await?;
    Ok((Status::Created, Json(json!({ "note": note }))))
}

/// A page of users; needs role `admin` and scope `admin`.
#[get("/api/admin/users?<limit>&<after>")]
async fn admin_users(
    role: Result<RequireRole<Admin>, GuardError>,
    scope: Result<RequireScope<AdminScope>, GuardError>,
    limit: Option<&str>,
    after: Option<&str>,
    store: &State<Store>,
) -> Result<Json<Value>, ApiError> {
    role?;
    scope?;
    let limit = match limit.map(str::parse::<i64>) {
        None => 20,
        Some(Ok(limit)) if (1..=100).contains(&limit) => limit,
        Some(_) => return Err(bad_request("limit must be a number between 1 and 100")),
    };
    let after = match after {
        Some(id) => {
            Some(ObjectId::parse_str(id).map_err(|_| bad_request("after must be a user id"))?)
        }
        None => None,
    };
    let users = store.list_users(after, limit).await?;
    let next = (users.len() == usize::try_from(limit).unwrap_or(usize::MAX))
        .then(|| users.last().map(|u| u.id.to_hex()))
        .flatten();
    let users: Vec<Value> = users
        .into_iter()
        .map(|u| {
            json!({
                "id": u.id.to_hex(),
                "username": u.username,
                "role": u.role,
                "disabled": u.disabled,
                "created_at": u.created_at.try_to_rfc3339_string().unwrap_or_default(),
            })
        })
        .collect();
    Ok(Json(json!({ "users": users, "next": next })))
}
