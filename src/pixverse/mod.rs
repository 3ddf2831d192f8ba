//! PixVerse HTTP client: the Platform API (`/openapi/v2`, API key) and the web-app API
//! (`/creative_platform`, JWT), behind one `PixverseClient`. Knows nothing of Telegram.
//! The wire format is described in /work/shared/pixverse-api.md.

mod client;
mod credential;
mod download;
mod error;
pub mod jwt;
mod modes;
mod modes_wire;
pub mod oss;
mod poll_http;
mod transport;
mod types;
mod upload;
mod wire;

pub use client::PixverseClient;
pub use credential::Credential;
pub use error::{ErrorKind, PixverseError, kind_of_code};
pub use modes::{
    EffectTemplate, ExtendRequest, FusionRequest, LipSyncRequest, SoundRequest, TEMPLATES_PER_PAGE,
    TransitionRequest, TtsVoice, UploadedMedia,
};
pub use types::{Balance, DownloadedVideo, GenerationRequest, UploadedImage, VideoStatus, WebLogin};
