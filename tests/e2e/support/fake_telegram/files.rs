//! Files: photos and documents users send, files the bot uploads, `getFile` and downloads.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

use super::{ApiErr, FakeTelegram, GET_FILE_LIMIT, TgState, params::param_str, server::unauthorized};

pub(super) struct FileEntry {
    pub(super) unique_id: String,
    pub(super) path: String,
    pub(super) size: u64,
    /// None for files that only report a size (`send_big_photo`, send-by-URL).
    pub(super) bytes: Option<Bytes>,
}

pub(super) fn mime_for(file_name: &str) -> &'static str {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "mp4" => "video/mp4",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

impl TgState {
    pub(super) fn register_file(&mut self, dir: &str, ext: &str, size: u64, bytes: Option<Bytes>) -> String {
        self.next_file_seq += 1;
        let seq = self.next_file_seq;
        let file_id = format!("AgAD{dir}{seq:06}-fake-file-id");
        self.files.insert(
            file_id.clone(),
            FileEntry {
                unique_id: format!("AQAD{seq:06}"),
                path: format!("{dir}/file_{seq}.{ext}"),
                size,
                bytes,
            },
        );
        file_id
    }

    pub(super) fn file_meta(&self, file_id: &str) -> Value {
        let file = &self.files[file_id];
        json!({ "file_id": file_id, "file_unique_id": file.unique_id, "file_size": file.size })
    }

    /// Three sizes like Telegram's `photo` arrays; only the largest holds the real bytes.
    pub(super) fn register_photo(&mut self, size: u64, bytes: Option<Bytes>) -> (Value, String) {
        let mut sizes = Vec::new();
        for (w, h, small) in [(90u32, 51u32, 1_200u64), (320, 180, 12_000)] {
            let small = small.min(size.max(1));
            let id = self.register_file(
                "photos",
                "jpg",
                small,
                Some(Bytes::from(vec![0u8; small as usize])),
            );
            let mut meta = self.file_meta(&id);
            meta["width"] = json!(w);
            meta["height"] = json!(h);
            sizes.push(meta);
        }
        let id = self.register_file("photos", "jpg", size, bytes);
        let mut meta = self.file_meta(&id);
        meta["width"] = json!(1280);
        meta["height"] = json!(720);
        sizes.push(meta);
        (Value::Array(sizes), id)
    }

    pub(super) fn get_file(&self, p: &Map<String, Value>) -> Result<Value, ApiErr> {
        let file_id = param_str(p, "file_id").unwrap_or_default();
        let Some(file) = self.files.get(file_id) else {
            return Err(ApiErr::bad_request("invalid file id"));
        };
        if file.size > GET_FILE_LIMIT {
            return Err(ApiErr::bad_request("file is too big"));
        }
        let mut result = self.file_meta(file_id);
        result["file_path"] = json!(file.path);
        Ok(result)
    }
}

pub(super) async fn handle_download(
    State(fake): State<FakeTelegram>,
    Path((bot, path)): Path<(String, String)>,
) -> Response {
    if let Some(response) = unauthorized(&bot) {
        return response;
    }
    // axum has already percent-decoded `photos%2Ffile_1.jpg` into `photos/file_1.jpg`.
    let idx = fake.record("download".to_owned(), json!({ "file_path": path }), Vec::new());
    let bytes = {
        let st = fake.state();
        st.files
            .values()
            .find(|f| f.path == path)
            .and_then(|f| f.bytes.clone())
    };
    match bytes {
        Some(bytes) => {
            fake.notify();
            ([(header::CONTENT_TYPE, mime_for(&path))], bytes).into_response()
        }
        None => {
            let err = ApiErr {
                status: StatusCode::NOT_FOUND,
                description: "Not Found".to_owned(),
                parameters: None,
            };
            fake.finish(idx, Err(err))
        }
    }
}

impl FakeTelegram {
    /// The size of a file the bot uploaded (or a user sent), by its `file_id`.
    pub fn file_size(&self, file_id: &str) -> Option<u64> {
        self.state().files.get(file_id).map(|f| f.size)
    }
}
