//! The life of a video at the fake: started by a generate call (credits and the account's
//! concurrency checked), it is done once its generation time has passed, whether or not anyone
//! looks; a status answer only reports where it stands. Generation times are drawn from a spread
//! around PixVerse's typical 30–60 s, scaled down for tests (30–60 ms unless set).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::Rng as _;
use serde_json::{Value, json};

use super::{Answer, FakePixverse, FakeVideo, State, VIDEO_COST, checks, now};

/// Status of a video still being made.
const GENERATING: i64 = 5;
/// The in-progress statuses the web listing reports, in turn (PixVerse's web app shows 9 and 10
/// besides 5 for videos still in the making).
const WEB_IN_PROGRESS: [i64; 3] = [5, 9, 10];

/// How long new videos take.
#[derive(Clone, Copy, Debug)]
pub(super) enum GenerationTime {
    /// Drawn uniformly from `min..=max` for each video.
    Spread { min: Duration, max: Duration },
    /// Never done until [`FakePixverse::finish_videos`].
    Held,
}

impl Default for GenerationTime {
    /// PixVerse's typical 30–60 s, a thousand times faster.
    fn default() -> Self {
        Self::Spread {
            min: Duration::from_millis(30),
            max: Duration::from_millis(60),
        }
    }
}

impl GenerationTime {
    /// When a video started now is done (None: held).
    fn done_at(self, started: Instant) -> Option<Instant> {
        match self {
            Self::Spread { min, max } => {
                let span = max.saturating_sub(min).as_micros() as u64;
                let extra = rand::thread_rng().gen_range(0..=span);
                Some(started + min + Duration::from_micros(extra))
            }
            Self::Held => None,
        }
    }
}

pub(super) struct Video {
    pub(super) public: FakeVideo,
    /// 5 while in the making, then the final status.
    pub(super) status: i64,
    final_status: i64,
    created_at: i64,
    /// When the generate call started it.
    started_at: Instant,
    /// When it is (or was) done at PixVerse; None while held.
    done_at: Option<Instant>,
    /// Status answers given while in progress (the web listing cycles through 5, 9, 10).
    observations: usize,
}

impl Video {
    fn new(public: FakeVideo, s: &State) -> Self {
        Self {
            public,
            status: GENERATING,
            final_status: s.final_status,
            created_at: now(),
            started_at: Instant::now(),
            done_at: s.generation_time.done_at(Instant::now()),
            observations: 0,
        }
    }

    /// Still being made at `at`.
    fn in_progress(&self, at: Instant) -> bool {
        self.status == GENERATING && self.done_at.is_none_or(|done| done > at)
    }

    /// A video whose status is success (1), so its MP4 is served.
    pub(super) fn ready(&self) -> bool {
        self.status == 1 || (self.final_status == 1 && !self.in_progress(Instant::now()))
    }
}

impl State {
    /// Starts a video after the surface-specific checks passed. Credits first, then the
    /// account's concurrency, as PixVerse reports them.
    pub(super) fn start_video(
        &mut self,
        account: &str,
        web: bool,
        params: checks::Generation,
        image: Option<String>,
    ) -> Answer {
        let credits = self.accounts.get(account).map_or(0, |a| a.credits);
        if credits <= 0 {
            return if web {
                Answer::err(500043, "insufficient credits")
            } else {
                Answer::err(500090, "insufficient balance")
            };
        }
        let at = Instant::now();
        let running = self
            .videos
            .iter()
            .filter(|v| v.public.account == account && v.in_progress(at))
            .count();
        if running >= self.concurrency {
            return Answer::err(500044, "concurrent generation limit reached");
        }
        if let Some(a) = self.accounts.get_mut(account) {
            a.credits = (a.credits - VIDEO_COST).max(0);
        }
        let id = self.next_video_id;
        self.next_video_id += 1;
        let public = FakeVideo {
            id,
            prompt: params.prompt,
            model: params.model,
            account: account.to_owned(),
            kind: if image.is_some() { "i2v" } else { "t2v" }.to_owned(),
            image,
        };
        let video = Video::new(public, self);
        self.videos.push(video);
        if web {
            Answer::ok(json!({ "video_id": id, "video_ids": [id], "success_count": 1, "total_count": 1 }))
        } else {
            Answer::ok(json!({ "video_id": id, "credits": VIDEO_COST }))
        }
    }

