//! What the mock workspace and agent are: principals, apps, warehouse, tracing location.

use crate::agent::Scenario;
use crate::trace_id::{TraceForm, TracingTable};

/// A service principal the workspace emulator can issue OAuth tokens to.
#[derive(Clone, Debug)]
pub struct ServicePrincipal {
    /// SCIM id (numeric string), as `GET /scim/v2/Me` reports it.
    pub scim_id: String,
    /// The OAuth client id: a UUID, also the SP's `userName` and what an agent that ignores
    /// `x-app-user-email` records as the feedback `source_id`.
    pub application_id: String,
    pub display_name: String,
    pub client_secret: String,
    /// Whether this principal has CAN_USE on the agent app (else the agent answers 403).
    pub can_use_agent_app: bool,
}

/// How the mock agent forms trace ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TraceIdForm {
    /// `tr-<32 hex>` (experiment store).
    Experiment,
    /// `trace:/<catalog>.<schema>.<prefix>/<32 hex>` (Unity Catalog table prefix).
    #[default]
    UcTablePrefix,
}

/// Everything the mock servers are configured with.
#[derive(Clone, Debug)]
pub struct MockConfig {
    pub workspace_id: String,
    pub agent_app_name: String,
    pub appkit_app_name: String,
    /// The first principal is the AppKit app's service principal.
    pub principals: Vec<ServicePrincipal>,
    pub warehouse_id: String,
    pub tracing_table: TracingTable,
    pub trace_id_form: TraceIdForm,
    /// When false the agent accepts requests without a bearer, like the bare MLflow server.
    pub agent_auth: bool,
    pub token_ttl_secs: u64,
    /// How the agent behaves until `POST /_mock/scenario` changes it.
    pub scenario: Scenario,
}

/// Client id of the default AppKit service principal.
pub const DEFAULT_APPKIT_SP_CLIENT_ID: &str = "7b3c2a1e-0d4f-4e8a-9b6c-5d2e1f0a3b4c";
/// Client secret of the default AppKit service principal: a fixed, public value, only ever
/// accepted by the loopback emulator.
pub const DEFAULT_APPKIT_SP_CLIENT_SECRET: &str = "hopcheck-local-dev-secret";
/// A second principal with no CAN_USE on the agent app (for 403 checks).
pub const OUTSIDER_SP_CLIENT_ID: &str = "0e1d2c3b-4a59-4867-8f90-a1b2c3d4e5f6";
pub const OUTSIDER_SP_CLIENT_SECRET: &str = "hopcheck-outsider-secret";

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            workspace_id: "1234567890123456".into(),
            agent_app_name: "hopcheck-agent".into(),
            appkit_app_name: "hopcheck-appkit".into(),
            principals: vec![
                ServicePrincipal {
                    scim_id: "4126327940977409".into(),
                    application_id: DEFAULT_APPKIT_SP_CLIENT_ID.into(),
                    display_name: "app-hopcheck hopcheck-appkit".into(),
                    client_secret: DEFAULT_APPKIT_SP_CLIENT_SECRET.into(),
                    can_use_agent_app: true,
                },
                ServicePrincipal {
                    scim_id: "5126327940977410".into(),
                    application_id: OUTSIDER_SP_CLIENT_ID.into(),
                    display_name: "outsider".into(),
                    client_secret: OUTSIDER_SP_CLIENT_SECRET.into(),
                    can_use_agent_app: false,
                },
            ],
            warehouse_id: "d0c5a11ce0000001".into(),
            tracing_table: TracingTable::parse("main.agents.hopcheck").expect("valid default"),
            trace_id_form: TraceIdForm::default(),
            agent_auth: true,
            token_ttl_secs: 3600,
            scenario: Scenario::default(),
        }
    }
}

impl MockConfig {
    /// The AppKit app's service principal.
    pub fn appkit_sp(&self) -> &ServicePrincipal {
        &self.principals[0]
    }

    pub fn trace_form(&self) -> TraceForm {
        match self.trace_id_form {
            TraceIdForm::Experiment => TraceForm::Experiment,
            TraceIdForm::UcTablePrefix => TraceForm::UcTablePrefix(self.tracing_table.clone()),
        }
    }
}
