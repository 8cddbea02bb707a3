//! A standalone Rocket API protected entirely by Portcullis's resource-server kit: it knows only the
//! issuer's URL, verifies tokens against the issuer's published keys, and (with introspection
//! credentials) refuses revoked tokens.
//!
//! ```sh
//! PORTCULLIS_ISSUER_URL=http://127.0.0.1:8000 cargo run -p portcullis-kit --example resource_server
//! curl -H "Authorization: Bearer $ACCESS_TOKEN" http://127.0.0.1:8100/reports
//! ```
//!
//! Settings (environment): `PORTCULLIS_ISSUER_URL` (required); `RS_ADDRESS` (127.0.0.1) and
//! `RS_PORT` (8100); `RS_AUDIENCE` (portcullis-api); `RS_INTROSPECTION_CLIENT_ID` and
//! `RS_INTROSPECTION_CLIENT_SECRET` (a client registered with `--introspect`: turns on
//! revocation checks); `RS_JWKS_REFETCH_SECS` (30); `RS_INTROSPECTION_CACHE_SECS` (5).

use std::time::Duration;

use portcullis_kit::rocket::ResourceServer;
use portcullis_kit::{
    AccessClaims, Admin, DataRead, DataWrite, GuardError, KitConfig, RequireRole, RequireScope,
    SecretString,
};
use rocket::serde::json::{json, Json, Value};
use rocket::{get, post, routes};

/// Any valid token: who is calling.
#[get("/whoami")]
fn whoami(auth: Result<&AccessClaims, GuardError>) -> Result<Json<Value>, GuardError> {
    let claims = auth?;
    Ok(Json(json!({
        "sub": claims.sub,
        "client_id": claims.client_id,
        "username": claims.username,
        "role": claims.role,
        "scope": claims.scope,
    })))
}

/// Needs scope `data:read`.
#[get("/reports")]
fn list_reports(
    auth: Result<RequireScope<DataRead>, GuardError>,
) -> Result<Json<Value>, GuardError> {
    let RequireScope(claims, _) = auth?;
    Ok(Json(
        json!({ "owner": claims.sub, "reports": ["q1", "q2"] }),
    ))
}

/// Needs scope `data:write`.
#[post("/reports")]
fn add_report(
    auth: Result<RequireScope<DataWrite>, GuardError>,
) -> Result<Json<Value>, GuardError> {
    let RequireScope(claims, _) = auth?;
    Ok(Json(json!({ "created_by": claims.sub })))
}

/// Needs role `admin`.
#[get("/admin/stats")]
fn stats(auth: Result<RequireRole<Admin>, GuardError>) -> Result<Json<Value>, GuardError> {
    let RequireRole(claims, _) = auth?;
    Ok(Json(json!({ "viewer": claims.username, "reports": 2 })))
}

/// No token needed.
#[get("/health")]
fn health() -> &'static str {
    "ok"
}

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn seconds(name: &str, default: u64) -> Duration {
    let value = std::env::var(name).ok().and_then(|v| v.parse().ok());
    Duration::from_secs(value.unwrap_or(default))
}

#[rocket::main]
async fn main() -> std::process::ExitCode {
    // The kit reports through `tracing`: show its warnings and errors.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let Ok(issuer) = std::env::var("PORTCULLIS_ISSUER_URL") else {
        eprintln!("error: set PORTCULLIS_ISSUER_URL to Portcullis's issuer URL");
        return std::process::ExitCode::from(2);
    };
    let mut kit = KitConfig::new(issuer);
    kit.audience = vec![setting("RS_AUDIENCE", "portcullis-api")];
    kit.jwks_refetch_interval = seconds("RS_JWKS_REFETCH_SECS", 30);
    kit.introspection_cache = seconds("RS_INTROSPECTION_CACHE_SECS", 5);
    if let (Ok(id), Ok(secret)) = (
        std::env::var("RS_INTROSPECTION_CLIENT_ID"),
        std::env::var("RS_INTROSPECTION_CLIENT_SECRET"),
    ) {
        kit.introspection = Some((id, SecretString::new(secret)));
    }
    let figment = rocket::Config::figment()
        .merge(("address", setting("RS_ADDRESS", "127.0.0.1")))
        .merge((
            "port",
            setting("RS_PORT", "8100").parse::<u16>().unwrap_or(8100),
        ))
        .merge(("log_level", "critical"));
    let launched = rocket::custom(figment)
        .attach(ResourceServer::new(kit))
        .mount(
            "/",
            routes![whoami, list_reports, add_report, stats, health],
        )
        .launch()
        .await;
    match launched {
        Ok(_) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
