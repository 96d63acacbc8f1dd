//! A key-value store of strings with get, put and append (Porcupine's `kv` model, the store of
//! MIT 6.824's labs): `--model append-kv` is [`Independent`](super::Independent)`<AppendString>`.
//!
//! A value grows with every append, and the searches clone, hash and compare states millions of
//! times, so a value is a [`Text`]: shared (a clone is a reference count), with its hash kept
//! beside it and extended in time proportional to the appended part only.

use super::model::{Call, Model};
use crate::history::Value;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// An immutable shared string with a polynomial hash that concatenation extends: for
/// `s = c₀…cₙ₋₁`, `hash = Σ cᵢ·Bⁿ⁻¹⁻ⁱ` and `power = Bⁿ` (mod 2⁶⁴), so
/// `hash(s + t) = hash(s)·power(t) + hash(t)`.
#[derive(Clone)]
pub struct Text {
    hash: u64,
    power: u64,
    text: Arc<str>,
}

/// An odd multiplier with well-mixed bits.
const BASE: u64 = 0x9e37_79b9_7f4a_7c15;

impl Text {
    pub fn new(text: &str) -> Text {
        let (hash, power) = text.bytes().fold((0u64, 1u64), |(h, p), b| {
            (
                h.wrapping_mul(BASE).wrapping_add(b as u64 + 1),
                p.wrapping_mul(BASE),
            )
        });
        Text {
            hash,
            power,
            text: Arc::from(text),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `self` followed by `tail`.
    pub fn concat(&self, tail: &Text) -> Text {
        if tail.text.is_empty() {
            return self.clone();
        }
        if self.text.is_empty() {
            return tail.clone();
        }
        let mut joined = String::with_capacity(self.text.len() + tail.text.len());
        joined.push_str(&self.text);
        joined.push_str(&tail.text);
        Text {
            hash: self.hash.wrapping_mul(tail.power).wrapping_add(tail.hash),
            power: self.power.wrapping_mul(tail.power),
            text: Arc::from(joined),
        }
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.hash == other.hash
            && self.text.len() == other.text.len()
            && (Arc::ptr_eq(&self.text, &other.text) || self.text == other.text)
    }
}

impl Eq for Text {}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.text)
    }
}

/// One key's string: `:get` returns it, `:put` replaces it, `:append` extends it. It starts
/// empty, and a get of a key never written returns `""`.
#[derive(Clone, Debug, Default)]
pub struct AppendString;

/// An operation of [`AppendString`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendOp {
    /// What the get returned (`None`: unknown).
    Get(Option<Text>),
    Put(Text),
    Append(Text),
}

fn text_of(value: &Value, what: &str) -> Result<Text, String> {
    match value {
        Value::Str(s) => Ok(Text::new(s)),
        other => Err(format!("{what} must be a string, found {other}")),
    }
}

impl Model for AppendString {
    type State = Text;
    type Op = AppendOp;

    fn name(&self) -> String {
        "append-string".into()
    }
    fn init(&self) -> Text {
        Text::new("")
    }
    fn op(&self, call: &Call) -> Result<AppendOp, String> {
        match call.f {
            "get" | "read" => Ok(AppendOp::Get(match call.returned() {
                None => None,
                Some(v) => Some(text_of(v, "a get's result")?),
            })),
            "put" | "write" => Ok(AppendOp::Put(text_of(call.invoked, "a put's value")?)),
            "append" => Ok(AppendOp::Append(text_of(
                call.invoked,
                "an append's value",
            )?)),
            _ => Err(call.unknown_function("append-kv", ":get, :put or :append")),
        }
    }
    fn step(&self, state: &Text, op: &AppendOp) -> Option<Text> {
        match op {
            AppendOp::Get(seen) => seen
                .as_ref()
                .is_none_or(|v| v == state)
                .then(|| state.clone()),
            AppendOp::Put(v) => Some(v.clone()),
            AppendOp::Append(v) => Some(state.concat(v)),
        }
    }
    fn is_read_only(&self, op: &AppendOp) -> bool {
        matches!(op, AppendOp::Get(_))
    }
    fn heap_bytes(&self, state: &Text) -> usize {
        state.text.len()
    }
    fn describe(&self, state: &Text, op: &AppendOp) -> String {
        match op {
            AppendOp::Get(Some(v)) => format!("it got {v:?}, but the value was {state:?}"),
            other => format!("{other:?} cannot take effect when the value is {state:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn a_concatenation_equals_and_hashes_as_the_same_text_built_at_once() {
        // The hash is extended, not recomputed: it must agree with the text's own.
        let hasher = std::collections::hash_map::RandomState::new();
        for (a, b) in [("", "x"), ("x 0 0 y", "x 1 0 y"), ("ab", ""), ("é", "ü")] {
            let joined = Text::new(a).concat(&Text::new(b));
            let whole = Text::new(&format!("{a}{b}"));
            assert_eq!(joined, whole);
            assert_eq!(hasher.hash_one(&joined), hasher.hash_one(&whole));
            assert_eq!(joined.as_str(), format!("{a}{b}"));
        }
        assert_ne!(Text::new("ab"), Text::new("ba"));
        assert_ne!(Text::new("a").concat(&Text::new("b")), Text::new("a"));
    }
}
