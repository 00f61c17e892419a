# SPDX-License-Identifier: GPL-2.0
# Shared settings for dmp's scripts. Source it; do not run it.
#
# DMP_CACHE  where the build root and the prepared kernel live
#            (default: $XDG_CACHE_HOME/dmp, i.e. ~/.cache/dmp). Never inside the
#            repository: the kernel's `make M=... clean` deletes every *.o and *.ko*
#            below the module directory, and would gut the build root.
# DMP_MIRROR the Debian mirror for the sid build root

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${DMP_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/dmp}
case "$CACHE/" in "$TOP"/*) echo "[dmp] error: DMP_CACHE must be outside the repository" >&2; exit 1 ;; esac
ROOT=$CACHE/root
MIRROR=${DMP_MIRROR:-http://deb.debian.org/debian}

log() { printf '[dmp] %s\n' "$*" >&2; }
die() { printf '[dmp] error: %s\n' "$*" >&2; exit 1; }

# Run a command inside the build root, with the repository visible at its own path.
# A private mount namespace makes every mount vanish when the command ends, so
# nothing is left mounted inside the cache (and `rm -rf` of it stays safe).
in_root() {
	unshare --mount --propagation private -- /bin/bash -c '
		set -e
		root=$1 top=$2 cache=$3; shift 3
		mount -t proc proc "$root/proc"
		mount -t sysfs sys "$root/sys"
		mount -t tmpfs tmp "$root/tmp"
		mkdir -p "$root$top"
		mount --bind "$top" "$root$top"
		case "$cache/" in
		"$top"/*) ;;
		*) mkdir -p "$root$cache"; mount --bind "$cache" "$root$cache" ;;
		esac
		[ -z "${DMP_KVM:-}" ] || { touch "$root/dev/kvm"; mount --bind /dev/kvm "$root/dev/kvm"; }
		cd "$top"
		exec chroot "$root" /usr/bin/env -C "$PWD" \
			PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
			DEBIAN_FRONTEND=noninteractive "$@"
	' in_root "$ROOT" "$TOP" "$CACHE" "$@"
}

# The kernel the build and the VM are for: DMP_KERNEL=stock (Debian's, the default) or
# debug (the sanitizer kernel that scripts/setup-debug builds from the same source).
DMP_KERNEL=${DMP_KERNEL:-stock}

# Facts about that kernel, written by its set-up script: KVER (its release), KDIR (the
# build tree modules are built against, a path inside the build root), KIMAGE (the
# kernel image) and KMAKE (the compiler choice its tree was built with).
load_env() {
	case $DMP_KERNEL in
	stock)
		[ -e "$CACHE/env" ] || "$TOP/scripts/setup" || exit 1
		# shellcheck disable=SC1091
		. "$CACHE/env"
		KIMAGE=/boot/vmlinuz-$KVER
		KMAKE=CC=x86_64-linux-gnu-gcc-16
		;;
	debug)
		"$TOP/scripts/setup-debug" || exit 1
		# shellcheck disable=SC1091
		. "$CACHE/env-debug"
		;;
	*) die "DMP_KERNEL must be stock or debug, not '$DMP_KERNEL'" ;;
	esac
}
