//! Who may use the endpoint: checked before anything else, on every request, the WebSocket
//! upgrade included.
//!
//! With a token set, a request must carry `Authorization: Bearer TOKEN`, once (401 with
//! `WWW-Authenticate: Bearer` otherwise; compared in constant time). A request with an
//! `Origin` header (a browser's) is refused 403 unless that origin is allowed; one without is
//! not a browser's, and passes.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The access rules of a server.
#[derive(Clone, Debug, Default)]
pub(crate) struct Access {
    pub(crate) token: Option<String>,
    pub(crate) allowed_origins: Vec<String>,
}

impl Access {
    /// `None` if `headers` may pass; otherwise the response that refuses them.
    pub(crate) fn refusal(&self, headers: &HeaderMap) -> Option<Response> {
        if let Some(token) = &self.token {
            // One header, not a list: a request with two is not read as the first.
            let mut all = headers.get_all(header::AUTHORIZATION).iter();
            let presented = all
                .next()
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix("Bearer "));
            let allowed =
                presented.is_some_and(|presented| same(presented, token)) && all.next().is_none();
            if !allowed {
                let challenge = [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))];
                return Some(
                    (
                        StatusCode::UNAUTHORIZED,
                        challenge,
                        "a bearer token is required",
                    )
                        .into_response(),
                );
            }
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let allowed = origin
                .to_str()
                .is_ok_and(|origin| self.allowed_origins.iter().any(|allowed| allowed == origin));
            if !allowed {
                return Some((StatusCode::FORBIDDEN, "this origin is not allowed").into_response());
            }
        }
        None
    }
}

/// Whether `a` and `b` are equal, in a time that depends on their lengths only.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let differences = a
        .iter()
        .zip(b)
        .fold(0u8, |differences, (x, y)| differences | (x ^ y));
    a.len() == b.len() && differences == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (name.clone(), HeaderValue::from_static(value)))
            .collect()
    }

    fn status(access: &Access, pairs: &[(header::HeaderName, &'static str)]) -> Option<StatusCode> {
        access
            .refusal(&headers(pairs))
            .map(|refused| refused.status())
    }

    #[test]
    fn a_token_is_required_once_set() {
        let access = Access {
            token: Some("s3cret".into()),
            allowed_origins: Vec::new(),
        };
        assert_eq!(status(&access, &[]), Some(StatusCode::UNAUTHORIZED));
        assert_eq!(
            status(&access, &[(header::AUTHORIZATION, "Bearer s3cre")]),
            Some(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            status(&access, &[(header::AUTHORIZATION, "Bearer s3cret")]),
            None
        );
        assert_eq!(
            status(
                &access,
                &[
                    (header::AUTHORIZATION, "Bearer s3cret"),
                    (header::AUTHORIZATION, "Bearer s3cret")
                ]
            ),
            Some(StatusCode::UNAUTHORIZED),
            "twice"
        );
        assert_eq!(status(&Access::default(), &[]), None);
    }

    #[test]
    fn an_origin_must_be_allowed() {
        let access = Access {
            token: None,
            allowed_origins: vec!["https://editor.example".into()],
        };
        assert_eq!(
            status(&access, &[(header::ORIGIN, "https://evil.example")]),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            status(&access, &[(header::ORIGIN, "https://editor.example")]),
            None
        );
        assert_eq!(status(&access, &[]), None);
    }
}
