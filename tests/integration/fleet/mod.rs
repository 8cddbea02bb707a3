//! Several instances of the real binary on one database, each a separate process on its own
//! free loopback port, sharing one issuer as instances behind a load balancer do; and a
//! database server of a test's own, to stop and restart. Everything started here is killed
//! when the test ends, however it ends.

mod crash;
mod keys;
mod propagation;
mod rate_limits;
mod user_cache;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{
    free_closed_port, mongodb_uri, portcullis_command, run_with_input, shared_keys_dir,
    unique_database, DatabaseGuard,
};

/// Instances of `portcullis serve` on one database.
pub struct Fleet {
    /// The issuer every instance names in its tokens: the first instance's address.
    pub issuer: String,
    database: String,
    uri: String,
    keys_dir: PathBuf,
    env: Vec<(String, String)>,
    ports: Vec<u16>,
    running: Vec<Option<Child>>,
    logs: PathBuf,
    _guard: DatabaseGuard,
}

impl Fleet {
    /// `instances` instances (none started yet) on a new database of the shared server.
    pub fn new(instances: usize) -> Fleet {
        let database = unique_database();
        let guard = DatabaseGuard {
            name: database.clone(),
        };
        Fleet::build(instances, mongodb_uri(), database, guard)
    }

    /// The same on a database server of the test's own (the test owns its data).
    pub fn on(database: &OwnDatabase, instances: usize) -> Fleet {
        let guard = DatabaseGuard {
            name: String::new(),
        };
        Fleet::build(instances, database.uri(), "fleet".into(), guard)
    }

    fn build(instances: usize, uri: String, database: String, guard: DatabaseGuard) -> Fleet {
        let ports: Vec<u16> = (0..instances).map(|_| free_closed_port()).collect();
        let logs =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fleet-{}", unique_database()));
        std::fs::create_dir_all(&logs).unwrap();
        Fleet {
            issuer: format!("http://127.0.0.1:{}", ports[0]),
            database,
            uri,
            keys_dir: shared_keys_dir().to_path_buf(),
            env: Vec::new(),
            running: (0..instances).map(|_| None).collect(),
            ports,
            logs,
            _guard: guard,
        }
    }

    /// Sets an environment variable (a `PORTCULLIS_*` setting) for every later command.
    pub fn set(&mut self, name: &str, value: &str) {
        self.env.push((name.to_owned(), value.to_owned()));
    }

