//! What an inline button means: the `callback_data` the bot puts on buttons and reads back.
//! Kept short (Telegram allows 64 bytes) and parsed defensively: it comes back from clients.

use super::params::{AspectRatio, GenerationParams, Model, MotionMode, Quality};

/// Telegram's limit on `callback_data`.
pub const MAX_CALLBACK_DATA: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Callback {
    /// The same request again, as a new task (`again:<task_id>`).
    Again(i64),
    /// The same request with a new random seed (`seed:<task_id>`).
    NewSeed(i64),
    /// A failed task once more (`retry:<task_id>`).
    Retry(i64),
    /// Send a delivered video again by its Telegram file id (`hist:<task_id>`).
    Resend(i64),
    /// A continuation of a delivered video (`ext:<task_id>`).
    Extend(i64),
    /// How to give a delivered video a sound (`snd:<task_id>`).
    Sound(i64),
    /// Pick a TTS voice for `/say` (`voice:<speaker_id>`).
    Voice(String),
    /// One page (from 1) of the `/effects` list (`fxp:<page>`).
    EffectsPage(u32),
    /// Pick an effect template for the next photo (`fx:<template_id>`).
    Effect(i64),
    /// Forget the picked effect (`fxx`).
    EffectCancel,
    /// The settings menu's main page (`set`).
    SettingsHome,
    /// The choices for one setting (`set:<field>`).
    SettingsOpen(SettingField),
    /// Choose a value (`set:<field>:<value>`).
    SettingsChoose(SettingField, String),
    /// Choose the language (`lang:<code>`).
    Language(String),
}

impl Callback {
    /// The task a result button is about (the buttons under a delivered video).
    pub fn result_task(&self) -> Option<i64> {
        match self {
            Callback::Again(id) | Callback::NewSeed(id) | Callback::Extend(id) | Callback::Sound(id) => {
                Some(*id)
            }
            _ => None,
        }
    }

    pub fn encode(&self) -> String {
        match self {
            Callback::Again(id) => format!("again:{id}"),
            Callback::NewSeed(id) => format!("seed:{id}"),
            Callback::Retry(id) => format!("retry:{id}"),
            Callback::Resend(id) => format!("hist:{id}"),
            Callback::Extend(id) => format!("ext:{id}"),
            Callback::Sound(id) => format!("snd:{id}"),
            Callback::Voice(speaker_id) => format!("voice:{speaker_id}"),
            Callback::EffectsPage(page) => format!("fxp:{page}"),
            Callback::Effect(template_id) => format!("fx:{template_id}"),
            Callback::EffectCancel => "fxx".to_owned(),
            Callback::SettingsHome => "set".to_owned(),
            Callback::SettingsOpen(field) => format!("set:{}", field.code()),
            Callback::SettingsChoose(field, value) => format!("set:{}:{value}", field.code()),
            Callback::Language(code) => format!("lang:{code}"),
        }
    }

    pub fn parse(data: &str) -> Option<Callback> {
        if data.len() > MAX_CALLBACK_DATA {
            return None;
        }
        let mut parts = data.splitn(3, ':');
        let head = parts.next()?;
        let second = parts.next();
        let third = parts.next();
        let id = || second.and_then(|s| s.parse::<i64>().ok()).filter(|id| *id > 0);
        Some(match (head, third) {
            ("again", None) => Callback::Again(id()?),
            ("seed", None) => Callback::NewSeed(id()?),
            ("retry", None) => Callback::Retry(id()?),
            ("hist", None) => Callback::Resend(id()?),
            ("ext", None) => Callback::Extend(id()?),
            ("snd", None) => Callback::Sound(id()?),
            ("voice", None) => Callback::Voice(second.filter(|s| !s.is_empty())?.to_owned()),
            ("fxp", None) => Callback::EffectsPage(second?.parse().ok().filter(|page| *page > 0)?),
            ("fx", None) => Callback::Effect(id()?),
            ("fxx", None) if second.is_none() => Callback::EffectCancel,
            ("set", None) => match second {
                None => Callback::SettingsHome,
                Some(field) => Callback::SettingsOpen(SettingField::from_code(field)?),
            },
            ("set", Some(value)) => {
                Callback::SettingsChoose(SettingField::from_code(second?)?, value.to_owned())
            }
            ("lang", None) => Callback::Language(second?.to_owned()),
            _ => return None,
        })
    }
}

/// One of the parameters /settings changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingField {
    Model,
    Duration,
    Quality,
    AspectRatio,
    Motion,
    Audio,
}

impl SettingField {
    pub const ALL: [SettingField; 6] = [
        SettingField::Model,
        SettingField::Duration,
        SettingField::Quality,
        SettingField::AspectRatio,
        SettingField::Motion,
        SettingField::Audio,
    ];

