//! Russian texts of /effects.

use super::{effects::EffectTexts, ru::Ru};

impl EffectTexts for Ru {
    fn effects_list(&self, page: u32, empty: bool) -> String {
        if empty {
            return "Сейчас PixVerse не предлагает эффектов.".into();
        }
        format!(
            "Эффекты, страница {page}. Выберите эффект и пришлите фото: из него получится видео с этим \
             эффектом (подпись, если есть, станет промптом)."
        )
    }

    fn button_previous(&self) -> String {
        "◀ Назад".into()
    }

    fn button_next(&self) -> String {
        "Ещё ▶".into()
    }

    fn button_cancel(&self) -> String {
        "✖ Без эффекта".into()
    }

    fn effect_picked(&self, name: &str, minutes: i64) -> String {
        format!("✨ {name}: теперь пришлите фото (в течение {minutes} минут). /cancel отменит выбор.")
    }

    fn effect_unknown(&self) -> String {
        "Такого эффекта я не знаю (или уже не знаю). Откройте /effects ещё раз.".into()
    }

    fn effect_cancelled(&self, had_one: bool) -> String {
        if had_one {
            "Эффект отменён: фото снова обычные запросы.".into()
        } else {
            "Эффект не был выбран.".into()
        }
    }

    fn effects_need_api_key(&self) -> String {
        "Для эффектов нужен API-ключ PixVerse Platform; веб-вход (/login) их не умеет. \
         Подключите ключ: /apikey <ключ> (с platform.pixverse.ai)."
            .into()
    }
}