    /// `portcullis ARGS` against this fleet's database.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = portcullis_command(&self.database, &self.keys_dir, args);
        command
            .env("MONGODB_URI", &self.uri)
            .env("PORTCULLIS_ISSUER", &self.issuer)
            .env("PORTCULLIS_LOG", "warn");
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
    }

    /// The fleet's database, for what a test checks there.
    pub async fn store(&self) -> portcullis::Store {
        portcullis::Store::connect(&self.uri, &self.database, Duration::from_secs(5))
            .await
            .unwrap()
    }

    /// One collection of the fleet's database, as raw documents.
    pub async fn collection(&self, name: &str) -> mongodb::Collection<mongodb::bson::Document> {
        let client = mongodb::Client::with_uri_str(&self.uri).await.unwrap();
        client.database(&self.database).collection(name)
    }

    /// Drops one collection of the fleet's database, as an operator's mistake or a restore
    /// would.
    pub async fn drop_collection(&self, name: &str) {
        self.collection(name).await.drop().await.unwrap();
    }

    /// Adds a user through the command line (`role`: the default one when `None`).
    pub fn add_user(&self, name: &str, password: &str, role: Option<&str>) {
        let mut args = vec!["user", "add", name];
        args.extend(role.iter().flat_map(|role| ["--role", role]));
        let added = run_with_input(self.command(&args), &format!("{password}\n"));
        assert!(added.status.success(), "{added:?}");
    }

    /// Registers a confidential client through the command line; returns its secret.
    pub fn add_client(&self, id: &str, grant_types: &str, scopes: &str) -> String {
        let args = [
            "client",
            "add",
            "--name",
            id,
            "--id",
            id,
            "--grant-type",
            grant_types,
            "--scope",
            scopes,
        ];
        let client = run_with_input(self.command(&args), "");
        assert!(client.status.success(), "{client:?}");
        crate::cli::secret_of(&String::from_utf8(client.stdout).unwrap())
    }

    /// Instance `n`'s answer to a token request by `client` (id, secret).
    pub async fn token(
        &self,
        n: usize,
        client: (&str, &str),
        form: &[(&str, &str)],
    ) -> serde_json::Value {
        reqwest::Client::new()
            .post(format!("{}/oauth/token", self.base(n)))
            .basic_auth(client.0, Some(client.1))
            .form(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// An access token from instance `n` by the password grant.
    pub async fn password_token(
        &self,
        n: usize,
        client: (&str, &str),
        user: (&str, &str),
        scope: &str,
    ) -> String {
        let form = [
            ("grant_type", "password"),
            ("username", user.0),
            ("password", user.1),
            ("scope", scope),
        ];
        let answer = self.token(n, client, &form).await;
        answer["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{answer}"))
            .to_owned()
    }

    /// The status instance `n` answers `GET /api/me` with `token`.
    pub async fn me(&self, n: usize, token: &str) -> u16 {
        reqwest::Client::new()
            .get(format!("{}/api/me", self.base(n)))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Instance `n`'s base address.
    pub fn base(&self, n: usize) -> String {
        format!("http://127.0.0.1:{}", self.ports[n])
    }

    /// Starts instance `n` and waits until it answers `/healthz`.
    pub async fn start(&mut self, n: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.logs.join(format!("instance-{n}.log")))
            .unwrap();
        let child = self
            .command(&["serve"])
            .env("PORTCULLIS_PORT", self.ports[n].to_string())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.running[n] = Some(child);
        let url = format!("{}/healthz", self.base(n));
        let started = Instant::now();
        while reqwest::get(&url).await.is_err() {
            if let Some(status) = self.running[n].as_mut().unwrap().try_wait().unwrap() {
                panic!("instance {n} exited with {status}: {}", self.log_of(n));
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "instance {n} never answered"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills instance `n` at once (`SIGKILL`: nothing is flushed).
    pub fn kill(&mut self, n: usize) {
        if let Some(mut child) = self.running[n].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops instance `n` the way a supervisor does (`SIGTERM`) and waits for it to exit.
    pub fn stop(&mut self, n: usize) {
        if let Some(child) = self.running[n].take() {
            terminate(child);
        }
    }

    /// The CPU time instance `n` has used so far (user and system), from `/proc`.
    pub fn cpu_time(&self, n: usize) -> Duration {
        let pid = self.running[n].as_ref().expect("instance running").id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        // The fields after the command's closing parenthesis; utime and stime are the 12th and
        // 13th of them, in clock ticks (100 a second on Linux).
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_millis(ticks * 10)
    }

    /// What instance `n` wrote to its standard error.
    pub fn log_of(&self, n: usize) -> String {
        std::fs::read_to_string(self.logs.join(format!("instance-{n}.log"))).unwrap_or_default()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for n in 0..self.running.len() {
            self.kill(n);
        }
    }
}

/// Sends `SIGTERM` and waits (killing it after 30 seconds).
fn terminate(mut process: Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(process.id().to_string())
        .status();
    let started = Instant::now();
    while process.try_wait().ok().flatten().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = process.kill();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A database server of the test's own, on a data directory that outlives it.
pub struct OwnDatabase {
    process: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl OwnDatabase {
    pub fn start(dir: &Path, port: u16) -> OwnDatabase {
        let binary = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/secantusd-py");
        let process = Command::new(binary)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--storage-path",
            ])
            .arg(dir)
            .args(["--log-level", "WARNING"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the database server (scripts/test.sh installs it into .venv)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "database did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        OwnDatabase {
            process: Some(process),
            port,
            dir: dir.to_path_buf(),
        }
    }

    /// Stops the server the way an operator or an orchestrator would (SIGTERM), and waits.
    pub fn stop(&mut self) {
        if let Some(process) = self.process.take() {
            terminate(process);
        }
    }

    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}", self.port)
    }

    pub fn restart(&mut self) {
        *self = OwnDatabase::start(&self.dir.clone(), self.port);
    }
}

impl Drop for OwnDatabase {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}
