// SPDX-License-Identifier: GPL-2.0

//! Sysfs directories backed by kobjects, with static tables of files and symbolic links.
//!
//! C headers: [`include/linux/kobject.h`](srctree/include/linux/kobject.h),
//! [`include/linux/sysfs.h`](srctree/include/linux/sysfs.h)
//!
//! Upstream: `rust/kernel/sysfs.rs` (or `kobject.rs`). Mainline 7.2 has no kobject or sysfs
//! abstraction; the closest is `configfs`, whose `configfs_attrs!` table this follows.
//!
//! A [`Dir<T>`] owns a kobject embedded in a heap node together with the `T` its files show.
//! The files of a directory type are declared once, as tables of [`File`] entries (name,
//! mode, and what reading or writing does), by [`sysfs_dir_type!`](crate::sysfs_dir_type):
//! their attributes live in static storage, as `sysfs_attr_init()` requires for lockdep, and
//! are the kobject type's default groups, so they appear and go with the directory. A
//! callback finds its entry from the attribute sysfs passes, as C's `kobj_attribute` does.
//!
//! Dropping the `Dir` removes the directory, which waits for running `show` and `store`
//! calls to finish; the node itself is freed by the kobject's release, when its last
//! reference goes.

use core::{fmt, marker::PhantomData, ptr::NonNull};
use kernel::{
    bindings as k,
    error::to_result,
    prelude::*,
    str::CStrExt,
    types::{Opaque, ScopeGuard},
};

/// What reading a file of a `T` directory writes.
pub(crate) type Show<T> = fn(&T, &mut Page<'_>) -> Result;

/// What writing a file of a `T` directory does with the input.
pub(crate) type Store<T> = fn(&T, &[u8]) -> Result;

/// What reading a binary file of a `T` directory does: fills `buf` with the file's bytes
/// from `offset` on, and returns how many it wrote, 0 at the end. `file` tells reads of one
/// open file from those of another.
pub(crate) type Read<T> = fn(&T, OpenFile, u64, &mut [u8]) -> Result<usize>;

/// Which open file a read of a binary file comes from: the same for every read of one open
/// file, different for files open at the same time (its `struct file`, as a number, never
/// followed). A file closed and another opened may share it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct OpenFile(usize);

impl OpenFile {
    /// The identity of an open file for tests.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) const fn for_test(n: usize) -> Self {
        Self(n)
    }
}

/// A binary file (`struct bin_attribute`) of a directory whose data is `T`, of no fixed
/// size, read from any offset and in pieces of at most a page: for contents larger than a
/// page, which a text file cannot show.
pub(crate) struct BinFile<T: 'static> {
    name: &'static CStr,
    mode: u16,
    read: Read<T>,
}

impl<T> BinFile<T> {
    /// A binary file `name` with permissions `mode` (for example `0o400`) read by `read`.
    pub(crate) const fn read(name: &'static CStr, mode: u16, read: Read<T>) -> Self {
        Self { name, mode, read }
    }

    /// Reads this file of a directory of `data`, as a read at `offset` would (for tests).
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn read_into(
        &self,
        data: &T,
        file: OpenFile,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize> {
        (self.read)(data, file, offset, buf)
    }

    /// The file's name.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) const fn name(&self) -> &'static CStr {
        self.name
    }

    /// The file's permissions.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) const fn mode(&self) -> u16 {
        self.mode
    }
}

/// The read of a table entry before it is filled in.
fn unread<T>(_: &T, _: OpenFile, _: u64, _: &mut [u8]) -> Result<usize> {
    Err(EIO)
}

/// A binary file's attribute in static storage: its `struct bin_attribute` first, so that
/// the callback finds the entry from the attribute sysfs passes.
#[repr(C)]
pub(crate) struct BinAttr<T: 'static> {
    attr: Opaque<k::bin_attribute>,
    read: Read<T>,
}

// SAFETY: After construction the attribute is only read, by sysfs and the callback.
unsafe impl<T> Sync for BinAttr<T> {}

