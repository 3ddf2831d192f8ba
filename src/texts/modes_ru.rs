//! Russian texts of the further modes.

use super::{modes::ModeTexts, ru::Ru};
use crate::domain::{MAX_SOUND_CHARS, MAX_SPEECH_CHARS, ModeError, TaskKind};

/// Как просить слияние.
const FUSION_FORM: &str = "Пришлите до трёх фото вместе (альбомом) с подписью, где они названы по порядку \
                           как @имя латиницей: @cat спит на @beach (или --refs cat,beach). --bg beach делает \
                           одно из них фоном.";

impl ModeTexts for Ru {
    fn mode_usage(&self, kind: TaskKind) -> String {
        match kind {
            TaskKind::Extend => "Ответьте на своё видео командой /extend <что дальше> \
                                 или нажмите ➕ Продолжить под ним."
                .into(),
            TaskKind::Sound => "Ответьте на своё видео командой /sound <звук>, \
                                например /sound дождь по жестяной крыше."
                .into(),
            TaskKind::LipSync => format!(
                "Ответьте на своё видео голосовым сообщением, аудиофайлом или командой /say <текст> \
                 (до {MAX_SPEECH_CHARS} символов): видео это произнесёт."
            ),
            TaskKind::Transition => "Пришлите два фото вместе (альбомом) с подписью или ответьте на такой \
                                     альбом командой /transition <промпт>: видео от первого ко второму, \
                                     например день сменяется ночью."
                .into(),
            TaskKind::Fusion => {
                format!("{FUSION_FORM} Или ответьте на альбом командой /fusion <такая подпись>.")
            }
            TaskKind::T2v | TaskKind::I2v => "Пришлите описание или фото с подписью.".into(),
        }
    }

    fn mode_error(&self, error: &ModeError) -> String {
        match error {
            ModeError::SpeechLength { chars, max } => {
                format!("В тексте {chars} символов; видео может сказать от 1 до {max}.")
            }
            ModeError::SoundLength { chars, max } => {
                format!("В описании {chars} символов; можно от 1 до {max}.")
            }
            ModeError::NoReferences
            | ModeError::TooManyReferences { .. }
            | ModeError::BadReferenceName { .. }
            | ModeError::DuplicateReference { .. }
            | ModeError::UnmentionedReference { .. } => format!("Не сходится: {error}.\n{FUSION_FORM}"),
            other => format!("Так нельзя: {other}."),
        }
    }

    fn source_not_found(&self, kind: TaskKind) -> String {
        format!(
            "Это можно сделать только с вашим собственным видео. {}",
            self.mode_usage(kind)
        )
    }

    fn source_not_ready(&self) -> String {
        "Это видео ещё не готово (или не получилось). Дождитесь его и попробуйте снова.".into()
    }

    fn source_other_account(&self) -> String {
        "Это видео сделано другим аккаунтом PixVerse, которым вы больше не пользуетесь, а PixVerse \
         знает его только там. Попробуйте с видео, сделанным после смены аккаунта."
            .into()
    }

    fn needs_api_key(&self, kind: TaskKind) -> String {
        let what = match kind {
            TaskKind::Extend => "Для продолжения видео",
            TaskKind::Sound => "Для добавления звука",
            TaskKind::LipSync => "Для озвучки губами",
            TaskKind::Transition => "Для перехода",
            TaskKind::Fusion => "Для слияния",
            // i2v требует ключ только с шаблоном эффекта.
            TaskKind::I2v => "Для эффекта",
            TaskKind::T2v => "Для этого",
        };
        format!(
            "{what} нужен ключ PixVerse Platform API; вход через /login этого не умеет. \
             Подключите ключ командой /apikey <ключ> (с platform.pixverse.ai) и используйте видео, сделанное с ним."
        )
    }

    fn audio_too_large(&self, max_mb: u64) -> String {
        format!("Аудио больше {max_mb} МБ; пришлите покороче.")
    }

    fn voices(&self, count: usize) -> String {
        if count == 0 {
            return "PixVerse сейчас не даёт голосов; /say говорит автоматическим голосом.".into();
        }
        "Выберите голос для /say (✅ — ваш):".into()
    }

    fn voice_chosen(&self, speaker_id: &str) -> String {
        format!("Теперь /say говорит голосом {speaker_id}.")
    }

    fn button_extend(&self) -> String {
        "➕ Продолжить".into()
    }

    fn button_sound(&self) -> String {
        "🔊 Звук".into()
    }

    fn describe_sound(&self) -> String {
        format!(
            "Опишите звук: ответьте на видео командой /sound <описание> (до {MAX_SOUND_CHARS} символов), \
             например /sound ветер над снегом, далёкая сова."
        )
    }
}
