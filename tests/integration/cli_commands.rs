//! The management commands an operator reaches for after the first ones: show, update, delete,
//! secret rotation, key activation and removal, paging and `--json` output, each against a real
//! database, with the errors a mistyped value gets.

use serde_json::Value;

use crate::cli::{secret_of, Cli, ADD_REPORTS};
use crate::common::temp_dir;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn accounts_are_shown_paged_and_deleted() {
    let cli = Cli::new();
    for name in ["ann", "bob", "cat"] {
        cli.ok(&["user", "add", name], "a-long-password\n");
    }
    let shown = json(&cli.ok(&["user", "show", "bob", "--json"], ""));
    assert_eq!(shown["username"], "bob");
    assert_eq!(shown["role"], "user");
    assert_eq!(shown["disabled"], false);
    assert_eq!(shown["locked_until"], Value::Null);
    assert!(shown.get("password_hash").is_none(), "{shown}");
    let text = cli.ok(&["user", "show", "bob"], "");
    assert!(text.contains("locked until:  not locked"), "{text}");

    // Two pages of two, the second picked up where the first ended.
    let first = json(&cli.ok(&["user", "list", "--limit", "2", "--json"], ""));
    let first = first.as_array().unwrap();
    assert_eq!(first.len(), 2);
    let after = first[1]["id"].as_str().unwrap();
    let second = json(&cli.ok(
        &["user", "list", "--limit", "2", "--after", after, "--json"],
        "",
    ));
    let mut names: Vec<&str> = first
        .iter()
        .chain(second.as_array().unwrap())
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["ann", "bob", "cat"],
        "each account once, over both pages"
    );
    let output = cli.run(&["user", "list", "--limit", "2"], "");
    let hint = String::from_utf8(output.stderr).unwrap();
    assert!(hint.contains(&format!("--after {after}")), "{hint}");
    assert!(cli
        .fails(&["user", "list", "--after", "nonsense"], "")
        .contains("not an account id"));

    // Names and ids may start with a hyphen (key ids are base64url): they are not flags.
    cli.ok(&["user", "add", "-dash"], "a-long-password\n");
    assert!(cli
        .ok(&["user", "show", "-dash"], "")
        .contains("username:      -dash"));

    let error = cli.fails(&["user", "set-role", "bob", "superuser"], "");
    assert!(error.contains("configured: admin, user"), "{error}");

    assert_eq!(cli.ok(&["user", "delete", "bob"], "").trim(), "deleted bob");
    assert!(cli
        .fails(&["user", "show", "bob"], "")
        .contains("not found"));
    assert!(cli
        .fails(&["user", "delete", "bob"], "")
        .contains("not found"));
}

