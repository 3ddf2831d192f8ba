//! PixVerse's effect templates as both doors see them: a page of PixVerse's listing (each
//! template listed is remembered, so a picked button or an API `template_id` can be checked),
//! and the Platform API key to ask with.

use crate::{
    pixverse::{Credential, EffectTemplate, PixverseClient, PixverseError, TEMPLATES_PER_PAGE},
    storage::{CredentialKind, EffectTemplateRow, Storage, now_ms},
};

/// Pages read when an unknown `template_id` is looked up (PixVerse lists a few dozen).
const MAX_LOOKUP_PAGES: u32 = 10;

/// Why templates could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum EffectsError {
    /// No Platform API key to ask with (the user's own is a web login, or the pool has none).
    #[error("no Platform API key to list effect templates with")]
    NoApiKey,
    #[error(transparent)]
    Pixverse(#[from] PixverseError),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

/// One page (from 1) of the templates, remembered; `has_next` when the page was full.
pub struct EffectsPage {
    pub templates: Vec<EffectTemplate>,
    pub has_next: bool,
}

/// A Platform API key to list with for `user_id`: their own (`None` if it is a web login), else
/// a usable pool account's.
pub async fn listing_key(
    storage: &Storage,
    user_id: i64,
) -> Result<Option<Credential>, crate::storage::StorageError> {
    if let Some(own) = storage.credential_of_user(user_id).await? {
        return Ok((own.kind == CredentialKind::ApiKey).then(|| own.to_pixverse()));
    }
    let now = now_ms();
    Ok(storage
        .pool_accounts()
        .await?
        .into_iter()
        .find(|a| a.kind == CredentialKind::ApiKey && a.is_usable(now))
        .map(|a| a.to_pixverse()))
}

/// Page `page` of PixVerse's templates, remembered for the checks below.
pub async fn effects_page(
    storage: &Storage,
    pixverse: &PixverseClient,
    credential: &Credential,
    page: u32,
) -> Result<EffectsPage, EffectsError> {
    let templates = pixverse.effect_templates(credential, page).await?;
    let rows: Vec<EffectTemplateRow> = templates
        .iter()
        .map(|t| EffectTemplateRow {
            template_id: t.template_id,
            name: t.name.clone(),
        })
        .collect();
    storage.remember_effect_templates(&rows).await?;
    Ok(EffectsPage {
        has_next: templates.len() >= TEMPLATES_PER_PAGE as usize,
        templates,
    })
}

/// The template with this id, if PixVerse lists it: remembered from an earlier listing, else
/// looked up in PixVerse's listing page by page (with `user_id`'s key).
pub async fn find_effect(
    storage: &Storage,
    pixverse: &PixverseClient,
    user_id: i64,
    template_id: i64,
) -> Result<Option<EffectTemplateRow>, EffectsError> {
    if let Some(known) = storage.effect_template(template_id).await? {
        return Ok(Some(known));
    }
    let credential = listing_key(storage, user_id)
        .await?
        .ok_or(EffectsError::NoApiKey)?;
    for page in 1..=MAX_LOOKUP_PAGES {
        let listed = effects_page(storage, pixverse, &credential, page).await?;
        if listed.templates.iter().any(|t| t.template_id == template_id) {
            return Ok(storage.effect_template(template_id).await?);
        }
        if !listed.has_next {
            break;
        }
    }
    Ok(None)
}
