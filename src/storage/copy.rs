//! Moving a SQLite database to PostgreSQL: every table the schema holds, row by row as it is
//! (ids kept, sealed credentials copied as sealed bytes), in one PostgreSQL transaction.
//!
//! The tables and their columns are read from the PostgreSQL catalog rather than listed here, so
//! a table a later migration adds is copied without touching this file; the two schemas must
//! agree (both are migrated to this binary's version first), and a column type not handled below
//! stops the copy before it writes anything.

use std::{collections::BTreeMap, str::FromStr};

use futures_util::TryStreamExt;
use sqlx::{
    PgPool, Postgres, QueryBuilder, Row, SqlitePool,
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqlitePoolOptions, SqliteRow},
    types::Json,
};

use super::StorageError;

/// Rows per `insert`: PostgreSQL takes at most 65,535 parameters in one statement.
const MAX_PARAMETERS: usize = 60_000;
const MAX_ROWS_PER_INSERT: usize = 500;
/// Bytes of blobs (uploaded images) held in memory before they are written.
const MAX_BATCH_BYTES: usize = 32 * 1024 * 1024;

/// The migration bookkeeping table: each engine's own, filled by its migrator.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// Rows copied per table, in the order they were copied.
pub type CopiedTables = Vec<(String, u64)>;

/// Copies the SQLite database at `sqlite_url` into the PostgreSQL database at `postgres_url`.
/// Both are migrated to this binary's schema first. Refuses a target that holds any row; on any
/// error no row is written to the target (one transaction). The caller holds the SQLite file's
/// lock (see `lock.rs`), so no bot writes to the source meanwhile.
pub async fn copy_sqlite_to_postgres(
    sqlite_url: &str,
    postgres_url: &str,
) -> Result<CopiedTables, StorageError> {
    let options = SqliteConnectOptions::from_str(sqlite_url)?
        .create_if_missing(false)
        .foreign_keys(true);
    let source = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations/sqlite").run(&source).await?;
    let target = PgPoolOptions::new()
        .max_connections(1)
        .connect(postgres_url)
        .await?;
    sqlx::migrate!("./migrations/postgres").run(&target).await?;
    let copied = copy_tables(&source, &target).await;
    source.close().await;
    target.close().await;
    copied
}

/// One table's columns as PostgreSQL types them.
struct Column {
    name: String,
    kind: ColumnKind,
    identity: bool,
}

/// How a column's SQLite value is read and bound for PostgreSQL.
#[derive(Clone, Copy)]
enum ColumnKind {
    Integer,
    Flag,
    Bytes,
    Json,
    Text,
}

/// One value on its way.
enum Cell {
    Integer(Option<i64>),
    Flag(Option<bool>),
    Bytes(Option<Vec<u8>>),
    Json(Option<Json<serde_json::Value>>),
    Text(Option<String>),
}

async fn copy_tables(source: &SqlitePool, target: &PgPool) -> Result<CopiedTables, StorageError> {
    let tables = target_tables(target).await?;
    check_same_tables(source, &tables).await?;
    let order = copy_order(target, &tables).await?;
    let mut tx = target.begin().await?;
    for table in tables.keys() {
        let has_rows: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select exists (select 1 from {})",
            quoted(table)
        )))
        .fetch_one(&mut *tx)
        .await?;
        if has_rows {
            return Err(StorageError::Corrupt(format!(
                "the PostgreSQL database is not empty (table {table} has rows): copy into a fresh \
                 database or schema"
            )));
        }
    }
    let mut copied = Vec::new();
    for table in order {
        let columns = &tables[&table];
        check_source_columns(source, &table, columns).await?;
        let rows = copy_table(source, &mut tx, &table, columns).await?;
        for column in columns.iter().filter(|c| c.identity) {
            // The next row PostgreSQL numbers itself must not take a copied id.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "select setval(pg_get_serial_sequence($1, $2), coalesce((select max({c}) from {t}), 0) + 1, false)",
                c = quoted(&column.name),
                t = quoted(&table)
            )))
            .bind(quoted(&table))
            .bind(&column.name)
            .execute(&mut *tx)
            .await?;
        }
        copied.push((table, rows));
    }
    tx.commit().await?;
    Ok(copied)
}

/// Every table of the target's schema with its columns, but the migrations' own.
async fn target_tables(target: &PgPool) -> Result<BTreeMap<String, Vec<Column>>, StorageError> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "select c.table_name::text, c.column_name::text, c.data_type::text, c.is_identity::text
         from information_schema.columns c
         join information_schema.tables t
           on t.table_schema = c.table_schema and t.table_name = c.table_name
         where c.table_schema = current_schema() and t.table_type = 'BASE TABLE' and c.table_name <> $1
         order by c.table_name, c.ordinal_position",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(target)
    .await?;
    let mut tables: BTreeMap<String, Vec<Column>> = BTreeMap::new();
    for (table, name, data_type, identity) in rows {
        let kind = match data_type.as_str() {
            "bigint" | "integer" | "smallint" => ColumnKind::Integer,
            "boolean" => ColumnKind::Flag,
            "bytea" => ColumnKind::Bytes,
            "jsonb" | "json" => ColumnKind::Json,
            "text" => ColumnKind::Text,
            other => {
                return Err(StorageError::Corrupt(format!(
                    "cannot copy {table}.{name}: its PostgreSQL type {other} is not one the copy knows"
                )));
            }
        };
        tables.entry(table).or_default().push(Column {
            name,
            kind,
            identity: identity == "YES",
        });
    }
    Ok(tables)
}

