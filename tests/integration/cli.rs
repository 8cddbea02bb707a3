//! The `portcullis` binary: management commands against a real database, and one-line errors
//! for bad input, bad configuration, bad keys and an unreachable database.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::common::{
    free_closed_port, portcullis_command, run_with_input, shared_keys_dir, temp_dir,
    unique_database, DatabaseGuard, Running,
};

/// Registers the confidential client `reports` for the client-credentials grant.
pub const ADD_REPORTS: &[&str] = &[
    "client",
    "add",
    "--name",
    "Reports",
    "--id",
    "reports",
    "--grant-type",
    "client_credentials",
    "--scope",
    "data:read",
];

/// The secret a `client add` or `client rotate-secret` printed.
pub fn secret_of(output: &str) -> String {
    output
        .lines()
        .find_map(|line| line.strip_prefix("client_secret: "))
        .unwrap_or_else(|| panic!("no secret in {output}"))
        .to_owned()
}

/// The binary with a clean environment pointing at one test database.
pub struct Cli {
    pub database: String,
    pub keys_dir: std::path::PathBuf,
    pub _db: DatabaseGuard,
}

impl Cli {
    pub fn new() -> Cli {
        let database = unique_database();
        Cli {
            _db: DatabaseGuard {
                name: database.clone(),
            },
            database,
            keys_dir: shared_keys_dir().to_path_buf(),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        portcullis_command(&self.database, &self.keys_dir, args)
    }

    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        run_with_input(self.command(args), stdin)
    }