impl<T: DirType> BinAttr<T> {
    /// The attributes of `files`, in order; `N` must be `files.len()`.
    pub(crate) const fn table<const N: usize>(files: &[BinFile<T>]) -> [Self; N] {
        assert!(files.len() == N && N > 0);
        let mut out = [const {
            BinAttr {
                attr: Opaque::zeroed(),
                read: unread::<T>,
            }
        }; N];
        let mut i = 0;
        while i < N {
            let mut a: k::bin_attribute = pin_init::zeroed();
            a.attr.name = kernel::str::as_char_ptr_in_const_context(files[i].name);
            a.attr.mode = files[i].mode;
            // Size 0: no fixed size, `read` says where the end is.
            a.size = 0;
            a.read = Some(bin_read_callback::<T>);
            out[i] = BinAttr {
                attr: Opaque::new(a),
                read: files[i].read,
            };
            i += 1;
        }
        out
    }
}

impl<T> BinAttr<T> {
    /// # Safety
    ///
    /// `attr` is the attribute of a live `BinAttr<T>`.
    unsafe fn from_raw<'a>(attr: *const k::bin_attribute) -> &'a Self {
        // SAFETY: Per the function's contract; `attr` is the first field of the `repr(C)`
        // entry.
        unsafe { &*kernel::container_of!(Opaque::cast_from(attr), BinAttr<T>, attr) }
    }
}

/// One file of a directory whose data is `T`: an entry of a [`sysfs_dir_type!`] table.
///
/// [`sysfs_dir_type!`]: crate::sysfs_dir_type
pub(crate) struct File<T: 'static> {
    name: &'static CStr,
    mode: u16,
    show: Option<Show<T>>,
    store: Option<Store<T>>,
}

impl<T> File<T> {
    /// A file `name` with permissions `mode` (for example `0o444`) whose contents `show`
    /// writes.
    pub(crate) const fn show(name: &'static CStr, mode: u16, show: Show<T>) -> Self {
        Self {
            name,
            mode,
            show: Some(show),
            store: None,
        }
    }

    /// A file `name` with permissions `mode` (for example `0o200`) whose input `store`
    /// takes.
    pub(crate) const fn store(name: &'static CStr, mode: u16, store: Store<T>) -> Self {
        Self {
            name,
            mode,
            show: None,
            store: Some(store),
        }
    }

    /// A file `name` with permissions `mode` (for example `0o644`) whose contents `show`
    /// writes and whose input `store` takes.
    pub(crate) const fn show_store(
        name: &'static CStr,
        mode: u16,
        show: Show<T>,
        store: Store<T>,
    ) -> Self {
        Self {
            name,
            mode,
            show: Some(show),
            store: Some(store),
        }
    }

    /// The file's name.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) const fn name(&self) -> &'static CStr {
        self.name
    }

    /// The file's permissions.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) const fn mode(&self) -> u16 {
        self.mode
    }

    /// Stores `input` into this file of a directory of `data`, as writing it would (for
    /// tests).
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn store_from(&self, data: &T, input: &[u8]) -> Result {
        (self.store.ok_or(EACCES)?)(data, input)
    }

    /// Shows this file of a directory of `data` into `out`, as reading it would (for tests).
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn show_into(&self, data: &T, out: &mut Page<'_>) -> Result {
        (self.show.ok_or(EACCES)?)(data, out)
    }
}

/// A file's attribute in static storage: its `struct attribute` first, so that a callback
/// finds the entry from the attribute sysfs passes.
#[repr(C)]
pub(crate) struct Attr<T: 'static> {
    attr: Opaque<k::attribute>,
    show: Option<Show<T>>,
    store: Option<Store<T>>,
}

// SAFETY: After construction the attribute is only read, by sysfs and the callbacks.
unsafe impl<T> Sync for Attr<T> {}

impl<T> Attr<T> {
    /// The attributes of `files`, in order; `N` must be `files.len()`.
    pub(crate) const fn table<const N: usize>(files: &[File<T>]) -> [Self; N] {
        assert!(files.len() == N);
        let mut out = [const {
            Attr {
                attr: Opaque::zeroed(),
                show: None,
                store: None,
            }
        }; N];
        let mut i = 0;
        while i < N {
            let mut a: k::attribute = pin_init::zeroed();
            a.name = kernel::str::as_char_ptr_in_const_context(files[i].name);
            a.mode = files[i].mode;
            out[i] = Attr {
                attr: Opaque::new(a),
                show: files[i].show,
                store: files[i].store,
            };
            i += 1;
        }
        out
    }

