//! What clients may ask of the server: a rate per client address, a number of requests at once,
//! and a time per request. Each refusal is an [`ApiError`] with its own code, so a script can tell
//! "slow down" (429, with `Retry-After`) from "busy" and "too slow" (503).

use crate::api::{ApiError, ErrorCode};
use crate::server::config::Limits;
use axum::{
    error_handling::HandleErrorLayer,
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    BoxError, Router,
};
use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};
use tower::{limit::GlobalConcurrencyLimitLayer, load_shed::LoadShedLayer, Layer, Service, ServiceBuilder, ServiceExt};
use tower_governor::{
    governor::GovernorConfigBuilder, key_extractor::PeerIpKeyExtractor, GovernorError, GovernorLayer,
};
use tower_http::timeout::TimeoutLayer;

/// How often the rate limiter forgets clients that have been quiet long enough to be full again.
const FORGET_QUIET_CLIENTS: Duration = Duration::from_secs(60);

/// Wraps `router` in the limits. Returns the task that keeps the rate limiter's memory bounded
/// (one entry per recently seen address), if there is a rate limit; the caller runs it.
///
/// A request whose path `uncounted` accepts keeps the time limit and the limit at once, but does
/// not count against its address's rate: the site's own files, of which one page loads dozens
/// (the browser code is split per page, see `scripts/build.sh`). At the default rate, a first
/// visit would otherwise be refused part of the code it needs.
pub fn apply(
    router: Router,
    limits: &Limits,
    uncounted: impl Fn(&str) -> bool + Clone + Send + Sync + 'static,
) -> (Router, Option<impl Future<Output = ()> + Send + 'static>) {
    // Innermost first: a request over time is cut off, then the count at once, then the rate.
    let router = router
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.request_timeout,
        ))
        .layer(axum::middleware::map_response(timed_out))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(|_: BoxError| async {
                    ApiError::from(ErrorCode::Busy)
                }))
                .layer(LoadShedLayer::new())
                .layer(GlobalConcurrencyLimitLayer::new(limits.max_concurrent_requests)),
        );
    let Some(rate) = limits.rate_limit else {
        return (router, None);
    };
    let config = GovernorConfigBuilder::default()
        .period(Duration::from_secs(1) / rate.per_second.max(1))
        .burst_size(rate.burst.max(1))
        .key_extractor(PeerIpKeyExtractor)
        .finish();
    let Some(config) = config else {
        // Only a zero period or burst makes no config, and both are at least 1 above.
        tracing::error!("the rate limit could not be set up; requests are not rate limited");
        return (router, None);
    };
    let config = Arc::new(config);
    let limiter = Arc::clone(config.limiter());
    let forget = async move {
        let mut interval = tokio::time::interval(FORGET_QUIET_CLIENTS);
        loop {
            interval.tick().await;
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    };
    let rate = CountedUnless {
        counted: GovernorLayer::new(config).error_handler(refused),
        uncounted,
    };
    (router.layer(rate), Some(forget))
}

/// A layer that sends a request through `counted` (the rate limiter) unless `uncounted` accepts
/// its path. Applied with `Router::layer`, like the other limits, it wraps each route once
/// matched, so the layers outside still see the matched route (the metrics label requests by it).
#[derive(Clone)]
struct CountedUnless<L, F> {
    counted: L,
    uncounted: F,
}

impl<S: Clone, L: Layer<S>, F: Clone> Layer<S> for CountedUnless<L, F> {
    type Service = EitherService<L::Service, S, F>;

    fn layer(&self, inner: S) -> Self::Service {
        EitherService {
            counted: self.counted.layer(inner.clone()),
            plain: inner,
            uncounted: self.uncounted.clone(),
        }
    }
}

#[derive(Clone)]
struct EitherService<C, P, F> {
    counted: C,
    plain: P,
    uncounted: F,
}

impl<C, P, F> Service<Request> for EitherService<C, P, F>
where
    C: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    C::Future: Send,
    P: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    P::Future: Send,
    F: Fn(&str) -> bool,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    /// Always ready: each call readies a clone of the service it picks (`oneshot`).
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if (self.uncounted)(request.uri().path()) {
            Box::pin(self.plain.clone().oneshot(request))
        } else {
            Box::pin(self.counted.clone().oneshot(request))
        }
    }
}

