//! Media crypto (filled below).
