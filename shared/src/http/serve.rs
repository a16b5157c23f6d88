//! Serving a router: the layers every service has, trailing-slash tolerance, client addresses,
//! connection bounds, and graceful shutdown on SIGTERM or Ctrl-C.

use std::{io, time::Duration};

use axum::{
    extract::{ConnectInfo, Request},
    http::{StatusCode, Uri},
    middleware,
    response::IntoResponse,
    Router,
};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto::Builder, graceful::GracefulShutdown},
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::{Layer, ServiceExt};
use tower_http::{catch_panic::CatchPanicLayer, trace::TraceLayer};

use super::{
    connections::{ConnectionCounter, HttpLimits},
    error::ApiError,
    request_span,
};

/// The layers every service wraps its router in, outermost last.
pub fn with_standard_layers(router: Router) -> Router {
    router
        .fallback(|| async { ApiError::NotFound })
        .layer(middleware::from_fn(request_span::json_routing_errors))
        .layer(middleware::from_fn(request_span::observe_requests))
        .layer(
            // 5xx are logged once, with their cause, by `observe_requests`.
            TraceLayer::new_for_http()
                .make_span_with(request_span::make_request_span)
                .on_failure(()),
        )
        .layer(CatchPanicLayer::custom(|_| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                ApiError::Internal(anyhow::anyhow!("handler panicked")),
            )
                .into_response()
        }))
}

/// The old stack answered a path without its trailing slash with a redirect that lost POST
/// bodies; here both forms reach the same handler.
fn add_trailing_slash(mut request: Request) -> Request {
    let path = request.uri().path();
    let in_api = ["/api/", "/user/", "/ws/", "/back/ws/"]
        .iter()
        .any(|prefix| path.starts_with(prefix));
    let wants_slash = in_api
        && !path.ends_with('/')
        && !path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'));
    if wants_slash {
        let new = match request.uri().query() {
            Some(q) => format!("{path}/?{q}"),
            None => format!("{path}/"),
        };
        if let Ok(uri) = new.parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// How long in-flight requests may take to finish after shutdown begins.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` is cancelled, then drains in-flight requests.
///
/// The accept loop is ours rather than `axum::serve` because every bound on connections lives
/// here: the header timeout (hyper's, which also closes idle keep-alive connections), the
/// connection caps in [`ConnectionCounter`], and HTTP/1 only: the ingress and browsers speak
/// HTTP/1.1 to us, and each protocol served is one more a slow client can hold.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &HttpLimits,
    trust_forwarded_for: bool,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let app = middleware::map_request(add_trailing_slash_async).layer(router);
    let counter = ConnectionCounter::new(
        limits.max_connections,
        (!trust_forwarded_for).then_some(limits.max_connections_per_address),
    );
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout())
        .max_buf_size(MAX_HEAD_BYTES);
    let graceful = GracefulShutdown::new();
    loop {
        let (tcp, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to close.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let permit = match counter.admit(peer.ip()) {
            Ok(permit) => permit,
            Err(refusal) => {
                metrics::counter!("http_connections_refused_total", "reason" => refusal.label())
                    .increment(1);
                continue;
            }
        };
        // Chat frames are small and latency-bound: Nagle's algorithm with the peer's delayed
        // ACKs would hold them back for tens of milliseconds.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
        let connection = graceful.watch(connection.into_owned());
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the drain period; closing them");
    }
    Ok(())
}

/// Largest request head (request line and headers) a client may send.
const MAX_HEAD_BYTES: usize = 64 * 1024;

async fn add_trailing_slash_async(request: Request) -> Request {
    add_trailing_slash(request)
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// A token cancelled on SIGTERM or Ctrl-C.
pub fn stop_on_signal() -> CancellationToken {
    let stop = CancellationToken::new();
    let trigger = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutdown requested");
        trigger.cancel();
    });
    stop
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_after(uri: &str) -> String {
        let req = Request::builder()
            .uri(uri)
            .body(axum::body::Body::empty())
            .unwrap();
        add_trailing_slash(req).uri().to_string()
    }

    #[test]
    fn paths_gain_a_trailing_slash_and_keep_their_query() {
        assert_eq!(path_after("/api/login"), "/api/login/");
        assert_eq!(path_after("/ws/chat/x?visitor=t"), "/ws/chat/x/?visitor=t");
        assert_eq!(path_after("/api/login/"), "/api/login/");
        assert_eq!(path_after("/metrics"), "/metrics");
        assert_eq!(path_after("/healthz"), "/healthz");
        assert_eq!(
            path_after("/api/docs/swagger-ui.css"),
            "/api/docs/swagger-ui.css"
        );
    }
}
