// SPDX-License-Identifier: GPL-2.0

//! Sysfs directories backed by kobjects.
//!
//! C header: [`include/linux/kobject.h`](srctree/include/linux/kobject.h)
//!
//! A [`Dir`] owns a kobject embedded in a heap node together with the data its files
//! show. The files of a directory type are a static table, made once per type by
//! [`sysfs_files!`](crate::sysfs_files): their attributes live in static storage, as
//! `sysfs_attr_init()` requires for lockdep, and they are the kobject type's default
//! group, so they appear and go with the directory.
//!
//! Dropping the `Dir` removes the directory, which waits for running `show` and `store`
//! calls to finish; the node itself is freed by the kobject's release, when its last
//! reference goes. Reading a file while its directory is removed is therefore safe.

use core::{fmt, marker::PhantomData, ptr::NonNull};
use kernel::{
    bindings as k,
    error::to_result,
    prelude::*,
    str::CStrExt,
    types::{Opaque, ScopeGuard},
};

/// One file in a directory.
pub(crate) struct File {
    /// The file name.
    pub(crate) name: &'static CStr,
    /// The permission bits, for example `0o444`.
    pub(crate) mode: u16,
}

/// The files of a directory and the data behind them.
pub(crate) trait Files: Send + Sync + Sized {
    /// Writes the contents of file `index` (its position in the table).
    fn show(&self, index: usize, out: &mut Page<'_>) -> Result;

    /// Handles a write of `input` to file `index`.
    fn store(&self, index: usize, input: &[u8]) -> Result;
}

/// The static file table of a [`Files`] type: implemented by [`sysfs_files!`] only.
///
/// # Safety
///
/// `ktype` returns a kobject type whose release function is [`release_callback::<Self>`],
/// whose `sysfs_ops` are [`Table::<Self>::SYSFS_OPS`], and whose default group holds the
/// attributes of `attributes`, which are in static storage, in that order.
///
/// [`sysfs_files!`]: crate::sysfs_files
pub(crate) unsafe trait FileTable: Files {
    /// The kobject type of directories with these files.
    fn ktype() -> &'static KobjType;

    /// The attributes, in file order.
    fn attributes() -> &'static [Attribute];
}

/// A file's attribute (`struct attribute`), in static storage.
#[repr(transparent)]
pub(crate) struct Attribute(Opaque<k::attribute>);

// SAFETY: After construction the attribute is only read, by sysfs.
unsafe impl Sync for Attribute {}

impl Attribute {
    /// The attributes of `files`, in order; `N` must be `files.len()`.
    pub(crate) const fn table<const N: usize>(files: &[File]) -> [Self; N] {
        assert!(files.len() == N);
        let mut out = [const { Attribute(Opaque::zeroed()) }; N];
        let mut i = 0;
        while i < N {
            let mut a: k::attribute = pin_init::zeroed();
            a.name = kernel::str::as_char_ptr_in_const_context(files[i].name);
            a.mode = files[i].mode;
            out[i] = Attribute(Opaque::new(a));
            i += 1;
        }
        out
    }
}

/// A pointer in a NUL-terminated C pointer table in static storage.
#[repr(transparent)]
pub(crate) struct TablePtr<T>(*const T);

// SAFETY: The pointer is only read, and points to static data that is itself `Sync`.
unsafe impl<T> Sync for TablePtr<T> {}

impl TablePtr<k::attribute> {
    /// `attrs` as a NUL-terminated table; `M` must be `attrs.len() + 1`.
    pub(crate) const fn table<const M: usize>(attrs: &'static [Attribute]) -> [Self; M] {
        assert!(attrs.len() + 1 == M);
        let mut out = [const { TablePtr(core::ptr::null()) }; M];
        let mut i = 0;
        while i < attrs.len() {
            out[i] = TablePtr(attrs[i].0.get());
            i += 1;
        }
        out
    }
}

/// An attribute group (`struct attribute_group`) in static storage.
#[repr(transparent)]
pub(crate) struct Group(k::attribute_group);

// SAFETY: The group is only read, and points to static, `Sync` data.
unsafe impl Sync for Group {}

impl Group {
    /// An unnamed group (files directly in the directory) of the attributes in `attrs`, a
    /// NUL-terminated table.
    pub(crate) const fn new(attrs: &'static [TablePtr<k::attribute>]) -> Self {
        let mut g: k::attribute_group = pin_init::zeroed();
        g.__bindgen_anon_2.attrs = attrs.as_ptr().cast::<*mut k::attribute>().cast_mut();
        Self(g)
    }
}

impl TablePtr<k::attribute_group> {
    /// The NUL-terminated default-groups table holding `group` alone.
    pub(crate) const fn groups(group: &'static Group) -> [Self; 2] {
        [TablePtr(&raw const group.0), TablePtr(core::ptr::null())]
    }
}

/// A kobject type (`struct kobj_type`) in static storage.
#[repr(transparent)]
pub(crate) struct KobjType(k::kobj_type);

// SAFETY: The type is only read, and points to static, `Sync` data.
unsafe impl Sync for KobjType {}

/// The callbacks of directories with the files of `T`.
pub(crate) struct Table<T>(PhantomData<T>);

impl<T: FileTable> Table<T> {
    const SYSFS_OPS: k::sysfs_ops = k::sysfs_ops {
        show: Some(show_callback::<T>),
        store: Some(store_callback::<T>),
    };

