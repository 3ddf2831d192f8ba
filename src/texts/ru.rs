//! Russian texts.

use std::time::Duration;

use super::{
    FailureReason, Lang, SettingField, TaskLine, Texts, clock, echo, join_numbers, params_line, progress_bar,
    shorten, task_line,
};
use crate::domain::{GenerationParams, MotionMode, ParamError, ParamProblem, TaskState};

pub struct Ru;

const FLAGS: &str = "Флаги после промпта меняют один запрос:\n\
  --ar 9:16   соотношение сторон (16:9, 4:3, 1:1, 3:4, 9:16)\n\
  --q 720p    качество (360p, 540p, 720p, 1080p)\n\
  --d 8       длительность в секундах\n\
  --model v5  модель (v3.5 … v6, c1)\n\
  --seed 42   повторяемый результат\n\
  --no текст  чего избегать\n\
  --fast      быстрое движение (5 с, ниже 1080p)\n\
  --style anime  anime, 3d_animation, clay, comic, cyberpunk\n\
  --audio     сгенерированный звук (v5.5 и новее)\n\
  --sfx дождь описанный звук к видео (нужен API-ключ)";

impl Texts for Ru {
    fn lang(&self) -> Lang {
        Lang::Ru
    }

    fn start(&self, first_name: &str, has_own_account: bool, shared_available: bool) -> String {
        let next = if has_own_account {
            "Ваш аккаунт PixVerse подключён. Отправьте /t2v и промпт или фото с подписью."
        } else if shared_available {
            "Можно начинать сразу: отправьте /t2v и промпт или фото с подписью. \
             Чтобы тратить свои кредиты PixVerse, подключите аккаунт через /login или /apikey."
        } else {
            "Сначала подключите аккаунт PixVerse: /login <email> <пароль> или /apikey <ключ> \
             (в этом личном чате; сообщение сразу удаляется)."
        };
        format!(
            "Привет, {first_name}! Я превращаю текст и фото в видео PixVerse AI.\n\n{next}\n\n\
             Пример: /t2v лиса бежит по снегу на закате --ar 9:16\n/help — все команды."
        )
    }

    fn help(&self) -> String {
        format!(
            "Что я умею:\n\
             /t2v <промпт> — видео из текста. Пример: /t2v бумажный кораблик на дождливой улице\n\
             /i2v <промпт> — видео из фото: как подпись к фото или ответом на фото\n\
             Фото с подписью (в личном чате) — то же, что /i2v\n\
             /extend <промпт> — ответом на ваше видео: его продолжение\n\
             /sound <описание> — ответом на ваше видео: то же видео с этим звуком\n\
             /say <текст> — ответом на ваше видео: видео произносит текст (до 200 символов); \
             голосовое или аудиофайл в ответ делает то же с этим звуком; /voices — выбрать голос\n\
             /effects — эффекты PixVerse кнопками: выберите и пришлите фото; /cancel отменяет выбор\n\
             Два фото альбомом с подписью (или /transition <промпт> ответом на альбом) — \
             переход от первого ко второму\n\
             До трёх фото альбомом, подпись называет их (@cat спит на @beach, --bg beach; \
             или /fusion <такая подпись> ответом на альбом) — слияние\n\
             /status — ваши видео в работе и последние готовые\n\
             /balance — кредиты аккаунта, на котором вы генерируете\n\
             /settings — ваши настройки по умолчанию (модель, длительность, качество, формат, \
             движение, звук) кнопками; флаги по-прежнему меняют один запрос\n\
             /history — ваши последние 10 видео; нажмите, чтобы получить снова\n\
             /language — русский или английский\n\
             /login <email> <пароль> — подключить аккаунт PixVerse (только в личном чате)\n\
             /apikey <ключ> — подключить API-ключ PixVerse (только в личном чате)\n\
             /logout — отключить аккаунт\n\n{FLAGS}\n\n\
             Пример: /t2v маяк в шторм --ar 9:16 --q 720p --d 8 --seed 42 --no text\n\
             Под каждым видео: 🔁 Ещё раз (тот же запрос), 🎲 Новый seed (новый вариант), \
             ➕ Продолжить и 🔊 Звук. Продолжение, звук, /say и эффекты требуют API-ключ PixVerse (/apikey).\n\n\
             В группах: /t2v@имя_бота <промпт> или фото с подписью /i2v <промпт>."
        )
    }

