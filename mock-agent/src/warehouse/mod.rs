//! The SQL warehouse: a real embedded SQLite engine that holds the Unity Catalog tables the
//! emulated workspace exposes, executing statements with named `:param` markers.

mod rewrite;

pub use rewrite::rewrite_table_names;

use rusqlite::types::{Value, ValueRef};
use rusqlite::Connection;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Databricks' INLINE result limit (26214400 bytes); also bounds the emulator's memory.
const INLINE_BYTE_LIMIT: usize = 25 * 1024 * 1024;

/// A statement is interrupted after this long, so a hostile query cannot hang the mock.
const STATEMENT_TIME_LIMIT: Duration = Duration::from_secs(5);

/// One `{name, value?, type?}` of the Statement Execution API.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct StatementParameter {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default, rename = "type")]
    pub type_name: Option<String>,
}

/// A column of a result, in Statement Execution API terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub type_name: &'static str,
    pub type_text: &'static str,
}

/// Rows as the API's JSON_ARRAY format carries them: every value as a string, NULL as None.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultSet {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Option<String>>>,
    pub truncated: bool,
}

/// A failed statement, with the Databricks error class in the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlError {
    pub error_code: &'static str,
    pub message: String,
}

impl SqlError {
    fn with_time_limit(mut self, limit: Duration) -> Self {
        self.message = self.message.replace("{limit}", &format!("{limit:?}"));
        self
    }

    fn bad_request(message: String) -> Self {
        Self { error_code: "BAD_REQUEST", message }
    }
}

/// A request to run one statement.
pub struct Statement<'a> {
    pub sql: &'a str,
    pub parameters: &'a [StatementParameter],
    pub catalog: Option<&'a str>,
    pub schema: Option<&'a str>,
    pub row_limit: Option<usize>,
}

/// Shared handle to the engine.
#[derive(Clone)]
pub struct Warehouse {
    inner: Arc<Mutex<Engine>>,
    time_limit: Duration,
}

struct Engine {
    conn: Connection,
    /// Lower-cased UC name → SQLite table name.
    tables: HashMap<String, String>,
}

impl Warehouse {
    pub fn new() -> Self {
        let conn = Connection::open_in_memory().expect("an in-memory SQLite database always opens");
        Self { inner: Arc::new(Mutex::new(Engine { conn, tables: HashMap::new() })), time_limit: STATEMENT_TIME_LIMIT }
    }

    /// The same warehouse with a different per-statement time limit.
    pub fn with_statement_time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = limit;
        self
    }

    /// Creates a table under its Unity Catalog name. `columns_ddl` is SQLite column DDL.
    pub fn create_table(&self, uc_name: &str, columns_ddl: &str) -> rusqlite::Result<()> {
        let mut engine = self.inner.lock().expect("warehouse lock");
        let quoted = format!("\"{}\"", uc_name.replace('"', "\"\""));
        engine.conn.execute_batch(&format!("CREATE TABLE IF NOT EXISTS {quoted} ({columns_ddl});"))?;
        engine.tables.insert(uc_name.to_ascii_lowercase(), uc_name.to_string());
        Ok(())
    }

    /// Runs a write with positional parameters against a known table (for the mock's own use).
    pub fn execute_internal(&self, sql: &str, params: &[&dyn rusqlite::ToSql]) -> rusqlite::Result<usize> {
        let engine = self.inner.lock().expect("warehouse lock");
        engine.conn.execute(sql, params)
    }

    /// Runs a statement the way a SQL warehouse would, returning rows or a Databricks-style
    /// error. Blocking: call from `spawn_blocking`.
    pub fn run(&self, stmt: &Statement<'_>) -> Result<ResultSet, SqlError> {
        let engine = self.inner.lock().expect("warehouse lock");
        let sql = rewrite_table_names(stmt.sql, &engine.tables, stmt.catalog, stmt.schema);
        let started = Instant::now();
        let limit = self.time_limit;
        engine.conn.progress_handler(10_000, Some(move || started.elapsed() > limit));
        let result = run_on(&engine.conn, &sql, stmt).map_err(|e| e.with_time_limit(limit));
        engine.conn.progress_handler(0, None::<fn() -> bool>);
        result
    }
}

impl Default for Warehouse {
    fn default() -> Self {
        Self::new()
    }
}

