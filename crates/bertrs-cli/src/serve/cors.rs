//! CORS, as TEI sets it up (`tower_http::cors` there, with `--cors-allow-origin`): a web page
//! of another origin may call the API from a browser; any origin unless the server names
//! some. Preflights (`OPTIONS` with `Access-Control-Request-Method`) are answered here.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn layer(State(allowed): State<Arc<Vec<String>>>, req: Request, next: Next) -> Response {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let allow = match &origin {
        None => None,
        Some(_) if allowed.is_empty() => Some(HeaderValue::from_static("*")),
        Some(o) => allowed.iter().any(|a| a.as_bytes() == o.as_bytes()).then(|| o.clone()),
    };
    let preflight = req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight { StatusCode::NO_CONTENT.into_response() } else { next.run(req).await };
    let h = response.headers_mut();
    if let Some(allow) = allow {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        if preflight {
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type"));
        }
    }
    if !allowed.is_empty() {
        // The answer depends on the Origin header: caches must not share it across origins.
        h.insert(header::VARY, HeaderValue::from_static("origin"));
    }
    response
}
