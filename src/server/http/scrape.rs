//! `GET /metrics`: what Prometheus scrapes, public or behind `METRICS_TOKEN`.

use crate::api::{ApiError, ErrorCode};
use crate::server::config::Config;
use axum::{
    extract::State,
    http::{header, HeaderMap},
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::ExposeSecret;
use std::sync::Arc;

/// `GET /metrics`: the Prometheus text, for anyone, or with `METRICS_TOKEN` set only for a request
/// that carries it as `Authorization: Bearer <token>`.
pub async fn render(
    State(handle): State<PrometheusHandle>,
    State(config): State<Arc<Config>>,
    headers: HeaderMap,
) -> Response {
    if let Some(token) = &config.limits.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !same_secret(given.as_bytes(), token.expose_secret().as_bytes()) {
            let mut refused = ApiError::from(ErrorCode::MetricsToken).into_response();
            refused
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
            return refused;
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response()
}

/// Compares in time that depends only on the lengths, so the token cannot be guessed byte by
/// byte from how fast a wrong one is refused.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}
