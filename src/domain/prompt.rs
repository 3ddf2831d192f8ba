//! The prompt of a request: trimmed, not empty, not too long.

/// PixVerse accepts 2048 characters on every model (newer ones take more); we promise the safe bound.
pub const MAX_PROMPT_CHARS: usize = 2048;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt(String);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptError {
    Empty,
    TooLong { chars: usize },
}

impl Prompt {
    pub fn parse(text: &str) -> Result<Prompt, PromptError> {
        let text = text.trim();
        let chars = text.chars().count();
        if chars == 0 {
            Err(PromptError::Empty)
        } else if chars > MAX_PROMPT_CHARS {
            Err(PromptError::TooLong { chars })
        } else {
            Ok(Prompt(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_is_trimmed_and_must_not_be_empty() {
        assert_eq!(Prompt::parse("  a fox  ").unwrap().as_str(), "a fox");
        assert_eq!(Prompt::parse(" \n "), Err(PromptError::Empty));
    }

    #[test]
    fn the_limit_counts_characters_not_bytes() {
        let cyrillic = "я".repeat(MAX_PROMPT_CHARS);
        assert!(Prompt::parse(&cyrillic).is_ok());
        let over = "a".repeat(MAX_PROMPT_CHARS + 1);
        assert_eq!(
            Prompt::parse(&over),
            Err(PromptError::TooLong {
                chars: MAX_PROMPT_CHARS + 1
            })
        );
    }
}