    /// # Safety
    ///
    /// `attr` is the attribute of a live `Attr<T>`.
    unsafe fn from_raw<'a>(attr: *mut k::attribute) -> &'a Self {
        // SAFETY: Per the function's contract; `attr` is the first field of the `repr(C)`
        // entry.
        unsafe { &*kernel::container_of!(Opaque::cast_from(attr), Attr<T>, attr) }
    }
}

/// A pointer in a NUL-terminated C pointer table in static storage.
#[repr(transparent)]
pub(crate) struct TablePtr<T>(*const T);

// SAFETY: The pointer is only read, and points to static data that is itself `Sync`.
unsafe impl<T> Sync for TablePtr<T> {}

impl TablePtr<k::attribute> {
    /// The attributes `attrs` as a NUL-terminated table; `M` must be `attrs.len() + 1`.
    pub(crate) const fn table<T, const M: usize>(attrs: &'static [Attr<T>]) -> [Self; M] {
        assert!(attrs.len() + 1 == M);
        let mut out = [const { TablePtr(core::ptr::null()) }; M];
        let mut i = 0;
        while i < attrs.len() {
            out[i] = TablePtr(attrs[i].attr.get());
            i += 1;
        }
        out
    }
}

impl TablePtr<k::bin_attribute> {
    /// The binary attributes `attrs` as a NUL-terminated table; `M` must be
    /// `attrs.len() + 1`.
    pub(crate) const fn bin_table<T, const M: usize>(attrs: &'static [BinAttr<T>]) -> [Self; M] {
        assert!(attrs.len() + 1 == M);
        let mut out = [const { TablePtr(core::ptr::null()) }; M];
        let mut i = 0;
        while i < attrs.len() {
            out[i] = TablePtr(attrs[i].attr.get());
            i += 1;
        }
        out
    }
}

impl TablePtr<k::attribute_group> {
    /// The entry for `group` in a default-groups table.
    pub(crate) const fn group(group: &'static Group) -> Self {
        TablePtr(&raw const group.0)
    }

    /// The end of a default-groups table.
    pub(crate) const END: Self = TablePtr(core::ptr::null());
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

    /// An unnamed group of the binary attributes in `attrs`, a NUL-terminated table.
    pub(crate) const fn bin(attrs: &'static [TablePtr<k::bin_attribute>]) -> Self {
        let mut g: k::attribute_group = pin_init::zeroed();
        g.bin_attrs = attrs.as_ptr().cast::<*const k::bin_attribute>();
        Self(g)
    }
}

/// A kobject type (`struct kobj_type`) in static storage.
#[repr(transparent)]
pub(crate) struct KobjType(k::kobj_type);

// SAFETY: The type is only read, and points to static, `Sync` data.
unsafe impl Sync for KobjType {}

