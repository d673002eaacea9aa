//! The one place where C pointers become Rust references, boxes and `Arc`s (rustls-ffi
//! `Castable`): every export goes through these helpers instead of ad-hoc casts.

use std::sync::Arc;

use crate::gw_slice;

/// A C handle type and the Rust type behind it.
pub(crate) trait Castable {
    /// The Rust value a pointer to `Self` points at.
    type Rust;
}

/// A handle owned through `Box` (one owner, freed once).
pub(crate) trait BoxCastable: Castable {}

/// A handle owned through `Arc` (reference-counted, `Send + Sync`).
pub(crate) trait ArcCastable: Castable {}

/// Moves a value to the heap and hands out the C pointer that owns it.
pub(crate) fn to_boxed_mut_ptr<C: BoxCastable>(value: C::Rust) -> *mut C {
    Box::into_raw(Box::new(value)).cast::<C>()
}

/// Hands out one strong reference of an `Arc` as a C pointer.
pub(crate) fn to_arc_const_ptr<C: ArcCastable>(value: Arc<C::Rust>) -> *const C {
    Arc::into_raw(value).cast::<C>()
}

/// Hands out one strong reference of an `Arc` as a C pointer, for handles whose `_free` takes
/// a mutable pointer (the library hands them out as `T *`, not `const T *`).
pub(crate) fn to_arc_mut_ptr<C: ArcCastable>(value: Arc<C::Rust>) -> *mut C {
    Arc::into_raw(value).cast_mut().cast::<C>()
}

/// Borrows the value behind a handle; `None` for NULL.
///
/// # Safety
/// `ptr` is NULL or was produced by [`to_boxed_mut_ptr`], [`to_arc_const_ptr`] or
/// [`to_arc_mut_ptr`] for the same `C`, and has not been freed; the value is not mutated while
/// the reference lives.
pub(crate) unsafe fn try_ref<'a, C: Castable>(ptr: *const C) -> Option<&'a C::Rust> {
    // SAFETY: the caller guarantees `ptr` is NULL or points at a live `C::Rust` (both box and
    // arc pointers point at the value itself).
    unsafe { ptr.cast::<C::Rust>().as_ref() }
}

/// Mutably borrows the value behind a boxed handle; `None` for NULL.
///
/// # Safety
/// `ptr` is NULL or was produced by [`to_boxed_mut_ptr`] for the same `C`, has not been freed,
/// and no other reference to it exists while this one lives.
pub(crate) unsafe fn try_mut<'a, C: BoxCastable>(ptr: *mut C) -> Option<&'a mut C::Rust> {
    // SAFETY: the caller guarantees `ptr` is NULL or a live, unaliased box of `C::Rust`.
    unsafe { ptr.cast::<C::Rust>().as_mut() }
}

/// Drops a boxed handle; NULL is ignored.
///
/// # Safety
/// `ptr` is NULL or was produced by [`to_boxed_mut_ptr`] for the same `C` and not freed yet.
pub(crate) unsafe fn free_box<C: BoxCastable>(ptr: *mut C) {
    if !ptr.is_null() {
        // SAFETY: the caller guarantees `ptr` came from `Box::into_raw` of a `C::Rust` and is
        // freed only once.
        drop(unsafe { Box::from_raw(ptr.cast::<C::Rust>()) });
    }
}

/// A new strong reference to the value behind an `Arc` handle; `None` for NULL.
///
/// # Safety
/// `ptr` is NULL or was produced by [`to_arc_const_ptr`] or [`to_arc_mut_ptr`] for the same `C`
/// and the reference it stands for has not been released.
pub(crate) unsafe fn clone_arc<C: ArcCastable>(ptr: *const C) -> Option<Arc<C::Rust>> {
    if ptr.is_null() {
        return None;
    }
    let ptr = ptr.cast::<C::Rust>();
    // SAFETY: `ptr` came from `Arc::into_raw` and its reference is still held by the caller, so
    // the count is at least 1; we add one and take ownership of exactly that one.
    unsafe {
        Arc::increment_strong_count(ptr);
        Some(Arc::from_raw(ptr))
    }
}

