//! What the dashboard and the alert rules query, read from `deploy/observability/`, and what a
//! `/metrics` scrape serves. Small parsers, enough for these files: block-style YAML (no YAML
//! crate for one test) and PromQL down to metric names and `label="value"` matchers.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use serde_json::Value;

/// A metric a query selects and the label values it requires (`label="value"` matchers).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Selector {
    pub(super) name: String,
    labels: BTreeMap<String, String>,
}

/// One served sample: its name and labels.
pub(super) type Sample = (String, BTreeMap<String, String>);

/// Every selector in the queries of `deploy/observability/`, with the files it is in.
pub(super) fn observability_queries() -> BTreeMap<Selector, BTreeSet<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/observability");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("deploy/observability exists")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    files.sort();
    let mut found = BTreeMap::<Selector, BTreeSet<String>>::new();
    let mut kinds = BTreeSet::new();
    for path in files {
        let file = path
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).expect("readable");
        let queries = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => json_queries(&serde_json::from_str(&text).expect("valid JSON")),
            Some("yaml" | "yml") => yaml_exprs(&text),
            _ => continue,
        };
        for query in &queries {
            let selected = selectors(query);
            assert!(!selected.is_empty(), "{file}: no metric found in {query}");
            for selector in selected {
                found.entry(selector).or_default().insert(file.clone());
            }
        }
        if !queries.is_empty() {
            kinds.insert(path.extension().map(|e| e.to_string_lossy().into_owned()));
        }
    }
    assert_eq!(
        kinds.len(),
        2,
        "queries in both the dashboard and the rules"
    );
    found
}

/// The `expr` of every panel target and the selector of every `label_values(...)` variable.
fn json_queries(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("expr", Value::String(expr)) => out.push(expr.clone()),
                    ("query", Value::String(q)) | ("definition", Value::String(q)) => {
                        if let Some((selector, _label)) = q
                            .strip_prefix("label_values(")
                            .and_then(|rest| rest.strip_suffix(')'))
                            .and_then(|args| args.rsplit_once(','))
                        {
                            out.push(selector.to_owned());
                        }
                    }
                    _ => out.extend(json_queries(value)),
                }
            }
        }
        Value::Array(items) => out.extend(items.iter().flat_map(json_queries)),
        _ => {}
    }
    out
}

/// The value of every `expr:` key of a block-style YAML file: the rest of its line and every
/// following line indented deeper, which covers plain, quoted and `|`/`>` scalars alike.
fn yaml_exprs(text: &str) -> Vec<String> {
    let indent = |line: &str| line.len() - line.trim_start().len();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let mut key_indent = indent(line);
        let mut content = line.trim_start();
        if let Some(item) = content.strip_prefix("- ") {
            key_indent += 2 + indent(item);
            content = item.trim_start();
        }
        let Some(head) = content.strip_prefix("expr:") else {
            continue;
        };
        let mut parts = vec![head.trim()];
        while i < lines.len() && (lines[i].trim().is_empty() || indent(lines[i]) > key_indent) {
            parts.push(lines[i].trim());
            i += 1;
        }
        if matches!(parts[0], "|" | "|-" | "|+" | ">" | ">-" | ">+") {
            parts.remove(0);
        }
        let joined = parts.join("\n");
        let expr = joined.trim();
        out.push(match expr.chars().next() {
            Some(q @ ('"' | '\'')) if expr.len() > 1 && expr.ends_with(q) => {
                expr[1..expr.len() - 1].replace("\\\"", "\"")
            }
            _ => expr.to_owned(),
        });
    }
    out
}

/// Words of PromQL that are not metric names even when no `(` follows them.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// Modifiers followed by a parenthesised list of label names.
const LABEL_LISTS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// The metrics a PromQL query selects: identifiers that are not functions (followed by `(`),
/// keywords, label lists, numbers, durations (`[...]` is skipped) or Grafana variables.
fn selectors(query: &str) -> Vec<Selector> {
    let chars: Vec<char> = query.chars().collect();
    let is_start = |c: char| c.is_ascii_alphabetic() || c == '_' || c == ':';
    let is_part = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '"' | '\'' | '`') {
            i = skip_string(&chars, i);
        } else if c == '[' {
            i += chars[i..]
                .iter()
                .position(|&c| c == ']')
                .unwrap_or(chars.len());
        } else if is_start(c) && (i == 0 || !(is_part(chars[i - 1]) || ".$".contains(chars[i - 1])))
        {
            let start = i;
            while i < chars.len() && is_part(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let followed_by = chars.get(next).copied();
            if LABEL_LISTS.contains(&word.as_str()) {
                if followed_by == Some('(') {
                    i = next + chars[next..].iter().position(|&c| c == ')').unwrap_or(0);
                }
            } else if !KEYWORDS.contains(&word.as_str()) && followed_by != Some('(') {
                let mut labels = BTreeMap::new();
                if followed_by == Some('{') {
                    let (matchers, end) = equality_matchers(&chars, next);
                    labels = matchers;
                    i = end;
                }
                out.push(Selector { name: word, labels });
            }
            continue;
        }
        i += 1;
    }
    out
}