fn run_on(conn: &Connection, sql: &str, stmt: &Statement<'_>) -> Result<ResultSet, SqlError> {
    let mut prepared = conn.prepare(sql).map_err(|e| classify(&e))?;
    let by_name: HashMap<String, &StatementParameter> =
        stmt.parameters.iter().map(|p| (p.name.to_ascii_lowercase(), p)).collect();
    for index in 1..=prepared.parameter_count() {
        let marker = prepared.parameter_name(index).unwrap_or("?").to_string();
        let Some(name) = marker.strip_prefix(':') else {
            return Err(SqlError::bad_request(format!(
                "[UNSUPPORTED_FEATURE.PARAMETER_MARKER] Positional or non-':name' parameter marker {marker:?}: the Statement Execution API only supports named :param markers."
            )));
        };
        let Some(param) = by_name.get(&name.to_ascii_lowercase()) else {
            return Err(SqlError::bad_request(format!(
                "[UNBOUND_SQL_PARAMETER] Found the unbound parameter: {name}. Please, fix `args` and provide a mapping of the parameter to a SQL literal."
            )));
        };
        let value = typed_value(param)?;
        prepared.raw_bind_parameter(index, value).map_err(|e| classify(&e))?;
    }
    let declared: Vec<Option<String>> =
        prepared.columns().iter().map(|c| c.decl_type().map(str::to_ascii_uppercase)).collect();
    let names: Vec<String> = prepared.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows_out = Vec::new();
    let mut first_values: Vec<Option<&'static str>> = vec![None; names.len()];
    let mut truncated = false;
    let mut result_bytes = 0usize;
    let mut rows = prepared.raw_query();
    while let Some(row) = rows.next().map_err(|e| classify(&e))? {
        if stmt.row_limit.is_some_and(|limit| rows_out.len() >= limit) {
            truncated = true;
            break;
        }
        let mut values = Vec::with_capacity(names.len());
        for (i, first) in first_values.iter_mut().enumerate() {
            let v = row.get_ref(i).map_err(|e| classify(&e))?;
            if first.is_none() {
                *first = inferred_type(v);
            }
            let rendered = render(v);
            result_bytes += rendered.as_ref().map_or(4, String::len) + 3;
            values.push(rendered);
        }
        if result_bytes > INLINE_BYTE_LIMIT {
            return Err(SqlError::bad_request(format!(
                "Inline byte limit exceeded. Statements executed with disposition=INLINE can have a result size of at most {INLINE_BYTE_LIMIT} bytes. Please execute the statement with disposition=EXTERNAL_LINKS if you want to download the full result."
            )));
        }
        rows_out.push(values);
    }
    let columns = names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let (type_name, type_text) =
                declared[i].as_deref().and_then(declared_type).unwrap_or_else(|| value_type(first_values[i]));
            Column { name, type_name, type_text }
        })
        .collect();
    Ok(ResultSet { columns, rows: rows_out, truncated })
}

/// Binds a parameter by its declared type, as the API casts the string value.
fn typed_value(p: &StatementParameter) -> Result<Value, SqlError> {
    let Some(raw) = p.value.as_deref() else {
        return Ok(Value::Null);
    };
    let ty = p.type_name.as_deref().unwrap_or("STRING").to_ascii_uppercase();
    let cast_error = || {
        SqlError::bad_request(format!(
            "[INVALID_PARAMETER_VALUE] Parameter {} value {raw:?} cannot be cast to {ty}.",
            p.name
        ))
    };
    Ok(match ty.as_str() {
        "VOID" => Value::Null,
        "INT" | "INTEGER" | "BIGINT" | "LONG" | "SMALLINT" | "SHORT" | "TINYINT" | "BYTE" => {
            Value::Integer(raw.trim().parse().map_err(|_| cast_error())?)
        }
        "DOUBLE" | "FLOAT" | "REAL" => Value::Real(raw.trim().parse().map_err(|_| cast_error())?),
        t if t.starts_with("DECIMAL") => Value::Real(raw.trim().parse().map_err(|_| cast_error())?),
        "BOOLEAN" => match raw.trim().to_ascii_lowercase().as_str() {
            "true" => Value::Integer(1),
            "false" => Value::Integer(0),
            _ => return Err(cast_error()),
        },
        _ => Value::Text(raw.to_string()),
    })
}

fn render(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Some(b.iter().map(|x| format!("{x:02x}")).collect()),
    }
}

fn inferred_type(v: ValueRef<'_>) -> Option<&'static str> {
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(_) => Some("INT"),
        ValueRef::Real(_) => Some("DOUBLE"),
        ValueRef::Text(_) => Some("STRING"),
        ValueRef::Blob(_) => Some("BINARY"),
    }
}

