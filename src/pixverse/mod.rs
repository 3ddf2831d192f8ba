//! PixVerse HTTP client (filled in by the pixverse work).
