//! Texts of `/token`: API tokens for the account a Telegram user already has.

use super::Lang;

pub fn api_texts(lang: Lang) -> &'static dyn ApiTexts {
    match lang {
        Lang::En => &En,
        Lang::Ru => &Ru,
    }
}

pub trait ApiTexts: Sync {
    /// A new token (shown once; Markdown-free plain text).
    fn token_issued(&self, token: &str) -> String;
    fn tokens_revoked(&self, count: u64) -> String;
    fn token_usage(&self) -> String;
    fn token_only_in_private(&self) -> String;
}

struct En;
struct Ru;

impl ApiTexts for En {
    fn token_issued(&self, token: &str) -> String {
        format!(
            "Your API token (shown once, keep it secret):\n\n{token}\n\n\
             Send it as `Authorization: Bearer <token>` to the HTTP API (its docs are at /docs). \
             It uses the same account, history, limits and quota as this chat. \
             /token revoke cancels all your tokens."
        )
    }

    fn tokens_revoked(&self, count: u64) -> String {
        match count {
            0 => "You had no API tokens.".into(),
            1 => "Your API token is revoked.".into(),
            n => format!("Your {n} API tokens are revoked."),
        }
    }

    fn token_usage(&self) -> String {
        "/token gives you a new API token; /token revoke cancels all of them.".into()
    }

    fn token_only_in_private(&self) -> String {
        "API tokens are secrets: send /token to me in a private chat.".into()
    }
}

impl ApiTexts for Ru {
    fn token_issued(&self, token: &str) -> String {
        format!(
            "Ваш API-токен (показывается один раз, храните его в секрете):\n\n{token}\n\n\
             Передавайте его как `Authorization: Bearer <token>` в HTTP API (документация — /docs). \
             Это тот же аккаунт, история, лимиты и квота, что и в этом чате. \
             /token revoke отзывает все ваши токены."
        )
    }

    fn tokens_revoked(&self, count: u64) -> String {
        match count {
            0 => "У вас не было API-токенов.".into(),
            1 => "Ваш API-токен отозван.".into(),
            n => format!("Ваши API-токены отозваны: {n}."),
        }
    }

    fn token_usage(&self) -> String {
        "/token выдаёт новый API-токен; /token revoke отзывает все.".into()
    }

    fn token_only_in_private(&self) -> String {
        "API-токен — это секрет: отправьте /token мне в личном чате.".into()
    }
}
