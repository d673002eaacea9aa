//! Closed string enums of the CRDs that still keep values newer than v1.4.1.
//!
//! Every enum the CRDs declare is modelled with an `Unknown(String)` variant, so a lenient load
//! of a value from a newer Gateway API release keeps the value: later stages report it as
//! `UnsupportedValue` on the resource's status instead of failing the whole load.

/// Defines a string enum with an `Unknown(String)` variant, serde support and `as_str`.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[non_exhaustive]
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version does not know; kept so that status can report it.
            Unknown(String),
        }

        impl $name {
            /// Every value this version knows, in the CRD's order.
            pub const KNOWN: &'static [&'static str] = &[$($text),+];

            /// The value as written in manifests.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )+
                    Self::Unknown(other) => other.as_str(),
                }
            }

            /// Whether this value is one the CRD's enum lists.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $( $text => Self::$variant, )+
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(d)?;
                Ok(Self::from(text.as_str()))
            }
        }
    };
}

pub(crate) use string_enum;