    pub fn ok(&self, args: &[&str], stdin: &str) -> String {
        let output = self.run(args, stdin);
        assert!(
            output.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs a command that must fail, and returns its single error line.
    pub fn fails(&self, args: &[&str], stdin: &str) -> String {
        let output = self.run(args, stdin);
        assert!(!output.status.success(), "{args:?} should have failed");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "one line expected: {stderr:?}"
        );
        assert!(stderr.starts_with("error"), "{stderr:?}");
        assert!(!stderr.contains("panicked"), "{stderr:?}");
        stderr
    }
}

#[test]
fn user_commands_manage_accounts() {
    let cli = Cli::new();
    let out = cli.ok(
        &["user", "add", "erin", "--role", "admin"],
        "a long password\n",
    );
    assert!(out.contains("created user erin"), "{out}");
    let list = cli.ok(&["user", "list"], "");
    let row = list
        .lines()
        .find(|l| l.contains("erin"))
        .expect("erin listed");
    assert!(row.contains("admin") && row.contains("active"), "{row}");

    assert!(cli
        .fails(&["user", "add", "ERIN"], "a long password\n")
        .contains("already exists"));
    assert!(cli
        .fails(&["user", "add", "frank"], "short\n")
        .contains("at least 8"));
    assert!(cli
        .fails(&["user", "add", "frank"], "")
        .contains("password"));
    assert!(cli
        .fails(&["user", "add", "bad name"], "a long password\n")
        .contains("username"));
    assert!(cli
        .fails(&["user", "set-role", "erin", "emperor"], "")
        .contains("role"));
    assert!(cli
        .fails(&["user", "disable", "nobody"], "")
        .contains("not found"));

    // erin is the only administrator: she cannot be demoted until there is another.
    let refused = cli.fails(&["user", "set-role", "erin", "user"], "");
    assert!(
        refused.contains("no other enabled administrator"),
        "{refused}"
    );
    cli.ok(
        &["user", "add", "frank", "--role", "admin"],
        "a long password\n",
    );
    cli.ok(&["user", "set-role", "erin", "user"], "");
    cli.ok(&["user", "disable", "erin"], "");
    let row = cli.ok(&["user", "list"], "");
    assert!(
        row.lines()
            .any(|l| l.contains("erin") && l.contains("user") && l.contains("disabled")),
        "{row}"
    );
    cli.ok(&["user", "enable", "erin"], "");
    cli.ok(&["user", "set-password", "erin"], "another long password\n");
}

#[test]
fn client_commands_print_the_secret_once() {
    let cli = Cli::new();
    let out = cli.ok(ADD_REPORTS, "");
    assert!(out.contains("client_id: reports"), "{out}");
    let secret = &secret_of(&out);
    assert_eq!(secret.len(), 43);

    let list = cli.ok(&["client", "list"], "");
    assert!(
        list.contains("reports") && list.contains("confidential"),
        "{list}"
    );
    assert!(!list.contains(secret), "the secret is never shown again");

    let public = cli.ok(
        &[
            "client",
            "add",
            "--name",
            "Phone app",
            "--public",
            "--grant-type",
            "authorization_code,refresh_token",
            "--redirect-uri",
            "com.example.app:/callback",
        ],
        "",
    );
    assert!(!public.contains("client_secret"), "{public}");

    assert!(cli
        .fails(
            &["client", "add", "--name", "X", "--grant-type", "implicit"],
            ""
        )
        .contains("grant type"));
    assert!(cli
        .fails(&["client", "add", "--name", "X"], "")
        .contains("grant-type"));
    assert!(cli
        .fails(
            &[
                "client",
                "add",
                "--name",
                "X",
                "--id",
                "reports",
                "--grant-type",
                "password"
            ],
            ""
        )
        .contains("already exists"));
    cli.ok(&["client", "remove", "reports"], "");
    assert!(cli
        .fails(&["client", "remove", "reports"], "")
        .contains("not found"));
}

#[test]
fn keys_commands_generate_list_and_rotate() {
    let cli = Cli {
        keys_dir: temp_dir().keep(),
        ..Cli::new()
    };
    assert!(cli.fails(&["keys", "list"], "").contains("no signing key"));
    let out = cli.ok(&["keys", "generate"], "");
    assert!(out.contains("(active)"), "{out}");
    let out = cli.ok(&["keys", "rotate"], "");
    assert!(out.contains("now signs"), "{out}");
    let list = cli.ok(&["keys", "list"], "");
    assert_eq!(
        list.lines().filter(|l| l.contains("active")).count(),
        1,
        "{list}"
    );
    assert_eq!(
        list.lines().filter(|l| l.contains("verify")).count(),
        1,
        "{list}"
    );
    std::fs::remove_dir_all(&cli.keys_dir).unwrap();
}

#[test]
fn bad_configuration_is_one_line_naming_the_key() {
    let cli = Cli::new();
    let mut command = cli.command(&["user", "list"]);
    let output = command.env("PORTCULLIS_BOGUS_KEY", "1").output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success());
    assert!(stderr.contains("bogus_key"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");

    let dir = temp_dir();
    let file = dir.path().join("Portcullis.toml");
    std::fs::write(&file, "access_token_ttl_secs = -5\n").unwrap();
    let output = cli
        .command(&["--config", file.to_str().unwrap(), "user", "list"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success());
    assert!(stderr.contains("access_token_ttl_secs"), "{stderr}");
}

#[test]
fn an_unreachable_database_is_one_line() {
    let cli = Cli::new();
    let port = free_closed_port();
    let output = cli
        .command(&["user", "list"])
        .env(
            "MONGODB_URI",
            format!("mongodb://user:pw@127.0.0.1:{port}/?retryWrites=true"),
        )
        .env("PORTCULLIS_DATABASE_TIMEOUT_MS", "300")
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success());
    // Where it looked, how long it waited, what to do; not the driver's topology dump.
    let expected = format!(
        "error: database unavailable: cannot reach MongoDB at mongodb://127.0.0.1:{port} within 0.3 s"
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert!(
        stderr
            .trim_end()
            .ends_with("is it running? set MONGODB_URI"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Topology") && !stderr.contains("user:pw"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[test]
fn serve_refuses_bad_keys_and_unreachable_databases() {
    let cli = Cli {
        keys_dir: temp_dir().keep(),
        ..Cli::new()
    };
    let error = cli.fails(&["serve"], "");
    assert!(error.contains("no signing key"), "{error}");
    std::fs::write(cli.keys_dir.join("bad.pem"), "garbage").unwrap();
    assert!(cli.fails(&["serve"], "").contains("not a PEM file"));
    std::fs::remove_dir_all(&cli.keys_dir).unwrap();

    let cli = Cli::new();
    let output = cli
        .command(&["serve"])
        .env(
            "MONGODB_URI",
            format!("mongodb://127.0.0.1:{}", free_closed_port()),
        )
        .env("PORTCULLIS_DATABASE_TIMEOUT_MS", "300")
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success());
    assert!(stderr.contains("cannot reach MongoDB"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn usage_errors_are_one_line_and_a_bare_group_shows_its_usage() {
    let cli = Cli::new();
    let output = cli.command(&["user", "frobnicate"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");

    for (args, subcommand) in [
        (&[][..], "serve"),
        (&["user"][..], "set-password"),
        (&["client"][..], "rotate-secret"),
        (&["keys"][..], "activate"),
    ] {
        let output = cli.command(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let usage = String::from_utf8(output.stderr).unwrap();
        assert!(
            usage.contains("Usage:") && usage.contains(subcommand),
            "{usage}"
        );
        assert!(usage.contains("MONGODB_URI"), "{usage}");
    }
    let help = String::from_utf8(cli.command(&["--help"]).output().unwrap().stdout).unwrap();
    assert!(
        help.contains("--config") && help.contains("MONGODB_URI"),
        "{help}"
    );
}

/// Sends one plain HTTP/1.1 GET and returns the whole answer.
fn http_get(port: u16, path: &str, extra_header: &str) -> std::io::Result<String> {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra_header}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

#[test]
fn json_logs_carry_each_request_with_its_id() {
    let cli = Cli::new();
    let port = free_closed_port();
    let child = cli
        .command(&["serve"])
        .env("PORTCULLIS_PORT", port.to_string())
        .env("PORTCULLIS_ISSUER", format!("http://127.0.0.1:{port}"))
        .env("PORTCULLIS_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Running(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let answer = loop {
        match http_get(port, "/healthz", "X-Request-Id: trace-42") {
            Ok(answer) => break answer,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(100))
            }
            Err(error) => panic!("the server did not start: {error}"),
        }
    };
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-request-id: trace-42"),
        "{answer}"
    );

    let _ = server.0.kill();
    let _ = server.0.wait();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut server.0.stderr.take().unwrap(), &mut stderr).unwrap();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let logged = lines
        .iter()
        .find(|line| line["request_id"] == "trace-42")
        .unwrap_or_else(|| panic!("no line for the request in {stderr}"));
    assert_eq!(logged["status"], 200);
    assert_eq!(logged["path"], "/healthz");
    assert_eq!(logged["target"], "portcullis::http");
}