    /// The kobject type of `T`'s directories, with `groups` as its default groups.
    pub(crate) const fn ktype(groups: &'static [TablePtr<k::attribute_group>]) -> KobjType {
        KobjType(k::kobj_type {
            release: Some(release_callback::<T>),
            sysfs_ops: &Self::SYSFS_OPS,
            default_groups: groups
                .as_ptr()
                .cast::<*const k::attribute_group>()
                .cast_mut(),
            child_ns_type: None,
            namespace: None,
            get_ownership: None,
        })
    }
}

/// Declares the files of a [`Files`] type: `sysfs_files!(Type, FILES)`, where `FILES` is
/// a constant array of [`File`]s. File `i` of the array is index `i` of
/// [`Files::show`] and [`Files::store`].
#[macro_export]
macro_rules! sysfs_files {
    ($ty:ty, $files:expr) => {
        const _: () = {
            // SAFETY: The kobject type is built by `Table::<$ty>::ktype`, with the attributes
            // of `ATTRS` (static, in file order) as its only default group.
            unsafe impl $crate::sysfs::FileTable for $ty {
                fn ktype() -> &'static $crate::sysfs::KobjType {
                    &KTYPE
                }

                fn attributes() -> &'static [$crate::sysfs::Attribute] {
                    &ATTRS
                }
            }

            const N: usize = $files.len();
            static ATTRS: [$crate::sysfs::Attribute; N] =
                $crate::sysfs::Attribute::table::<N>(&$files);
            static ATTR_PTRS: [$crate::sysfs::TablePtr<::kernel::bindings::attribute>; N + 1] =
                $crate::sysfs::TablePtr::table::<{ N + 1 }>(&ATTRS);
            static GROUP: $crate::sysfs::Group = $crate::sysfs::Group::new(&ATTR_PTRS);
            static GROUPS: [$crate::sysfs::TablePtr<::kernel::bindings::attribute_group>; 2] =
                $crate::sysfs::TablePtr::groups(&GROUP);
            static KTYPE: $crate::sysfs::KobjType = $crate::sysfs::Table::<$ty>::ktype(&GROUPS);
        };
    };
}

/// The page a `show` call fills: at most `PAGE_SIZE - 1` bytes, as sysfs requires.
///
/// # Invariants
///
/// `file`, if set, is the kobject and attribute whose `show` callback is running.
pub(crate) struct Page<'a> {
    buf: &'a mut [u8],
    len: usize,
    file: Option<(NonNull<k::kobject>, NonNull<k::attribute>)>,
}

impl<'a> Page<'a> {
    /// A page writing into `buf`, of which it uses all but the last byte.
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        let n = buf.len().saturating_sub(1);
        // INVARIANT: No file.
        Self {
            buf: &mut buf[..n],
            len: 0,
            file: None,
        }
    }

    /// The bytes written so far.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Appends `bytes`, or fails, changing nothing, if they do not fit.
    pub(crate) fn write_bytes(&mut self, bytes: &[u8]) -> Result {
        let end = self.len.checked_add(bytes.len()).ok_or(EINVAL)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(EINVAL)?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// Runs `f` without holding off the removal of the file being shown: a directory being
    /// removed meanwhile does not wait for `f` (the data stays alive until it returns).
    /// For `show` code that takes a lock which whoever removes the directory may hold.
    pub(crate) fn allow_removal<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let Some((kobj, attr)) = self.file else {
            return f();
        };
        // SAFETY: Per the invariants `kobj` and `attr` are the file whose `show` is
        // running. This takes a reference to the kobject (which owns the data) and lets a
        // concurrent `kobject_del` proceed.
        let kn = unsafe { k::sysfs_break_active_protection(kobj.as_ptr(), attr.as_ptr()) };
        let r = f();
        if !kn.is_null() {
            // SAFETY: `kn` came from `sysfs_break_active_protection` above and is not used
            // again.
            unsafe { k::sysfs_unbreak_active_protection(kn) };
        }
        r
    }
}

impl fmt::Write for Page<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_bytes(s.as_bytes()).map_err(|_| fmt::Error)
    }
}

