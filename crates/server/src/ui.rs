//! The web UI's built files (`web/dist`, from `npm run build` in `web/`), embedded in the
//! binary by release builds and read from disk by debug builds. `cargo build` does not need
//! npm: without a built UI the server answers pages with its plain overview instead.

use std::borrow::Cow;

use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../../web/dist"]
#[allow_missing = true]
struct Built;

/// One built file and its content type.
pub struct UiFile {
    /// The bytes.
    pub body: Cow<'static, [u8]>,
    /// Its MIME type, from its extension.
    pub content_type: String,
}

/// The UI's `index.html`, which every page path answers with; `None` when the UI was not built.
pub fn index_html() -> Option<Cow<'static, [u8]>> {
    Built::get("index.html").map(|f| f.data)
}

/// A built file under `assets/`, by its path relative to `web/dist`.
pub fn file(path: &str) -> Option<UiFile> {
    Built::get(path).map(|f| UiFile {
        content_type: f.metadata.mimetype().to_string(),
        body: f.data,
    })
}

/// Whether this server has the web UI.
pub fn is_built() -> bool {
    index_html().is_some()
}
