//! `limit` / `continue` on lists, as a real API server pages them: at most `limit` items
//! a page, in (namespace, name) order, and a `continue` token for the rest. Every page
//! reports the first page's resourceVersion, so a watch started from it replays whatever
//! changed while the pages were read (a real server serves each page from that snapshot;
//! here later pages show objects as they are now, which a watch from that version then
//! brings up to date either way). Without paging a list of 5,000 pods arrived in one
//! answer, and a client decoding it held it all at once where a real cluster's pages of
//! 500 would not.

use serde_json::Value;

pub struct Page {
    pub items: Vec<Value>,
    pub resource_version: String,
    /// The token of the next page, when there is one.
    pub next: Option<String>,
    pub remaining: usize,
}

/// (namespace, name): the store's order.
fn key(o: &Value) -> (&str, &str) {
    (
        o["metadata"]["namespace"].as_str().unwrap_or_default(),
        o["metadata"]["name"].as_str().unwrap_or_default(),
    )
}

fn key_of(o: &Value) -> String {
    let (ns, name) = key(o);
    format!("{ns}/{name}")
}

/// The page of `items` (sorted by namespace, then name) that `limit` and `token` ask for;
/// `rv` is the store's resourceVersion now.
pub fn page(
    items: Vec<Value>,
    rv: &str,
    limit: Option<usize>,
    token: Option<&str>,
) -> Result<Page, String> {
    let (resource_version, after) = match token {
        Some(t) => {
            let (rv, after) = t.split_once(':').ok_or_else(|| {
                format!(
                    "continue token {t:?} is not one this server gave (expected RV:NAMESPACE/NAME)"
                )
            })?;
            (rv.to_string(), Some(after.to_string()))
        }
        None => (rv.to_string(), None),
    };
    // Compared as (namespace, name), the store's order: as one string, `a-b/x` would sort
    // before `a/y`.
    let after = after.map(|a| {
        let (ns, name) = a.split_once('/').unwrap_or(("", a.as_str()));
        (ns.to_string(), name.to_string())
    });
    let mut rest: Vec<Value> = match &after {
        Some((ns, name)) => items
            .into_iter()
            .filter(|o| key(o) > (ns.as_str(), name.as_str()))
            .collect(),
        None => items,
    };
    let Some(limit) = limit.filter(|l| *l < rest.len()) else {
        return Ok(Page {
            items: rest,
            resource_version,
            next: None,
            remaining: 0,
        });
    };
    let remaining = rest.len() - limit;
    rest.truncate(limit);
    let next = rest
        .last()
        .map(|o| format!("{resource_version}:{}", key_of(o)));
    Ok(Page {
        items: rest,
        resource_version,
        next,
        remaining,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(ns: &str, name: &str) -> Value {
        json!({"metadata": {"namespace": ns, "name": name}})
    }

    fn names(p: &Page) -> Vec<String> {
        p.items.iter().map(key_of).collect()
    }

    #[test]
    fn pages_cover_every_item_once_at_the_first_pages_version() {
        // In the store's order: by namespace, then name (`a-b` before `a` is not it).
        let all = || {
            vec![
                obj("a", "1"),
                obj("a", "2"),
                obj("a-b", "1"),
                obj("a-b", "3"),
                obj("c", "1"),
            ]
        };
        let first = page(all(), "10", Some(2), None).unwrap();
        assert_eq!(names(&first), ["a/1", "a/2"]);
        assert_eq!(first.remaining, 3);
        // The store moved on meanwhile; the pages still say version 10.
        let second = page(all(), "15", Some(2), first.next.as_deref()).unwrap();
        assert_eq!(names(&second), ["a-b/1", "a-b/3"]);
        assert_eq!(second.resource_version, "10");
        let last = page(all(), "17", Some(2), second.next.as_deref()).unwrap();
        assert_eq!(names(&last), ["c/1"]);
        assert_eq!(last.next, None);
        assert_eq!(last.resource_version, "10");
    }

    #[test]
    fn no_limit_or_a_large_one_gives_everything_and_a_bad_token_is_refused() {
        let all = vec![obj("a", "1"), obj("a", "2")];
        let p = page(all.clone(), "3", None, None).unwrap();
        assert_eq!((p.items.len(), p.next), (2, None));
        let p = page(all.clone(), "3", Some(500), None).unwrap();
        assert_eq!((p.items.len(), p.next), (2, None));
        let e = page(all, "3", Some(1), Some("garbage")).err().unwrap();
        assert!(e.contains("continue token"), "{e}");
    }
}
