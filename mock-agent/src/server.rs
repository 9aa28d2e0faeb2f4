//! Starting the two mock listeners (agent, workspace) on loopback and stopping them.

use crate::config::MockConfig;
use crate::journal::{self, ConnectionId, Journal};
use crate::state::{MockState, SharedState};
use crate::{agent, workspace};
use axum::extract::connect_info::Connected;
use axum::middleware;
use axum::serve::IncomingStream;
use axum::Router;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where to listen; port 0 picks a free port.
#[derive(Clone, Debug)]
pub struct Listen {
    pub agent: SocketAddr,
    pub workspace: SocketAddr,
}

impl Default for Listen {
    fn default() -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self { agent: any, workspace: any }
    }
}

/// The running mock agent and workspace. Dropping it stops both.
pub struct MockServers {
    pub state: SharedState,
    agent_addr: SocketAddr,
    workspace_addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl MockServers {
    /// Binds both listeners and starts serving.
    pub async fn start(config: MockConfig, listen: Listen) -> anyhow::Result<Self> {
        let state = MockState::new(config)?;
        let agent_listener = bind(listen.agent, "agent").await?;
        let workspace_listener = bind(listen.workspace, "workspace").await?;
        let agent_addr = agent_listener.local_addr()?;
        let workspace_addr = workspace_listener.local_addr()?;
        let _ = state.agent_url.set(format!("http://{agent_addr}"));
        let _ = state.workspace_url.set(format!("http://{workspace_addr}"));

        let (stop, stopped) = watch::channel(false);
        let journal = state.journal.clone();
        let agent_app = recorder("agent", journal.clone())(agent::router(state.clone()));
        let workspace_app = recorder("workspace", journal)(workspace::router(state.clone()));
        let tracked = |inner, name| TrackedListener { inner, journal: state.journal.clone(), name };
        let tasks = vec![
            tokio::spawn(serve(tracked(agent_listener, "agent"), agent_app, stopped.clone())),
            tokio::spawn(serve(tracked(workspace_listener, "workspace"), workspace_app, stopped)),
        ];
        Ok(Self { state, agent_addr, workspace_addr, stop, tasks })
    }

    pub fn agent_url(&self) -> String {
        format!("http://{}", self.agent_addr)
    }

    pub fn workspace_url(&self) -> String {
        format!("http://{}", self.workspace_addr)
    }

    pub fn journal(&self) -> &Journal {
        &self.state.journal
    }

    /// Checks that the expected requests arrived; the error lists what did, near misses named.
    pub fn verify(&self, expectation: &crate::verify::Expectation) -> Result<(), crate::verify::VerifyError> {
        expectation.verify(&self.state.journal)
    }

    /// Tells the Apps API where the AppKit app under test answers.
    pub fn set_appkit_url(&self, url: &str) {
        *self.state.appkit_url.lock().expect("appkit url lock") = Some(url.to_string());
    }

    /// Stops accepting, lets open responses finish for up to 2 s, then drops them (a `hang`
    /// scenario must not keep a stopped mock alive).
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let tasks: Vec<_> = self.tasks.drain(..).collect();
        let aborts: Vec<_> = tasks.iter().map(|t| t.abort_handle()).collect();
        if tokio::time::timeout(std::time::Duration::from_secs(2), futures_util::future::join_all(tasks)).await.is_err()
        {
            aborts.iter().for_each(|a| a.abort());
        }
    }
}

impl Drop for MockServers {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Journals every request; handlers may read bodies up to the journal's own limit (axum's
/// default of 2 MiB would refuse bodies the real server takes).
fn recorder(listener: &'static str, journal: Journal) -> impl Fn(Router) -> Router {
    move |router: Router| {
        router
            .layer(axum::extract::DefaultBodyLimit::max(journal::MAX_BODY_BYTES))
            .layer(middleware::from_fn_with_state((listener, journal.clone()), journal::record))
    }
}

async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("cannot listen for the mock {what} on {addr}: {e}"))
}

async fn serve(listener: TrackedListener, app: axum::Router, mut stopped: watch::Receiver<bool>) {
    let shutdown = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    let service = app.into_make_service_with_connect_info::<ConnectionId>();
    if let Err(e) = axum::serve(listener, service).with_graceful_shutdown(shutdown).await {
        tracing::error!("mock listener stopped: {e}");
    }
}

/// Accepts connections, sets TCP_NODELAY (each planned SSE write leaves as its own segment)
/// and journals when each connection opens and closes.
struct TrackedListener {
    inner: TcpListener,
    journal: Journal,
    name: &'static str,
}

impl axum::serve::Listener for TrackedListener {
    type Io = TrackedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let id = self.journal.connection_opened(self.name, peer.to_string());
                    return (TrackedStream { inner: stream, id, journal: self.journal.clone() }, peer);
                }
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

struct TrackedStream {
    inner: tokio::net::TcpStream,
    id: u64,
    journal: Journal,
}

impl Drop for TrackedStream {
    fn drop(&mut self) {
        if self.journal.take_reset(self.id) {
            // Closing with a zero linger sends RST instead of FIN.
            let _ = self.inner.set_zero_linger();
        }
        self.journal.connection_closed(self.id);
    }
}

impl AsyncRead for TrackedStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Connected<IncomingStream<'_, TrackedListener>> for ConnectionId {
    fn connect_info(stream: IncomingStream<'_, TrackedListener>) -> Self {
        ConnectionId(stream.io().id)
    }
}
