//! The Overview and Targets pages' bodies, from the model.

use std::fmt::Write;

use super::html::{cpu, escape, memory, opt, url_encode};
use super::model::{ModeCounts, Overview, Page, SORT_KEYS, TableQuery, Totals};

fn counts(title: &str, id: &str, c: &ModeCounts) -> String {
    format!(
        r#"<div class="card" id="{id}"><h3>{title}</h3><div class="big">{a}</div>autonomous · {r} recommendation · {o} not set</div>"#,
        a = c.autonomous,
        r = c.recommendation,
        o = c.off
    )
}

fn totals(title: &str, id: &str, t: &Totals, f: fn(f64) -> String) -> String {
    let verdict = if t.saving >= 0.0 {
        format!("estimated saving <b>{}</b>", f(t.saving))
    } else {
        format!("added safety <b>{}</b>", f(-t.saving))
    };
    format!(
        r#"<div class="card" id="{id}"><h3>{title}</h3><table><tr><td>requested</td><td class="num">{}</td></tr><tr><td>used</td><td class="num">{}</td></tr><tr><td>recommended</td><td class="num">{}</td></tr></table><p>{verdict}</p></div>"#,
        f(t.requested),
        f(t.used),
        f(t.recommended),
    )
}

pub fn overview(o: &Overview) -> String {
    let mut out = String::with_capacity(4096);
    let _ = write!(
        out,
        r#"<h1>Overview</h1><div class="cards"><div class="card" id="targets-count"><h3>AIScaleTargets</h3><div class="big">{}</div>{} autonomous · {} with a recommendation · <a href="/targets">all targets</a></div>{}{}</div>"#,
        o.targets,
        o.autonomous_targets,
        o.with_recommendation,
        counts("Vertical", "vertical-modes", &o.vertical),
        counts("Horizontal", "horizontal-modes", &o.horizontal),
    );
    let _ = write!(
        out,
        r#"<div class="cards">{}{}</div><p class="muted">Across enrolled workloads: requested is each workload's own request × replicas; used the latest usage × running pods; recommended the recommendation × (suggested) replicas. The saving compares recommendations with the workloads' own requests, for targets that have a recommendation.</p>"#,
        totals("CPU", "cpu-totals", &o.cpu, cpu),
        totals("Memory", "memory-totals", &o.memory, memory),
    );
    out
}

fn query_string(q: &TableQuery, sort: &str, desc: bool, page: usize) -> String {
    format!(
        "/targets?q={}&mode={}&sort={}&desc={}&page={}&per_page={}",
        url_encode(&q.q),
        url_encode(&q.mode),
        url_encode(sort),
        desc,
        page,
        q.per_page
    )
}

pub fn targets(p: &Page<'_>, q: &TableQuery) -> String {
    let mut out = String::with_capacity(256 * p.rows.len() + 4096);
    let sel = |m: &str| if q.mode == m { " selected" } else { "" };
    let _ = write!(
        out,
        r#"<h1>Targets</h1><form class="filter" method="get" action="/targets"><input type="search" name="q" id="filter" placeholder="namespace, target or workload" value="{}"><select name="mode"><option value=""{}>all modes</option><option value="autonomous"{}>autonomous</option><option value="recommendation"{}>recommendation</option><option value="off"{}>not set</option></select><input type="hidden" name="sort" value="{}"><button type="submit">Filter</button></form>"#,
        escape(&q.q),
        sel(""),
        sel("autonomous"),
        sel("recommendation"),
        sel("off"),
        escape(&q.sort),
    );
    out.push_str(r#"<table id="targets"><thead><tr>"#);
    let headers = [
        ("name", "Namespace / target", ""),
        ("", "Workloads", ""),
        ("mode", "Modes (V / H)", ""),
        ("cpu", "CPU suggested / running", "num"),
        ("memory", "Memory suggested / running", "num"),
        ("replicas", "Replicas (suggested)", "num"),
        ("ready", "Conditions", ""),
        ("action", "Last action", ""),
    ];
    for (key, label, class) in headers {
        if key.is_empty() || !SORT_KEYS.contains(&key) {
            let _ = write!(out, r#"<th class="{class}">{label}</th>"#);
            continue;
        }
        let desc = q.sort == key && !q.desc;
        let arrow = match (q.sort == key, q.desc) {
            (true, false) => " ▲",
            (true, true) => " ▼",
            _ => "",
        };
        let _ = write!(
            out,
            r#"<th class="{class}"><a id="sort-{key}" href="{}">{label}{arrow}</a></th>"#,
            escape(&query_string(q, key, desc, 1))
        );
    }
    out.push_str("</tr></thead><tbody>");
    for r in &p.rows {
        let mode = |m: &Option<String>| match m {
            Some(m) => format!(r#"<span class="pill {m}">{}</span>"#, escape(m)),
            None => "–".into(),
        };
        let conditions: String = r
            .conditions
            .iter()
            .map(|c| {
                format!(
                    r#"<span class="pill {s}" title="{m}">{t}: {reason}</span> "#,
                    s = escape(&c.status),
                    m = escape(&c.message),
                    t = escape(&c.type_),
                    reason = escape(&c.reason)
                )
            })
            .collect();
        let replicas = match r.suggested_replicas {
            Some(s) => format!("{} ({s})", r.replicas),
            None => r.replicas.to_string(),
        };
        let _ = write!(
            out,
            r#"<tr class="target"><td><a class="target-link" href="/targets/{ns_u}/{name_u}">{ns}/{name}</a></td><td>{w}</td><td>{v} / {h}</td><td class="num">{rc} / {pc}</td><td class="num">{rm} / {pm}</td><td class="num">{replicas}</td><td>{conditions}</td><td>{action}</td></tr>"#,
            ns_u = url_encode(&r.namespace),
            name_u = url_encode(&r.name),
            ns = escape(&r.namespace),
            name = escape(&r.name),
            w = escape(&r.workloads.join(", ")),
            v = mode(&r.vertical),
            h = mode(&r.horizontal),
            rc = opt(r.recommended.cpu, cpu),
            pc = opt(r.running.cpu, cpu),
            rm = opt(r.recommended.memory, memory),
            pm = opt(r.running.memory, memory),
            action = r
                .last_action
                .as_ref()
                .map(|(reason, at)| format!(
                    "{} <span class=\"muted\">{}</span>",
                    escape(reason),
                    escape(at)
                ))
                .unwrap_or_else(|| "–".into()),
        );
    }
    out.push_str("</tbody></table>");
    let _ = write!(
        out,
        r#"<div class="pager"><span id="matched">{} targets</span><span>page {} of {}</span>"#,
        p.matched, p.page, p.pages
    );
    if p.page > 1 {
        let _ = write!(
            out,
            r#"<a id="prev" href="{}">← previous</a>"#,
            escape(&query_string(q, &q.sort, q.desc, p.page - 1))
        );
    }
    if p.page < p.pages {
        let _ = write!(
            out,
            r#"<a id="next" href="{}">next →</a>"#,
            escape(&query_string(q, &q.sort, q.desc, p.page + 1))
        );
    }
    out.push_str("</div>");
    out
}
