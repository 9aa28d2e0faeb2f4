//! The state both mock listeners share: one workspace, one agent, one journal.

use crate::agent::scenario::ScenarioStore;
use crate::assessments::AssessmentStore;
use crate::config::MockConfig;
use crate::identity::Identity;
use crate::journal::Journal;
use crate::warehouse::Warehouse;
use crate::workspace::statements::StatementStore;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub struct MockState {
    pub config: MockConfig,
    pub identity: Identity,
    pub warehouse: Warehouse,
    pub assessments: AssessmentStore,
    pub statements: StatementStore,
    pub journal: Journal,
    pub scenarios: ScenarioStore,
    /// At most this many huge-event responses are built or sent at once.
    pub huge_events: Arc<tokio::sync::Semaphore>,
    pub agent_url: OnceLock<String>,
    pub workspace_url: OnceLock<String>,
    /// The AppKit app's URL, once a proxy under test is known (reported by the Apps API).
    pub appkit_url: Mutex<Option<String>>,
}

pub type SharedState = Arc<MockState>;

impl MockState {
    pub fn new(config: MockConfig) -> anyhow::Result<SharedState> {
        let warehouse = Warehouse::new();
        let assessments = AssessmentStore::new(warehouse.clone(), config.tracing_table.clone())?;
        Ok(Arc::new(Self {
            identity: Identity::new(config.principals.clone(), Duration::from_secs(config.token_ttl_secs)),
            warehouse,
            assessments,
            statements: StatementStore::default(),
            journal: Journal::new(),
            scenarios: ScenarioStore::new(config.scenario.clone()),
            huge_events: Arc::new(tokio::sync::Semaphore::new(2)),
            agent_url: OnceLock::new(),
            workspace_url: OnceLock::new(),
            appkit_url: Mutex::new(None),
            config,
        }))
    }
}
