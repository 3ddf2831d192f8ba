//! Russian texts of the admin feature.

use std::time::Duration;

use super::{
    admin::{AdminTaskLine, AdminTexts, AdminUsage, PoolLine, hours_minutes, seconds},
    ru::Ru,
    shorten,
};
use crate::storage::Stats;

fn resets(d: Duration) -> String {
    format!("в 00:00 UTC, через {}", hours_minutes(d, "ч", "мин"))
}

fn state_word(state: &str) -> &str {
    match state {
        "queued" => "в очереди",
        "submitting" => "запускается",
        "generating" => "генерируется",
        "delivering" => "отправляется",
        "delivered" => "доставлено",
        "failed" => "ошибка",
        other => other,
    }
}

fn pool_line(a: &PoolLine<'_>) -> String {
    let kind = if a.web { "веб" } else { "API" };
    let state = match (a.enabled, a.status) {
        (false, _) => "⏸ отключён",
        (true, "active") => "✅ активен",
        (true, "out_of_credits") => "💳 нет кредитов",
        (true, _) => "🔑 недействителен",
    };
    let credits = a.credits.map_or("?".to_owned(), |c| c.to_string());
    let mut line = format!(
        "• {} ({kind}, {}) — {state}, кредиты {credits}, задачи {}/{}",
        a.name, a.label, a.in_flight, a.max_concurrency
    );
    if let Some(error) = a.last_error {
        line.push_str(&format!("\n   последняя ошибка: {}", shorten(error, 200)));
    }
    line
}

impl AdminTexts for Ru {
    fn not_allowed(&self, user_id: i64) -> String {
        format!(
            "Извините, пока бот открыт только для приглашённых. \
             Если вам нужен доступ, отправьте администратору ваш id: {user_id}"
        )
    }

    fn banned(&self) -> String {
        "Извините, вы больше не можете пользоваться этим ботом.".into()
    }

    fn quota_exceeded(&self, limit: i64, resets_in: Duration) -> String {
        format!(
            "Вы использовали все {limit} видео общей квоты на сегодня. Квота обновится {}. \
             Чтобы генерировать сейчас, подключите свой аккаунт PixVerse: /login или /apikey.",
            resets(resets_in)
        )
    }

    fn quota_left(&self, left: i64, limit: i64, resets_in: Duration) -> String {
        format!(
            "Вы генерируете на общих аккаунтах: сегодня осталось {left} из {limit} видео (обновится {}).",
            resets(resets_in)
        )
    }

    fn cancelled_by_admin(&self, task_id: i64) -> String {
        format!("Администратор остановил ваше видео #{task_id}. По этому запросу видео не будет.")
    }

    fn announcement(&self, text: &str) -> String {
        format!("📢 {text}")
    }

