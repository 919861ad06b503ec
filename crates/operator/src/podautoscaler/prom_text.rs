//! The one thing a PodAutoscaler reads from a Prometheus text exposition (a vLLM pod's
//! `/metrics`, an external metrics service): the sum of every sample of one metric, over
//! all its label sets (vLLM's gauges carry a `model_name` label; one pod may serve several).

/// The sum of the samples named `metric` in `text`, or `None` when it has none. Comments,
/// other metrics, and samples whose value does not parse (e.g. `NaN`) are skipped.
pub fn sum_of(text: &str, metric: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(rest) = line.strip_prefix(metric) else {
            continue;
        };
        // The name must end here: `foo` is not `foo_total`.
        let rest = match rest.chars().next() {
            Some('{') => match labels_end(rest) {
                Some(end) => &rest[end + 1..],
                None => continue,
            },
            Some(c) if c.is_whitespace() => rest,
            _ => continue,
        };
        let Some(value) = rest.split_whitespace().next() else {
            continue;
        };
        let Ok(v) = value.parse::<f64>() else {
            continue;
        };
        if v.is_finite() {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

/// The index of the `}` closing the label set that `text` starts with (quoted values may
/// hold braces and escaped quotes).
fn labels_end(text: &str) -> Option<usize> {
    let (mut quoted, mut escaped) = (false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '}' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const VLLM: &str = "# HELP vllm:num_requests_running Running requests\n\
# TYPE vllm:num_requests_running gauge\n\
vllm:num_requests_running{model_name=\"a\"} 3\n\
vllm:num_requests_running{model_name=\"b\",x=\"}\"} 2.5\n\
vllm:num_requests_running_total 100\n\
requests_in_flight 7 1700000000000\n\
bad NaN\n";

    #[test]
    fn sums_every_label_set_of_exactly_that_metric() {
        assert_eq!(sum_of(VLLM, "vllm:num_requests_running"), Some(5.5));
        assert_eq!(sum_of(VLLM, "vllm:num_requests_running_total"), Some(100.0));
        assert_eq!(sum_of(VLLM, "requests_in_flight"), Some(7.0));
    }

    #[test]
    fn absent_or_unparsable_is_none() {
        assert_eq!(sum_of(VLLM, "vllm:gpu_cache_usage_perc"), None);
        assert_eq!(sum_of(VLLM, "bad"), None);
        assert_eq!(sum_of("", "x"), None);
    }
}
