// SPDX-License-Identifier: GPL-2.0

//! Sysfs directories backed by kobjects.
//!
//! C header: [`include/linux/kobject.h`](srctree/include/linux/kobject.h)
//!
//! A [`Dir`] owns a kobject embedded in a heap node together with the data its files
//! show. Dropping the `Dir` removes the directory, which waits for running `show` and
//! `store` calls to finish; the node itself is freed by the kobject's release, when its
//! last reference goes. Reading a file while its directory is removed is therefore safe.

use core::{fmt, marker::PhantomData, ptr::NonNull};
use kernel::{bindings as k, error::to_result, prelude::*, str::CStrExt, types::Opaque};

/// One file in a directory.
pub(crate) struct File {
    /// The file name.
    pub(crate) name: &'static CStr,
    /// The permission bits, for example `0o444`.
    pub(crate) mode: u16,
}

/// The files of a directory and the data behind them.
pub(crate) trait Files: Send + Sync + Sized {
    /// The files, in index order.
    const FILES: &'static [File];

    /// Writes the contents of file `index`.
    fn show(&self, index: usize, out: &mut Page<'_>) -> Result;

    /// Handles a write of `input` to file `index`.
    fn store(&self, index: usize, input: &[u8]) -> Result;
}

/// The page a `show` call fills.
pub(crate) struct Page<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl fmt::Write for Page<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Where a directory is created.
pub(crate) struct Parent<'a> {
    kobj: *mut k::kobject,
    _dir: PhantomData<&'a ()>,
}

impl Parent<'static> {
    /// `/sys/kernel`.
    pub(crate) fn kernel() -> Self {
        // SAFETY: `kernel_kobj` is set up at boot and never changes afterwards.
        let kobj = unsafe { k::kernel_kobj };
        Self {
            kobj,
            _dir: PhantomData,
        }
    }
}

#[repr(C)]
struct Node<T: Files> {
    kobj: Opaque<k::kobject>,
    attrs: KVec<k::attribute>,
    attr_ptrs: KVec<*mut k::attribute>,
    group: Opaque<k::attribute_group>,
    data: T,
}

/// A directory in sysfs, removed on drop.
///
/// # Invariants
///
/// `node` points to a `Node<T>` whose kobject was added to sysfs, and this handle owns
/// one reference to it.
pub(crate) struct Dir<T: Files> {
    node: NonNull<Node<T>>,
}

// SAFETY: The handle only gives shared access to `T`, which is `Sync`, and the kobject
// functions may be called from any thread.
unsafe impl<T: Files> Send for Dir<T> {}
// SAFETY: As above.
unsafe impl<T: Files> Sync for Dir<T> {}

struct Vtable<T>(PhantomData<T>);

impl<T: Files> Vtable<T> {
    const SYSFS_OPS: k::sysfs_ops = k::sysfs_ops {
        show: Some(show_callback::<T>),
        store: Some(store_callback::<T>),
    };
    const KTYPE: k::kobj_type = k::kobj_type {
        release: Some(release_callback::<T>),
        sysfs_ops: &Self::SYSFS_OPS,
        ..pin_init::zeroed()
    };
}

impl<T: Files> Dir<T> {
    /// Creates the directory `name` under `parent`, with the files of `T`.
    pub(crate) fn new(name: &CStr, parent: Parent<'_>, data: T) -> Result<Self> {
        let n = T::FILES.len();
        let mut attrs = KVec::with_capacity(n, GFP_KERNEL)?;
        for f in T::FILES {
            let mut a: k::attribute = pin_init::zeroed();
            a.name = f.name.as_char_ptr();
            a.mode = f.mode;
            attrs.push(a, GFP_KERNEL)?;
        }
        let node = KBox::new(
            Node {
                kobj: Opaque::zeroed(),
                attrs,
                attr_ptrs: KVec::with_capacity(n + 1, GFP_KERNEL)?,
                group: Opaque::zeroed(),
                data,
            },
            GFP_KERNEL,
        )?;
        let node = NonNull::new(KBox::into_raw(node)).ok_or(ENOMEM)?;
        let p = node.as_ptr();
        // SAFETY: `p` is a fresh, valid node; the attribute vector is never resized again,
        // so the pointers into it stay valid for the node's life.
        unsafe {
            let base = (*p).attrs.as_mut_ptr();
            for i in 0..n {
                (*p).attr_ptrs.push(base.add(i), GFP_KERNEL)?;
            }
            (*p).attr_ptrs.push(core::ptr::null_mut(), GFP_KERNEL)?;
            (*(*p).group.get()).__bindgen_anon_2.attrs = (*p).attr_ptrs.as_mut_ptr();
        }
        let kobj = Self::kobj_of(p);
        // SAFETY: `kobj` is zeroed and not yet initialised; from here on the node is freed
        // by `release_callback` when the last reference is put.
        let ret = unsafe {
            k::kobject_init(kobj, &Vtable::<T>::KTYPE);
            k::kobject_add(kobj, parent.kobj, c"%s".as_char_ptr(), name.as_char_ptr())
        };
        // INVARIANT: From here on `node` is an added kobject with one reference, ours; on
        // error, dropping the handle puts it.
        let dir = Self { node };
        to_result(ret)?;
        // SAFETY: The kobject is in sysfs and the group lives in the node.
        to_result(unsafe { k::sysfs_create_group(kobj, (*p).group.get()) })?;
        Ok(dir)
    }

