//! A `switchboard-conductor --listen` process: started, its `listening on` line awaited, its
//! stderr kept; and the `acp_client` example run against it.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use super::{build_examples, conductor_binary, guard};

/// A conductor serving chains over the network.
pub(crate) struct Listening {
    /// Killed if the test ends first.
    pub(crate) child: Child,
    /// The endpoint, as the conductor announced it: `http://127.0.0.1:PORT/acp`.
    pub(crate) url: String,
    /// Everything it wrote to stderr so far.
    stderr: Arc<Mutex<String>>,
}

impl Listening {
    /// Starts `switchboard-conductor` with `args` (`--listen 127.0.0.1:0` is added first) and
    /// returns once it says where it listens.
    pub(crate) async fn start(args: &[&str]) -> Listening {
        let mut command = Command::new(conductor_binary());
        command
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("starting switchboard-conductor");
        let pipe = child.stderr.take().expect("its stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (announced, url) = oneshot::channel();
        let kept = Arc::clone(&stderr);
        // Read to the end, so that the conductor never waits on a full pipe.
        tokio::spawn(async move {
            let mut announced = Some(announced);
            let mut lines = BufReader::new(pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("listening on ")
                    && let Some(announced) = announced.take()
                {
                    let _ = announced.send(url.to_owned());
                }
                let mut kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
                kept.push_str(&line);
                kept.push('\n');
            }
        });
        let url = match guard("the `listening on` line", url).await {
            Ok(url) => url,
            Err(_) => {
                let status = child.wait().await;
                let stderr = stderr.lock().unwrap_or_else(PoisonError::into_inner);
                panic!("the conductor never listened ({status:?}):\n{stderr}");
            }
        };
        Listening { child, url, stderr }
    }

    /// The conductor's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id().expect("the conductor is running")
    }

    /// The endpoint's URL with the `ws://` scheme.
    pub(crate) fn ws_url(&self) -> String {
        self.url.replacen("http://", "ws://", 1)
    }

    pub(crate) fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits for the conductor to exit.
    pub(crate) async fn exit(&mut self) -> ExitStatus {
        guard("the conductor's exit", self.child.wait())
            .await
            .expect("waiting for the conductor")
    }
}

/// The `acp_client` and `acp_echo_agent` examples, built once per test binary.
pub(crate) fn client_programs() -> &'static (PathBuf, PathBuf) {
    static PROGRAMS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    PROGRAMS.get_or_init(|| {
        let built = build_examples(
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")),
            &["acp_client", "acp_echo_agent"],
        );
        let [client, agent] = <[PathBuf; 2]>::try_from(built).expect("two binaries");
        (client, agent)
    })
}

/// What a finished `acp_client` did.
#[derive(Debug)]
pub(crate) struct ClientRun {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `acp_client` with `args` to its end.
pub(crate) async fn acp_client(args: &[&str]) -> ClientRun {
    let (client, _) = client_programs();
    let output = Command::new(client)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = guard("acp_client", output)
        .await
        .expect("running acp_client");
    ClientRun {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
