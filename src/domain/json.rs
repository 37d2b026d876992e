//! JSON values into domain types, with a JSON pointer (RFC 6901) to the
//! field that does not fit.

use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

/// Deserializes a JSON value into `T`: a value of the wrong shape is a 422
/// with a pointer to the failing field.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    from_value_at(value, "").map_err(|e| ApiError::validation(vec![e]))
}

/// Like `from_value`, for a value found at `prefix` in the body.
pub fn from_value_at<T: DeserializeOwned>(value: serde_json::Value, prefix: &str) -> Result<T, FieldError> {
    // Every body of this API is an object; serde would also build a struct
    // from an array of its fields, which no client means.
    if !value.is_object() {
        return Err(FieldError::new(prefix, "expected a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut pointer = prefix.to_string();
        for segment in e.path().iter() {
            use serde_path_to_error::Segment;
            match segment {
                Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
                Segment::Map { key } | Segment::Enum { variant: key } => {
                    pointer.push('/');
                    pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                }
                Segment::Unknown => {}
            }
        }
        let message = e.inner().to_string();
        // serde names a missing field in its message, not in its path.
        if let Some(name) = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next()) {
            pointer.push('/');
            pointer.push_str(name);
        }
        FieldError::new(pointer, message)
    })
}