/// Past the string literal opening at `start`.
fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() && chars[i] != quote {
        i += if chars[i] == '\\' { 2 } else { 1 };
    }
    i + 1
}

/// The `label="value"` matchers of the `{...}` opening at `start` (other operators are left
/// out), and the index past its `}`. Also reads the labels of an exposition line.
fn equality_matchers(chars: &[char], start: usize) -> (BTreeMap<String, String>, usize) {
    let mut matchers = BTreeMap::new();
    let mut i = start + 1;
    loop {
        while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
            i += 1;
        }
        if i >= chars.len() || chars[i] == '}' {
            return (matchers, i + 1);
        }
        let name_start = i;
        while i < chars.len() && !matches!(chars[i], '=' | '!' | '~' | '"') {
            i += 1;
        }
        let name: String = chars[name_start..i].iter().collect();
        let op_start = i;
        while i < chars.len() && chars[i] != '"' {
            i += 1;
        }
        let op: String = chars[op_start..i].iter().collect();
        let end = skip_string(chars, i);
        let mut value = String::new();
        let mut quoted = chars[(i + 1).min(chars.len())..(end - 1).min(chars.len())].iter();
        while let Some(&c) = quoted.next() {
            if c != '\\' {
                value.push(c);
            } else if let Some(&escaped) = quoted.next() {
                value.push(if escaped == 'n' { '\n' } else { escaped });
            }
        }
        if op.trim() == "=" {
            matchers.insert(name.trim().to_owned(), value);
        }
        i = end;
    }
}

/// The samples of a Prometheus text exposition.
pub(super) fn samples(exposition: &str) -> Vec<Sample> {
    exposition
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let chars: Vec<char> = line.chars().collect();
            let end = chars
                .iter()
                .position(|&c| c == '{' || c == ' ')
                .unwrap_or(chars.len());
            let name: String = chars[..end].iter().collect();
            let labels = if chars.get(end) == Some(&'{') {
                equality_matchers(&chars, end).0
            } else {
                BTreeMap::new()
            };
            (name, labels)
        })
        .collect()
}

/// Series Prometheus writes itself for each target (and its alerts); no service serves them.
pub(super) fn written_by_prometheus(name: &str) -> bool {
    name == "up" || name.starts_with("scrape_") || name.starts_with("ALERTS")
}

/// Whether a served sample has the selector's name and every label value it requires. `job`
/// and `instance` are the scraper's labels, not the service's.
pub(super) fn is_served(selector: &Selector, served: &[Sample]) -> bool {
    served.iter().any(|(name, labels)| {
        *name == selector.name
            && selector
                .labels
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "job" | "instance"))
                .all(|(k, v)| labels.get(k) == Some(v))
    })
}

#[test]
fn selectors_are_the_metrics_a_query_names_with_their_required_labels() {
    // Arrange
    let query = r#"sum by (job, le) (rate(http_request_duration_seconds_bucket{job=~"$job", route="/api/login/", status!="500"}[$__rate_interval]))
        / on (job) group_left (route) max by (job) (up) > 0.5 and ws_open_sockets offset 5m unless absent(nats_connected{a="x,}\"y"})"#;

    // Act
    let found = selectors(query);

    // Assert
    let selector = |name: &str, labels: &[(&str, &str)]| Selector {
        name: name.to_owned(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    assert_eq!(
        found,
        [
            selector(
                "http_request_duration_seconds_bucket",
                &[("route", "/api/login/")]
            ),
            selector("up", &[]),
            selector("ws_open_sockets", &[]),
            selector("nats_connected", &[("a", "x,}\"y")]),
        ]
    );
}
