//! Typed resources from JSON values in one pass that keeps the path of the field a type error
//! is in, and the path of every field the type does not know.
//!
//! This is what `serde_path_to_error` wrapped around `serde_ignored` wrapped around
//! `serde_json::Value`'s deserializer did, with the same paths and messages (a test compares
//! them on every conformance manifest and on mutations of it). Each of those wrappers
//! instantiated every visitor of every resource type once more: two thirds of the proxy-wasm
//! filter's code (issue #26). Here the visitors see one deserializer, a reading of `&Value`
//! that carries its path.

use std::cell::RefCell;
use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Unexpected, Visitor};
use serde_json::{Map, Value};

/// Reads a `T` from `value`: the value and the paths of the fields `T` ignored (unknown
/// fields, e.g. `spec.colour`), or the path of the field in error (empty for the whole value)
/// and the reason.
pub(crate) fn typed<T: DeserializeOwned>(value: &Value) -> Result<(T, Vec<String>), FieldError> {
    let unknown = RefCell::new(Vec::new());
    let root = ValueDe {
        value,
        path: &Path::Root,
        unknown: &unknown,
    };
    match T::deserialize(root) {
        Ok(t) => Ok((t, unknown.into_inner())),
        Err(e) => Err(FieldError {
            path: e.path.unwrap_or_default(),
            message: e.message,
        }),
    }
}

/// A value that does not have the type its field needs.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FieldError {
    /// The JSON path of the field, `spec.listeners[0].port`; empty for the whole value.
    pub(crate) path: String,
    /// Why, as serde_json words it (`invalid type: string "eighty", expected u16`).
    pub(crate) message: String,
}

/// Where a value is: a chain of keys and indexes up to the root, on the stack.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(parent, key) => {
                parent.fmt(f)?;
                if !matches!(parent, Path::Root) {
                    f.write_str(".")?;
                }
                f.write_str(key)
            }
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// The error while reading: its message, and the path of the innermost value it came out of.
#[derive(Debug)]
struct Error {
    message: String,
    path: Option<String>,
}

impl Error {
    /// The same error, placed at `path` unless a value inside it already placed it.
    fn at(mut self, path: &Path<'_>) -> Self {
        if self.path.is_none() {
            self.path = Some(path.to_string());
        }
        self
    }
}

impl de::Error for Error {
    #[cold]
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self {
            message: message.to_string(),
            path: None,
        }
    }

    // serde_json's wording: `null` where serde says `unit value`.
    #[cold]
    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::custom(format_args!(
            "invalid type: {}, expected {expected}",
            JsonUnexpected(unexpected)
        ))
    }

    #[cold]
    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::custom(format_args!(
            "invalid value: {}, expected {expected}",
            JsonUnexpected(unexpected)
        ))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

struct JsonUnexpected<'a>(Unexpected<'a>);

impl fmt::Display for JsonUnexpected<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Unexpected::Unit => f.write_str("null"),
            other => other.fmt(f),
        }
    }
}

/// What a value is, for type errors (as serde_json's `Value::unexpected`).
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Unexpected::Unsigned(u),
            (None, Some(i), _) => Unexpected::Signed(i),
            (None, None, f) => Unexpected::Float(f.unwrap_or_default()),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// A value, where it is, and where to note the fields a type ignores.
#[derive(Clone, Copy)]
struct ValueDe<'de, 'a> {
    value: &'de Value,
    path: &'a Path<'a>,
    unknown: &'a RefCell<Vec<String>>,
}

impl<'de> ValueDe<'de, '_> {
    fn invalid_type(&self, expected: &dyn de::Expected) -> Error {
        de::Error::invalid_type(unexpected(self.value), expected)
    }

    fn number<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let Value::Number(n) = self.value else {
            return Err(self.invalid_type(&visitor));
        };
        // serde_json's order: a non-negative integer is a u64, a negative one an i64, the rest
        // f64.
        match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => visitor.visit_u64(u),
            (None, Some(i), _) => visitor.visit_i64(i),
            (None, None, f) => visitor.visit_f64(f.unwrap_or_default()),
        }
    }

    fn seq<V: Visitor<'de>>(self, items: &'de [Value], visitor: V) -> Result<V::Value, Error> {
        let mut seq = SeqDe {
            items: items.iter(),
            index: 0,
            path: self.path,
            unknown: self.unknown,
        };
        let out = visitor.visit_seq(&mut seq)?;
        if seq.items.len() == 0 {
            Ok(out)
        } else {
            Err(de::Error::invalid_length(
                items.len(),
                &"fewer elements in array",
            ))
        }
    }

    fn map<V: Visitor<'de>>(
        self,
        entries: &'de Map<String, Value>,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let mut map = MapDe {
            entries: entries.iter(),
            pending: None,
            path: self.path,
            unknown: self.unknown,
        };
        let out = visitor.visit_map(&mut map)?;
        if map.entries.len() == 0 {
            Ok(out)
        } else {
            Err(de::Error::invalid_length(
                entries.len(),
                &"fewer elements in map",
            ))
        }
    }
}

