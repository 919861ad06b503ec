//! Leader election through a Lease and the operator's HTTP endpoints, on the simulated
//! cluster through a real HTTP client.

use std::sync::Arc;
use std::time::Duration;

use prescale_operator::http::{Shared, serve};
use prescale_operator::leader::LeaseLock;
use prescale_sim::testing::TestCluster;

#[tokio::test]
async fn one_leader_at_a_time_and_release_hands_over() {
    let c = TestCluster::start().await.unwrap();
    let a = LeaseLock::new(
        c.client.clone(),
        "default",
        "prescale-operator",
        "a",
        Duration::from_secs(15),
    );
    let b = LeaseLock::new(
        c.client.clone(),
        "default",
        "prescale-operator",
        "b",
        Duration::from_secs(15),
    );
    let now = jiff::Timestamp::now();
    assert!(a.try_lead(now).await.unwrap());
    assert!(
        !b.try_lead(now).await.unwrap(),
        "a live lease is not taken over"
    );
    assert!(a.try_lead(now).await.unwrap(), "the holder renews");
    a.release().await.unwrap();
    assert!(
        b.try_lead(now).await.unwrap(),
        "a released lease is taken at once"
    );
    assert!(!a.try_lead(now).await.unwrap());
    // After the lease duration without renewal, the other candidate takes over.
    let later = now
        .checked_add(jiff::SignedDuration::from_secs(30))
        .unwrap();
    assert!(a.try_lead(later).await.unwrap());
}

/// A plain HTTP/1.1 GET over a TCP connection; returns the whole response.
async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn metrics_health_and_readiness_are_served() {
    let shared = Arc::new(Shared::default());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(addr, shared.clone(), async {
        let _ = rx.await;
    }));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(get(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
    assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 503"));
    shared
        .ready
        .store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 200"));
    shared.metrics.oom_kills.inc();
    let text = get(addr, "/metrics").await;
    assert!(text.contains("prescale_oom_kills_total 1"), "{text}");
    assert!(text.contains("prescale_managed_targets"), "{text}");
    tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}