fn declared_type(decl: &str) -> Option<(&'static str, &'static str)> {
    Some(match decl {
        "BIGINT" | "LONG" => ("LONG", "BIGINT"),
        d if d.contains("INT") => ("INT", "INT"),
        d if d.contains("CHAR") || d.contains("TEXT") || d.contains("STRING") => ("STRING", "STRING"),
        d if d.contains("REAL") || d.contains("DOUBLE") || d.contains("FLOA") => ("DOUBLE", "DOUBLE"),
        "BOOLEAN" => ("BOOLEAN", "BOOLEAN"),
        "TIMESTAMP" => ("TIMESTAMP", "TIMESTAMP"),
        _ => return None,
    })
}

fn value_type(first: Option<&'static str>) -> (&'static str, &'static str) {
    match first.unwrap_or("STRING") {
        "INT" => ("INT", "INT"),
        "DOUBLE" => ("DOUBLE", "DOUBLE"),
        "BINARY" => ("BINARY", "BINARY"),
        _ => ("STRING", "STRING"),
    }
}

/// SQLite's error text, tagged with the Databricks error class a user would see.
fn classify(e: &rusqlite::Error) -> SqlError {
    let text = e.to_string();
    let class = if text.contains("no such table") {
        "TABLE_OR_VIEW_NOT_FOUND"
    } else if text.contains("no such column") {
        "UNRESOLVED_COLUMN"
    } else if text.contains("syntax error") || text.contains("incomplete input") {
        "PARSE_SYNTAX_ERROR"
    } else if text.contains("interrupted") {
        return SqlError {
            error_code: "DEADLINE_EXCEEDED",
            message:
                "[STATEMENT_TIMEOUT] Statement ran longer than the emulator's time limit of {limit} and was cancelled."
                    .into(),
        };
    } else {
        "SQL_ERROR"
    };
    SqlError::bad_request(format!("[{class}] {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warehouse() -> Warehouse {
        let w = Warehouse::new();
        w.create_table("main.agents.t_assessments", "trace_id TEXT, source_id TEXT, n INTEGER").unwrap();
        w.execute_internal(
            "INSERT INTO \"main.agents.t_assessments\" VALUES (?1, ?2, ?3)",
            &[&"abc", &"alice@example.com", &7],
        )
        .unwrap();
        w
    }

    fn stmt<'a>(sql: &'a str, parameters: &'a [StatementParameter]) -> Statement<'a> {
        Statement { sql, parameters, catalog: None, schema: None, row_limit: None }
    }

    #[test]
    fn runs_named_parameters_against_uc_names() {
        let w = warehouse();
        let params = [StatementParameter { name: "t".into(), value: Some("abc".into()), type_name: None }];
        let rs =
            w.run(&stmt("SELECT source_id, n FROM main.agents.t_assessments WHERE trace_id = :t", &params)).unwrap();
        assert_eq!(rs.rows, vec![vec![Some("alice@example.com".into()), Some("7".into())]]);
        assert_eq!(rs.columns[0].type_name, "STRING");
        assert_eq!(rs.columns[1].type_name, "INT");
    }

    #[test]
    fn unbound_parameters_and_unknown_tables_fail_with_databricks_classes() {
        let w = warehouse();
        let e = w.run(&stmt("SELECT * FROM main.agents.t_assessments WHERE trace_id = :t", &[])).unwrap_err();
        assert!(e.message.starts_with("[UNBOUND_SQL_PARAMETER] Found the unbound parameter: t."), "{}", e.message);
        let e = w.run(&stmt("SELECT * FROM main.agents.nope", &[])).unwrap_err();
        assert!(
            e.message.starts_with("[PARSE_SYNTAX_ERROR]") || e.message.starts_with("[TABLE_OR_VIEW_NOT_FOUND]"),
            "{}",
            e.message
        );
        let e = w.run(&stmt("SELEKT 1", &[])).unwrap_err();
        assert!(e.message.starts_with("[PARSE_SYNTAX_ERROR]"), "{}", e.message);
    }

    #[test]
    fn results_past_the_inline_limit_fail_like_databricks() {
        let w = warehouse();
        let e = w
            .run(&stmt("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 300000) SELECT printf('%0100d', x) FROM c", &[]))
            .unwrap_err();
        assert!(e.message.starts_with("Inline byte limit exceeded."), "{}", e.message);
    }

    #[test]
    fn runaway_statements_are_interrupted() {
        let w = warehouse().with_statement_time_limit(Duration::from_millis(100));
        let e = w
            .run(&stmt("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c", &[]))
            .unwrap_err();
        assert_eq!(e.error_code, "DEADLINE_EXCEEDED");
    }
}
