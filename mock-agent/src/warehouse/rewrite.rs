//! Unity Catalog names (`catalog.schema.table`, backticks allowed) → the SQLite table that
//! stands in for them. Only names the warehouse knows are rewritten; strings, comments and
//! everything else pass through unchanged.

use std::collections::HashMap;

/// Rewrites `sql`, resolving one- and two-part names against the statement's default
/// `catalog`/`schema` the way `USE CATALOG`/`USE SCHEMA` would.
pub fn rewrite_table_names(
    sql: &str,
    tables: &HashMap<String, String>,
    catalog: Option<&str>,
    schema: Option<&str>,
) -> String {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len() + 16);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // String literals ('…' and "…" are both strings in Databricks SQL) and comments.
        if c == '\'' || c == '"' {
            let end = skip_quoted(&chars, i, c);
            out.extend(&chars[i..end]);
            i = end;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            let end = chars[i..].iter().position(|&ch| ch == '\n').map_or(chars.len(), |p| i + p);
            out.extend(&chars[i..end]);
            i = end;
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            let end = find_seq(&chars, i + 2, &['*', '/']).map_or(chars.len(), |p| p + 2);
            out.extend(&chars[i..end]);
            i = end;
        } else if c == ':' {
            // A `:name` parameter marker is not a table name.
            let mut end = i + 1;
            while end < chars.len() && is_ident_char(chars[end]) {
                end += 1;
            }
            out.extend(&chars[i..end]);
            i = end;
        } else if is_ident_start(c) || c == '`' {
            let (parts, end) = read_chain(&chars, i);
            let resolved = parts.as_ref().and_then(|p| resolve(p, tables, catalog, schema));
            match resolved {
                Some(table) => out.push_str(&format!("\"{}\"", table.replace('"', "\"\""))),
                None => out.extend(&chars[i..end]),
            }
            i = end;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn resolve(
    parts: &[String],
    tables: &HashMap<String, String>,
    catalog: Option<&str>,
    schema: Option<&str>,
) -> Option<String> {
    let full = match (parts.len(), catalog, schema) {
        (3, _, _) => parts.join("."),
        (2, Some(c), _) => format!("{c}.{}", parts.join(".")),
        (1, Some(c), Some(s)) => format!("{c}.{s}.{}", parts[0]),
        _ => return None,
    };
    tables.get(&full.to_ascii_lowercase()).cloned()
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn skip_quoted(chars: &[char], start: usize, quote: char) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == '\\' {
            i += 2;
            continue;
        }
        if chars[i] == quote {
            if chars.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    chars.len()
}

fn find_seq(chars: &[char], from: usize, seq: &[char]) -> Option<usize> {
    (from..chars.len()).find(|&p| chars[p..].starts_with(seq))
}

/// Reads `part(.part)*` where a part is a bare identifier or a backtick-quoted one.
/// Returns the lower-cased parts (None if a part is malformed) and where the chain ends.
fn read_chain(chars: &[char], start: usize) -> (Option<Vec<String>>, usize) {
    let mut parts = Vec::new();
    let mut i = start;
    loop {
        let (part, end) = if chars.get(i) == Some(&'`') {
            match chars[i + 1..].iter().position(|&c| c == '`') {
                Some(p) => (chars[i + 1..i + 1 + p].iter().collect::<String>(), i + p + 2),
                None => return (None, chars.len()),
            }
        } else if chars.get(i).copied().is_some_and(is_ident_start) {
            let mut end = i;
            while end < chars.len() && is_ident_char(chars[end]) {
                end += 1;
            }
            (chars[i..end].iter().collect(), end)
        } else {
            return (None, i.max(start + 1));
        };
        parts.push(part.to_ascii_lowercase());
        i = end;
        let next_is_part =
            chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(|&c| is_ident_start(c) || c == '`');
        if !next_is_part {
            return (Some(parts), i);
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables() -> HashMap<String, String> {
        HashMap::from([("main.agents.app_assessments".into(), "main.agents.app_assessments".into())])
    }

    #[test]
    fn rewrites_known_three_part_names_only() {
        let sql = "SELECT source_id FROM main.agents.app_assessments WHERE trace_id = :t AND x = 'main.agents.app_assessments'";
        assert_eq!(
            rewrite_table_names(sql, &tables(), None, None),
            "SELECT source_id FROM \"main.agents.app_assessments\" WHERE trace_id = :t AND x = 'main.agents.app_assessments'"
        );
        assert_eq!(
            rewrite_table_names("SELECT * FROM main.agents.other", &tables(), None, None),
            "SELECT * FROM main.agents.other"
        );
    }

    #[test]
    fn resolves_backticks_case_and_default_catalog_schema() {
        let t = tables();
        assert_eq!(
            rewrite_table_names("select * from `main`.`Agents`.APP_assessments", &t, None, None),
            "select * from \"main.agents.app_assessments\""
        );
        assert_eq!(
            rewrite_table_names("SELECT * FROM agents.app_assessments", &t, Some("main"), None),
            "SELECT * FROM \"main.agents.app_assessments\""
        );
        assert_eq!(
            rewrite_table_names(
                "SELECT * FROM app_assessments -- main.agents.app_assessments",
                &t,
                Some("main"),
                Some("agents")
            ),
            "SELECT * FROM \"main.agents.app_assessments\" -- main.agents.app_assessments"
        );
        assert_eq!(rewrite_table_names("SELECT 1", &t, None, None), "SELECT 1");
    }

    #[test]
    fn tolerates_unterminated_input() {
        let t = tables();
        for sql in ["SELECT '", "SELECT `main", "/* x", "SELECT a.", "`", "a.`b"] {
            let _ = rewrite_table_names(sql, &t, None, None);
        }
    }
}