    fn kobj_of(p: *mut Node<T>) -> *mut k::kobject {
        // SAFETY: Taking a field address of a valid node does not dereference it.
        unsafe { Opaque::cast_into(&raw const (*p).kobj) }
    }

    /// The data the files show.
    pub(crate) fn data(&self) -> &T {
        // SAFETY: Per the invariants the node is live while the handle is.
        unsafe { &(*self.node.as_ptr()).data }
    }

    /// This directory, as the parent of another.
    pub(crate) fn as_parent(&self) -> Parent<'_> {
        Parent {
            kobj: Self::kobj_of(self.node.as_ptr()),
            _dir: PhantomData,
        }
    }

    /// Renames the directory.
    pub(crate) fn rename(&self, name: &CStr) -> Result {
        // SAFETY: Per the invariants the kobject is live and in sysfs.
        to_result(unsafe {
            k::kobject_rename(Self::kobj_of(self.node.as_ptr()), name.as_char_ptr())
        })
    }

    /// The directory's current name.
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: Per the invariants the kobject is live and has a name; it only changes
        // through `rename`, which needs the same handle.
        unsafe { CStr::from_char_ptr((*Self::kobj_of(self.node.as_ptr())).name) }
    }
}

impl<T: Files> Drop for Dir<T> {
    fn drop(&mut self) {
        let kobj = Self::kobj_of(self.node.as_ptr());
        // SAFETY: Per the invariants we own a reference. `kobject_del` removes the files
        // and waits for running callbacks; `kobject_put` may free the node.
        unsafe {
            k::kobject_del(kobj);
            k::kobject_put(kobj);
        }
    }
}

/// # Safety
///
/// `kobj` is the kobject of a live `Node<T>`.
unsafe fn node_of<'a, T: Files>(kobj: *mut k::kobject) -> &'a Node<T> {
    // SAFETY: Per the contract; `kobj` is the first field of the `repr(C)` node.
    unsafe { &*kernel::container_of!(Opaque::cast_from(kobj), Node<T>, kobj) }
}

fn index_of<T: Files>(node: &Node<T>, attr: *mut k::attribute) -> Option<usize> {
    let base = node.attrs.as_ptr() as usize;
    let off = (attr as usize).checked_sub(base)?;
    let i = off / core::mem::size_of::<k::attribute>();
    (i < node.attrs.len()).then_some(i)
}

unsafe extern "C" fn show_callback<T: Files>(
    kobj: *mut k::kobject,
    attr: *mut k::attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: sysfs calls `show` on a live kobject of this type (its files are removed
    // before the node can be freed).
    let node = unsafe { node_of::<T>(kobj) };
    let Some(i) = index_of(node, attr) else {
        return EINVAL.to_errno() as isize;
    };
    // SAFETY: sysfs hands `show` a zeroed buffer of `PAGE_SIZE` bytes.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), k::PAGE_SIZE) };
    let mut page = Page { buf, len: 0 };
    match node.data.show(i, &mut page) {
        Ok(()) => page.len as isize,
        Err(e) => e.to_errno() as isize,
    }
}

unsafe extern "C" fn store_callback<T: Files>(
    kobj: *mut k::kobject,
    attr: *mut k::attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: As in `show_callback`.
    let node = unsafe { node_of::<T>(kobj) };
    let Some(i) = index_of(node, attr) else {
        return EINVAL.to_errno() as isize;
    };
    // SAFETY: sysfs hands `store` `count` bytes of input.
    let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
    match node.data.store(i, input) {
        Ok(()) => count as isize,
        Err(e) => e.to_errno() as isize,
    }
}

unsafe extern "C" fn release_callback<T: Files>(kobj: *mut k::kobject) {
    // SAFETY: The last reference is gone, so nothing else uses the node, which `Dir::new`
    // allocated as a `KBox`.
    drop(unsafe {
        KBox::from_raw(kernel::container_of!(Opaque::cast_from(kobj), Node<T>, kobj).cast_mut())
    });
}
