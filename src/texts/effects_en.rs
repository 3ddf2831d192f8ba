//! English texts of /effects.

use super::{effects::EffectTexts, en::En};

impl EffectTexts for En {
    fn effects_list(&self, page: u32, empty: bool) -> String {
        if empty {
            return "PixVerse lists no effects here right now.".into();
        }
        format!(
            "Effects, page {page}. Pick one, then send a photo: it becomes a video with that effect \
             (a caption, if any, is the prompt)."
        )
    }

    fn button_previous(&self) -> String {
        "◀ Back".into()
    }

    fn button_next(&self) -> String {
        "More ▶".into()
    }

    fn button_cancel(&self) -> String {
        "✖ No effect".into()
    }

    fn effect_picked(&self, name: &str, minutes: i64) -> String {
        format!("✨ {name}: now send a photo (within {minutes} minutes). /cancel forgets it.")
    }

    fn effect_unknown(&self) -> String {
        "I don't know that effect (any more). Open /effects again.".into()
    }

    fn effect_cancelled(&self, had_one: bool) -> String {
        if had_one {
            "Effect forgotten: photos are ordinary requests again.".into()
        } else {
            "No effect was picked.".into()
        }
    }

    fn effects_need_api_key(&self) -> String {
        "Effects need a PixVerse Platform API key; a web login (/login) cannot use them. \
         Connect a key with /apikey <key> (from platform.pixverse.ai)."
            .into()
    }
}