/// The timeout layer's bare 503 as [`ErrorCode::TimedOut`].
async fn timed_out(response: Response) -> Response {
    let empty = axum::body::HttpBody::size_hint(response.body()).exact() == Some(0);
    if response.status() == StatusCode::SERVICE_UNAVAILABLE && empty {
        return ApiError::from(ErrorCode::TimedOut).into_response();
    }
    response
}

/// The rate limiter's refusal: 429 with [`ErrorCode::RateLimited`] and `Retry-After` in whole
/// seconds (at least 1: the limiter rounds down).
fn refused(error: GovernorError) -> Response {
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => {
            ::metrics::counter!(crate::server::metrics::HTTP_RATE_LIMITED_TOTAL).increment(1);
            let mut response = ApiError::from(ErrorCode::RateLimited).into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait_time.max(1)));
            response
        }
        GovernorError::UnableToExtractKey => {
            tracing::error!("the rate limiter found no client address (served without connect info)");
            ApiError::from(ErrorCode::Internal).into_response()
        }
        GovernorError::Other { code, msg, .. } => {
            tracing::warn!(%code, ?msg, "the rate limiter refused a request");
            ApiError::from(ErrorCode::Busy).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::RateLimit;
    use axum::{body::Body, extract::ConnectInfo, routing::get};
    use std::net::SocketAddr;

    fn limits(timeout: Duration, at_once: usize) -> Limits {
        Limits {
            session_idle: Duration::from_secs(60),
            request_timeout: timeout,
            max_concurrent_requests: at_once,
            rate_limit: None,
            metrics_token: None,
        }
    }

    fn slow_router() -> Router {
        Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(600)).await;
                "done"
            }),
        )
    }

    async fn code_of(response: Response) -> (StatusCode, String) {
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .unwrap_or_default();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        (status, json["code"].as_str().unwrap_or_default().to_owned())
    }

    fn get_slow() -> Request<Body> {
        Request::get("/slow").body(Body::empty()).unwrap_or_default()
    }

    #[tokio::test]
    async fn a_request_over_its_time_gets_503_timed_out() {
        let (router, _) = apply(slow_router(), &limits(Duration::from_millis(100), 8), |_| false);
        let response = router.oneshot(get_slow()).await.expect("infallible");
        assert_eq!(
            code_of(response).await,
            (StatusCode::SERVICE_UNAVAILABLE, "error-request-4".to_owned())
        );
        let (router, _) = apply(slow_router(), &limits(Duration::from_secs(5), 8), |_| false);
        let response = router.oneshot(get_slow()).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::OK, "in time");
    }

    #[tokio::test]
    async fn requests_beyond_the_limit_at_once_get_503_busy_at_once() {
        let (router, _) = apply(slow_router(), &limits(Duration::from_secs(5), 1), |_| false);
        let first = tokio::spawn(router.clone().oneshot(get_slow()));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = std::time::Instant::now();
        let second = router.clone().oneshot(get_slow()).await.expect("infallible");
        assert_eq!(
            code_of(second).await,
            (StatusCode::SERVICE_UNAVAILABLE, "error-request-5".to_owned())
        );
        assert!(
            started.elapsed() < Duration::from_millis(300),
            "refused at once, not queued"
        );
        let first = first.await.expect("task").expect("infallible");
        assert_eq!(first.status(), StatusCode::OK);
        // Once the first is done, there is room again.
        let third = router.oneshot(get_slow()).await.expect("infallible");
        assert_eq!(third.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn uncounted_paths_are_not_rate_limited_and_the_rest_still_are() {
        let limits = Limits {
            rate_limit: Some(RateLimit {
                per_second: 1,
                burst: 2,
            }),
            ..limits(Duration::from_secs(5), 8)
        };
        let router = Router::new()
            .route("/page", get(|| async { "page" }))
            .route("/pkg/{file}", get(|| async { "file" }));
        let (router, _) = apply(router, &limits, |path| path.starts_with("/pkg/"));
        let from = |path: &str| {
            let mut request = Request::get(path).body(Body::empty()).unwrap_or_default();
            request
                .extensions_mut()
                .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 1], 4000))));
            request
        };
        for n in 0..20 {
            let response = router
                .clone()
                .oneshot(from("/pkg/skymeet.abc.wasm"))
                .await
                .expect("infallible");
            assert_eq!(response.status(), StatusCode::OK, "file {n}");
        }
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(
                router
                    .clone()
                    .oneshot(from("/page"))
                    .await
                    .expect("infallible")
                    .status(),
            );
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == StatusCode::OK).count(),
            2,
            "the burst: {statuses:?}"
        );
        assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    }
}
