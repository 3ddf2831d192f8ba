//! A fresh database per test, on the engine this test target runs (`crate::POSTGRES`): a SQLite
//! file in the test's folder, or a PostgreSQL schema of its own on the machine's server (dropped
//! when the test ends). The PostgreSQL variants need a server: without one they are skipped with
//! one message, unless `CI=true` (then they fail).

use std::{
    net::{SocketAddr, TcpStream},
    path::Path,
    sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use sqlx::{Connection, PgConnection};

/// The server the PostgreSQL variants use (trust authentication, database `test`).
const SERVER: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The key every PostgreSQL variant's bot runs with (there is no key file beside a schema).
pub const POSTGRES_SECRET_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
/// Every test schema's name starts with this, then the test process's id.
const PREFIX: &str = "e2e_";

/// One test's database; dropping it drops a PostgreSQL schema.
pub struct TestDatabase {
    pub url: String,
    schema: Option<String>,
}

impl TestDatabase {
    /// A fresh database named `name` (SQLite: a file in `dir`) on this target's engine.
    #[allow(dead_code)] // The benchmark includes this module and uses only `on` (through `TestBot`).
    pub async fn new(dir: &Path, name: &str) -> TestDatabase {
        Self::on(crate::POSTGRES, dir, name).await
    }

    /// A fresh database on the engine `postgres` says, whatever this target's is (a test that
    /// moves a database from one engine to the other needs both).
    pub async fn on(postgres: bool, dir: &Path, name: &str) -> TestDatabase {
        if !postgres {
            return TestDatabase {
                url: format!("sqlite://{}", dir.join(name).display()),
                schema: None,
            };
        }
        server_or_skip();
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let schema = format!(
            "{PREFIX}{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::connect(SERVER)
            .await
            .expect("connect to PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!("create schema {schema}")))
            .execute(&mut admin)
            .await
            .expect("create the test schema");
        let _ = admin.close().await;
        TestDatabase {
            // Every connection of the bot's pool starts with the schema as its search path.
            url: format!("{SERVER}?options=-c%20search_path%3D{schema}"),
            schema: Some(schema),
        }
    }

    /// The `SECRET_KEY` the bot needs on this engine, if any.
    pub fn secret_key(&self) -> Option<&'static str> {
        self.schema.as_ref().map(|_| POSTGRES_SECRET_KEY)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(schema) = self.schema.take() {
            // Drop runs inside the test's runtime, which cannot block on itself.
            let _ = std::thread::spawn(move || block_on(drop_schemas(vec![schema]))).join();
        }
    }
}

/// Whether the server answers; otherwise skips the whole PostgreSQL test binary (once, with one
/// message), or under `CI=true` fails the test.
fn server_or_skip() {
    static REACHABLE: OnceLock<bool> = OnceLock::new();
    let reachable = *REACHABLE.get_or_init(|| {
        let addr: SocketAddr = "127.0.0.1:5432".parse().expect("an address");
        let reachable = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok();
        if reachable {
            // Schemas a killed earlier run could not drop.
            std::thread::spawn(|| block_on(drop_stale_schemas()))
                .join()
                .expect("the sweep ran");
        }
        reachable
    });
    if reachable {
        return;
    }
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!(
            "CI=true and no PostgreSQL answers on 127.0.0.1:5432 (the PostgreSQL variants never skip in CI)"
        );
    }
    // The message once, then the whole binary ends successfully: every other test would skip too.
    eprintln!(
        "PostgreSQL variants skipped: no PostgreSQL server on 127.0.0.1:5432 (CI=true makes this an error)"
    );
    std::process::exit(0);
}

fn block_on<F: Future<Output = ()>>(future: F) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future);
}

async fn drop_schemas(schemas: Vec<String>) {
    let Ok(mut admin) = PgConnection::connect(SERVER).await else {
        return;
    };
    // A crashed bot's backend may still hold a lock for a moment; a schema left behind is swept
    // by the next run.
    let _ = sqlx::query("set lock_timeout = '5s'").execute(&mut admin).await;
    for schema in schemas {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "drop schema if exists {schema} cascade"
        )))
        .execute(&mut admin)
        .await;
    }
    let _ = admin.close().await;
}

/// Test schemas whose process is gone.
async fn drop_stale_schemas() {
    let Ok(mut admin) = PgConnection::connect(SERVER).await else {
        return;
    };
    let schemas: Vec<String> =
        sqlx::query_scalar("select nspname::text from pg_namespace where nspname like 'e2e\\_%'")
            .fetch_all(&mut admin)
            .await
            .unwrap_or_default();
    let _ = admin.close().await;
    let stale = schemas
        .into_iter()
        .filter(|schema| {
            let pid = schema
                .trim_start_matches(PREFIX)
                .split('_')
                .next()
                .unwrap_or_default();
            !Path::new("/proc").join(pid).exists()
        })
        .collect();
    drop_schemas(stale).await;
}
