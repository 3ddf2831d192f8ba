//! The caption of a Telegram album (two or three photos sent together): a transition from the
//! first photo to the second, or a fusion of photos the caption names (`@cat on @beach`, or
//! `--refs cat,beach`), the background chosen with `--bg <name>`.

/// What an album's caption asks for. `text` is the caption without the album's own flags (the
/// prompt and the usual request flags).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlbumRequest {
    /// Two photos: from the first to the second.
    Transition { text: String },
    /// One photo per name, in order.
    Fusion {
        names: Vec<String>,
        background: Option<String>,
        text: String,
    },
}

impl AlbumRequest {
    /// How many photos the album must have.
    pub fn photos(&self) -> usize {
        match self {
            AlbumRequest::Transition { .. } => 2,
            AlbumRequest::Fusion { names, .. } => names.len(),
        }
    }
}

/// Reads an album's caption: `--refs a,b` names the photos in order (else the caption's
/// `@words`, in order), `--bg <name>` makes one of them the background.
pub fn parse_album_caption(caption: &str) -> AlbumRequest {
    let normalized = caption.replace(['\u{2014}', '\u{2013}'], "--");
    let mut words = normalized.split_whitespace().peekable();
    let (mut kept, mut refs, mut background) = (Vec::new(), None, None);
    while let Some(word) = words.next() {
        match word.to_ascii_lowercase().as_str() {
            "--refs" => refs = words.next().map(str::to_owned),
            "--bg" => background = words.next().map(|w| w.trim_start_matches('@').to_owned()),
            _ => kept.push(word),
        }
    }
    let text = kept.join(" ");
    let names: Vec<String> = match refs {
        Some(refs) => refs
            .split(',')
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect(),
        None => mentions(&text),
    };
    if names.is_empty() {
        AlbumRequest::Transition { text }
    } else {
        AlbumRequest::Fusion {
            names,
            background,
            text,
        }
    }
}

/// The `@words` of `text`, in order, each once.
fn mentions(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (at, _) in text.match_indices('@') {
        let name: String = text[at + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caption_without_names_is_a_transition() {
        assert_eq!(
            parse_album_caption("day turns to night --d 8"),
            AlbumRequest::Transition {
                text: "day turns to night --d 8".into()
            }
        );
    }

    #[test]
    fn names_come_from_the_at_words_or_from_refs() {
        assert_eq!(
            parse_album_caption("@cat naps on @beach, then @cat wakes --bg beach"),
            AlbumRequest::Fusion {
                names: vec!["cat".into(), "beach".into()],
                background: Some("beach".into()),
                text: "@cat naps on @beach, then @cat wakes".into(),
            }
        );
        let request = parse_album_caption("@a and @b --refs b,a");
        assert_eq!(request.photos(), 2);
        assert!(matches!(request, AlbumRequest::Fusion { names, .. } if names == ["b", "a"]));
    }

    #[test]
    fn odd_captions_never_panic() {
        for caption in ["", "@", "@@", "--refs", "--bg", "— @é", "@кот"] {
            let _ = parse_album_caption(caption);
        }
    }
}
