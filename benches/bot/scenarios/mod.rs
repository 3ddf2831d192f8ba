//! One file per scenario; each starts its own fakes and bot and adds its figures to the results.

pub mod accept;
pub mod api_accept;
pub mod idle;
pub mod in_flight;
pub mod large_videos;
pub mod per_video;
pub mod postgres;
