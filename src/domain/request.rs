//! Parses a request text: a prompt followed by optional flags that override the user's settings
//! for this request only (`a fox in snow --ar 9:16 --q 720p --d 8 --seed 42 --no blur --fast`).

use super::{
    params::{AspectRatio, GenerationParams, MAX_SEED, Model, MotionMode, ParamError, Quality, Style},
    prompt::{Prompt, PromptError},
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestError {
    Prompt(PromptError),
    Param(ParamError),
}

/// Splits `text` into the prompt and its flags, applies the flags over `settings` and checks
/// the resulting combination.
pub fn parse_request(
    text: &str,
    settings: &GenerationParams,
) -> Result<(Prompt, GenerationParams), RequestError> {
    // Phones turn "--" into an em or en dash; accept those as the flag marker too.
    let normalized = text.replace(['\u{2014}', '\u{2013}'], "--");
    let mut words = normalized.split_whitespace().peekable();
    let mut prompt_words = Vec::new();
    while let Some(word) = words.next_if(|w| !is_flag(w)) {
        prompt_words.push(word);
    }
    let mut params = settings.clone();
    while let Some(flag) = words.next() {
        let mut value = || words.next_if(|w| !is_flag(w)).ok_or_else(|| missing(flag));
        match flag.to_ascii_lowercase().as_str() {
            "--ar" | "--aspect" => {
                params.aspect_ratio = choice(flag, value()?, AspectRatio::parse, AspectRatio::choices())?
            }
            "--q" | "--quality" => {
                params.quality = choice(flag, value()?, parse_quality, Quality::choices())?
            }
            "--d" | "--duration" => params.duration = number(flag, value()?, 1, 15)?,
            "--model" | "--m" => params.model = choice(flag, value()?, parse_model, Model::choices())?,
            "--seed" => params.seed = Some(number(flag, value()?, 0, MAX_SEED)?),
            "--style" => params.style = Some(choice(flag, value()?, Style::parse, Style::choices())?),
            "--fast" => params.motion_mode = MotionMode::Fast,
            "--audio" => params.audio = true,
            "--sfx" => {
                let sound = words_up_to_a_flag(&mut words, flag)?;
                let checked = super::modes::sound_description(&sound).map_err(|_| {
                    invalid(
                        flag,
                        &sound,
                        format!("a sound of 1 to {} characters", super::modes::MAX_SOUND_CHARS),
                    )
                })?;
                params.sound_effect = Some(checked);
            }
            "--no" => params.negative_prompt = Some(words_up_to_a_flag(&mut words, flag)?),
            _ => return Err(RequestError::Param(ParamError::UnknownFlag(flag.to_owned()))),
        }
    }
    let prompt = Prompt::parse(&prompt_words.join(" ")).map_err(RequestError::Prompt)?;
    if let Some(negative) = &params.negative_prompt {
        Prompt::parse(negative).map_err(RequestError::Prompt)?;
    }
    params.validate().map_err(RequestError::Param)?;
    Ok((prompt, params))
}

/// The words after `flag` up to the next flag, for flags that take a description, not one value.
fn words_up_to_a_flag<'a>(
    words: &mut std::iter::Peekable<impl Iterator<Item = &'a str>>,
    flag: &str,
) -> Result<String, RequestError> {
    let mut taken = Vec::new();
    while let Some(word) = words.next_if(|w| !is_flag(w)) {
        taken.push(word);
    }
    if taken.is_empty() {
        return Err(missing(flag));
    }
    Ok(taken.join(" "))
}

fn is_flag(word: &str) -> bool {
    word.len() > 2 && word.starts_with("--")
}

fn missing(flag: &str) -> RequestError {
    RequestError::Param(ParamError::MissingValue {
        flag: flag.to_owned(),
    })
}

fn invalid(flag: &str, value: &str, accepted: String) -> RequestError {
    RequestError::Param(ParamError::InvalidValue {
        flag: flag.to_owned(),
        value: value.to_owned(),
        accepted,
    })
}

fn choice<T>(
    flag: &str,
    value: &str,
    parse: impl Fn(&str) -> Option<T>,
    choices: Vec<&str>,
) -> Result<T, RequestError> {
    parse(value).ok_or_else(|| invalid(flag, value, choices.join(", ")))
}

