//! Metrics as CloudWatch Embedded Metric Format: one JSON object per line on stdout, which
//! CloudWatch Logs turns into metrics without a `PutMetricData` call (no extra latency, no extra
//! permission, nothing lost if the function times out after logging).

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// Namespace of every Lifeboat metric.
pub const NAMESPACE: &str = "Lifeboat";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
        }
    }
}

/// Metrics that share one set of dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSet {
    pub dimensions: Vec<(String, String)>,
    /// Further dimension sets, each a subset of `dimensions`, that the values are published
    /// under as well (CloudWatch aggregates each set's data points on its own).
    pub rollups: Vec<Vec<String>>,
    pub values: Vec<(String, f64, Unit)>,
}

impl MetricSet {
    pub fn new(dimensions: &[(&str, &str)]) -> Self {
        MetricSet {
            dimensions: dimensions
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            rollups: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Publishes the values under these dimensions alone too, e.g. a database's copy lag under
    /// its plan, so one alarm on the plan's Maximum watches every database.
    pub fn also_by(mut self, dimensions: &[&str]) -> Self {
        debug_assert!(
            dimensions
                .iter()
                .all(|d| self.dimensions.iter().any(|(k, _)| k == d)),
            "a rollup names only dimensions the set has"
        );
        self.rollups
            .push(dimensions.iter().map(|d| (*d).to_owned()).collect());
        self
    }

    pub fn with(mut self, name: &str, value: f64, unit: Unit) -> Self {
        self.values.push((name.to_owned(), value, unit));
        self
    }

    /// The EMF document for this set, as one line of JSON.
    pub fn to_emf(&self, timestamp_ms: i64) -> String {
        let dimension_names: Vec<&str> = self.dimensions.iter().map(|(k, _)| k.as_str()).collect();
        let mut dimension_sets = vec![json!(dimension_names)];
        dimension_sets.extend(self.rollups.iter().map(|set| json!(set)));
        let definitions: Vec<Value> = self
            .values
            .iter()
            .map(|(name, _, unit)| json!({ "Name": name, "Unit": unit.as_str() }))
            .collect();
        let mut document = Map::new();
        document.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": dimension_sets,
                    "Metrics": definitions,
                }]
            }),
        );
        for (key, value) in &self.dimensions {
            document.insert(key.clone(), Value::String(value.clone()));
        }
        for (name, value, _) in &self.values {
            document.insert(name.clone(), json!(value));
        }
        Value::Object(document).to_string()
    }
}

/// Publishes `sets` the way a Lambda function does: each as one EMF line on stdout, stamped
/// `at`.
pub fn print_emf(sets: &[MetricSet], at: OffsetDateTime) {
    let timestamp_ms = (at.unix_timestamp_nanos() / 1_000_000) as i64;
    for set in sets {
        println!("{}", set.to_emf(timestamp_ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_document_declares_every_metric_and_carries_its_value() {
        let line = MetricSet::new(&[("Plan", "tracking"), ("Task", "copy-snapshots")])
            .with("CopiesStarted", 3.0, Unit::Count)
            .to_emf(1_795_575_600_000);
        let doc: Value = serde_json::from_str(&line).unwrap();
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Lifeboat");
        assert_eq!(directive["Dimensions"], json!([["Plan", "Task"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{ "Name": "CopiesStarted", "Unit": "Count" }])
        );
        assert_eq!(doc["_aws"]["Timestamp"], 1_795_575_600_000_i64);
        assert_eq!(doc["Plan"], "tracking");
        assert_eq!(doc["CopiesStarted"], 3.0);
        assert!(!line.contains('\n'), "EMF is one document per line");
    }

    #[test]
    fn a_rollup_publishes_the_values_under_fewer_dimensions_too() {
        let line = MetricSet::new(&[("Plan", "tracking"), ("Database", "orders")])
            .also_by(&["Plan"])
            .with("CopyLagSeconds", 90.0, Unit::Seconds)
            .to_emf(0);
        let doc: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Plan", "Database"], ["Plan"]])
        );
        assert_eq!(doc["Database"], "orders");
    }
}
