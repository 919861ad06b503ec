//! HTML building blocks: escaping, number formatting and the page frame (header with the
//! Manage Cluster menu, the paused banner, the pause/resume confirmation flyout). Pages
//! are plain strings: no template engine, nothing but `format!` and `escape`.

use std::fmt::Write;

/// The stylesheet, embedded (no CDN: the dashboard works air-gapped).
pub const CSS: &str = include_str!("assets/dashboard.css");

/// Escapes text for HTML content and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment or query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Cores as Kubernetes writes them (`250m`, `1.5`).
pub fn cpu(v: f64) -> String {
    if v < 1.0 {
        format!("{:.0}m", v * 1000.0)
    } else {
        format!("{v:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// Bytes in binary units (`512Mi`, `1.5Gi`).
pub fn memory(v: f64) -> String {
    let sign = if v < 0.0 { "-" } else { "" };
    let v = v.abs();
    for (unit, size) in [
        ("Ti", 1u64 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
    ] {
        let size = size as f64;
        if v >= size {
            let n = format!("{:.1}", v / size);
            return format!("{sign}{}{unit}", n.trim_end_matches(".0"));
        }
    }
    format!("{sign}{v:.0}")
}

pub fn opt(v: Option<f64>, f: fn(f64) -> String) -> String {
    v.map_or_else(|| "–".to_string(), f)
}

/// Which page the header marks as current.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Targets,
}

/// What the frame needs besides the page's body.
pub struct Frame<'a> {
    pub title: &'a str,
    pub nav: Nav,
    pub paused: bool,
    pub pause_problem: Option<&'a str>,
    /// The path (and query) of this page, where the flyout's Cancel returns.
    pub here: &'a str,
    /// The flyout to show: pause or resume, with the count of affected targets.
    pub flyout: Option<Flyout>,
    pub csrf: &'a str,
    /// Whether this browser already holds an authorised session.
    pub signed_in: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Flyout {
    pub pause: bool,
    pub affected: usize,
}

fn with_query(here: &str, key: &str, value: &str) -> String {
    let sep = if here.contains('?') { '&' } else { '?' };
    format!("{here}{sep}{key}={value}")
}

/// The page around `body`.
pub fn page(f: &Frame<'_>, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 8192);
    let on = |n: Nav| if f.nav == n { " class=\"on\"" } else { "" };
    let _ = write!(
        out,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title} · prescale</title><style>{CSS}</style></head><body>
<header><span class="brand">prescale</span><nav><a href="/"{o}>Overview</a><a href="/targets"{t}>Targets</a></nav><span class="spacer"></span>
<details class="menu" id="manage-cluster"><summary>Manage Cluster ▾</summary><div class="items">
<a id="menu-pause" href="{pause}">Pause autonomous scaling</a><a id="menu-resume" href="{resume}">Resume autonomous scaling</a></div></details></header>"#,
        title = escape(f.title),
        o = on(Nav::Overview),
        t = on(Nav::Targets),
        pause = escape(&with_query(f.here, "manage", "pause")),
        resume = escape(&with_query(f.here, "manage", "resume")),
    );
    if f.paused {
        out.push_str(r#"<div class="banner" id="paused-banner">⏸ Autonomous scaling is paused cluster-wide. Recommendations continue; nothing is applied until it is resumed (Manage Cluster → Resume).</div>"#);
    }
    if let Some(p) = f.pause_problem {
        let _ = write!(out, r#"<div class="banner problem">{}</div>"#, escape(p));
    }
    let _ = write!(out, "<main>{body}</main>");
    if let Some(fl) = f.flyout {
        flyout(&mut out, f, fl);
    }
    out.push_str("</body></html>");
    out
}

fn flyout(out: &mut String, f: &Frame<'_>, fl: Flyout) {
    let (verb, action, effect) = if fl.pause {
        (
            "Pause",
            "/manage/pause",
            "will stop applying changes. Running pods keep the requests last applied; recommendations continue.",
        )
    } else {
        (
            "Resume",
            "/manage/resume",
            "will apply their recommendations again.",
        )
    };
    let cancel = f
        .here
        .split("manage=")
        .next()
        .unwrap_or("/")
        .trim_end_matches(['?', '&']);
    let cancel = if cancel.is_empty() { "/" } else { cancel };
    let _ = write!(
        out,
        r#"<aside class="flyout" id="flyout"><h2>{verb} autonomous scaling</h2>
<p><span class="count" id="affected-count">{n}</span> autonomous target{s} {effect}</p>
<p class="muted">This writes <code>scaling-paused: {paused}</code> to the ConfigMap <code>{cm}</code>, as <code>prescale {lower}</code> does. Targets in recommendation mode are not affected.</p>
<form method="post" action="{action}"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="back" value="{back}">"#,
        n = fl.affected,
        s = if fl.affected == 1 { "" } else { "s" },
        paused = fl.pause,
        cm = crate::pause::SYSTEM_CONFIG_MAP,
        lower = verb.to_lowercase(),
        csrf = escape(f.csrf),
        back = escape(cancel),
    );
    if !f.signed_in {
        out.push_str(r#"<label for="token">Kubernetes bearer token (checked with TokenReview; RBAC must allow <code>update</code> on the ConfigMap)</label><input type="password" id="token" name="token" autocomplete="off">"#);
    }
    let _ = write!(
        out,
        r#"<div class="actions"><button class="primary" type="submit" id="confirm">{verb}</button><a href="{}" id="cancel">Cancel</a></div></form></aside>"#,
        escape(cancel)
    );
}

/// A refusal or failure page (401, 403, 503...).
pub fn error_page(title: &str, message: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{t} · prescale</title><style>{CSS}</style></head><body>
<div class="error" id="error"><h1>{t}</h1><p>{m}</p><p><a href="/">Back to the overview</a></p></div></body></html>"#,
        t = escape(title),
        m = escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_escapes() {
        assert_eq!(cpu(0.25), "250m");
        assert_eq!(cpu(1.5), "1.5");
        assert_eq!(cpu(2.0), "2");
        assert_eq!(memory(512.0 * 1048576.0), "512Mi");
        assert_eq!(memory(1.5 * 1073741824.0), "1.5Gi");
        assert_eq!(memory(-2.0 * 1048576.0), "-2Mi");
        assert_eq!(
            escape(r#"<a href="x">'&"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
        assert_eq!(url_encode("a b/c"), "a%20b%2Fc");
    }
}
