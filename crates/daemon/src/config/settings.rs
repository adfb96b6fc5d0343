//! [`Settings`]: the checked configuration of one registered component (a
//! sink, a sensor protocol), type-erased so that one registry list can hold
//! every component while each keeps its own typed configuration.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// One component's checked configuration. Compares and prints as the typed
/// value it holds; [`Settings::get`] gives that value back.
#[derive(Clone)]
pub struct Settings {
    value: Arc<dyn Any + Send + Sync>,
    eq: fn(&dyn Any, &dyn Any) -> bool,
    fmt: fn(&dyn Any, &mut fmt::Formatter<'_>) -> fmt::Result,
}

impl Settings {
    /// Wraps a component's typed configuration.
    pub fn new<T: Any + Send + Sync + PartialEq + fmt::Debug>(value: T) -> Self {
        Self {
            value: Arc::new(value),
            eq: |a, b| match (a.downcast_ref::<T>(), b.downcast_ref::<T>()) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            },
            fmt: |v, f| match v.downcast_ref::<T>() {
                Some(v) => fmt::Debug::fmt(v, f),
                None => f.write_str("?"),
            },
        }
    }

    /// The typed configuration, when it is a `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.value.downcast_ref()
    }
}

impl PartialEq for Settings {
    fn eq(&self, other: &Self) -> bool {
        (self.eq)(self.value.as_ref(), other.value.as_ref())
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.fmt)(self.value.as_ref(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_and_prints_as_the_value() {
        let a = Settings::new(3u32);
        assert_eq!(a, Settings::new(3u32));
        assert_ne!(a, Settings::new(4u32));
        assert_ne!(a, Settings::new(3u64), "another type is never equal");
        assert_eq!(format!("{a:?}"), "3");
        assert_eq!(a.get::<u32>(), Some(&3));
        assert_eq!(a.get::<u64>(), None);
    }
}