    fn code(self) -> &'static str {
        match self {
            SettingField::Model => "model",
            SettingField::Duration => "d",
            SettingField::Quality => "q",
            SettingField::AspectRatio => "ar",
            SettingField::Motion => "motion",
            SettingField::Audio => "audio",
        }
    }

    fn from_code(code: &str) -> Option<SettingField> {
        SettingField::ALL.into_iter().find(|f| f.code() == code)
    }

    /// Whether the menu shows this setting for `params` (audio only where the model has sound).
    pub fn applies_to(self, params: &GenerationParams) -> bool {
        self != SettingField::Audio || params.model.supports_audio()
    }

    /// The current value, as it travels in callback data.
    pub fn value_of(self, params: &GenerationParams) -> String {
        match self {
            SettingField::Model => params.model.as_str().to_owned(),
            SettingField::Duration => params.duration.to_string(),
            SettingField::Quality => params.quality.as_str().to_owned(),
            SettingField::AspectRatio => params.aspect_ratio.as_str().to_owned(),
            SettingField::Motion => params.motion_mode.as_str().to_owned(),
            SettingField::Audio => if params.audio { "on" } else { "off" }.to_owned(),
        }
    }

    /// The values the menu offers, given the other current values. Durations and aspect ratios
    /// are the ones the model (and quality) accept; models, qualities and motion modes are all
    /// offered and explained when a tap would make an invalid combination (see [`Self::apply`]).
    pub fn choices(self, params: &GenerationParams) -> Vec<String> {
        let owned = |v: Vec<&str>| v.into_iter().map(str::to_owned).collect();
        match self {
            SettingField::Model => owned(Model::choices()),
            SettingField::Duration => params
                .model
                .durations(params.quality)
                .into_iter()
                .map(|d| d.to_string())
                .collect(),
            SettingField::Quality => owned(Quality::choices()),
            SettingField::AspectRatio => params
                .model
                .aspect_ratios()
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            SettingField::Motion => owned(MotionMode::choices()),
            SettingField::Audio => vec!["on".to_owned(), "off".to_owned()],
        }
    }

    /// `params` with this setting set to `value`; `None` for a value that is not one of ours.
    /// The result may be an invalid combination: the caller validates and explains.
    pub fn apply(self, params: &GenerationParams, value: &str) -> Option<GenerationParams> {
        let mut next = params.clone();
        match self {
            SettingField::Model => next.model = Model::parse(value)?,
            SettingField::Duration => next.duration = value.parse().ok().filter(|d| (1..=15).contains(d))?,
            SettingField::Quality => next.quality = Quality::parse(value)?,
            SettingField::AspectRatio => next.aspect_ratio = AspectRatio::parse(value)?,
            SettingField::Motion => next.motion_mode = MotionMode::parse(value)?,
            SettingField::Audio => {
                next.audio = match value {
                    "on" => true,
                    "off" => false,
                    _ => return None,
                }
            }
        }
        if !next.model.supports_audio() {
            // Sound is not a choice on this model; keep the combination valid.
            next.audio = false;
        }
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_callback_round_trips_and_fits_telegrams_limit() {
        let mut all = vec![
            Callback::Again(i64::MAX),
            Callback::NewSeed(1),
            Callback::Retry(42),
            Callback::Resend(7),
            Callback::SettingsHome,
            Callback::Language("ru".into()),
            Callback::EffectsPage(3),
            Callback::Effect(315_000_000_000_000_001),
            Callback::EffectCancel,
        ];
        let params = GenerationParams {
            model: Model::V6,
            ..Default::default()
        };
        for field in SettingField::ALL {
            all.push(Callback::SettingsOpen(field));
            for value in field.choices(&params) {
                all.push(Callback::SettingsChoose(field, value));
            }
        }
        for callback in all {
            let data = callback.encode();
            assert!(data.len() <= MAX_CALLBACK_DATA, "{data}");
            assert_eq!(Callback::parse(&data), Some(callback), "{data}");
        }
    }

    #[test]
    fn forged_callback_data_is_refused() {
        for data in [
            "", "again", "again:", "again:x", "again:-1", "seed:1:2", "set:zoom", "wat:1", "fx:", "fx:abc",
            "fx:0", "fxp:0", "fxp:-1", "fxx:1",
        ] {
            assert_eq!(Callback::parse(data), None, "{data}");
        }
        assert_eq!(Callback::parse(&"x".repeat(65)), None);
    }

    #[test]
    fn choices_follow_the_other_values_and_taps_can_be_invalid() {
        let v5 = GenerationParams::default();
        assert_eq!(SettingField::Duration.choices(&v5), ["5", "8"]);
        assert!(
            !SettingField::AspectRatio
                .choices(&v5)
                .contains(&"21:9".to_owned())
        );
        assert!(!SettingField::Audio.applies_to(&v5));
        let fast = SettingField::Motion.apply(&v5, "fast").unwrap();
        assert_eq!(fast.validate(), Ok(()));
        let eight = SettingField::Duration.apply(&fast, "8").unwrap();
        assert!(eight.validate().is_err(), "fast motion needs 5 s");
        assert_eq!(SettingField::Quality.apply(&v5, "4k"), None);
        let v6 = SettingField::Model.apply(&v5, "v6").unwrap();
        let with_audio = SettingField::Audio.apply(&v6, "on").unwrap();
        assert!(with_audio.audio);
        let back_to_v5 = SettingField::Model.apply(&with_audio, "v5").unwrap();
        assert!(!back_to_v5.audio, "audio is dropped where the model has none");
    }
}
