//! How long PixVerse takes, learned from finished tasks: per model, quality and duration, an
//! exponentially weighted mean of "accepted → seen done". Stored, so it survives restarts; the
//! worker polls a new task first when its video is likely done.

use super::super::{Storage, StorageError, now_ms};

/// The weight of the newest observation in the mean, once `WEIGHT_PERCENT`'s reciprocal of them
/// were seen; the ones before make a plain mean. Generation times spread widely (35–45 s for one
/// kind is usual), so one observation says little, and the first poll, placed by this mean, must
/// not move by a second with every video: with a fifth per observation it wandered about ±1 s,
/// and the time from "done" to "sent" with it; with a twentieth, about ±0.5 s on a 35–45 s
/// spread. A change in PixVerse's pace is followed over some twenty videos.
const WEIGHT_PERCENT: i64 = 5;

/// One kind of generation and how long it typically takes.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct GenerationTime {
    pub model: String,
    pub quality: String,
    pub duration: i64,
    pub typical_ms: i64,
    pub samples: i64,
}

impl Storage {
    /// Folds one observed generation time into its kind's mean (a plain mean of the first twenty,
    /// then weighted to the newest, see `WEIGHT_PERCENT`) and returns the new mean.
    pub async fn record_generation_time(
        &self,
        model: &str,
        quality: &str,
        duration: i64,
        observed_ms: i64,
    ) -> Result<i64, StorageError> {
        Ok(on_pool!(&self.writer, |pool| sqlx::query_scalar(
            "insert into generation_time (model, quality, duration, typical_ms, samples, updated_at)
             values ($1, $2, $3, $4, 1, $6)
             on conflict (model, quality, duration) do update set
                 typical_ms = case when generation_time.samples * $5 < 100
                     then (generation_time.typical_ms * generation_time.samples + excluded.typical_ms)
                          / (generation_time.samples + 1)
                     else (generation_time.typical_ms * (100 - $5) + excluded.typical_ms * $5) / 100
                 end,
                 samples = generation_time.samples + 1, updated_at = excluded.updated_at
             returning typical_ms",
        )
        .bind(model)
        .bind(quality)
        .bind(duration)
        .bind(observed_ms)
        .bind(WEIGHT_PERCENT)
        .bind(now_ms())
        .fetch_one(pool)
        .await)?)
    }

    /// Every learned generation time (a handful of rows: one per kind ever generated).
    pub async fn generation_times(&self) -> Result<Vec<GenerationTime>, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_as(
            "select model, quality, duration, typical_ms, samples from generation_time"
        )
        .fetch_all(pool)
        .await)?)
    }
}