/// Releases one strong reference of an `Arc` handle; NULL is ignored.
///
/// # Safety
/// `ptr` is NULL or was produced by [`to_arc_const_ptr`] or [`to_arc_mut_ptr`] (or counted by
/// a clone) for the same `C`, and this reference is released only once.
pub(crate) unsafe fn free_arc<C: ArcCastable>(ptr: *const C) {
    if !ptr.is_null() {
        // SAFETY: the caller owns one strong reference, which `from_raw` takes back and drops.
        drop(unsafe { Arc::from_raw(ptr.cast::<C::Rust>()) });
    }
}

/// Borrows `len` bytes at `ptr`. A zero length gives an empty slice whatever `ptr` is; `None`
/// when `ptr` is NULL and `len` is not zero.
///
/// # Safety
/// When `len > 0`, `ptr` points at `len` readable bytes that stay valid and unmodified while
/// the slice lives.
pub(crate) unsafe fn try_slice<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if len == 0 {
        return Some(&[]);
    }
    if ptr.is_null() || len > isize::MAX as usize {
        return None;
    }
    // SAFETY: non-NULL, length checked against `isize::MAX`, and the caller guarantees the
    // bytes are readable and stable for `'a`.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Borrows `len` elements at `ptr`, with the rules of [`try_slice`].
///
/// # Safety
/// When `len > 0`, `ptr` points at `len` initialized `T`s valid for `'a`.
pub(crate) unsafe fn try_array<'a, T>(ptr: *const T, len: usize) -> Option<&'a [T]> {
    if len == 0 {
        return Some(&[]);
    }
    if ptr.is_null()
        || len
            .checked_mul(size_of::<T>())
            .is_none_or(|n| n > isize::MAX as usize)
    {
        return None;
    }
    // SAFETY: non-NULL, total size checked, elements initialized and valid per the caller.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Borrows the bytes of a [`gw_slice`] (see [`try_slice`]).
///
/// # Safety
/// As [`try_slice`], for `s.data` and `s.len`.
pub(crate) unsafe fn try_bytes<'a>(s: gw_slice) -> Option<&'a [u8]> {
    // SAFETY: forwarded to the caller's guarantee.
    unsafe { try_slice(s.data, s.len) }
}

/// Writes an out-parameter.
///
/// # Safety
/// `out` is non-NULL, aligned and writable for one `T` (the exports check NULL first).
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) {
    // SAFETY: the caller checked `out` and guarantees it is writable; the previous value (a
    // plain pointer or number in every use) is not dropped.
    unsafe { out.write(value) }
}

/// Writes `value` to an optional out-parameter: false, and nothing written, when `out` is NULL.
///
/// # Safety
/// `out` is NULL, or aligned and writable for one `T`.
pub(crate) unsafe fn write_if_some<T>(out: *mut T, value: T) -> bool {
    if out.is_null() {
        return false;
    }
    // SAFETY: checked non-NULL; the caller guarantees it is writable.
    unsafe { write_out(out, value) };
    true
}

/// Runs an export's body, turning a panic into the given value: unwinding never crosses the
/// C boundary.
macro_rules! ffi_boundary {
    ($on_panic:expr, $body:block) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(value) => value,
            Err(_) => $on_panic,
        }
    };
}

/// Returns `GW_RESULT_NULL_PARAMETER` (or the given value) from the enclosing boundary when a
/// required pointer is NULL.
macro_rules! require {
    ($cond:expr) => {
        require!($cond, $crate::gw_result::NullParameter)
    };
    ($cond:expr, $ret:expr) => {
        match $cond {
            Some(value) => value,
            None => return $ret,
        }
    };
}

pub(crate) use {ffi_boundary, require};