    /// One status answer about a video: where it stands now. Moderated videos are refunded, as
    /// PixVerse does. `web`: the listing's status numbers (5, 9 or 10 while in progress).
    pub(super) fn observe(&mut self, index: usize, web: bool) -> Value {
        let at = Instant::now();
        let video = &mut self.videos[index];
        let reported = if video.in_progress(at) {
            video.observations += 1;
            if web {
                WEB_IN_PROGRESS[(video.observations - 1) % WEB_IN_PROGRESS.len()]
            } else {
                GENERATING
            }
        } else {
            if video.status == GENERATING {
                video.status = video.final_status;
                if video.status == 7 {
                    let account = video.public.account.clone();
                    if let Some(a) = self.accounts.get_mut(&account) {
                        a.credits += VIDEO_COST;
                    }
                }
            }
            self.videos[index].status
        };
        let video = &self.videos[index];
        let url = if reported == 1 {
            format!("{}/media/{}.mp4", self.base_url, video.public.id)
        } else {
            String::new()
        };
        json!({
            "id": video.public.id,
            "video_id": video.public.id,
            "status": reported,
            "video_status": reported,
            "url": url,
            "prompt": video.public.prompt,
            "first_frame": "",
            "create_time": video.created_at,
            "modify_time": now(),
            "outputWidth": 1280,
            "outputHeight": 720,
            "size": if reported == 1 { self.video_size } else { 0 },
            "credits": VIDEO_COST,
        })
    }
}

impl FakePixverse {
    /// New videos take between `min` and `max` (uniformly drawn) to generate.
    pub fn set_generation_time(&self, min: Duration, max: Duration) {
        assert!(min <= max, "set_generation_time: {min:?} > {max:?}");
        self.lock().generation_time = GenerationTime::Spread { min, max };
    }

    /// New videos stay in the making until [`FakePixverse::finish_videos`].
    pub fn hold_videos(&self) {
        self.lock().generation_time = GenerationTime::Held;
    }

    /// Every video still in the making is done now (and new ones take the default time again,
    /// unless a generation time was set).
    pub fn finish_videos(&self) {
        let mut s = self.lock();
        let at = Instant::now();
        for video in s.videos.iter_mut().filter(|v| v.in_progress(at)) {
            video.done_at = Some(at);
        }
        if matches!(s.generation_time, GenerationTime::Held) {
            s.generation_time = GenerationTime::default();
        }
    }

    /// Video `id` is done now; the others stay as they are.
    pub fn finish_video(&self, id: i64) {
        let at = Instant::now();
        let mut s = self.lock();
        let video = s.videos.iter_mut().find(|v| v.public.id == id);
        video.expect("finish_video: no such video").done_at = Some(at);
    }

    /// Status answers (either surface) that reported a video still in progress; the web listing
    /// reports 5, 9 and 10 in turn, so three or more include 9 and 10.
    pub fn in_progress_observations(&self) -> usize {
        self.lock().videos.iter().map(|v| v.observations).sum()
    }

    /// Registers a video already generating for `account` (an API key or a web username), as if
    /// a generate call had started it, bypassing the concurrency and credit checks. Returns its
    /// id. (For the benchmark, which seeds thousands of tasks at once.)
    pub fn add_generating_video(&self, account: &str, prompt: &str) -> i64 {
        let mut s = self.lock();
        let id = s.next_video_id;
        s.next_video_id += 1;
        let public = FakeVideo {
            id,
            prompt: prompt.to_owned(),
            model: "v5".to_owned(),
            account: account.to_owned(),
            kind: "t2v".to_owned(),
            image: None,
        };
        let video = Video::new(public, &s);
        s.videos.push(video);
        id
    }

    /// The most videos that were generating at one moment, per group (`group` names a video's
    /// group: its account, or the user its prompt names), over every video so far. A video
    /// generates from its generate call until it is done (a held one: until now).
    pub fn peak_generating(&self, group: impl Fn(&FakeVideo) -> String) -> HashMap<String, usize> {
        let now = Instant::now();
        let mut edges: HashMap<String, Vec<(Instant, i32)>> = HashMap::new();
        for video in &self.lock().videos {
            let done = video.done_at.map_or(now, |done| done.min(now));
            let group_edges = edges.entry(group(&video.public)).or_default();
            group_edges.push((video.started_at, 1));
            // Ends sort before starts at the same instant: a slot freed and taken at once.
            group_edges.push((done.max(video.started_at), -1));
        }
        edges
            .into_iter()
            .map(|(group, mut group_edges)| {
                group_edges.sort();
                let (mut running, mut peak) = (0i32, 0i32);
                for (_, step) in group_edges {
                    running += step;
                    peak = peak.max(running);
                }
                (group, peak as usize)
            })
            .collect()
    }

    /// When video `id` was done at PixVerse, if it is (the benchmark times delivery from it).
    pub fn finished_at(&self, id: i64) -> Option<Instant> {
        let at = Instant::now();
        self.lock()
            .videos
            .iter()
            .find(|v| v.public.id == id)
            .filter(|v| !v.in_progress(at))
            .and_then(|v| v.done_at)
    }
}
