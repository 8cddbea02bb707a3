//! `/admin/v1/clients`: registered OAuth clients. A secret is shown once, when it is made.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::serde::{Deserialize, Serialize};
use rocket::{delete, get, patch, post, routes, Route, State};

use super::{next_after, page_size, AdminResult, Body, Caller};
use crate::http::error::HttpError;
use crate::http::AppState;
use crate::services::clients::{self, ClientChanges, NewClient};
use crate::services::views::ClientView;
use crate::store::ClientKind;

pub fn routes() -> Vec<Route> {
    routes![create, list, get_one, update, rotate_secret, remove]
}

/// A client just registered, with its secret: shown in this answer and never again.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct Registered {
    #[serde(flatten)]
    client: ClientView,
    client_secret: Option<String>,
}

/// A page of clients and where the next one starts.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct ClientPage {
    clients: Vec<ClientView>,
    next: Option<String>,
}

/// A confidential client's new secret.
#[derive(Serialize)]
#[serde(crate = "rocket::serde")]
struct NewSecret {
    client_id: String,
    client_secret: String,
}

#[derive(Deserialize)]
#[serde(crate = "rocket::serde", deny_unknown_fields)]
struct NewClientBody {
    client_id: Option<String>,
    name: String,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    grant_types: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    default_scopes: Option<Vec<String>>,
    #[serde(default)]
    can_introspect: bool,
}

/// Registers a client; a confidential client's secret is in this answer and nowhere else.
#[post("/admin/v1/clients", data = "<new>")]
async fn create(
    caller: Caller,
    new: Body<NewClientBody>,
    app: &State<AppState>,
) -> AdminResult<(Status, Json<Registered>)> {
    let caller = caller?;
    let new = new?.0;
    let kind = if new.public {
        ClientKind::Public
    } else {
        ClientKind::Confidential
    };
    let (client, secret) = clients::create_client(
        &app.store,
        &caller.actor,
        NewClient {
            client_id: new.client_id,
            name: new.name,
            kind,
            redirect_uris: new.redirect_uris,
            post_logout_redirect_uris: new.post_logout_redirect_uris,
            grant_types: new.grant_types,
            scopes: new.scopes,
            default_scopes: new.default_scopes,
            can_introspect: new.can_introspect,
        },
    )
    .await?;
    let answer = Registered {
        client: ClientView::from(&client),
        client_secret: secret.map(|s| s.expose().to_owned()),
    };
    Ok((Status::Created, Json(answer)))
}

/// Clients in id order; `after` is the previous page's `next`.
#[get("/admin/v1/clients?<after>&<limit>")]
async fn list(
    caller: Caller,
    after: Option<&str>,
    limit: Option<&str>,
    app: &State<AppState>,
) -> AdminResult<Json<ClientPage>> {
    caller?;
    let limit = page_size(limit)?;
    let page = app.store.clients_page(after, limit).await?;
    Ok(Json(ClientPage {
        next: next_after(&page, limit, |client| client.client_id.to_string()),
        clients: page.iter().map(ClientView::from).collect(),
    }))
}

#[get("/admin/v1/clients/<id>")]
async fn get_one(caller: Caller, id: &str, app: &State<AppState>) -> AdminResult<Json<ClientView>> {
    caller?;
    let client = app
        .store
        .find_client(id)
        .await?
        .ok_or_else(|| HttpError::not_found("client"))?;
    Ok(Json(ClientView::from(&client)))
}

#[derive(Deserialize)]
#[serde(crate = "rocket::serde", deny_unknown_fields)]
struct ClientChangesBody {
    name: Option<String>,
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    grant_types: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
    default_scopes: Option<Vec<String>>,
    can_introspect: Option<bool>,
}

/// Changes any of the client's registration; the result is checked as a whole, as on
/// creation.
#[patch("/admin/v1/clients/<id>", data = "<changes>")]
async fn update(
    caller: Caller,
    id: &str,
    changes: Body<ClientChangesBody>,
    app: &State<AppState>,
) -> AdminResult<Json<ClientView>> {
    let caller = caller?;
    let changes = changes?.0;
    let changes = ClientChanges {
        name: changes.name,
        redirect_uris: changes.redirect_uris,
        post_logout_redirect_uris: changes.post_logout_redirect_uris,
        grant_types: changes.grant_types,
        scopes: changes.scopes,
        default_scopes: changes.default_scopes,
        can_introspect: changes.can_introspect,
    };
    let client = clients::update_client(&app.store, &caller.actor, id, changes).await?;
    Ok(Json(ClientView::from(&client)))
}

/// A new secret for a confidential client; the old one stops working at once.
#[post("/admin/v1/clients/<id>/secret")]
async fn rotate_secret(
    caller: Caller,
    id: &str,
    app: &State<AppState>,
) -> AdminResult<Json<NewSecret>> {
    let caller = caller?;
    let secret = clients::rotate_secret(&app.store, &caller.actor, id).await?;
    Ok(Json(NewSecret {
        client_id: id.to_owned(),
        client_secret: secret.expose().to_owned(),
    }))
}

/// Deletes the client and revokes every token issued to it.
#[delete("/admin/v1/clients/<id>")]
async fn remove(caller: Caller, id: &str, app: &State<AppState>) -> AdminResult<Status> {
    let caller = caller?;
    clients::remove_client(&app.store, &app.revocations, &caller.actor, id).await?;
    Ok(Status::NoContent)
}