/// Where a directory is created.
///
/// # Invariants
///
/// `kobj` is a kobject in sysfs that stays there for `'a`.
pub(crate) struct Parent<'a> {
    kobj: *mut k::kobject,
    _dir: PhantomData<&'a ()>,
}

impl Parent<'static> {
    /// `/sys/kernel`.
    pub(crate) fn kernel() -> Self {
        // SAFETY: `kernel_kobj` is set up at boot, before modules load, and never changes.
        let kobj = unsafe { k::kernel_kobj };
        // INVARIANT: `/sys/kernel` is never removed.
        Self {
            kobj,
            _dir: PhantomData,
        }
    }
}

#[repr(C)]
struct Node<T> {
    kobj: Opaque<k::kobject>,
    data: T,
}

/// A directory in sysfs, removed on drop.
///
/// # Invariants
///
/// `node` points to a `Node<T>` allocated by `KBox`, whose kobject was added to sysfs with
/// `T::ktype()`; this handle owns one reference to it and is the only one that renames or
/// removes it.
pub(crate) struct Dir<T: FileTable> {
    node: NonNull<Node<T>>,
}

// SAFETY: The handle only gives shared access to `T`, which is `Sync`, and the kobject
// functions may be called from any thread.
unsafe impl<T: FileTable> Send for Dir<T> {}
// SAFETY: `&Dir` gives access to `&T` (`Sync`) and the name, which only `&mut` methods
// change.
unsafe impl<T: FileTable> Sync for Dir<T> {}

impl<T: FileTable> Dir<T> {
    /// Creates the directory `name` under `parent`, with the files of `T`.
    pub(crate) fn new(name: &CStr, parent: Parent<'_>, data: T) -> Result<Self> {
        let node = KBox::new(
            Node {
                kobj: Opaque::zeroed(),
                data,
            },
            GFP_KERNEL,
        )?;
        let node = NonNull::new(KBox::into_raw(node)).ok_or(ENOMEM)?;
        let kobj = Self::kobj_of(node.as_ptr());
        let ktype: *const KobjType = T::ktype();
        // SAFETY: `kobj` is zeroed and not yet initialised; `KobjType` is a transparent
        // wrapper of a static `kobj_type`. From here on the node is freed by
        // `release_callback` when the last reference is put.
        unsafe { k::kobject_init(kobj, ktype.cast()) };
        // Until the kobject is added, failing only puts it (`kobject_del` is not allowed).
        let guard = ScopeGuard::new(|| {
            // SAFETY: We own the only reference; putting it frees the node.
            unsafe { k::kobject_put(kobj) };
        });
        // SAFETY: `kobj` is initialised; `parent` is in sysfs (its invariant) and `name` is
        // NUL-terminated. `kobject_add` creates the default group's files.
        to_result(unsafe {
            k::kobject_add(kobj, parent.kobj, c"%s".as_char_ptr(), name.as_char_ptr())
        })?;
        guard.dismiss();
        // INVARIANT: The kobject is in sysfs with one reference, ours.
        Ok(Self { node })
    }

    fn kobj_of(p: *mut Node<T>) -> *mut k::kobject {
        // SAFETY: Taking a field address of a valid node does not dereference it.
        unsafe { Opaque::cast_into(&raw const (*p).kobj) }
    }

    /// This directory, as the parent of another.
    pub(crate) fn as_parent(&self) -> Parent<'_> {
        // INVARIANT: The directory stays in sysfs while borrowed.
        Parent {
            kobj: Self::kobj_of(self.node.as_ptr()),
            _dir: PhantomData,
        }
    }

    /// Renames the directory. Fails, changing nothing, if `name` is taken.
    pub(crate) fn rename(&mut self, name: &CStr) -> Result {
        // SAFETY: Per the invariants the kobject is live and in sysfs; `&mut self` excludes
        // concurrent renames and borrows of the old name.
        to_result(unsafe {
            k::kobject_rename(Self::kobj_of(self.node.as_ptr()), name.as_char_ptr())
        })
    }

    /// The directory's current name.
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: Per the invariants the kobject is live and has a name; it only changes
        // (and the old one is freed) through `rename`, which takes `&mut self`.
        unsafe { CStr::from_char_ptr((*Self::kobj_of(self.node.as_ptr())).name) }
    }
}

impl<T: FileTable> Drop for Dir<T> {
    fn drop(&mut self) {
        let kobj = Self::kobj_of(self.node.as_ptr());
        // SAFETY: Per the invariants we own a reference to an added kobject. `kobject_del`
        // removes the files and waits for running callbacks; `kobject_put` may free the
        // node.
        unsafe {
            k::kobject_del(kobj);
            k::kobject_put(kobj);
        }
    }
}

