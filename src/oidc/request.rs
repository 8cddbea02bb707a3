//! What an OpenID Connect authentication request asks of the sign-in (OIDC Core §3.1.2.1):
//! `prompt`, `max_age`, `login_hint`, `id_token_hint`, `response_mode`, and what they decide
//! once the browser's session is known. No HTTP here: the authorization endpoint reads the
//! parameters and acts on the answer.

/// Longest `login_hint` kept (a username is at most 64 characters).
const MAX_LOGIN_HINT_CHARS: usize = 64;

/// The `prompt` values (§3.1.2.1) Portcullis acts on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// Show no page at all; answer with an error when one would be needed.
    pub none: bool,
    /// Sign in again, even with a session.
    pub login: bool,
    /// Ask for consent again, even when it is remembered.
    pub consent: bool,
}

/// How the authorization response travels (OAuth 2.0 Multiple Response Types §2.1, Form Post
/// Response Mode §2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResponseMode {
    /// In the redirect URI's query, the default for `code`.
    #[default]
    Query,
    /// As a form the browser posts to the redirect URI.
    FormPost,
}

/// The request's OpenID Connect parameters, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthParams {
    pub prompt: Prompt,
    /// Seconds since sign-in after which the user must sign in again.
    pub max_age: Option<u64>,
    /// The name the sign-in form starts with.
    pub login_hint: Option<String>,
    /// A previous id token, naming the user the client expects.
    pub id_token_hint: Option<String>,
    pub response_mode: ResponseMode,
}

/// Why the parameters are refused: the description of an `invalid_request`.
pub type Malformed = &'static str;

impl AuthParams {
    /// Reads the parameters through `get` (each sent at most once; the endpoint refuses
    /// repetitions).
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<AuthParams, Malformed> {
        let mut params = AuthParams::default();
        if let Some(prompt) = get("prompt") {
            // Values not listed in §3.1.2.1 are ignored; `select_account` asks nothing here,
            // where a browser has one account at a time.
            for value in prompt.split(' ').filter(|v| !v.is_empty()) {
                match value {
                    "none" => params.prompt.none = true,
                    "login" => params.prompt.login = true,
                    "consent" => params.prompt.consent = true,
                    _ => {}
                }
            }
            // §3.1.2.1: `none` with any other value is an error.
            if params.prompt.none && prompt.split(' ').any(|v| !v.is_empty() && v != "none") {
                return Err("prompt=none cannot be combined with other prompt values");
            }
        }
        if let Some(max_age) = get("max_age") {
            let seconds = max_age
                .parse::<u64>()
                .map_err(|_| "max_age must be a number of seconds")?;
            params.max_age = Some(seconds);
        }
        params.login_hint = get("login_hint")
            .filter(|hint| !hint.is_empty())
            .map(|hint| hint.chars().take(MAX_LOGIN_HINT_CHARS).collect());
        params.id_token_hint = get("id_token_hint").filter(|hint| !hint.is_empty());
        params.response_mode = match get("response_mode").as_deref() {
            None | Some("query") => ResponseMode::Query,
            Some("form_post") => ResponseMode::FormPost,
            Some(_) => return Err("response_mode must be query or form_post"),
        };
        Ok(params)
    }
}

/// The browser's sign-in as the request sees it.
#[derive(Debug, Clone, Copy)]
pub struct SessionFacts<'a> {
    /// The signed-in account's id (an id token's `sub`).
    pub user: &'a str,
    /// When the user signed in, Unix seconds.
    pub auth_time: u64,
    /// When this very request last sent the user to sign in again, if it did: a sign-in at or
    /// after that moment is the fresh one it asked for.
    pub reauth_asked_at: Option<u64>,
}

/// What the sign-in must be before the request goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInVerdict {
    /// The session will do.
    Satisfied,
    /// A fresh sign-in is needed: `prompt=login`, a `max_age` exceeded, or an `id_token_hint`
    /// for another user.
    Again,
    /// The user signed in again as someone other than the hint names (§3.1.2.1: an error,
    /// `login_required`).
    OtherUser,
}

