//! A proxy under test started from a shell command: its own process group, its output kept
//! (last lines) for error messages, bounded waiting, and always stopped.

use crate::redact::Redactor;
use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

/// How many of the proxy's last output lines are kept for error messages.
const KEPT_LINES: usize = 40;

/// A started proxy command.
pub struct ProxyProcess {
    child: Child,
    pgid: Option<i32>,
    output: Arc<Mutex<VecDeque<String>>>,
    pub port: u16,
    command: String,
}

/// Why the proxy could not be brought up.
#[derive(Debug)]
pub struct StartError {
    pub message: String,
    pub last_output: Vec<String>,
}

impl ProxyProcess {
    /// Runs `sh -c command` with `env`, then waits until `127.0.0.1:port` accepts connections.
    pub async fn start(
        command: &str,
        env: &[(String, String)],
        port: u16,
        ready_timeout: Duration,
        redactor: &Redactor,
    ) -> Result<Self, StartError> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        #[cfg(unix)]
        cmd.process_group(0);
        let mut child = cmd.spawn().map_err(|e| StartError {
            message: format!("cannot run the proxy command `{command}`: {e}"),
            last_output: vec![],
        })?;
        let pgid = child.id().map(|id| id as i32);
        let output = Arc::new(Mutex::new(VecDeque::with_capacity(KEPT_LINES)));
        if let Some(out) = child.stdout.take() {
            tokio::spawn(keep_lines(out, "out", output.clone(), redactor.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(keep_lines(err, "err", output.clone(), redactor.clone()));
        }
        let mut proc = Self { child, pgid, output, port, command: command.to_string() };
        proc.wait_until_listening(ready_timeout).await?;
        Ok(proc)
    }

    async fn wait_until_listening(&mut self, timeout: Duration) -> Result<(), StartError> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Give the output readers a moment to drain what it printed last.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Err(self.error(format!(
                    "the proxy command `{}` exited ({status}) before listening on 127.0.0.1:{}",
                    self.command, self.port
                )));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return Ok(());
            }
            if started.elapsed() >= timeout {
                return Err(self.error(format!(
                    "the proxy command `{}` did not listen on 127.0.0.1:{} (DATABRICKS_APP_PORT / PORT) within {}s",
                    self.command,
                    self.port,
                    timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn error(&self, message: String) -> StartError {
        StartError { message, last_output: self.last_output() }
    }

    pub fn last_output(&self) -> Vec<String> {
        self.output.lock().expect("output lock").iter().cloned().collect()
    }

    /// SIGTERM to the whole group, up to 3 s to exit, then SIGKILL.
    pub async fn stop(mut self) {
        self.signal(libc::SIGTERM);
        if tokio::time::timeout(Duration::from_secs(3), self.child.wait()).await.is_err() {
            self.signal(libc::SIGKILL);
            let _ = self.child.wait().await;
        }
        // Children the command left behind in its group.
        self.signal(libc::SIGKILL);
        self.pgid = None;
    }

    fn signal(&self, sig: i32) {
        if let Some(pgid) = self.pgid {
            // SAFETY: killpg only sends a signal; a stale group id fails with ESRCH.
            unsafe {
                libc::killpg(pgid, sig);
            }
        }
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        self.signal(libc::SIGKILL);
    }
}

/// Keeps the last lines of one output stream; a line longer than 4 KiB is cut there, so a
/// proxy printing without newlines cannot grow memory.
async fn keep_lines(stream: impl AsyncRead + Unpin, tag: &str, into: Arc<Mutex<VecDeque<String>>>, redactor: Redactor) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut raw = Vec::new();
        let mut limited = (&mut reader).take(4096);
        match limited.read_until(b'\n', &mut raw).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&raw);
        let line: String = text.trim_end_matches(['\n', '\r']).chars().take(500).collect();
        let line = format!("{tag}| {line}");
        let mut buf = into.lock().expect("output lock");
        if buf.len() == KEPT_LINES {
            buf.pop_front();
        }
        buf.push_back(redactor.redact(&line));
    }
}

/// A free loopback port (bound, then released for the proxy to take).
pub fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(l.local_addr()?.port())
}