    fn command_descriptions(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("start", "Что умеет бот"),
            ("help", "Команды, флаги и примеры"),
            ("t2v", "Видео из текста: /t2v <промпт>"),
            ("i2v", "Видео из фото: подпись или ответ"),
            ("extend", "Продолжить видео: ответом на него"),
            ("sound", "Добавить звук: ответом на видео"),
            ("say", "Видео говорит текст: ответом на него"),
            ("transition", "Переход между фото: ответом на альбом"),
            ("fusion", "Слияние фото: ответом на альбом"),
            ("voices", "Выбрать голос для /say"),
            ("effects", "Эффекты для следующего фото"),
            ("cancel", "Отменить выбранный эффект"),
            ("status", "Ваши видео в работе"),
            ("balance", "Остаток кредитов"),
            ("login", "Подключить аккаунт PixVerse (в личке)"),
            ("apikey", "Подключить API-ключ PixVerse (в личке)"),
            ("logout", "Отключить аккаунт"),
            ("settings", "Модель, длительность, качество…"),
            ("history", "Последние видео — получить снова"),
            ("language", "Язык: русский или английский"),
            ("token", "API-токен для этого аккаунта (в личке)"),
        ]
    }

    fn unknown_command(&self) -> String {
        "Я не знаю такой команды. /help — что я умею.".into()
    }

    fn text_hint(&self) -> String {
        "Чтобы сделать видео, отправьте /t2v и промпт, например /t2v кот катается на волне. \
         Или отправьте фото с подписью. /help — все команды."
            .into()
    }

    fn internal_error(&self) -> String {
        "Что-то пошло не так на моей стороне. Попробуйте ещё раз через минуту.".into()
    }

    fn secret_only_in_private(&self, bot_username: &str) -> String {
        format!(
            "Никогда не отправляйте пароли и ключи в группу. Я удалил сообщение, если смог, и ничего не сохранил. \
             Подключите аккаунт в личном чате со мной: https://t.me/{bot_username}"
        )
    }

    fn login_usage(&self) -> String {
        "Использование: /login <email или имя> <пароль>\nЯ сразу удаляю сообщение и не храню пароль.".into()
    }

    fn login_ok(&self, account: &str) -> String {
        format!(
            "✅ Аккаунт PixVerse {account} подключён. Я удалил ваше сообщение; пароль не сохранён.\n\n\
             Важно: PixVerse допускает одну сессию на аккаунт, поэтому в браузере вы вышли из PixVerse, а новый \
             вход там отключит меня. Для работы без перерывов подключите API-ключ через /apikey."
        )
    }

    fn login_wrong_credentials(&self) -> String {
        "❌ PixVerse не принял это имя и пароль. Проверьте их и повторите /login.".into()
    }

    fn apikey_usage(&self) -> String {
        "Использование: /apikey <ключ>\nКлюч можно получить на platform.pixverse.ai. Я сразу удаляю сообщение.".into()
    }

    fn apikey_ok(&self, label: &str) -> String {
        format!("✅ API-ключ PixVerse подключён ({label}). Я удалил ваше сообщение.")
    }

    fn apikey_invalid(&self) -> String {
        "❌ PixVerse не принял этот API-ключ. Проверьте его на platform.pixverse.ai и попробуйте снова."
            .into()
    }

    fn pixverse_unreachable(&self) -> String {
        "PixVerse сейчас не отвечает. Ничего не изменено; попробуйте через несколько минут.".into()
    }

    fn logout_done(&self) -> String {
        "Аккаунт PixVerse отключён, его токен удалён.".into()
    }

    fn logout_nothing(&self) -> String {
        "Аккаунт PixVerse не подключён.".into()
    }

    fn t2v_usage(&self) -> String {
        "Добавьте промпт после команды, например:\n/t2v лиса бежит по снегу на закате".into()
    }

    fn i2v_usage(&self) -> String {
        "Отправьте фото с подписью /i2v <промпт> или ответьте на фото командой /i2v <промпт>.".into()
    }

    fn prompt_too_long(&self, chars: usize, max: usize) -> String {
        format!("В промпте {chars} символов, а можно не больше {max}. Сократите его, пожалуйста.")
    }

    fn param_error(&self, error: &ParamError) -> String {
        match error {
            ParamError::UnknownFlag(flag) => format!("Я не знаю флага {}.\n\n{FLAGS}", echo(flag)),
            ParamError::MissingValue { flag } => format!("Флагу {} нужно значение.\n\n{FLAGS}", echo(flag)),
            ParamError::InvalidValue { flag, value, accepted } => {
                format!("{} — недопустимое значение для {}. Допустимо: {accepted}.", echo(value), echo(flag))
            }
            ParamError::Combination(problem) => match problem {
                ParamProblem::Duration { model, quality, duration, accepted } => format!(
                    "{} в {} не делает видео по {duration} с. Выберите: {} с.",
                    model.as_str(),
                    quality.as_str(),
                    join_numbers(accepted)
                ),
                ParamProblem::AspectRatio { model, aspect_ratio } => format!(
                    "{} не поддерживает {}. Используйте 16:9, 4:3, 1:1, 3:4 или 9:16 (v6 и c1 — ещё 2:3, 3:2, 21:9).",
                    model.as_str(),
                    aspect_ratio.as_str()
                ),
                ParamProblem::FastMotion => {
                    "Быстрое движение работает только для 5-секундных видео ниже 1080p. Уберите --fast или измените --d/--q.".into()
                }
                ParamProblem::Audio { model } => {
                    format!("{} не генерирует звук; звук есть с v5.5.", model.as_str())
                }
            },
        }
    }

    fn photo_needs_caption(&self) -> String {
        "Отличное фото! Отправьте его ещё раз с подписью, описывающей движение, например «волны накатывают, камера плывёт влево».".into()
    }

    fn not_an_image(&self) -> String {
        "Я оживляю только изображения (JPEG, PNG или WebP). Отправьте фото, пожалуйста.".into()
    }

    fn image_too_large(&self, max_mb: u64) -> String {
        format!("Изображение больше {max_mb} МБ. Отправьте поменьше (или отправьте как фото).")
    }

    fn need_account(&self) -> String {
        "Чтобы генерировать видео, сначала подключите аккаунт PixVerse в личном чате со мной:\n\
         /login <email> <пароль> или /apikey <ключ>"
            .into()
    }

    fn reconnect_account(&self) -> String {
        "Вход в PixVerse истёк или был выполнен в другом месте. Повторите /login (или используйте /apikey)."
            .into()
    }

    fn anonymous_sender(&self) -> String {
        "Вы пишете от имени группы или канала, и я не знаю, кто просит. \
         Пожалуйста, отправьте запрос со своего аккаунта."
            .into()
    }

    fn queued(&self) -> String {
        "⏳ Принято. Видео в очереди…".into()
    }

    fn waiting_for_slot(&self) -> String {
        "⏳ PixVerse занят другими вашими видео; это начнётся, как только освободится место…".into()
    }

    fn held_for_login(&self) -> String {
        "⏸ Жду, пока вы снова выполните /login; видео продолжится сразу после этого.".into()
    }

    fn too_many_in_flight(&self, limit: u32) -> String {
        format!("У вас уже {limit} видео в работе. Отправьте запрос снова, когда одно из них будет готово.")
    }

    fn hourly_limit(&self, limit: u32, retry_in_minutes: i64) -> String {
        format!(
            "За последний час вы сделали {limit} видео — это предел. Новые можно будет через {retry_in_minutes} мин."
        )
    }

    fn generating(&self, elapsed: Duration) -> String {
        format!(
            "🎬 Генерирую…\n{}\n⏱ {} (обычно 30–60 с)",
            progress_bar(elapsed),
            clock(elapsed)
        )
    }

    fn uploading(&self) -> String {
        "📤 Готово! Отправляю видео…".into()
    }

    fn delivered(&self, elapsed: Duration) -> String {
        format!("✅ Доставлено за {}.", clock(elapsed))
    }

    fn failed(&self, reason: FailureReason) -> String {
        match reason {
            FailureReason::Moderation => {
                "🚫 Фильтр PixVerse отклонил этот запрос (кредиты не списаны). Попробуйте другой промпт или изображение.".into()
            }
            FailureReason::GenerationFailed => "❌ PixVerse не смог сгенерировать это видео. Попробуйте ещё раз.".into(),
            FailureReason::OutOfCredits { own: true } => {
                "💳 На вашем аккаунте PixVerse закончились кредиты. Пополните их на pixverse.ai и попробуйте снова.".into()
            }
            FailureReason::OutOfCredits { own: false } => {
                "💳 На общем аккаунте PixVerse закончились кредиты. Администраторы в курсе; попробуйте позже или подключите свой аккаунт через /login.".into()
            }
            FailureReason::CredentialInvalid { own: true } => self.reconnect_account(),
            FailureReason::CredentialInvalid { own: false } => {
                "🔑 Общий аккаунт PixVerse перестал работать. Администраторы в курсе; попробуйте позже или подключите свой аккаунт.".into()
            }
            FailureReason::Rejected => "❌ PixVerse не принял эти настройки. Попробуйте другие параметры (см. /help).".into(),
            FailureReason::BadImage => {
                "🖼 PixVerse не смог использовать это изображение. Отправьте JPEG или PNG до 20 МБ, не больше 4000 пикселей по стороне.".into()
            }
            FailureReason::TimedOut => "⌛ Видео делалось слишком долго и было остановлено. Попробуйте ещё раз.".into(),
            FailureReason::QueueTimedOut => {
                "⌛ Запрос слишком долго ждал в очереди и не был запущен (ничего не списано). Попробуйте позже."
                    .into()
            }
            FailureReason::Internal => {
                "⚠️ С этим видео что-то пошло не так на моей стороне, и повторные попытки не помогли. \
                 Причина видна оператору в журнале. Попробуйте позже."
                    .into()
            }
            FailureReason::Unavailable => {
                "⚠️ PixVerse постоянно выдавал ошибки, и я прекратил попытки. Попробуйте позже.".into()
            }
            FailureReason::AccountRemoved => {
                "Аккаунт PixVerse, на котором делалось это видео, отключён, поэтому оно остановлено.".into()
            }
            FailureReason::PhotoUnavailable => "Не удалось получить ваше фото из Telegram. Отправьте его ещё раз.".into(),
            FailureReason::AudioUnavailable => "Не удалось получить ваше аудио из Telegram. Отправьте его ещё раз.".into(),
        }
    }

    fn caption(&self, prompt: &str, params: &GenerationParams) -> String {
        format!("🎬 {}\n\n{}", shorten(prompt, 900), params_line(params))
    }

    fn video_link(&self, prompt: &str, url: &str) -> String {
        format!(
            "🎬 {}\n\nВидео слишком большое для отправки сюда; скачайте его: {url}",
            shorten(prompt, 900)
        )
    }

    fn status(&self, in_flight: &[TaskLine<'_>], finished: &[TaskLine<'_>]) -> String {
        if in_flight.is_empty() && finished.is_empty() {
            return "У вас ещё нет видео. Попробуйте /t2v лиса бежит по снегу".into();
        }
        let mut out = String::new();
        if in_flight.is_empty() {
            out.push_str("Сейчас ничего не генерируется.\n");
        } else {
            out.push_str("В работе:\n");
            for line in in_flight {
                out.push_str(&task_line(self, line));
                out.push('\n');
            }
        }
        if !finished.is_empty() {
            out.push_str("\nНедавно завершённые:\n");
            for line in finished {
                out.push_str(&task_line(self, line));
                out.push('\n');
            }
        }
        out
    }

    fn balance(&self, source: &str, daily: Option<i64>, monthly: i64, package: i64) -> String {
        let daily = daily.map(|d| format!("дневные {d}, ")).unwrap_or_default();
        format!("Кредиты ({source}): {daily}месячные {monthly}, пакет {package}.")
    }

    fn balance_own_account(&self) -> &'static str {
        "ваш аккаунт"
    }

    fn button_again(&self) -> String {
        "🔁 Ещё раз".into()
    }

    fn button_new_seed(&self) -> String {
        "🎲 Новый seed".into()
    }

    fn button_retry(&self) -> String {
        "🔁 Повторить".into()
    }

    fn button_queued(&self) -> String {
        "⏳ Новое видео в очереди".into()
    }

    fn button_task_not_found(&self) -> String {
        "Не могу найти этот запрос. Отправьте его ещё раз, пожалуйста.".into()
    }

    fn settings_menu(&self, p: &GenerationParams) -> String {
        let mut out = format!(
            "⚙️ Ваши настройки — действуют для всех запросов; флаги после промпта меняют один запрос.\n\n\
             Модель: {}\nДлительность: {} с\nКачество: {}\nФормат: {}\nДвижение: {}",
            p.model.as_str(),
            p.duration,
            p.quality.as_str(),
            p.aspect_ratio.as_str(),
            self.motion_name(p.motion_mode),
        );
        if p.model.supports_audio() {
            out.push_str(&format!("\nЗвук: {}", self.on_off(p.audio)));
        }
        out.push_str("\n\nНажмите на настройку, чтобы изменить её.");
        out
    }

    fn settings_choose(&self, field: SettingField) -> String {
        let hint = match field {
            SettingField::Model => "Новые модели красивее; v6 и c1 умеют 1–15 с и больше форматов.",
            SettingField::Duration => "Показаны только длительности, доступные для вашей модели и качества.",
            SettingField::Quality => "Чем выше качество, тем больше кредитов.",
            SettingField::AspectRatio => "16:9 — горизонтально, 9:16 — для историй и рилс, 1:1 — квадрат.",
            SettingField::Motion => "Быстрое движение — только 5 с и качество ниже 1080p.",
            SettingField::Audio => "Сгенерировать звук вместе с видео.",
        };
        format!("⚙️ {} — выберите.\n{hint}", self.setting_name(field))
    }

    fn setting_name(&self, field: SettingField) -> &'static str {
        match field {
            SettingField::Model => "Модель",
            SettingField::Duration => "Длительность",
            SettingField::Quality => "Качество",
            SettingField::AspectRatio => "Формат",
            SettingField::Motion => "Движение",
            SettingField::Audio => "Звук",
        }
    }

    fn motion_name(&self, mode: MotionMode) -> &'static str {
        match mode {
            MotionMode::Normal => "обычное",
            MotionMode::Fast => "быстрое",
        }
    }

    fn on_off(&self, on: bool) -> &'static str {
        if on { "вкл" } else { "выкл" }
    }

    fn seconds(&self, n: u32) -> String {
        format!("{n} с")
    }

    fn button_back(&self) -> String {
        "« Назад".into()
    }

    fn settings_saved(&self) -> String {
        "✅ Сохранено".into()
    }

    fn settings_private_only(&self, bot_username: &str) -> String {
        format!(
            "Настройки личные: откройте их в личном чате со мной: https://t.me/{bot_username}?start=settings"
        )
    }

    fn language_menu(&self) -> String {
        "🌐 Выберите язык:".into()
    }

    fn language_set(&self) -> String {
        "🌐 Теперь я говорю с вами по-русски.".into()
    }

    fn history(&self, tasks: &[TaskLine<'_>]) -> String {
        if tasks.is_empty() {
            return "У вас ещё нет видео. Попробуйте /t2v лиса бежит по снегу".into();
        }
        let mut out = String::from("🗂 Ваши последние видео (нажмите, чтобы получить снова):\n");
        for line in tasks {
            out.push('\n');
            out.push_str(&task_line(self, line));
        }
        out
    }

    fn history_unavailable(&self) -> String {
        "Это видео нельзя отправить снова (оно пришло ссылкой или не было доставлено).".into()
    }

    fn state_word(&self, state: TaskState) -> &'static str {
        match state {
            TaskState::Queued => "в очереди",
            TaskState::Submitting => "запускается",
            TaskState::Generating => "генерируется",
            TaskState::Delivering => "отправляется",
            TaskState::Delivered => "✅ доставлено",
            TaskState::Failed => "❌ ошибка",
        }
    }

    fn ago(&self, age: Duration) -> String {
        let mins = age.as_secs() / 60;
        match mins {
            0 => "только что".into(),
            m if m < 60 => format!("{m} мин назад"),
            m if m < 48 * 60 => format!("{} ч назад", m / 60),
            m => format!("{} дн назад", m / 60 / 24),
        }
    }
}
