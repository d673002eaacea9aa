//! The JSON path of a field, built without allocating and rendered only when a finding about
//! the field is recorded.

use std::fmt;

/// Where a field lies in an object, such as `spec.rules[0].matches[1].path.value`: a root, or
/// a parent path and one more segment.
///
/// Building one costs a few words on the stack; [`Display`](fmt::Display) walks the parents
/// only when a diagnostic needs the text, so checking a valid object formats nothing.
#[derive(Clone, Copy)]
pub(super) struct FieldPath<'a> {
    parent: Option<&'a FieldPath<'a>>,
    segment: Segment<'a>,
}

/// The last step of a [`FieldPath`].
#[derive(Clone, Copy)]
enum Segment<'a> {
    /// The start of the path, written as is (`spec`, `spec.rules`, `metadata.name`).
    Root(&'static str),
    /// A field name, written after a `.` (it may itself be dotted, as `fraction.numerator`).
    Field(&'static str),
    /// A map key, written after a `.` like a field name.
    Key(&'a str),
    /// A list index, written as `[i]`.
    Index(usize),
}

impl<'a> FieldPath<'a> {
    /// A path that starts with `root`.
    pub(super) const fn root(root: &'static str) -> Self {
        Self {
            parent: None,
            segment: Segment::Root(root),
        }
    }

    /// The field `name` of this one: `{self}.{name}`.
    pub(super) fn field(&self, name: &'static str) -> FieldPath<'_> {
        self.child(Segment::Field(name))
    }

    /// The entry `key` of this map: `{self}.{key}`.
    pub(super) fn key<'b>(&'b self, key: &'b str) -> FieldPath<'b> {
        self.child(Segment::Key(key))
    }

    /// The item `i` of this list: `{self}[{i}]`.
    pub(super) fn index(&self, i: usize) -> FieldPath<'_> {
        self.child(Segment::Index(i))
    }

    fn child<'b>(&'b self, segment: Segment<'b>) -> FieldPath<'b> {
        FieldPath {
            parent: Some(self),
            segment,
        }
    }
}

impl fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(parent) = self.parent {
            parent.fmt(f)?;
        }
        match self.segment {
            Segment::Root(root) => f.write_str(root),
            Segment::Field(name) => {
                f.write_str(".")?;
                f.write_str(name)
            }
            Segment::Key(key) => {
                f.write_str(".")?;
                f.write_str(key)
            }
            Segment::Index(i) => write!(f, "[{i}]"),
        }
    }
}
