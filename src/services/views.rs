//! How an account and a client are shown outside: the admin API's JSON and the command line's
//! `--json` output are these structs, so both say the same thing, and no stored field (such as
//! a secret's hash) is shown by accident.

use serde::Serialize;

use crate::store::{
    AuditEvent, ClientDoc, ClientKind, RefreshFamilyDoc, SessionDoc, Timestamp, UserDoc,
    UserProfile,
};

/// An account as shown.
#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub role: String,
    pub disabled: bool,
    pub profile: UserProfile,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&UserDoc> for UserView {
    fn from(user: &UserDoc) -> Self {
        UserView {
            id: user.id.to_hex(),
            username: user.username.clone(),
            role: user.role.clone(),
            disabled: user.disabled,
            profile: user.profile.clone(),
            created_at: rfc3339(user.created_at),
            updated_at: rfc3339(user.updated_at),
        }
    }
}

/// One account shown on its own: the list view and until when it is locked after failed
/// sign-ins (`None` when it is not).
#[derive(Debug, Serialize)]
pub struct UserDetail {
    #[serde(flatten)]
    pub user: UserView,
    pub locked_until: Option<String>,
}

impl UserDetail {
    pub fn new(user: &UserDoc, locked_until: Option<Timestamp>) -> Self {
        UserDetail {
            user: UserView::from(user),
            locked_until: locked_until.map(rfc3339),
        }
    }
}

/// A client as shown.
#[derive(Debug, Serialize)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub default_scopes: Vec<String>,
    pub can_introspect: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&ClientDoc> for ClientView {
    fn from(client: &ClientDoc) -> Self {
        ClientView {
            client_id: client.client_id.to_string(),
            name: client.name.clone(),
            public: client.kind == ClientKind::Public,
            redirect_uris: client.redirect_uris.clone(),
            post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
            grant_types: client.grant_types.clone(),
            scopes: client.scopes.clone(),
            default_scopes: client.default_scopes.clone(),
            can_introspect: client.can_introspect,
            created_at: rfc3339(client.created_at),
            updated_at: rfc3339(client.updated_at),
        }
    }
}

/// A stored time as RFC 3339, as every outside view shows times.
pub fn rfc3339(at: Timestamp) -> String {
    at.to_rfc3339()
}

/// A browser session as shown (its id and CSRF token never are).
#[derive(Debug, Serialize)]
pub struct SessionView {
    pub created_at: String,
    pub expires_at: String,
}

impl From<&SessionDoc> for SessionView {
    fn from(session: &SessionDoc) -> Self {
        SessionView {
            created_at: rfc3339(session.created_at),
            expires_at: rfc3339(session.expires_at),
        }
    }
}

/// A live refresh-token family as shown (its token hashes never are).
#[derive(Debug, Serialize)]
pub struct FamilyView {
    pub family_id: String,
    pub client_id: String,
    pub scope: String,
    pub last_used_at: String,
    pub expires_at: String,
}

impl From<&RefreshFamilyDoc> for FamilyView {
    fn from(family: &RefreshFamilyDoc) -> Self {
        FamilyView {
            family_id: family.family_id.to_string(),
            client_id: family.client_id.to_string(),
            scope: family.scopes.join(" "),
            last_used_at: rfc3339(family.rotated_at),
            expires_at: rfc3339(family.token_expires_at()),
        }
    }
}

/// An audit event as shown: the stored event with its id in hex and its time in RFC 3339;
/// fields the event does not have are left out.
#[derive(Debug)]
pub struct AuditEventView(pub AuditEvent);

impl Serialize for AuditEventView {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let event = &self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &event.id.map(|id| id.to_hex()))?;
        map.serialize_entry("at", &rfc3339(event.at))?;
        map.serialize_entry("kind", &event.kind)?;
        let about = [
            ("client_id", &event.client_id),
            ("user_id", &event.user_id),
            ("username", &event.username),
            ("grant_type", &event.grant_type),
            ("jti", &event.jti),
            ("scope", &event.scope),
            ("reason", &event.reason),
            ("remote_addr", &event.remote_addr),
            ("actor", &event.actor),
            ("actor_id", &event.actor_id),
        ];
        for (name, value) in about {
            if let Some(value) = value {
                map.serialize_entry(name, value)?;
            }
        }
        map.end()
    }
}
