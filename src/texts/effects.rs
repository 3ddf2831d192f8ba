//! Texts of `/effects` (PixVerse's effect templates applied to the next photo). Kept apart
//! from [`super::Texts`]; the trait makes every text exist in both languages.

use super::{Lang, en::En, ru::Ru};

pub fn effect_texts(lang: Lang) -> &'static dyn EffectTexts {
    match lang {
        Lang::En => &En,
        Lang::Ru => &Ru,
    }
}

pub trait EffectTexts: Send + Sync {
    /// The list's header above page `page` of the templates (none when `empty`).
    fn effects_list(&self, page: u32, empty: bool) -> String;
    fn button_previous(&self) -> String;
    fn button_next(&self) -> String;
    fn button_cancel(&self) -> String;
    /// A template was picked: what to send now.
    fn effect_picked(&self, name: &str, minutes: i64) -> String;
    /// A button named a template PixVerse never listed (forged, or the list is stale).
    fn effect_unknown(&self) -> String;
    /// The pick was forgotten (`had_one`: there was a live pick).
    fn effect_cancelled(&self, had_one: bool) -> String;
    /// Listing without a Platform API key to ask with.
    fn effects_need_api_key(&self) -> String;
}
