//! Canonical JSON: object keys sorted by their UTF-16 code units (as RFC 8785), no whitespace, and no
//! floating-point numbers, so the same value always has the same bytes.

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    #[error("floating-point numbers are not allowed in canonical JSON")]
    Float,
    #[error("cannot encode: {0}")]
    Encode(String),
}

pub fn to_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    let v = serde_json::to_value(value).map_err(|e| CanonicalError::Encode(e.to_string()))?;
    let mut out = Vec::new();
    write(&v, &mut out)?;
    Ok(out)
}

fn write(v: &Value, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match v {
        Value::Number(n) if n.is_f64() => return Err(CanonicalError::Float),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend(serde_json::to_vec(k).map_err(|e| CanonicalError::Encode(e.to_string()))?);
                out.push(b':');
                write(&map[k], out)?;
            }
            out.push(b'}');
        }
        scalar => out.extend(serde_json::to_vec(scalar).map_err(|e| CanonicalError::Encode(e.to_string()))?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_sorted_compact_no_floats() {
        let v = json!({"b": 1, "a": [true, null, "登记"], "A": {"z": 0, "y": -2}});
        assert_eq!(
            String::from_utf8(to_bytes(&v).unwrap()).unwrap(),
            r#"{"A":{"y":-2,"z":0},"a":[true,null,"登记"],"b":1}"#
        );
        assert_eq!(to_bytes(&json!({"x": 1.5})), Err(CanonicalError::Float));
    }
}
