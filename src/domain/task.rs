//! What a task is and the states it moves through.

use std::{fmt, str::FromStr};

/// What a task makes: a video from text or from an image, or one of PixVerse's further modes
/// on a video it made earlier (whose inputs the task carries as a `ModeInput`). Stored by name;
/// an unknown name is a decode error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type, serde::Serialize, serde::Deserialize)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    T2v,
    I2v,
    /// A continuation of an earlier video.
    Extend,
    /// An earlier video with a described sound.
    Sound,
    /// An earlier video speaking a text or an audio.
    LipSync,
    /// A video from one image to another.
    Transition,
    /// A video combining named reference images.
    Fusion,
}

impl TaskKind {
    pub const ALL: [TaskKind; 7] = [
        TaskKind::T2v,
        TaskKind::I2v,
        TaskKind::Extend,
        TaskKind::Sound,
        TaskKind::LipSync,
        TaskKind::Transition,
        TaskKind::Fusion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::T2v => "t2v",
            TaskKind::I2v => "i2v",
            TaskKind::Extend => "extend",
            TaskKind::Sound => "sound",
            TaskKind::LipSync => "lip_sync",
            TaskKind::Transition => "transition",
            TaskKind::Fusion => "fusion",
        }
    }

    /// One of the further modes: Platform API only.
    pub fn is_mode(self) -> bool {
        !matches!(self, TaskKind::T2v | TaskKind::I2v)
    }
}

impl FromStr for TaskKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TaskKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| format!("unknown task kind `{s}`"))
    }
}

/// The life of a task. The worker moves it forward; every state is stored before the side
/// effect that depends on it counts as done, so a restart resumes from the stored state.
///
/// ```text
/// queued ─► submitting ─► generating ─► delivering ─► delivered
///    └──────────┴─────────────┴─────────────┴──────► failed
/// ```
/// Stored by name; an unknown name is a decode error, never a silent default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum TaskState {
    /// Accepted, nothing sent to PixVerse yet (also: waiting for a free PixVerse slot).
    Queued,
    /// We are about to ask PixVerse to generate; PixVerse may or may not have accepted it.
    Submitting,
    /// PixVerse accepted it and gave a `video_id`; we poll its status.
    Generating,
    /// PixVerse finished; we are downloading the video and sending it to the chat.
    Delivering,
    /// The video reached the chat. Final.
    Delivered,
    /// It ended without a video; the user was told why. Final.
    Failed,
}

impl TaskState {
    pub const ALL: [TaskState; 6] = [
        TaskState::Queued,
        TaskState::Submitting,
        TaskState::Generating,
        TaskState::Delivering,
        TaskState::Delivered,
        TaskState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Queued => "queued",
            TaskState::Submitting => "submitting",
            TaskState::Generating => "generating",
            TaskState::Delivering => "delivering",
            TaskState::Delivered => "delivered",
            TaskState::Failed => "failed",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, TaskState::Delivered | TaskState::Failed)
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaskState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TaskState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown task state `{s}`"))
    }
}

/// Why a task that is not finished waits instead of moving on. Stored with the task (not as
/// error text), so a step can tell "already said so" from "new", and /status can say why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum WaitReason {
    /// PixVerse refused the owner's credential; a new /login or /apikey wakes the task.
    Login,
    /// Every generation slot of the account (or of the pool) is taken.
    Slot,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips_through_its_name() {
        for state in TaskState::ALL {
            assert_eq!(state.as_str().parse::<TaskState>(), Ok(state));
        }
        assert!("lost".parse::<TaskState>().is_err());
    }

    #[test]
    fn every_kind_round_trips_through_its_name() {
        for kind in TaskKind::ALL {
            assert_eq!(kind.as_str().parse::<TaskKind>(), Ok(kind));
        }
        assert!("effect".parse::<TaskKind>().is_err());
    }

    #[test]
    fn only_delivered_and_failed_are_final() {
        let finals: Vec<_> = TaskState::ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(finals, [TaskState::Delivered, TaskState::Failed]);
    }
}