impl KobjType {
    /// The kobject type of directories of `T`, with the default groups `groups`, a
    /// NUL-terminated table of groups of `Attr<T>`s.
    pub(crate) const fn new<T: DirType>(groups: &'static [TablePtr<k::attribute_group>]) -> Self {
        KobjType(k::kobj_type {
            release: Some(release_callback::<T>),
            sysfs_ops: &SysfsOps::<T>::OPS,
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

struct SysfsOps<T>(PhantomData<T>);

impl<T: DirType> SysfsOps<T> {
    const OPS: k::sysfs_ops = k::sysfs_ops {
        show: Some(show_callback::<T>),
        store: Some(store_callback::<T>),
    };
}

/// The data of a directory type declared by [`sysfs_dir_type!`]: implemented by that
/// macro only.
///
/// # Safety
///
/// `ktype` returns a kobject type made by [`KobjType::new::<Self>`] whose default groups
/// hold only attributes of `Attr<Self>`s and binary attributes of `BinAttr<Self>`s, in
/// static storage.
///
/// [`sysfs_dir_type!`]: crate::sysfs_dir_type
pub(crate) unsafe trait DirType: Send + Sync + Sized + 'static {
    /// The kobject type of directories with this data.
    fn ktype() -> &'static KobjType;
}

/// Declares the files of directories whose data is `Type`: `sysfs_dir_type!(Type: GROUP,
/// ... [; bin BINS])`, where each `GROUP` is a constant array of [`File<Type>`] entries and
/// `BINS` one of [`BinFile<Type>`] entries; the files of all groups appear in the
/// directory, in order.
#[macro_export]
macro_rules! sysfs_dir_type {
    ($ty:ty: $($group:expr),* $(; bin $bins:expr)? $(,)?) => {
        const _: () = {
            use $crate::kernel_staging::sysfs::{KobjType, TablePtr};
            use ::kernel::bindings::attribute_group;

            const N: usize = <[&str]>::len(&[$(stringify!($group)),*])
                + <[&str]>::len(&[$(stringify!($bins))?]);
            static GROUPS: [TablePtr<attribute_group>; N + 1] = [
                $({
                    use $crate::kernel_staging::sysfs::{Attr, Group};
                    use ::kernel::bindings::attribute;

                    static ATTRS: [Attr<$ty>; $group.len()] = Attr::table(&$group);
                    static PTRS: [TablePtr<attribute>; $group.len() + 1] =
                        TablePtr::<attribute>::table(&ATTRS);
                    static GROUP: Group = Group::new(&PTRS);
                    TablePtr::group(&GROUP)
                },)*
                $({
                    use $crate::kernel_staging::sysfs::{BinAttr, Group};
                    use ::kernel::bindings::bin_attribute;

                    static ATTRS: [BinAttr<$ty>; $bins.len()] = BinAttr::table(&$bins);
                    static PTRS: [TablePtr<bin_attribute>; $bins.len() + 1] =
                        TablePtr::<bin_attribute>::bin_table(&ATTRS);
                    static GROUP: Group = Group::bin(&PTRS);
                    TablePtr::group(&GROUP)
                },)?
                TablePtr::<attribute_group>::END,
            ];
            static KTYPE: KobjType = KobjType::new::<$ty>(&GROUPS);

            // SAFETY: `KTYPE` is made by `KobjType::new::<$ty>` from static groups of
            // `Attr<$ty>`s and `BinAttr<$ty>`s.
            unsafe impl $crate::kernel_staging::sysfs::DirType for $ty {
                fn ktype() -> &'static KobjType {
                    &KTYPE
                }
            }
        };
    };
}

/// The page a `show` call fills: at most `PAGE_SIZE - 1` bytes, as sysfs requires.
pub(crate) struct Page<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Page<'a> {
    /// A page writing into `buf`, of which it uses all but the last byte.
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        let n = buf.len().saturating_sub(1);
        Self {
            buf: &mut buf[..n],
            len: 0,
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
#[derive(Clone, Copy)]
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
/// `T::ktype()`; this handle owns one reference to it and is the only one that removes it.
pub(crate) struct Dir<T: DirType> {
    node: NonNull<Node<T>>,
}

// SAFETY: The handle only gives shared access to `T`, which is `Sync`, and the kobject
// functions may be called from any thread.
unsafe impl<T: DirType> Send for Dir<T> {}
// SAFETY: `&Dir` gives access to `&T` (`Sync`), the name, which never changes, and the
// link functions, which sysfs serialises itself.
unsafe impl<T: DirType> Sync for Dir<T> {}

impl<T: DirType> Dir<T> {
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
        // NUL-terminated. `kobject_add` creates the default groups' files.
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

    fn kobj(&self) -> *mut k::kobject {
        Self::kobj_of(self.node.as_ptr())
    }

    /// This directory, as the parent of another.
    pub(crate) fn as_parent(&self) -> Parent<'_> {
        // INVARIANT: The directory stays in sysfs while borrowed.
        Parent {
            kobj: self.kobj(),
            _dir: PhantomData,
        }
    }

    /// Creates the symbolic link `name` in this directory, pointing to `target`. Fails with
    /// `EEXIST`, changing nothing and printing nothing, if `name` exists.
    ///
    /// A link that outlives its target's directory dangles (it names nothing) until it is
    /// removed; one that outlives this directory goes with it.
    pub(crate) fn link<U: DirType>(&self, name: &CStr, target: &Dir<U>) -> Result {
        // SAFETY: Per the invariants both kobjects are live and in sysfs; `name` is
        // NUL-terminated.
        to_result(unsafe {
            k::sysfs_create_link_nowarn(self.kobj(), target.kobj(), name.as_char_ptr())
        })
    }

    /// Removes the symbolic link `name` from this directory, if there is one.
    pub(crate) fn unlink(&self, name: &CStr) {
        // SAFETY: Per the invariants the kobject is live and in sysfs; a missing name is
        // ignored (`kernfs_remove_by_name` returns `-ENOENT`).
        unsafe { k::sysfs_remove_link(self.kobj(), name.as_char_ptr()) };
    }
}

impl<T: DirType> Drop for Dir<T> {
    fn drop(&mut self) {
        let kobj = self.kobj();
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

/// # Safety
///
/// Called by sysfs for a file of `T`'s kobject type: `kobj` is the kobject of a live
/// `Node<T>` (`kobject_del` waits for running callbacks before the node can go), `attr`
/// one of its attributes, so the attribute of an `Attr<T>` (per `DirType`'s contract), and
/// `buf` a buffer of `PAGE_SIZE` bytes.
unsafe extern "C" fn show_callback<T: DirType>(
    kobj: *mut k::kobject,
    attr: *mut k::attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: Per the function's contract.
    let (node, entry) = unsafe { (node_of::<T>(kobj), Attr::<T>::from_raw(attr)) };
    let Some(show) = entry.show else {
        return EACCES.to_errno() as isize;
    };
    // SAFETY: Per the function's contract `buf` has `PAGE_SIZE` bytes, ours during the call.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), k::PAGE_SIZE) };
    let mut page = Page::new(buf);
    match show(&node.data, &mut page) {
        Ok(()) => page.len as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// # Safety
///
/// Called by sysfs for a file of `T`'s kobject type: `kobj` is the kobject of a live
/// `Node<T>`, `attr` the attribute of an `Attr<T>`, and `buf` holds `count` bytes of input.
unsafe extern "C" fn store_callback<T: DirType>(
    kobj: *mut k::kobject,
    attr: *mut k::attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: Per the function's contract.
    let (node, entry) = unsafe { (node_of::<T>(kobj), Attr::<T>::from_raw(attr)) };
    let Some(store) = entry.store else {
        return EACCES.to_errno() as isize;
    };
    // SAFETY: Per the function's contract `buf` holds `count` bytes.
    let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
    match store(&node.data, input) {
        Ok(()) => count as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// # Safety
///
/// Called by sysfs for a binary file of `T`'s kobject type: `kobj` is the kobject of a live
/// `Node<T>`, `attr` the attribute of a `BinAttr<T>`, `buf` a buffer of `count` bytes, ours
/// during the call, and `offset` is not negative.
unsafe extern "C" fn bin_read_callback<T: DirType>(
    file: *mut k::file,
    kobj: *mut k::kobject,
    attr: *const k::bin_attribute,
    buf: *mut c_char,
    offset: k::loff_t,
    count: usize,
) -> isize {
    // SAFETY: Per the function's contract.
    let (node, entry) = unsafe { (node_of::<T>(kobj), BinAttr::<T>::from_raw(attr)) };
    // SAFETY: Per the function's contract `buf` holds `count` bytes, ours during the call.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), count) };
    let offset = u64::try_from(offset).unwrap_or(0);
    match (entry.read)(&node.data, OpenFile(file.addr()), offset, buf) {
        Ok(n) => n.min(count) as isize,
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

    struct Two;

    const A: [File<Two>; 1] = [File::show(c"a", 0o444, |_, out| out.write_bytes(b"a"))];
    const B: [File<Two>; 1] = [File::store(c"b", 0o200, |_, _| Ok(()))];

    crate::sysfs_dir_type!(Two: A, B);

    #[test]
    fn static_tables() {
        let ktype = &Two::ktype().0;
        // SAFETY: The tables are static, NUL-terminated and only read.
        unsafe {
            let groups = ktype.default_groups;
            for (g, (name, mode)) in [(c"a", 0o444), (c"b", 0o200)].into_iter().enumerate() {
                let attrs = (**groups.add(g)).__bindgen_anon_2.attrs;
                let attr = *attrs;
                assert!(core::ptr::eq((*attr).name, name.as_char_ptr()));
                assert_eq!((*attr).mode, mode);
                assert!((*attrs.add(1)).is_null());
                let entry = Attr::<Two>::from_raw(attr);
                assert_eq!(
                    (entry.show.is_some(), entry.store.is_some()),
                    (g == 0, g == 1)
                );
            }
            assert!((*groups.add(2)).is_null());
        }
    }
}
