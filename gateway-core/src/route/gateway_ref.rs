//! Which Gateway a router serves: a typed `namespace/name`, or "the only one".

use std::fmt;
use std::str::FromStr;

/// The Gateway a [`Router`](super::Router) serves: one named Gateway, or the only Gateway of
/// our GatewayClasses (optionally the only one of a namespace).
///
/// A named reference is not checked against the manifests here: building a router for a
/// Gateway that does not exist fails with [`BuildError::UnknownGateway`](super::BuildError),
/// which lists the Gateways that do.
///
/// # Examples
/// ```
/// use gateway_core::GatewayRef;
/// let named = GatewayRef::parse("shop/shop").unwrap();
/// assert_eq!((named.namespace(), named.name()), (Some("shop"), Some("shop")));
/// // A bare name is in namespace `default`, as kubectl reads it.
/// assert_eq!(GatewayRef::parse("gw").unwrap(), GatewayRef::new("default", "gw"));
/// assert_eq!(GatewayRef::only().name(), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GatewayRef {
    selector: Selector,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Selector {
    Named {
        namespace: Box<str>,
        name: Box<str>,
    },
    /// The only Gateway, of this namespace when one is given.
    Only {
        namespace: Option<Box<str>>,
    },
}

impl GatewayRef {
    /// The Gateway `namespace/name`, taken as written.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            selector: Selector::Named {
                namespace: namespace.into().into_boxed_str(),
                name: name.into().into_boxed_str(),
            },
        }
    }

    /// The only Gateway of our GatewayClasses; building a router fails with
    /// [`BuildError::AmbiguousGateway`](super::BuildError) when there are none or several.
    pub const fn only() -> Self {
        Self {
            selector: Selector::Only { namespace: None },
        }
    }

    /// The only Gateway of our GatewayClasses in `namespace`.
    pub fn only_in(namespace: impl Into<String>) -> Self {
        Self {
            selector: Selector::Only {
                namespace: Some(namespace.into().into_boxed_str()),
            },
        }
    }

    /// Reads `NAMESPACE/NAME`, or `NAME` for a Gateway in namespace `default`.
    ///
    /// # Errors
    /// [`GatewayRefError`] naming what is wrong: empty input, an empty namespace or name, or
    /// more than one `/`.
    ///
    /// # Examples
    /// ```
    /// use gateway_core::route::{GatewayRef, GatewayRefError};
    /// assert!(matches!(
    ///     GatewayRef::parse("shop/"),
    ///     Err(GatewayRefError::EmptyName { .. })
    /// ));
    /// assert_eq!(
    ///     GatewayRef::parse("a/b/c").unwrap_err().to_string(),
    ///     "gateway reference \"a/b/c\" has more than one '/' (expected NAMESPACE/NAME)"
    /// );
    /// ```
    pub fn parse(text: &str) -> Result<Self, GatewayRefError> {
        if text.is_empty() {
            return Err(GatewayRefError::Empty);
        }
        let Some((namespace, name)) = text.split_once('/') else {
            return Ok(Self::new("default", text));
        };
        if name.contains('/') {
            return Err(GatewayRefError::ExtraSlash {
                input: text.to_owned(),
            });
        }
        let input = || text.to_owned();
        if namespace.is_empty() {
            return Err(GatewayRefError::EmptyNamespace { input: input() });
        }
        if name.is_empty() {
            return Err(GatewayRefError::EmptyName { input: input() });
        }
        Ok(Self::new(namespace, name))
    }

    /// The two-string form of the C and JavaScript APIs: an empty `name` selects the only
    /// Gateway (of `namespace`, when not empty); an empty `namespace` with a name means
    /// `default`.
    ///
    /// # Examples
    /// ```
    /// use gateway_core::GatewayRef;
    /// assert_eq!(GatewayRef::from_parts("", ""), GatewayRef::only());
    /// assert_eq!(GatewayRef::from_parts("", "gw"), GatewayRef::new("default", "gw"));
    /// assert_eq!(GatewayRef::from_parts("infra", ""), GatewayRef::only_in("infra"));
    /// ```
    pub fn from_parts(namespace: &str, name: &str) -> Self {
        match (namespace, name) {
            ("", "") => Self::only(),
            (namespace, "") => Self::only_in(namespace),
            ("", name) => Self::new("default", name),
            (namespace, name) => Self::new(namespace, name),
        }
    }

    /// The namespace: of the named Gateway, or the one an "only" reference is limited to.
    pub fn namespace(&self) -> Option<&str> {
        match &self.selector {
            Selector::Named { namespace, .. } => Some(namespace),
            Selector::Only { namespace } => namespace.as_deref(),
        }
    }

    /// The name; `None` for the only Gateway.
    pub fn name(&self) -> Option<&str> {
        match &self.selector {
            Selector::Named { name, .. } => Some(name),
            Selector::Only { .. } => None,
        }
    }
}

impl fmt::Display for GatewayRef {
    /// `namespace/name`, `the only Gateway` or `the only Gateway of namespace ns`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.selector {
            Selector::Named { namespace, name } => write!(f, "{namespace}/{name}"),
            Selector::Only { namespace: None } => f.write_str("the only Gateway"),
            Selector::Only {
                namespace: Some(ns),
            } => write!(f, "the only Gateway of namespace {ns}"),
        }
    }
}

impl FromStr for GatewayRef {
    type Err = GatewayRefError;

    /// As [`GatewayRef::parse`].
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl TryFrom<&str> for GatewayRef {
    type Error = GatewayRefError;

    /// As [`GatewayRef::parse`].
    fn try_from(text: &str) -> Result<Self, Self::Error> {
        Self::parse(text)
    }
}

/// Why text is not a Gateway reference ([`GatewayRef::parse`]).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatewayRefError {
    /// The text is empty.
    Empty,
    /// Nothing before the `/`.
    EmptyNamespace {
        /// The text as given.
        input: String,
    },
    /// Nothing after the `/`.
    EmptyName {
        /// The text as given.
        input: String,
    },
    /// More than one `/`.
    ExtraSlash {
        /// The text as given.
        input: String,
    },
}

impl fmt::Display for GatewayRefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty gateway reference (expected NAMESPACE/NAME)"),
            Self::EmptyNamespace { input } => write!(
                f,
                "gateway reference {input:?} has an empty namespace (expected NAMESPACE/NAME)"
            ),
            Self::EmptyName { input } => write!(
                f,
                "gateway reference {input:?} has an empty name (expected NAMESPACE/NAME)"
            ),
            Self::ExtraSlash { input } => write!(
                f,
                "gateway reference {input:?} has more than one '/' (expected NAMESPACE/NAME)"
            ),
        }
    }
}

impl std::error::Error for GatewayRefError {}
