//! How a failed command's error reaches the user: one line, each cause said once.
//!
//! `{err:#}` joins every cause of the chain with `: `, but kube-rs and the kubeconfig loader
//! already repeat their sources inside their own messages, so a missing kubeconfig was said
//! four times, and an API error carried the debug dump of its `Status`. Here a cause whose
//! text is already in the line is left out, and an API server's answer is said as the
//! server said it (code, reason, message).

use kube::core::Status;

/// The error as the single line `main` prints after `error: `.
pub fn render(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let api = match cause.downcast_ref::<kube::Error>() {
            Some(kube::Error::Api(status)) => Some(api_answer(status)),
            _ => None,
        };
        let is_api = api.is_some();
        let part = api.unwrap_or_else(|| cause.to_string());
        if !part.is_empty() && !line.contains(&part) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&part);
        }
        // The Status is the API error's only source, and it has just been said.
        if is_api {
            break;
        }
    }
    line
}

/// `the API server answered 404 NotFound: namespaces "x" not found`.
pub fn api_answer(status: &Status) -> String {
    let mut answer = format!("the API server answered {}", status.code);
    if !status.reason.is_empty() {
        answer.push(' ');
        answer.push_str(&status.reason);
    }
    if !status.message.is_empty() {
        answer.push_str(": ");
        answer.push_str(&status.message);
    }
    answer
}

/// The API server's answer in `err`, when it is one.
pub fn api_status(err: &kube::Error) -> Option<&Status> {
    match err {
        kube::Error::Api(status) => Some(status),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that repeats its source in its own message, as kube-rs's do.
    #[derive(Debug)]
    struct Repeats(std::io::Error);

    impl std::fmt::Display for Repeats {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "outer: {}", self.0)
        }
    }

    impl std::error::Error for Repeats {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_cause_already_said_is_not_said_again() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = anyhow::Error::new(Repeats(io)).context("reading x");
        assert_eq!(render(&err), "reading x: outer: no such file");
    }

    #[test]
    fn an_api_error_is_the_servers_answer_without_its_debug_dump() {
        let status = Status::failure("namespaces \"nope\" not found", "NotFound").with_code(404);
        let err =
            anyhow::Error::new(kube::Error::Api(Box::new(status))).context("writing ConfigMap");
        assert_eq!(
            render(&err),
            "writing ConfigMap: the API server answered 404 NotFound: namespaces \"nope\" not found"
        );
    }

    #[test]
    fn distinct_causes_are_all_kept() {
        let err = anyhow::anyhow!("connection refused")
            .context("listing AIScaleTargets")
            .context("prescale status");
        assert_eq!(
            render(&err),
            "prescale status: listing AIScaleTargets: connection refused"
        );
    }
}
