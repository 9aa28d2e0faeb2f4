//! The assessments table `<catalog>.<schema>.<prefix>_assessments` in the warehouse: where the
//! mock agent's feedback and MLflow's own `log_feedback` REST calls land, and what probe 4
//! reads back.

use crate::trace_id::TracingTable;
use crate::warehouse::Warehouse;
use rand::Rng;

/// SQLite DDL of the emulated table. `trace_id` is the bare 32-hex OTel id.
pub const ASSESSMENTS_DDL: &str = "assessment_id TEXT PRIMARY KEY, \
     trace_id TEXT NOT NULL, \
     trace_location TEXT, \
     assessment_name TEXT NOT NULL, \
     source_type TEXT NOT NULL, \
     source_id TEXT, \
     value TEXT, \
     rationale TEXT, \
     metadata TEXT, \
     create_time TEXT NOT NULL, \
     last_update_time TEXT NOT NULL";

/// One assessment, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct AssessmentRow {
    pub trace_id: String,
    pub trace_location: Option<String>,
    pub assessment_name: String,
    pub source_type: String,
    pub source_id: Option<String>,
    /// JSON text of `feedback.value` / `expectation.value`.
    pub value: Option<String>,
    pub rationale: Option<String>,
    /// JSON text of the metadata map.
    pub metadata: Option<String>,
    pub create_time: String,
}

/// Writes assessments into the table for one tracing location.
#[derive(Clone)]
pub struct AssessmentStore {
    warehouse: Warehouse,
    table: TracingTable,
}

impl AssessmentStore {
    /// Creates the table if needed.
    pub fn new(warehouse: Warehouse, table: TracingTable) -> rusqlite::Result<Self> {
        warehouse.create_table(&table.assessments_table(), ASSESSMENTS_DDL)?;
        Ok(Self { warehouse, table })
    }

    pub fn table(&self) -> &TracingTable {
        &self.table
    }

    /// Inserts a row and returns its server-assigned id (`a-<32 hex>`).
    pub fn insert(&self, row: &AssessmentRow) -> rusqlite::Result<String> {
        let bytes: [u8; 16] = rand::rng().random();
        let id = format!("a-{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let sql = format!(
            "INSERT INTO \"{}\" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
            self.table.assessments_table()
        );
        self.warehouse.execute_internal(
            &sql,
            &[
                &id,
                &row.trace_id,
                &row.trace_location,
                &row.assessment_name,
                &row.source_type,
                &row.source_id,
                &row.value,
                &row.rationale,
                &row.metadata,
                &row.create_time,
            ],
        )?;
        Ok(id)
    }
}

/// RFC 3339 with milliseconds and `Z`, as MLflow writes timestamps.
pub fn now_rfc3339_millis() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    now.format(&fmt).unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into())
}
