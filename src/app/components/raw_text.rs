//! Text for the two places where Leptos writes a string into the page unescaped while rendering on
//! the server: the `<title>` (leptos_meta pushes the title's text as it is) and a `<textarea>`'s
//! contents (tachys treats them like a `<script>`'s). A record's `</title><script>…` would
//! otherwise end the element and put markup of its own into every visitor's page.
//!
//! Both elements hold "raw text" that the browser decodes (`&lt;` reads as `<`), so escaping
//! there shows exactly the text. In the browser the same text goes into `document.title` or a text
//! node, which take it literally: there it must stay as it is.

/// `text`, escaped for the raw-text elements when rendered on the server (see the module docs).
pub fn raw_text(text: String) -> String {
    #[cfg(feature = "ssr")]
    {
        html_escape::encode_text(&text).into_owned()
    }
    #[cfg(not(feature = "ssr"))]
    {
        text
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn markup_cannot_end_the_element() {
        let escaped = raw_text("x </title><script>alert(1)</script> & </textarea>".to_owned());
        assert!(!escaped.contains('<') && !escaped.contains('>'), "{escaped}");
        assert_eq!(
            escaped,
            "x &lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;/textarea&gt;"
        );
    }
}