impl AuthParams {
    /// Whether the session satisfies the request at `now`, given the `sub` of a valid
    /// `id_token_hint`.
    pub fn verdict(
        &self,
        session: SessionFacts<'_>,
        hinted: Option<&str>,
        now: u64,
    ) -> SignInVerdict {
        let fresh = session
            .reauth_asked_at
            .is_some_and(|asked| session.auth_time >= asked);
        let other_user = hinted.is_some_and(|sub| sub != session.user);
        if fresh {
            return if other_user {
                SignInVerdict::OtherUser
            } else {
                SignInVerdict::Satisfied
            };
        }
        // §3.1.2.1: `max_age=0` is `prompt=login`, however recent the sign-in.
        let too_old = self
            .max_age
            .is_some_and(|max_age| max_age == 0 || session.auth_time.saturating_add(max_age) < now);
        if self.prompt.login || too_old || other_user {
            SignInVerdict::Again
        } else {
            SignInVerdict::Satisfied
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<AuthParams, Malformed> {
        AuthParams::read(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn parameters_are_checked() {
        let params = read(&[
            ("prompt", "login consent select_account"),
            ("max_age", "60"),
        ])
        .unwrap();
        assert!(params.prompt.login && params.prompt.consent && !params.prompt.none);
        assert_eq!(params.max_age, Some(60));
        assert!(read(&[("prompt", "none login")]).is_err());
        assert!(read(&[("prompt", "none")]).unwrap().prompt.none);
        assert!(read(&[("max_age", "-1")]).is_err());
        assert!(read(&[("max_age", "soon")]).is_err());
        assert!(read(&[("response_mode", "fragment")]).is_err());
        let form = read(&[("response_mode", "form_post")]).unwrap();
        assert_eq!(form.response_mode, ResponseMode::FormPost);
        let long = "x".repeat(500);
        let hint = read(&[("login_hint", &long)]).unwrap().login_hint.unwrap();
        assert_eq!(hint.chars().count(), MAX_LOGIN_HINT_CHARS);
    }

    #[test]
    fn the_session_is_judged_by_prompt_max_age_and_hint() {
        let session = SessionFacts {
            user: "u1",
            auth_time: 1_000,
            reauth_asked_at: None,
        };
        let plain = AuthParams::default();
        assert_eq!(
            plain.verdict(session, None, 5_000),
            SignInVerdict::Satisfied
        );
        let login = read(&[("prompt", "login")]).unwrap();
        assert_eq!(login.verdict(session, None, 1_001), SignInVerdict::Again);
        let max_age = read(&[("max_age", "60")]).unwrap();
        assert_eq!(
            max_age.verdict(session, None, 1_060),
            SignInVerdict::Satisfied
        );
        assert_eq!(max_age.verdict(session, None, 1_061), SignInVerdict::Again);
        let zero = read(&[("max_age", "0")]).unwrap();
        assert_eq!(zero.verdict(session, None, 1_000), SignInVerdict::Again);
        assert_eq!(
            plain.verdict(session, Some("u2"), 1_001),
            SignInVerdict::Again
        );

        // Signed in again since the request asked: satisfied, unless as another user.
        let fresh = SessionFacts {
            reauth_asked_at: Some(990),
            ..session
        };
        assert_eq!(zero.verdict(fresh, None, 1_030), SignInVerdict::Satisfied);
        assert_eq!(
            login.verdict(fresh, Some("u1"), 1_030),
            SignInVerdict::Satisfied
        );
        assert_eq!(
            login.verdict(fresh, Some("u2"), 1_030),
            SignInVerdict::OtherUser
        );
        // A sign-in from before the request asked is not the fresh one.
        let stale = SessionFacts {
            reauth_asked_at: Some(1_010),
            ..session
        };
        assert_eq!(login.verdict(stale, None, 1_030), SignInVerdict::Again);
    }
}