fn number(flag: &str, value: &str, min: u32, max: u32) -> Result<u32, RequestError> {
    let trimmed = value.trim_end_matches('s');
    match trimmed.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(invalid(flag, value, format!("{min}–{max}"))),
    }
}

/// `720` means `720p`.
fn parse_quality(value: &str) -> Option<Quality> {
    Quality::parse(value).or_else(|| Quality::parse(&format!("{value}p")))
}

/// `5.5` means `v5.5`.
fn parse_model(value: &str) -> Option<Model> {
    Model::parse(value).or_else(|| Model::parse(&format!("v{value}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ParamProblem;

    fn parse(text: &str) -> Result<(Prompt, GenerationParams), RequestError> {
        parse_request(text, &GenerationParams::default())
    }

    #[test]
    fn a_plain_prompt_keeps_the_settings() {
        let (prompt, params) = parse("a fox running through snow").unwrap();
        assert_eq!(prompt.as_str(), "a fox running through snow");
        assert_eq!(params, GenerationParams::default());
    }

    #[test]
    fn flags_override_the_settings_for_this_request() {
        let (prompt, params) =
            parse("a fox --ar 9:16 --q 720 --d 8 --model 5.5 --seed 42 --no blur, text --style anime")
                .unwrap();
        assert_eq!(prompt.as_str(), "a fox");
        assert_eq!(params.aspect_ratio, AspectRatio::R9x16);
        assert_eq!(params.quality, Quality::P720);
        assert_eq!(params.duration, 8);
        assert_eq!(params.model, Model::V5_5);
        assert_eq!(params.seed, Some(42));
        assert_eq!(params.negative_prompt.as_deref(), Some("blur, text"));
        assert_eq!(params.style, Some(Style::Anime));
    }

    #[test]
    fn an_em_dash_from_a_phone_keyboard_works_as_a_flag() {
        let (_, params) = parse("a fox \u{2014}fast").unwrap();
        assert_eq!(params.motion_mode, MotionMode::Fast);
    }

    #[test]
    fn sfx_takes_the_words_up_to_the_next_flag() {
        let (prompt, params) = parse("a storm --sfx thunder and rain --d 8").unwrap();
        assert_eq!(prompt.as_str(), "a storm");
        assert_eq!(params.sound_effect.as_deref(), Some("thunder and rain"));
        assert_eq!(params.duration, 8);
        assert!(matches!(
            parse("a storm --sfx"),
            Err(RequestError::Param(ParamError::MissingValue { .. }))
        ));
        let long = format!("a storm --sfx {}", "x".repeat(2049));
        assert!(matches!(
            parse(&long),
            Err(RequestError::Param(ParamError::InvalidValue { .. }))
        ));
    }

    #[test]
    fn bad_flags_name_the_flag_and_the_accepted_values() {
        assert_eq!(
            parse("a fox --zoom 2"),
            Err(RequestError::Param(ParamError::UnknownFlag("--zoom".into())))
        );
        assert_eq!(
            parse("a fox --ar"),
            Err(RequestError::Param(ParamError::MissingValue {
                flag: "--ar".into()
            }))
        );
        let Err(RequestError::Param(ParamError::InvalidValue { flag, accepted, .. })) = parse("a fox --q 4k")
        else {
            panic!("expected an invalid value");
        };
        assert_eq!(flag, "--q");
        assert!(accepted.contains("720p"));
        assert!(matches!(
            parse("a fox --seed -1"),
            Err(RequestError::Param(ParamError::InvalidValue { .. }))
        ));
    }

    #[test]
    fn flags_alone_are_an_empty_prompt_and_bad_combinations_are_refused() {
        assert_eq!(parse("--fast"), Err(RequestError::Prompt(PromptError::Empty)));
        assert_eq!(
            parse("a fox --fast --d 8"),
            Err(RequestError::Param(ParamError::Combination(
                ParamProblem::FastMotion
            )))
        );
    }

    #[test]
    fn arbitrary_input_never_panics() {
        let samples = [
            "",
            "--",
            "---",
            "— —",
            "--d 99999999999999999999",
            "\u{0}",
            "--no --no",
            "a --d ５",
        ];
        for text in samples {
            let _ = parse(text);
        }
    }
}
