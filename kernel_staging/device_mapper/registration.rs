// SPDX-License-Identifier: GPL-2.0

//! Registering a target type for the life of its module.

use super::{operations::OperationsVTable, Operations};
use crate::kernel_staging::bindings as c;
use core::ptr::NonNull;
use kernel::{error::to_result, prelude::*, types::Opaque, ThisModule};

/// A registered target type, with the state its targets share; unregistered on drop.
///
/// # Invariants
///
/// `tt` holds `OperationsVTable::<T>::VTABLE` with the owning module, registered with
/// device-mapper, and `shared` is initialised, for as long as the registration exists.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<T: Operations> {
    #[pin]
    shared: T::Shared,
    #[pin]
    tt: Opaque<c::target_type>,
}

// SAFETY: After registration only device-mapper uses `tt`, under its own locks; the shared
// state is `Send` and `Sync` by the trait's bounds.
unsafe impl<T: Operations> Send for Registration<T> {}
// SAFETY: As above.
unsafe impl<T: Operations> Sync for Registration<T> {}

impl<T: Operations> Registration<T> {
    /// Registers the target type `T` of `module`.
    ///
    /// # Safety
    ///
    /// The registration is dropped only when `module` exits. Device-mapper does not wait
    /// for the tables that use a type when it is unregistered: their targets point to `tt`
    /// and hold a reference to `module`, not to the registration, so only module exit
    /// guarantees that none is left.
    unsafe fn new(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            shared <- T::shared(),
            tt <- Opaque::try_ffi_init(move |slot: *mut c::target_type| {
                let mut tt = OperationsVTable::<T>::VTABLE;
                tt.module = module.as_ptr();
                // SAFETY: `slot` is valid for writes and pinned.
                unsafe { slot.write(tt) };
                // SAFETY: `slot` is fully initialised and stays pinned until `drop`
                // unregisters it. `shared` is initialised before `tt` (field order above),
                // so callbacks may use it as soon as the type is registered.
                // INVARIANT: Registered with the module's table.
                to_result(unsafe { c::dm_register_target(slot) })
            }),
        })
    }

    /// The shared state of the type of `ti`.
    ///
    /// # Safety
    ///
    /// `ti` is a live target of a type registered by a `Registration<T>`.
    pub(super) unsafe fn shared<'a>(ti: NonNull<c::dm_target>) -> &'a T::Shared {
        // SAFETY: Per the function's contract `ti->type` is the `tt` field of a live,
        // pinned `Registration<T>`, which outlives its targets (per `new`'s contract).
        unsafe {
            let tt = (*ti.as_ptr()).type_.cast::<Opaque<c::target_type>>();
            let reg: *const Self = kernel::container_of!(tt, Self, tt);
            &(*reg).shared
        }
    }
}

#[pinned_drop]
impl<T: Operations> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Per the invariants the type is registered; per `new`'s contract the
        // module is exiting, so no target of the type is left.
        unsafe { c::dm_unregister_target(self.tt.get()) };
    }
}

/// A module that registers the target type `T` while it is loaded: the module type of
/// [`module_dm_target!`](crate::module_dm_target).
#[pin_data]
pub(crate) struct Module<T: Operations> {
    #[pin]
    registration: Registration<T>,
}

impl<T: Operations> kernel::InPlaceModule for Module<T> {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            // SAFETY: The module's data is made once, by the module loader, and dropped
            // only when `module` exits.
            registration <- unsafe { Registration::new(module) },
        })
    }
}

/// Declares a module that registers one device-mapper target type while it is loaded:
/// `module_dm_target! { type: MyTarget, name: "...", authors: [...], ... }`, with the
/// fields of [`module!`](kernel::prelude::module).
#[macro_export]
macro_rules! module_dm_target {
    (type: $type:ty, $($f:tt)*) => {
        type DmTargetModule = $crate::kernel_staging::device_mapper::Module<$type>;

        ::kernel::prelude::module! {
            type: DmTargetModule,
            $($f)*
        }
    };
}
