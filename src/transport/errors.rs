//! Turning a vendor's error answer into one line a person can act on.
//!
//! The transport knows only the shapes most JSON APIs share (`message`,
//! `error_description`, `detail`, an `errors` map or list). What one vendor
//! adds (SCIM's `scimType`, a firewall in front of one API) belongs to that
//! vendor's target, which hands its own `ErrorReader` to `Api`. Nothing here
//! may name a vendor.

use serde_json::Value;

use super::Response;

/// Reads the message out of an error answer. A target with its own error
/// conventions implements this; the others use `GenericErrors`.
pub trait ErrorReader: Send + Sync {
    fn message(&self, r: &Response) -> String {
        Reading::of(&r.body).text(&r.body)
    }
}

/// The reader for APIs with nothing special about their errors.
pub struct GenericErrors;

impl ErrorReader for GenericErrors {}

/// An error body taken apart, so a vendor's reader can decorate one part and
/// keep the rest of the wording.
#[derive(Debug, Default)]
pub struct Reading {
    /// The main message: `message`, `error_description`, `detail`, ...
    pub headline: Option<String>,
    /// One line per entry of `errors` (a map of field to messages, or a
    /// list of `{detail}` objects).
    pub errors: Vec<String>,
}

impl Reading {
    pub fn of(body: &Value) -> Reading {
        Reading {
            headline: pick(body, &["message", "error_description", "detail", "title", "error"]),
            errors: listed_errors(body),
        }
    }

    /// The parts joined; when there are none, the body itself (clipped),
    /// so a refusal is never reported without a word of why.
    pub fn text(self, body: &Value) -> String {
        let parts: Vec<String> = self.headline.into_iter().chain(self.errors).collect();
        if !parts.is_empty() {
            return parts.join("; ");
        }
        match body {
            Value::Null => "no details given".into(),
            Value::String(s) => s.clone(),
            other => crate::text::clip(&other.to_string(), 300),
        }
    }
}

/// The message of an error body in the common shapes, for callers outside
/// any target (sign-in endpoints).
pub fn generic_message(body: &Value) -> String {
    Reading::of(body).text(body)
}

fn pick(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| v.get(k).and_then(Value::as_str)).map(str::to_string)
}

fn listed_errors(body: &Value) -> Vec<String> {
    match body.get("errors") {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(field, msgs)| {
                let text = match msgs {
                    Value::Array(a) => a.iter().map(value_text).collect::<Vec<_>>().join(", "),
                    other => value_text(other),
                };
                format!("{field}: {text}")
            })
            .collect(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|e| pick(e, &["detail", "message", "title"]).unwrap_or_else(|| value_text(e)))
            .collect(),
        _ => Vec::new(),
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, body: Value) -> Response {
        Response { status, body, retry_after: None, server: None }
    }

    #[test]
    fn error_messages_from_common_shapes() {
        assert_eq!(
            generic_message(
                &json!({"message": "Validation failed", "errors": {"email": ["already taken"]}})
            ),
            "Validation failed; email: already taken"
        );
        assert_eq!(
            generic_message(
                &json!({"name": "BadRequest", "message": "Bad", "errors": [{"code": 1, "detail": "username taken"}]})
            ),
            "Bad; username taken"
        );
        assert_eq!(generic_message(&json!({"error_description": "bad grant"})), "bad grant");
        assert_eq!(generic_message(&Value::Null), "no details given");
        assert_eq!(generic_message(&json!("plain text")), "plain text");
        assert_eq!(generic_message(&json!({"code": 7})), r#"{"code":7}"#);
    }

    #[test]
    fn the_generic_reader_adds_nothing_vendor_specific() {
        let body = json!({"detail": "taken", "scimType": "uniqueness"});
        assert_eq!(GenericErrors.message(&answer(409, body)), "taken");
        let mut r = answer(403, json!({"message": "Forbidden"}));
        r.server = Some("awselb/2.0".into());
        assert_eq!(GenericErrors.message(&r), "Forbidden");
    }
}
