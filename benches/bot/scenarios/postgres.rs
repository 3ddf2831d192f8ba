//! The PostgreSQL column (`BENCH_DATABASE=postgres`): the accept scenarios and the polling cost
//! with one instance and with several on one schema.

use serde_json::{Value, json};

use super::{accept, api_accept, in_flight};
use crate::harness::env_usize;

/// The instance counts measured: one, and several sharing the schema.
const INSTANCE_COUNTS: [usize; 2] = [1, 3];

/// Adds `"postgres": {"instances_1": {...}, "instances_3": {...}}`, each holding the same keys
/// the SQLite run has at the top (`accept`, `accept_paced`, `api_accept`, `in_flight`); a part
/// left out by `BENCH_ONLY` is missing.
pub async fn postgres(results: &mut serde_json::Map<String, Value>, wanted: impl Fn(&str) -> bool) {
    let users = env_usize("BENCH_USERS", 2000);
    let mut columns: Vec<serde_json::Map<String, Value>> =
        INSTANCE_COUNTS.iter().map(|_| serde_json::Map::new()).collect();
    for (column, &instances) in columns.iter_mut().zip(&INSTANCE_COUNTS) {
        if wanted("accept") {
            column.insert("accept".into(), accept::accept(users, None, instances).await);
            column.insert(
                "accept_paced".into(),
                accept::accept(3 * users / 2, Some(1000.0), instances).await,
            );
        }
        if wanted("api_accept") {
            column.insert("api_accept".into(), api_accept::measure(instances).await);
        }
    }
    if wanted("in_flight") {
        // Seeded once, then measured with each instance count in turn.
        for (column, figures) in columns.iter_mut().zip(in_flight::measure(&INSTANCE_COUNTS).await) {
            column.insert("in_flight".into(), figures);
        }
    }
    let postgres: serde_json::Map<String, Value> = INSTANCE_COUNTS
        .iter()
        .zip(columns)
        .map(|(instances, column)| (format!("instances_{instances}"), Value::Object(column)))
        .collect();
    results.insert("postgres".into(), json!(postgres));
}
