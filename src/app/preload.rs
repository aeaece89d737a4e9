//! `<link rel="preload">` for the code of the page the server sends, so that the browser fetches
//! a split page's code (see `lazy_pages!` in `app.rs`) while it parses the HTML, instead of one
//! round trip after the main module starts: the page's pack, which holds all its split files in
//! one download (`scripts/pack-pages.mjs`; without one, under `cargo leptos watch --split`, each
//! of its files), and the loader that reads it.
//!
//! Leptos 0.8.23 has this built in, but not reliably: `leptos_integration_utils` 0.8.9 provides the
//! context a lazy route reports itself to (`PrefetchLazyFn`) only after it has started rendering,
//! so a page rendered before that reports to nobody and its links are missing. Here each lazy page
//! adds its own links as it is rendered, from the manifest `HydrationScripts` reads
//! (`WasmSplitManifest`), and the built-in collector is shadowed so that it never adds a second set.
//! Both are `#[doc(hidden)]` items of `leptos`; this module is the only place that names them.

/// Shadows Leptos's own collector of lazy functions for the whole app (server only): see above.
pub fn take_over() {
    #[cfg(feature = "ssr")]
    leptos::prelude::provide_context(leptos::PrefetchLazyFn::default());
}

/// Adds the preload links for the lazy route `route` (its type's name, as `lazy_pages!` makes it:
/// `EventDetailRoute`) to the page's `<head>` (server only; nothing in the browser).
pub fn page_files(route: &str) {
    #[cfg(feature = "ssr")]
    {
        use leptos::prelude::*;
        use leptos_meta::Link;

        let Some(manifest) = use_context::<leptos::WasmSplitManifest>() else {
            return; // a build that did not split the wasm
        };
        let links = manifest.0.try_with_value(|(pkg, files, loader)| {
            // The splitter names a lazy route's entry `__{route in snake case}_view_{hash}`.
            let prefix = format!("__{}_view_", snake_case(route));
            let (page, modules) = files.iter().find(|(key, _)| key.starts_with(&prefix))?;
            let modules: Vec<String> = modules.iter().map(|module| format!("{pkg}/{module}.wasm")).collect();
            Some((pkg.clone(), pack(page, loader), modules, format!("{pkg}/{loader}")))
        });
        let Some((pkg, pack, modules, loader)) = links.flatten() else {
            return; // not a page of this build's split
        };
        // The pack where scripts/build.sh made one; `cargo leptos watch --split` makes none, and
        // its loader fetches the files one by one.
        let site = use_context::<LeptosOptions>();
        let packed = pack.filter(|pack| {
            site.is_some_and(|site| {
                std::path::Path::new(&*site.site_root)
                    .join(&*site.site_pkg_dir)
                    .join(pack)
                    .is_file()
            })
        });
        let files = match packed {
            Some(pack) => vec![format!("{pkg}/{pack}")],
            None => modules,
        };
        // `to_html` on a leptos_meta component adds it to the `<head>` and renders nothing here,
        // so the page's own view (and so its hydration) is unchanged. `as="fetch"` with CORS, as
        // the loader's `fetch()` asks for them, so the two match.
        for href in files {
            let _ = view! { <Link rel="preload" href=href as_="fetch" crossorigin="anonymous" /> }.to_html();
        }
        let _ = view! { <Link rel="modulepreload" href=loader /> }.to_html();
    }
    #[cfg(not(feature = "ssr"))]
    let _ = route;
}

/// The file in which the page whose lazy function is `page` has all its split files, for one
/// download (`scripts/pack-pages.mjs`): named by the loader's hash (`__wasm_split.{hash}.js`),
/// since the loader names every split file by its content.
#[cfg_attr(not(feature = "ssr"), allow(dead_code))]
fn pack(page: &str, loader: &str) -> Option<String> {
    let hash = loader.strip_prefix("__wasm_split.")?.strip_suffix(".js")?;
    Some(format!("pack_{page}.{hash}.bin"))
}

/// `EventDetailRoute` → `event_detail_route`.
#[cfg_attr(not(feature = "ssr"), allow(dead_code))]
fn snake_case(name: &str) -> String {
    let mut snake = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    snake
}

#[cfg(test)]
mod tests {
    use super::{pack, snake_case};

    #[test]
    fn route_names_become_the_splitters_keys() {
        assert_eq!(snake_case("EventDetailRoute"), "event_detail_route");
        assert_eq!(snake_case("MeRoute"), "me_route");
    }

    #[test]
    fn a_pages_pack_is_named_by_the_loaders_hash() {
        assert_eq!(
            pack("__me_route_view_42", "__wasm_split.AbC-9_x.js").as_deref(),
            Some("pack___me_route_view_42.AbC-9_x.bin")
        );
        assert_eq!(pack("__me_route_view_42", "loader.js"), None);
    }
}
