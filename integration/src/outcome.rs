//! What Envoy did with a request, as the harness's outcome line: read from the reply (the
//! decision headers the echo upstream reflects, or the local reply's reason), so an Envoy run
//! and a harness replay can be compared line by line.

use host_harness::replay::OutcomeLine;

use crate::Reply;

/// Why a reply cannot be read as an outcome.
#[derive(Debug, thiserror::Error)]
#[error("{id}: served by upstream '{upstream}' although trieguard chose cluster {cluster:?}")]
pub struct MisroutedError {
    /// The request.
    pub id: String,
    /// Who answered.
    pub upstream: String,
    /// What the decision header said.
    pub cluster: Option<String>,
}

/// The outcome line Envoy's reply to request `id` implies.
pub fn envoy_line(id: &str, reply: &Reply) -> Result<OutcomeLine, MisroutedError> {
    let mut line = OutcomeLine::empty(id, 0);
    if let Some(reason) = reply.header("x-trieguard-reason") {
        line.action = "deny".into();
        line.status = Some(u32::from(reply.status));
        line.reason = Some(reason.to_owned());
    } else if let Ok(seen) = reply.echoed() {
        line.action = "continue".into();
        line.route = seen.header("x-trieguard-route").map(str::to_owned);
        line.cluster = seen.header("x-trieguard-cluster").map(str::to_owned);
        line.consumer = seen.header("x-trieguard-consumer").map(str::to_owned);
        line.path = Some(seen.path.clone());
        if line.cluster.as_deref() != Some(seen.upstream.as_str()) {
            return Err(MisroutedError {
                id: id.to_owned(),
                upstream: seen.upstream,
                cluster: line.cluster,
            });
        }
    } else {
        line.action = "error".into();
        line.status = Some(u32::from(reply.status));
        line.details = Some(reply.body.clone());
    }
    Ok(line)
}
