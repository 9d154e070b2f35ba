//! Property tests of server-side apply (filled below).