#[test]
fn clients_are_shown_updated_and_get_new_secrets() {
    let cli = Cli::new();
    let first_secret = secret_of(&cli.ok(ADD_REPORTS, ""));
    let second_secret = &secret_of(&cli.ok(&["client", "rotate-secret", "reports"], ""));
    assert_eq!(second_secret.len(), 43);
    assert_ne!(*second_secret, first_secret);

    let updated = cli.ok(
        &[
            "client",
            "update",
            "reports",
            "--scope",
            "data:read,data:write",
            "--grant-type",
            "authorization_code,refresh_token",
            "--redirect-uri",
            "https://reports.example/cb",
            "--can-introspect",
            "true",
        ],
        "",
    );
    assert!(updated.contains("https://reports.example/cb"), "{updated}");
    let shown = json(&cli.ok(&["client", "show", "reports", "--json"], ""));
    assert_eq!(
        shown["scopes"],
        serde_json::json!(["data:read", "data:write"])
    );
    assert_eq!(
        shown["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(shown["can_introspect"], true);
    assert!(shown.get("secret_hash").is_none(), "{shown}");

    let listed = json(&cli.ok(&["client", "list", "--json"], ""));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let table = cli.ok(&["client", "list"], "");
    assert!(
        table.contains("data:read,data:write") && table.contains("https://reports.example/cb"),
        "{table}"
    );
    assert!(!table.contains(second_secret.as_str()));

    // Bad changes are refused whole, and nothing stored changes.
    assert!(cli
        .fails(
            &["client", "update", "reports", "--grant-type", "implicit"],
            ""
        )
        .contains("grant type"));
    assert!(cli
        .fails(&["client", "update", "reports"], "")
        .contains("at least one setting"));
    assert_eq!(
        json(&cli.ok(&["client", "show", "reports", "--json"], "")),
        shown
    );
    assert!(cli
        .fails(&["client", "rotate-secret", "missing"], "")
        .contains("not found"));
    cli.ok(
        &[
            "client",
            "add",
            "--name",
            "Phone",
            "--id",
            "phone",
            "--public",
            "--grant-type",
            "authorization_code",
            "--redirect-uri",
            "com.example.app:/cb",
        ],
        "",
    );
    assert!(cli
        .fails(&["client", "rotate-secret", "phone"], "")
        .contains("no secret"));
}

#[test]
fn keys_are_activated_and_removed_by_id() {
    let cli = Cli {
        keys_dir: temp_dir().keep(),
        ..Cli::new()
    };
    let kid_of = |out: &str| out.split_whitespace().nth(2).unwrap().to_owned();
    let first = kid_of(&cli.ok(&["keys", "generate"], ""));
    let second = kid_of(&cli.ok(&["keys", "generate"], ""));
    let active_line = |cli: &Cli| {
        cli.ok(&["keys", "list"], "")
            .lines()
            .find(|l| l.contains("active"))
            .unwrap()
            .to_owned()
    };
    assert!(active_line(&cli).starts_with(&first));
    assert!(cli
        .fails(&["keys", "remove", &first], "")
        .contains("activate another key first"));

    assert!(cli
        .ok(&["keys", "activate", &second], "")
        .contains("now signs"));
    assert!(active_line(&cli).starts_with(&second));
    assert!(cli
        .ok(&["keys", "remove", &first], "")
        .contains("removed key"));
    let list = cli.ok(&["keys", "list"], "");
    assert!(!list.contains(&first), "{list}");
    assert!(cli
        .fails(&["keys", "activate", "no-such-kid"], "")
        .contains("not found"));
    std::fs::remove_dir_all(&cli.keys_dir).unwrap();
}

#[test]
fn profiles_are_set_at_creation_and_changed_field_by_field() {
    let cli = Cli::new();
    cli.ok(
        &[
            "user",
            "add",
            "ann",
            "--email",
            "Ann@Example.org",
            "--name",
            "Ann Lee",
        ],
        "a-long-password\n",
    );
    let shown = json(&cli.ok(&["user", "show", "ann", "--json"], ""));
    assert_eq!(
        shown["profile"],
        serde_json::json!({ "email": "Ann@Example.org", "email_verified": false, "name": "Ann Lee" })
    );
    cli.ok(
        &[
            "user",
            "set-profile",
            "ann",
            "--email-verified",
            "true",
            "--locale",
            "en_GB",
            "--name",
            "",
        ],
        "",
    );
    let shown = json(&cli.ok(&["user", "show", "ann", "--json"], ""));
    assert_eq!(
        shown["profile"],
        serde_json::json!({ "email": "Ann@Example.org", "email_verified": true, "locale": "en-GB" })
    );
    let text = cli.ok(&["user", "show", "ann"], "");
    assert!(text.contains("email:         Ann@Example.org"), "{text}");
    assert!(text.contains("email verified: true"), "{text}");

    // A bad value is refused before the password is asked for, and a taken address (in
    // another case) is refused too; neither leaves an account or a change behind.
    assert!(cli
        .fails(&["user", "add", "bob", "--email", "bob at example"], "")
        .contains("invalid email"));
    cli.ok(&["user", "add", "bob"], "a-long-password\n");
    assert!(cli
        .fails(
            &["user", "set-profile", "bob", "--email", "ANN@example.org"],
            ""
        )
        .contains("email address already exists"));
    assert!(cli
        .fails(&["user", "set-profile", "bob"], "")
        .contains("empty change"));
    let bob = json(&cli.ok(&["user", "show", "bob", "--json"], ""));
    assert_eq!(
        bob["profile"],
        serde_json::json!({ "email_verified": false })
    );
}