/// Both schemas hold the same tables (both were migrated by this binary; a difference means one
/// of them was changed by hand, and some rows would be left behind).
async fn check_same_tables(
    source: &SqlitePool,
    tables: &BTreeMap<String, Vec<Column>>,
) -> Result<(), StorageError> {
    let mut in_source: Vec<String> = sqlx::query_scalar(
        "select name from sqlite_master where type = 'table' and name not like 'sqlite\\_%' escape '\\' and name <> $1",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(source)
    .await?;
    in_source.sort();
    let in_target: Vec<&String> = tables.keys().collect();
    if in_source.iter().collect::<Vec<_>>() != in_target {
        return Err(StorageError::Corrupt(format!(
            "the two databases hold different tables (SQLite: {}; PostgreSQL: {})",
            in_source.join(", "),
            in_target
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
}

async fn check_source_columns(
    source: &SqlitePool,
    table: &str,
    columns: &[Column],
) -> Result<(), StorageError> {
    let names: Vec<String> = sqlx::query_scalar("select name from pragma_table_info($1)")
        .bind(table)
        .fetch_all(source)
        .await?;
    if let Some(missing) = columns.iter().find(|c| !names.contains(&c.name)) {
        return Err(StorageError::Corrupt(format!(
            "the SQLite table {table} has no column {}",
            missing.name
        )));
    }
    Ok(())
}

/// The tables, each after those its foreign keys point to (ties by name).
async fn copy_order(
    target: &PgPool,
    tables: &BTreeMap<String, Vec<Column>>,
) -> Result<Vec<String>, StorageError> {
    let references: Vec<(String, String)> = sqlx::query_as(
        "select child.relname::text, parent.relname::text
         from pg_constraint c
         join pg_class child on child.oid = c.conrelid
         join pg_class parent on parent.oid = c.confrelid
         join pg_namespace n on n.oid = child.relnamespace
         where c.contype = 'f' and n.nspname = current_schema()",
    )
    .fetch_all(target)
    .await?;
    let mut left: Vec<&String> = tables.keys().collect();
    let mut order: Vec<String> = Vec::new();
    while !left.is_empty() {
        let ready = |table: &&String| {
            references
                .iter()
                .filter(|(child, parent)| child == *table && parent != *table)
                .all(|(_, parent)| order.contains(parent))
        };
        let Some(position) = left.iter().position(ready) else {
            return Err(StorageError::Corrupt(format!(
                "the foreign keys of {} form a cycle",
                left.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
            )));
        };
        order.push(left.remove(position).clone());
    }
    Ok(order)
}

async fn copy_table(
    source: &SqlitePool,
    tx: &mut sqlx::PgConnection,
    table: &str,
    columns: &[Column],
) -> Result<u64, StorageError> {
    let names = columns
        .iter()
        .map(|c| quoted(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let select = format!("select {names} from {}", quoted(table));
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(source);
    let per_insert = (MAX_PARAMETERS / columns.len().max(1)).clamp(1, MAX_ROWS_PER_INSERT);
    let (mut batch, mut batch_bytes, mut copied) = (Vec::new(), 0, 0u64);
    while let Some(row) = rows.try_next().await? {
        let cells = read_row(&row, table, columns)?;
        batch_bytes += cells
            .iter()
            .map(|cell| match cell {
                Cell::Bytes(Some(bytes)) => bytes.len(),
                _ => 0,
            })
            .sum::<usize>();
        batch.push(cells);
        if batch.len() >= per_insert || batch_bytes >= MAX_BATCH_BYTES {
            copied += insert(tx, table, &names, std::mem::take(&mut batch)).await?;
            batch_bytes = 0;
        }
    }
    if !batch.is_empty() {
        copied += insert(tx, table, &names, batch).await?;
    }
    Ok(copied)
}

fn read_row(row: &SqliteRow, table: &str, columns: &[Column]) -> Result<Vec<Cell>, StorageError> {
    columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let cell = match column.kind {
                ColumnKind::Integer => Cell::Integer(row.try_get(i)?),
                ColumnKind::Flag => Cell::Flag(row.try_get(i)?),
                ColumnKind::Bytes => Cell::Bytes(row.try_get(i)?),
                ColumnKind::Text => Cell::Text(row.try_get(i)?),
                ColumnKind::Json => {
                    let text: Option<String> = row.try_get(i)?;
                    let value = text
                        .map(|text| serde_json::from_str(&text))
                        .transpose()
                        .map_err(|e| {
                            StorageError::Corrupt(format!("{table}.{} holds no JSON: {e}", column.name))
                        })?;
                    Cell::Json(value.map(Json))
                }
            };
            Ok(cell)
        })
        .collect()
}

async fn insert(
    tx: &mut sqlx::PgConnection,
    table: &str,
    names: &str,
    rows: Vec<Vec<Cell>>,
) -> Result<u64, StorageError> {
    let mut insert = QueryBuilder::<Postgres>::new(format!("insert into {} ({names}) ", quoted(table)));
    insert.push_values(rows, |mut values, row| {
        for cell in row {
            match cell {
                Cell::Integer(v) => values.push_bind(v),
                Cell::Flag(v) => values.push_bind(v),
                Cell::Bytes(v) => values.push_bind(v),
                Cell::Json(v) => values.push_bind(v),
                Cell::Text(v) => values.push_bind(v),
            };
        }
    });
    Ok(insert.build().execute(&mut *tx).await?.rows_affected())
}

/// An identifier as both engines read it, whatever its name (`user` is a keyword in PostgreSQL).
fn quoted(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}
