# SPDX-License-Identifier: GPL-2.0
# Shared settings for dmp's scripts. Source it; do not run it.
#
# DMP_CACHE  where the build root and the prepared kernel live
#            (default: $XDG_CACHE_HOME/dmp, i.e. ~/.cache/dmp). Never inside the
#            repository: the kernel's `make M=... clean` deletes every *.o and *.ko*
#            below the module directory, and would gut the build root.
# DMP_MIRROR the Debian mirror for the build roots
# DMP_KVER   the Debian kernel to build for and boot (`make KVER=...`), by its ABI name,
#            e.g. 7.2.13+deb14-amd64 (sid) or 7.3.4+deb13-amd64 (trixie-backports), or by
#            its suite, sid or trixie-backports: that suite's current amd64 kernel when
#            first set up; empty: sid's current stock kernel, in the sid root (as before)

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${DMP_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/dmp}
case "$CACHE/" in "$TOP"/*) echo "[dmp] error: DMP_CACHE must be outside the repository" >&2; exit 1 ;; esac
MIRROR=${DMP_MIRROR:-http://deb.debian.org/debian}

log() { printf '[dmp] %s\n' "$*" >&2; }
die() { printf '[dmp] error: %s\n' "$*" >&2; exit 1; }

# The suite that ships a Debian kernel, from the +debNN tag of its ABI name (the Debian
# release it is built for). This table is the only place that names suites:
#   SUITE   what debootstrap installs      ROOT  the build root (sid keeps the old path)
#   KSUITE  the suite of the kernel packages; SUITES  the apt sources of the root
DMP_KVER=${DMP_KVER:-}
[ "$DMP_KVER" != sid ] || DMP_KVER=
case $DMP_KVER in
"" | *+deb14-*)
	SUITE=sid KSUITE=sid SUITES="sid" ROOT=$CACHE/root ;;
trixie-backports | *+deb13-*)
	SUITE=trixie KSUITE=trixie-backports ROOT=$CACHE/root-trixie
	SUITES="trixie trixie-updates trixie-backports trixie-security" ;;
*)
	die "no known Debian suite ships kernel '$DMP_KVER' (expected sid, trixie-backports or an ABI name such as 7.3.4+deb13-amd64: +deb13 is trixie(-backports), +deb14 sid)" ;;
esac

# The env file of a kernel: sid's stock kernel keeps $CACHE/env (an explicit KVER equal to
# it too), any other $CACHE/env-<KVER> (env-trixie-backports for the suite's name).
env_file() {
	if [ -z "$DMP_KVER" ] || [ "$(sed -n 's/^KVER=//p' "$CACHE/env" 2>/dev/null)" = "$DMP_KVER" ]; then
		echo "$CACHE/env"
	else
		echo "$CACHE/env-$DMP_KVER"
	fi
}

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

# The kernel the build and the VM are for: DMP_KERNEL=stock (a Debian kernel, the default:
# DMP_KVER's or sid's), debug (the sanitizer kernel that scripts/setup-debug builds from
# sid's source) or race (the KCSAN kernel, scripts/setup-debug race).
DMP_KERNEL=${DMP_KERNEL:-stock}

# The compiler a Debian kernel was built with, from its .config (CONFIG_CC_VERSION_TEXT,
# e.g. "x86_64-linux-gnu-gcc-16 (Debian 16.2.0-4) 16.2.0"): kconfig_cc <.config>
kconfig_cc() { sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\) .*/\1/p' "$1"; }

# Facts about that kernel, written by its set-up script: KVER (its release), KDIR (the
# build tree modules are built against, a path inside the build root), KIMAGE (the
# kernel image) and KMAKE (the compiler choice its tree was built with).
load_env() {
	case $DMP_KERNEL in
	stock)
		local env
		env=$(env_file)
		[ -e "$env" ] || "$TOP/scripts/setup" || exit 1
		# shellcheck disable=SC1090
		. "$env"
		KIMAGE=/boot/vmlinuz-$KVER
		KMAKE=CC=$(kconfig_cc "$ROOT$KDIR/.config")
		[ "$KMAKE" != CC= ] || die "no CONFIG_CC_VERSION_TEXT in $ROOT$KDIR/.config"
		;;
	debug | race)
		[ "$SUITE" = sid ] || die "the $DMP_KERNEL kernel is built from sid's source; drop KVER"
		"$TOP/scripts/setup-debug" "$DMP_KERNEL" || exit 1
		# shellcheck disable=SC1090
		. "$CACHE/env-$DMP_KERNEL"
		;;
	*) die "DMP_KERNEL must be stock, debug or race, not '$DMP_KERNEL'" ;;
	esac
}
