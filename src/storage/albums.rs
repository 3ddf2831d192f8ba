//! Photos of Telegram albums until the album is complete (see `migrations/sqlite/0011_albums.sql`).

use super::{Storage, StorageError, now_ms};

/// Albums are complete within seconds; an album left incomplete is forgotten after a day.
const ALBUM_LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;

/// One photo of an album.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AlbumPhoto {
    pub message_id: i64,
    pub user_id: i64,
    pub file_id: String,
    pub size: i64,
    pub caption: Option<String>,
    /// The album made its request already (see `close_album`).
    pub used: bool,
}

impl Storage {
    /// Adds a photo to album `media_group_id` of `chat_id` and returns the album's photos so
    /// far, in message order. (Updates of one chat are handled one at a time, so two photos of
    /// an album never race here.)
    pub async fn add_album_photo(
        &self,
        chat_id: i64,
        media_group_id: &str,
        photo: &AlbumPhoto,
    ) -> Result<Vec<AlbumPhoto>, StorageError> {
        let now = now_ms();
        on_pool!(&self.writer, |pool| sqlx::query(
            "delete from album_photo where received_at < $1"
        )
        .bind(now - ALBUM_LIFETIME_MS)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        on_pool!(&self.writer, |pool| sqlx::query(
            "insert into album_photo
                 (chat_id, media_group_id, message_id, user_id, file_id, size, caption, received_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8)
             on conflict do nothing",
        )
        .bind(chat_id)
        .bind(media_group_id)
        .bind(photo.message_id)
        .bind(photo.user_id)
        .bind(&photo.file_id)
        .bind(photo.size)
        .bind(&photo.caption)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        self.album_photos(chat_id, media_group_id).await
    }

    /// The photos of album `media_group_id` of `chat_id` kept so far, in message order.
    pub async fn album_photos(
        &self,
        chat_id: i64,
        media_group_id: &str,
    ) -> Result<Vec<AlbumPhoto>, StorageError> {
        Ok(on_pool!(&self.engine, |pool| sqlx::query_as(
            "select message_id, user_id, file_id, size, caption, used from album_photo
             where chat_id = $1 and media_group_id = $2 order by message_id",
        )
        .bind(chat_id)
        .bind(media_group_id)
        .fetch_all(pool)
        .await)?)
    }

    /// The album made its request (or was refused): it makes no other by itself, but its
    /// photos stay (until a day old) for a `/transition` or `/fusion` replying to it.
    pub async fn close_album(&self, chat_id: i64, media_group_id: &str) -> Result<(), StorageError> {
        on_pool!(&self.writer, |pool| sqlx::query(
            "update album_photo set used = true where chat_id = $1 and media_group_id = $2"
        )
        .bind(chat_id)
        .bind(media_group_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }
}