impl<'de> de::Deserializer<'de> for ValueDe<'de, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(_) => self.number(visitor),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => self.seq(items, visitor),
            Value::Object(entries) => self.map(entries, visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Bool(b) => visitor.visit_bool(*b),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::String(s) => visitor.visit_borrowed_str(s),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => self.seq(items, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Array(items) => self.seq(items, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Object(entries) => self.map(entries, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Value::Array(items) => self.seq(items, visitor),
            Value::Object(entries) => self.map(entries, visitor),
            _ => Err(self.invalid_type(&visitor)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let (variant, value) = match self.value {
            Value::String(variant) => (variant, None),
            // Enums are written as maps with a single key.
            Value::Object(entries) => {
                let mut iter = entries.iter();
                match (iter.next(), iter.next()) {
                    (Some((variant, value)), None) => (variant, Some(value)),
                    _ => {
                        return Err(de::Error::invalid_value(
                            Unexpected::Map,
                            &"map with a single key",
                        ));
                    }
                }
            }
            other => {
                return Err(de::Error::invalid_type(unexpected(other), &"string or map"));
            }
        };
        visitor.visit_enum(EnumDe {
            variant,
            value,
            path: self.path,
            unknown: self.unknown,
        })
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    /// A field the type does not know: its path is noted.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.unknown.borrow_mut().push(self.path.to_string());
        visitor.visit_unit()
    }

    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.number(visitor)
    }
}

struct SeqDe<'de, 'a> {
    items: std::slice::Iter<'de, Value>,
    index: usize,
    path: &'a Path<'a>,
    unknown: &'a RefCell<Vec<String>>,
}

impl<'de> de::SeqAccess<'de> for SeqDe<'de, '_> {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Error> {
        let Some(value) = self.items.next() else {
            return Ok(None);
        };
        let path = Path::Index(self.path, self.index);
        self.index += 1;
        let element = ValueDe {
            value,
            path: &path,
            unknown: self.unknown,
        };
        seed.deserialize(element).map(Some).map_err(|e| e.at(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapDe<'de, 'a> {
    entries: serde_json::map::Iter<'de>,
    pending: Option<(&'de String, &'de Value)>,
    path: &'a Path<'a>,
    unknown: &'a RefCell<Vec<String>>,
}

impl<'de> de::MapAccess<'de> for MapDe<'de, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.pending = Some((key, value));
        seed.deserialize(BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        let Some((key, value)) = self.pending.take() else {
            return Err(de::Error::custom("value is missing"));
        };
        let path = Path::Key(self.path, key);
        let field = ValueDe {
            value,
            path: &path,
            unknown: self.unknown,
        };
        seed.deserialize(field).map_err(|e| e.at(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct EnumDe<'de, 'a> {
    variant: &'de str,
    value: Option<&'de Value>,
    path: &'a Path<'a>,
    unknown: &'a RefCell<Vec<String>>,
}

impl<'de, 'a> de::EnumAccess<'de> for EnumDe<'de, 'a> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        let variant = seed.deserialize(BorrowedStrDeserializer::new(self.variant))?;
        Ok((variant, self))
    }
}

impl<'de> EnumDe<'de, '_> {
    /// The variant's content, read at `parent.variant`.
    fn content<T>(
        self,
        expected: &'static str,
        read: impl FnOnce(ValueDe<'de, '_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let Some(value) = self.value else {
            return Err(de::Error::invalid_type(Unexpected::UnitVariant, &expected));
        };
        let path = Path::Key(self.path, self.variant);
        let content = ValueDe {
            value,
            path: &path,
            unknown: self.unknown,
        };
        read(content).map_err(|e| e.at(&path))
    }
}

impl<'de> de::VariantAccess<'de> for EnumDe<'de, '_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.value {
            None | Some(Value::Null) => Ok(()),
            Some(other) => Err(de::Error::invalid_type(unexpected(other), &"unit variant")),
        }
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
        self.content("newtype variant", |content| seed.deserialize(content))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.content("tuple variant", |content| {
            de::Deserializer::deserialize_seq(content, visitor)
        })
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.content("struct variant", |content| {
            de::Deserializer::deserialize_map(content, visitor)
        })
    }
}

#[cfg(test)]
mod tests;
