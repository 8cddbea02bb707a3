//! OpenID Connect: id tokens from the code, refresh and password grants, UserInfo, discovery
//! and profile data, each id token checked by the `openidconnect` crate, a relying-party
//! library we did not write.

mod discovery;
mod id_tokens;
mod logout;
mod profile;
mod prompts;
mod relying_party;
mod userinfo;

use openidconnect::core::{CoreIdToken, CoreIdTokenClaims, CoreIdTokenVerifier, CoreJsonWebKeySet};
use openidconnect::{
    AccessToken, AccessTokenHash, ClientId, ClientSecret, IssuerUrl, Nonce, NonceVerifier,
};
use rocket::local::asynchronous::Client;

use crate::code_flow::{authorize, authorize_url, param, CALLBACK, VERIFIER};
use crate::common::{basic, post_form, Answer, TestApp};

/// The relying party's client id.
pub const RP: &str = "rp";
/// Where its logout returns.
pub const SIGNED_OUT: &str = "https://client.example/signed-out";

/// A confidential relying party `rp` at `CALLBACK`, for the code, refresh and (first-party)
/// password grants with the OpenID Connect scopes; returns its secret.
pub async fn register_rp(app: &TestApp) -> String {
    use portcullis::services::clients::{create_client, NewClient};
    use portcullis::store::ClientKind;
    let scopes = ["openid", "profile", "email", "profile:write", "data:read"];
    let (_, secret) = create_client(
        &app.store,
        &portcullis::services::Actor::CommandLine,
        NewClient {
            client_id: Some(RP.into()),
            name: "Relying party".into(),
            kind: ClientKind::Confidential,
            redirect_uris: vec![CALLBACK.into()],
            post_logout_redirect_uris: vec![SIGNED_OUT.into()],
            grant_types: ["authorization_code", "refresh_token", "password"]
                .map(String::from)
                .to_vec(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            default_scopes: Some(vec!["openid".into()]),
            can_introspect: false,
        },
    )
    .await
    .unwrap();
    secret.unwrap().expose().to_owned()
}

/// Runs the code flow for `rp` (already signed in) with `scope` and `extra` parameters, and
/// exchanges the code: the token response.
pub async fn code_flow(app: &TestApp, secret: &str, scope: &str, extra: &str) -> Answer {
    let url = authorize_url(RP, CALLBACK, scope, extra);
    let params = authorize(&app.client, &url, true).await;
    let code = param(&params, "code").expect("a code").to_owned();
    exchange(&app.client, secret, &code).await
}

/// Exchanges a code for `rp`.
pub async fn exchange(client: &Client, secret: &str, code: &str) -> Answer {
    let form = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        url::form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
    );
    post_form(client, "/oauth/token", &form, Some(basic(RP, secret))).await
}

/// The key set the server publishes, as the relying party reads it.
pub async fn key_set(app: &TestApp) -> CoreJsonWebKeySet {
    let response = app.client.get("/.well-known/jwks.json").dispatch().await;
    serde_json::from_str(&response.into_string().await.unwrap()).unwrap()
}

/// Verifies a token response's id token as the relying party does: signature with the
/// published keys, `iss`, `aud` (and `azp`), `exp`, the nonce (`None`: the id token must
/// carry none), and `at_hash` against the access token beside it. Returns the claims and the
/// raw payload.
pub async fn verified_id_token(
    app: &TestApp,
    secret: &str,
    tokens: &Answer,
    nonce: Option<&str>,
) -> (CoreIdTokenClaims, serde_json::Value) {
    let raw = tokens.body["id_token"].as_str().expect("an id_token");
    let verifier = CoreIdTokenVerifier::new_confidential_client(
        ClientId::new(RP.into()),
        ClientSecret::new(secret.into()),
        IssuerUrl::new(app.config.issuer.clone()).unwrap(),
        key_set(app).await,
    );
    let id_token: CoreIdToken = raw.parse().unwrap();
    let claims = match nonce {
        Some(nonce) => id_token.claims(&verifier, &Nonce::new(nonce.into())),
        None => id_token.claims(&verifier, NoNonce),
    }
    .unwrap_or_else(|e| panic!("the relying party refused the id token: {e}"))
    .clone();
    // OIDC Core §3.1.3.6: at_hash binds the access token to the id token.
    let access = AccessToken::new(tokens.body["access_token"].as_str().unwrap().into());
    let expected = AccessTokenHash::from_token(
        &access,
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected));
    let (header, payload) = jwt_parts(raw);
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["alg"], "RS256");
    (claims, payload)
}

/// An id token of a request without a nonce must carry none (OIDC Core §3.1.3.7 rule 11).
#[derive(Clone, Copy)]
struct NoNonce;

impl NonceVerifier for NoNonce {
    fn verify(self, nonce: Option<&Nonce>) -> Result<(), String> {
        match nonce {
            None => Ok(()),
            Some(_) => Err("a nonce the request did not send".into()),
        }
    }
}

/// The decoded header and payload of a JWT (already verified elsewhere).
pub fn jwt_parts(token: &str) -> (serde_json::Value, serde_json::Value) {
    use base64::Engine;
    let decode = |part: &str| -> serde_json::Value {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let mut parts = token.split('.');
    let header = decode(parts.next().unwrap());
    let payload = decode(parts.next().unwrap());
    (header, payload)
}