/// # Safety
///
/// `kobj` is the kobject of a live `Node<T>`.
unsafe fn node_of<'a, T>(kobj: *mut k::kobject) -> &'a Node<T> {
    // SAFETY: Per the contract; `kobj` is the first field of the `repr(C)` node.
    unsafe { &*kernel::container_of!(Opaque::cast_from(kobj), Node<T>, kobj) }
}

fn index_of<T: FileTable>(attr: *mut k::attribute) -> Option<usize> {
    T::attributes()
        .iter()
        .position(|a| core::ptr::eq(a.0.get(), attr))
}

/// # Safety
///
/// Called by sysfs for a file of `T`'s kobject type: `kobj` is the kobject of a live
/// `Node<T>` (`kobject_del` waits for running callbacks before the node can go), `attr`
/// one of its attributes, and `buf` a buffer of `PAGE_SIZE` bytes.
unsafe extern "C" fn show_callback<T: FileTable>(
    kobj: *mut k::kobject,
    attr: *mut k::attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: Per the function's contract.
    let node = unsafe { node_of::<T>(kobj) };
    let Some(i) = index_of::<T>(attr) else {
        return EINVAL.to_errno() as isize;
    };
    // SAFETY: Per the function's contract `buf` has `PAGE_SIZE` bytes, ours during the call.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), k::PAGE_SIZE) };
    let mut page = Page::new(buf);
    // INVARIANT: `kobj` and `attr` are the file being shown.
    page.file = NonNull::new(kobj).zip(NonNull::new(attr));
    match node.data.show(i, &mut page) {
        Ok(()) => page.len as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// # Safety
///
/// Called by sysfs for a file of `T`'s kobject type: `kobj` is the kobject of a live
/// `Node<T>`, `attr` one of its attributes, and `buf` holds `count` bytes of input.
unsafe extern "C" fn store_callback<T: FileTable>(
    kobj: *mut k::kobject,
    attr: *mut k::attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: Per the function's contract.
    let node = unsafe { node_of::<T>(kobj) };
    let Some(i) = index_of::<T>(attr) else {
        return EINVAL.to_errno() as isize;
    };
    // SAFETY: Per the function's contract `buf` holds `count` bytes.
    let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
    match node.data.store(i, input) {
        Ok(()) => count as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// # Safety
///
/// Called by the kobject core when the last reference to `kobj`, the kobject of a
/// `Node<T>` that `Dir::new` allocated as a `KBox`, is put.
unsafe extern "C" fn release_callback<T>(kobj: *mut k::kobject) {
    // SAFETY: Per the function's contract nothing else uses the node any more.
    drop(unsafe {
        KBox::from_raw(kernel::container_of!(Opaque::cast_from(kobj), Node<T>, kobj).cast_mut())
    });
}

#[kunit_tests(dmp_sysfs_dir)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn page_keeps_the_last_byte_free() {
        let mut buf = [0u8; 8];
        let mut page = Page::new(&mut buf);
        assert!(write!(page, "{}", 1234567).is_ok());
        assert!(write!(page, "8").is_err());
        assert_eq!(page.as_bytes(), b"1234567");
        let mut none = [0u8; 0];
        let mut page = Page::new(&mut none);
        assert!(write!(page, "1").is_err());
        assert!(write!(page, "").is_ok());
    }

    const FILES: [File; 2] = [
        File {
            name: c"a",
            mode: 0o444,
        },
        File {
            name: c"b",
            mode: 0o200,
        },
    ];

    struct Two;

    impl Files for Two {
        fn show(&self, _index: usize, _out: &mut Page<'_>) -> Result {
            Ok(())
        }

        fn store(&self, _index: usize, _input: &[u8]) -> Result {
            Ok(())
        }
    }

    crate::sysfs_files!(Two, FILES);

    #[test]
    fn static_tables() {
        let attrs = Two::attributes();
        assert_eq!(attrs.len(), 2);
        for (a, f) in attrs.iter().zip(&FILES) {
            // SAFETY: The attribute is static and only read.
            let a = unsafe { &*a.0.get() };
            assert!(core::ptr::eq(a.name, f.name.as_char_ptr()));
            assert_eq!(a.mode, f.mode);
        }
        assert_eq!(index_of::<Two>(attrs[1].0.get()), Some(1));
        assert_eq!(index_of::<Two>(core::ptr::null_mut()), None);
        let ktype = &Two::ktype().0;
        // SAFETY: The tables are static, NUL-terminated and only read.
        unsafe {
            let group = *ktype.default_groups;
            assert!((*ktype.default_groups.add(1)).is_null());
            let ptrs = (*group).__bindgen_anon_2.attrs;
            assert!(core::ptr::eq(*ptrs, attrs[0].0.get()));
            assert!(core::ptr::eq(*ptrs.add(1), attrs[1].0.get()));
            assert!((*ptrs.add(2)).is_null());
        }
    }
}