    fn admin_command_descriptions(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("stats", "Админ: пользователи, задачи, пул, очередь"),
            ("tasks", "Админ: последние задачи [пользователь]"),
            ("cancel", "Админ: остановить задачу: /cancel <id>"),
            ("pool", "Админ: общие аккаунты: add|list|remove|disable|enable"),
            ("quota", "Админ: /quota <пользователь> <видео в день>"),
            ("access", "Админ: /access open|allowlist"),
            ("allow", "Админ: разрешить пользователя (id, @имя или ответ)"),
            ("deny", "Админ: убрать пользователя из списка"),
            ("ban", "Админ: заблокировать пользователя"),
            ("unban", "Админ: снять блокировку"),
            ("allowgroup", "Админ: разрешить эту группу"),
            ("broadcast", "Админ: сообщение всем пользователям"),
        ]
    }

    fn usage(&self, command: AdminUsage) -> String {
        match command {
            AdminUsage::Access => "Использование: /access open | /access allowlist".into(),
            AdminUsage::Target => {
                "Использование: /allow, /deny, /ban или /unban, а за ними id пользователя или @имя, \
                 либо ответом на его сообщение."
                    .into()
            }
            AdminUsage::Pool => "Использование (в личном чате):\n\
                 /pool add <имя> apikey <ключ>\n\
                 /pool add <имя> login <логин> <пароль>\n\
                 /pool list\n/pool remove <имя>\n/pool disable <имя>\n/pool enable <имя>"
                .into(),
            AdminUsage::Quota => {
                "Использование: /quota <id | @имя> <видео в день>, или /quota <пользователь>, чтобы \
                 посмотреть. /quota <пользователь> default возвращает значение по умолчанию."
                    .into()
            }
            AdminUsage::Cancel => "Использование: /cancel <id задачи> (см. /tasks).".into(),
            AdminUsage::Broadcast => "Использование: /broadcast <текст для всех пользователей>".into(),
        }
    }

    fn access_set(&self, allowlist: bool) -> String {
        if allowlist {
            "Доступ: по списку. Ботом пользуются только разрешённые пользователи и участники \
             разрешённых групп."
                .into()
        } else {
            "Доступ: открыт. Ботом может пользоваться любой (кроме заблокированных).".into()
        }
    }

    fn unknown_user(&self, input: &str) -> String {
        format!("Я не знаю пользователя {input}. Укажите числовой id или ответьте на его сообщение.")
    }

    fn user_allowed(&self, user_id: i64, allowed: bool) -> String {
        if allowed {
            format!("Пользователю {user_id} разрешён доступ.")
        } else {
            format!("Пользователь {user_id} убран из списка разрешённых.")
        }
    }

    fn user_banned(&self, user_id: i64, banned: bool) -> String {
        if banned {
            format!("Пользователь {user_id} заблокирован: один вежливый отказ, затем тишина.")
        } else {
            format!("Пользователь {user_id} разблокирован.")
        }
    }

    fn group_allowed(&self) -> String {
        "Группа разрешена: её участники могут пользоваться ботом здесь и в личном чате.".into()
    }

    fn allowgroup_only_in_groups(&self) -> String {
        "Отправьте /allowgroup в той группе, которую хотите разрешить.".into()
    }

    fn target_anonymous(&self) -> String {
        "Это сообщение отправлено от имени группы или канала, пользователя по нему не определить. \
         Укажите числовой id или @username."
            .into()
    }

    fn answered_in_private(&self) -> String {
        "Я отправил ответ в личный чат: в нём данные других пользователей.".into()
    }

    fn answer_only_in_private(&self, bot_username: &str) -> String {
        format!(
            "В этом ответе данные других пользователей, поэтому я отправляю его только в личный чат. \
             Начните его со мной и спросите там: https://t.me/{bot_username}"
        )
    }

    fn pool_added(&self, name: &str, label: &str, credits: Option<i64>) -> String {
        let credits = credits.map_or("неизвестно".to_owned(), |c| c.to_string());
        format!("Аккаунт пула {name} ({label}) добавлен; кредиты: {credits}. Сообщение с секретом удалено.")
    }

    fn pool_refused(&self) -> String {
        "PixVerse не принял эти данные; ничего не сохранено.".into()
    }

    fn pool_list(&self, accounts: &[PoolLine<'_>]) -> String {
        if accounts.is_empty() {
            return "Пул пуст. Добавьте аккаунт: /pool add <имя> apikey <ключ>.".into();
        }
        let lines: Vec<String> = accounts.iter().map(pool_line).collect();
        format!("Аккаунты пула:\n{}", lines.join("\n"))
    }

    fn pool_removed(&self, name: &str) -> String {
        format!("Аккаунт пула {name} удалён.")
    }

    fn pool_not_found(&self, name: &str) -> String {
        format!("В пуле нет аккаунта {name}. Список: /pool list.")
    }

    fn pool_enabled(&self, name: &str, enabled: bool) -> String {
        if enabled {
            format!("Аккаунт пула {name} снова в работе.")
        } else {
            format!("Аккаунт пула {name} отключён: новые задачи на него не идут.")
        }
    }

    fn pool_account_down(&self, name: &str, out_of_credits: bool, error: &str) -> String {
        let (what, fix) = if out_of_credits {
            ("закончились кредиты", "Пополните его, затем /pool enable")
        } else {
            (
                "PixVerse не принимает доступ (ключ или токен недействителен)",
                "Добавьте его заново через /pool add или /pool enable",
            )
        };
        format!(
            "⚠️ У аккаунта пула {name} {what}, он выведен из работы; его задачи в очереди перейдут на \
             другие аккаунты.\nОтвет PixVerse: {}\n{fix} {name}.",
            shorten(error, 200)
        )
    }

    fn quota_set(&self, user_id: i64, limit: i64) -> String {
        format!("Пользователь {user_id} теперь может делать {limit} видео в день на общих аккаунтах.")
    }

    fn quota_show(&self, user_id: i64, used: i64, limit: i64) -> String {
        format!("Пользователь {user_id}: сегодня использовано {used} из {limit} общих видео.")
    }

    fn stats(&self, s: &Stats, pool: &[PoolLine<'_>]) -> String {
        let tasks = if s.tasks_today.is_empty() {
            "нет".to_owned()
        } else {
            s.tasks_today
                .iter()
                .map(|(state, n)| format!("{} {n}", state_word(state)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let pool = if pool.is_empty() {
            "пуст".to_owned()
        } else {
            pool.iter()
                .map(|a| {
                    let credits = a.credits.map_or("?".to_owned(), |c| c.to_string());
                    let state = if a.enabled { a.status } else { "disabled" };
                    format!(
                        "{} {credits} ({state}, {}/{})",
                        a.name, a.in_flight, a.max_concurrency
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        format!(
            "📊 Пользователи: всего {}, активны сегодня {}\n\
             Задачи за сегодня: {tasks}\n\
             Доставлено за 24 ч: {}; время до доставки: в среднем {}, p95 {}\n\
             Очередь: ждут {}, генерируются или отправляются {}\n\
             Кредиты пула: {pool}",
            s.users_total,
            s.users_active_today,
            s.delivered_24h,
            seconds(s.avg_delivery_ms).replace(" s", " с"),
            seconds(s.p95_delivery_ms).replace(" s", " с"),
            s.queue_length,
            s.in_progress
        )
    }

    fn tasks_list(&self, tasks: &[AdminTaskLine<'_>]) -> String {
        if tasks.is_empty() {
            return "Задач нет.".into();
        }
        let lines: Vec<String> = tasks
            .iter()
            .map(|t| {
                let mut line = format!(
                    "#{} пользователь {} · {} · {} · {} мин назад · {}",
                    t.id,
                    t.user_id,
                    state_word(t.state.as_str()),
                    t.account,
                    t.age.as_secs() / 60,
                    shorten(t.prompt, 40)
                );
                if let Some(error) = t.last_error {
                    line.push_str(&format!("\n   ошибка: {}", shorten(error, 150)));
                }
                line
            })
            .collect();
        format!("Последние задачи:\n{}", lines.join("\n"))
    }

    fn cancel_done(&self, task_id: i64) -> String {
        format!("Задача #{task_id} отменена; владелец уведомлён.")
    }

    fn cancel_not_found(&self, task_id: i64) -> String {
        format!("Задачи #{task_id} нет или она уже завершена.")
    }

    fn broadcast_started(&self, recipients: usize) -> String {
        format!("Отправляю объявление {recipients} пользователям…")
    }

    fn broadcast_done(&self, sent: usize, skipped: usize) -> String {
        format!(
            "Рассылка завершена: доставлено {sent} пользователям, пропущено {skipped} \
             (заблокировали бота или недоступны)."
        )
    }
}
