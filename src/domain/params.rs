//! Generation parameters and the combinations PixVerse accepts (see shared/pixverse-api.md).
//!
//! They are checked here, before anything is sent, so the user is told what to change instead
//! of waiting for PixVerse to reject the request.

use serde::{Deserialize, Serialize};

/// An enum whose values travel as fixed strings (to PixVerse, in flags and in the database).
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<$name> {
                let text = text.trim().to_ascii_lowercase();
                $name::ALL.iter().copied().find(|v| v.as_str() == text)
            }

            /// Every accepted value, for messages that list the choices.
            pub fn choices() -> Vec<&'static str> {
                $name::ALL.iter().map(|v| v.as_str()).collect()
            }
        }
    };
}

wire_enum!(
    /// PixVerse video models.
    Model { V3_5 = "v3.5", V4 = "v4", V4_5 = "v4.5", V5 = "v5", V5_5 = "v5.5", V5_6 = "v5.6", V6 = "v6", C1 = "c1" }
);
wire_enum!(Quality { P360 = "360p", P540 = "540p", P720 = "720p", P1080 = "1080p" });
wire_enum!(AspectRatio {
    R16x9 = "16:9", R4x3 = "4:3", R1x1 = "1:1", R3x4 = "3:4", R9x16 = "9:16",
    R2x3 = "2:3", R3x2 = "3:2", R21x9 = "21:9",
});
wire_enum!(MotionMode { Normal = "normal", Fast = "fast" });
wire_enum!(Style { Anime = "anime", Animation3d = "3d_animation", Clay = "clay", Comic = "comic", Cyberpunk = "cyberpunk" });

pub const MAX_SEED: u32 = 2_147_483_647;

impl Model {
    /// Durations in seconds this model accepts at `quality`.
    pub fn durations(self, quality: Quality) -> Vec<u32> {
        match self {
            Model::V6 | Model::C1 => (1..=15).collect(),
            Model::V5_5 | Model::V5_6 if quality == Quality::P1080 => vec![5, 8],
            Model::V5_5 | Model::V5_6 => vec![5, 8, 10],
            Model::V3_5 if quality == Quality::P1080 => vec![5],
            _ => vec![5, 8],
        }
    }

    pub fn aspect_ratios(self) -> &'static [AspectRatio] {
        match self {
            Model::V6 | Model::C1 => AspectRatio::ALL,
            _ => &AspectRatio::ALL[..5],
        }
    }

    /// Sound generation exists from v5.5 on.
    pub fn supports_audio(self) -> bool {
        matches!(self, Model::V5_5 | Model::V5_6 | Model::V6 | Model::C1)
    }
}

/// Everything that shapes one generation besides the prompt and the image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationParams {
    pub model: Model,
    pub duration: u32,
    pub quality: Quality,
    pub aspect_ratio: AspectRatio,
    pub motion_mode: MotionMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<Style>,
    #[serde(default)]
    pub audio: bool,
    /// A described sound made with the video (`--sfx`; PixVerse's `sound_effect_content`),
    /// Platform API only. Checked: trimmed, 1 to [`super::modes::MAX_SOUND_CHARS`] characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound_effect: Option<String>,
    /// One of PixVerse's effect templates applied to an image-to-video (`/effects`; PixVerse's
    /// `template_id`), Platform API only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<i64>,
}

impl Default for GenerationParams {
    fn default() -> Self {
        GenerationParams {
            model: Model::V5,
            duration: 5,
            quality: Quality::P540,
            aspect_ratio: AspectRatio::R16x9,
            motion_mode: MotionMode::Normal,
            seed: None,
            negative_prompt: None,
            style: None,
            audio: false,
            sound_effect: None,
            template_id: None,
        }
    }
}

/// A value the user gave that cannot be used, and what would work instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamError {
    UnknownFlag(String),
    MissingValue {
        flag: String,
    },
    InvalidValue {
        flag: String,
        value: String,
        accepted: String,
    },
    Combination(ParamProblem),
}

/// A combination of individually valid values that PixVerse refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamProblem {
    Duration {
        model: Model,
        quality: Quality,
        duration: u32,
        accepted: Vec<u32>,
    },
    AspectRatio {
        model: Model,
        aspect_ratio: AspectRatio,
    },
    /// Fast motion needs 5 seconds and a quality below 1080p.
    FastMotion,
    Audio {
        model: Model,
    },
}

impl GenerationParams {
    /// Checks the combination rules of the PixVerse API.
    pub fn validate(&self) -> Result<(), ParamError> {
        let problem = |p| Err(ParamError::Combination(p));
        let durations = self.model.durations(self.quality);
        if !durations.contains(&self.duration) {
            return problem(ParamProblem::Duration {
                model: self.model,
                quality: self.quality,
                duration: self.duration,
                accepted: durations,
            });
        }
        if !self.model.aspect_ratios().contains(&self.aspect_ratio) {
            return problem(ParamProblem::AspectRatio {
                model: self.model,
                aspect_ratio: self.aspect_ratio,
            });
        }
        if self.motion_mode == MotionMode::Fast && (self.duration != 5 || self.quality == Quality::P1080) {
            return problem(ParamProblem::FastMotion);
        }
        if self.audio && !self.model.supports_audio() {
            return problem(ParamProblem::Audio { model: self.model });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_a_valid_combination() {
        assert_eq!(GenerationParams::default().validate(), Ok(()));
    }

    #[test]
    fn durations_follow_the_model_and_quality() {
        assert_eq!(Model::V5.durations(Quality::P720), [5, 8]);
        assert_eq!(Model::V5_5.durations(Quality::P720), [5, 8, 10]);
        assert_eq!(Model::V5_5.durations(Quality::P1080), [5, 8]);
        assert_eq!(Model::V3_5.durations(Quality::P1080), [5]);
        assert_eq!(Model::V6.durations(Quality::P1080).len(), 15);
    }

    #[test]
    fn refused_combinations_say_what_is_wrong() {
        let fast_8s = GenerationParams {
            motion_mode: MotionMode::Fast,
            duration: 8,
            ..Default::default()
        };
        assert_eq!(
            fast_8s.validate(),
            Err(ParamError::Combination(ParamProblem::FastMotion))
        );
        let wide_v5 = GenerationParams {
            aspect_ratio: AspectRatio::R21x9,
            ..Default::default()
        };
        assert!(matches!(
            wide_v5.validate(),
            Err(ParamError::Combination(ParamProblem::AspectRatio { .. }))
        ));
        let wide_v6 = GenerationParams {
            aspect_ratio: AspectRatio::R21x9,
            model: Model::V6,
            ..Default::default()
        };
        assert_eq!(wide_v6.validate(), Ok(()));
        let audio_v4 = GenerationParams {
            audio: true,
            model: Model::V4,
            ..Default::default()
        };
        assert!(matches!(
            audio_v4.validate(),
            Err(ParamError::Combination(ParamProblem::Audio { .. }))
        ));
    }

    #[test]
    fn values_parse_case_insensitively_and_round_trip() {
        assert_eq!(Model::parse("V5.5"), Some(Model::V5_5));
        assert_eq!(Quality::parse("720P"), Some(Quality::P720));
        assert_eq!(AspectRatio::parse("9:16"), Some(AspectRatio::R9x16));
        assert_eq!(Style::parse("wat"), None);
        let json = serde_json::to_string(&GenerationParams::default()).unwrap();
        assert_eq!(
            serde_json::from_str::<GenerationParams>(&json).unwrap(),
            GenerationParams::default()
        );
    }
}
