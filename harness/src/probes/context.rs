//! Everything a probe needs to know about the run: where the hops are, who the users are,
//! and where the agent's evidence is.

use crate::redact::Redactor;
use crate::workspace_client::Credentials;
use mock_agent::state::SharedState;
use mock_agent::trace_id::TracingTable;
use std::time::Duration;

/// A simulated signed-in user, as the Databricks Apps front door presents them.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub email: String,
    /// `x-forwarded-user`.
    pub user_id: String,
    /// A stub OBO token (`x-forwarded-access-token`), unique to this run.
    pub token: String,
}

pub struct ProbeContext {
    pub http: reqwest::Client,
    /// Base URL of the AppKit app under test.
    pub proxy_url: String,
    pub agent_url: String,
    pub workspace_url: String,
    /// The AppKit app's service principal credentials.
    pub sp: Credentials,
    /// Two different users, so a token or email leaking from one to the other shows.
    pub users: [TestUser; 2],
    /// The email probe 4 expects as `source_id` (`EXPECTED_USER_EMAIL`); users[0]'s.
    pub expected_email: Option<String>,
    /// `MLFLOW_TRACING_SQL_WAREHOUSE_ID`.
    pub warehouse_id: Option<String>,
    /// `MLFLOW_TRACING_TABLE` (`<catalog>.<schema>.<prefix>`).
    pub tracing_table: Option<TracingTable>,
    /// The embedded agent and workspace: journal of what the agent received, issued tokens.
    pub mock: SharedState,
    pub redactor: Redactor,
    pub request_timeout: Duration,
    /// How long probe 4 waits for the assessment row to appear.
    pub feedback_wait: Duration,
    /// Unique per run, put in every probe message so the agent's journal can be correlated.
    pub run_id: String,
}

impl ProbeContext {
    /// A message text unique to one probe request.
    pub fn message(&self, probe: &str, who: &str) -> String {
        format!("hopcheck {probe} {who} {}", self.run_id)
    }
}
