#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Systematic fault injection (tests/inject.sh, on the sanitizer kernel).

Every operation that runs dmp code is tried with its N-th fault point failing, for N = 1,
2, 3, ... until a try completes without reaching the N-th point: the kernel's fail-nth
(Documentation/fault-injection/fault-injection.rst), as syzkaller uses it. A fault point
is any place the kernel may inject a failure (here a slab or page allocation, sleeping or
not) in this process while it is inside the operation's system calls and, by default,
while its stack passes through dmp's code (the fault-injection stack filter set to
dmp.ko's text; for insmod, before dmp's text exists, the kernel's do_init_module, which
runs dmp's init; FI_SCOPE=all: anywhere):
/proc/thread-self/fail-nth is armed just before each system call of the operation and
read back after it, so the count runs through the operation's calls only, not through
Python's own work.

After each try:
  - the operation succeeded or failed with an error (a hang ends the VM's run, a crash
    the kernel log check);
  - nothing is half built: device-mapper's devices and tables, /sys/kernel/dmp/block/,
    /sys/kernel/dmp/devices/ and the module's use count agree with each other;
  - the kernel log has no complaint (lib.sh's KERNEL_COMPLAINTS, in the environment);
then the state is taken down with ordinary operations, each of which must work, and the
next try builds its starting state with ordinary operations again.

Prints one line per operation and then, last, exactly
    fault injection: N operations, M fault points, P problems
and exits 1 if P is not 0. Needs root, dmp.ko loaded, /dev/ram0 (brd), and the fault
injection debugfs of a kernel with FAILSLAB and FAIL_PAGE_ALLOC.
"""

import ctypes
import fcntl
import importlib.machinery
import importlib.util
import io
import mmap
import os
import re
import struct
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_loader = importlib.machinery.SourceFileLoader("dmpctl", os.path.join(TOP, "tools", "dmpctl"))
_spec = importlib.util.spec_from_loader("dmpctl", _loader)
dmpctl = importlib.util.module_from_spec(_spec)
_loader.exec_module(dmpctl)

DMP_KO = os.path.join(TOP, "dmp.ko")
SYSFS = "/sys/kernel/dmp"
DEBUGFS = "/sys/kernel/debug"
RAM = "/dev/ram0"
PREFIX = "fi"                           # every device this makes is named fi...
SYS_FINIT_MODULE, SYS_DELETE_MODULE = 313, 176
DM_LIST_DEVICES, DM_DEV_CREATE, DM_DEV_REMOVE, DM_DEV_RENAME, DM_TARGET_MSG = 2, 3, 4, 5, 14
DM_QUERY_INACTIVE_TABLE_FLAG = 1 << 12
# BLKREPORTZONE: _IOWR(0x12, 130, struct blk_zone_report), 16 bytes and 64 a zone
BLKREPORTZONE = (3 << 30) | (16 << 16) | (0x12 << 8) | 130
LIBC = ctypes.CDLL(None, use_errno=True)


class Faults:
    """fail-nth of this thread, armed around system calls. `budget` is the N of the try:
    the N-th fault point over all the calls of the operation fails."""

    def __init__(self):
        self.fd = os.open("/proc/thread-self/fail-nth", os.O_RDWR)
        self.left = 0          # fault points to reach, the last of them failing
        self.injected = False

    def start(self, n):
        self.left, self.injected = n, False

    def stop(self):
        self.left = 0

    def call(self, fn, *args):
        if self.left == 0:
            return fn(*args)
        os.write(self.fd, str(self.left).encode())
        try:
            return fn(*args)
        finally:
            rest = int(os.pread(self.fd, 32, 0))
            os.write(self.fd, b"0")
            # fail-nth counts down at each fault point and reads 0 once it failed one.
            if rest == 0:
                self.left, self.injected = 0, True
            else:
                self.left = rest


class NoFaults:
    """Until main() arms them (and for tests/churn.py, which imports this, and --once):
    no faults."""
    injected = False

    def start(self, n):
        pass

    def stop(self):
        pass

    @staticmethod
    def call(fn, *args):
        return fn(*args)


FAULTS = NoFaults()


class ArmedFcntl:
    """dmpctl's fcntl module, with every ioctl made under FAULTS."""

    def __getattr__(self, name):
        return getattr(fcntl, name)

    @staticmethod
    def ioctl(fd, request, arg=0, mutate=True):
        return FAULTS.call(fcntl.ioctl, fd, request, arg, mutate)


dmpctl.fcntl = ArmedFcntl()


def syscall(nr, *args):
    r = FAULTS.call(LIBC.syscall, nr, *args)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


# Device-mapper, by name (dmpctl's Control, whose ioctls are armed).
CTL = None


def dm(nr, name, **kw):
    return CTL.ioctl(nr, None, name=name.encode(), **kw)


def seg(start, length, ttype, params):
    return dmpctl.Segment(start, length, ttype, params)


def dmp_seg(start=0, length=8192, offset=0, dev=RAM):
    return seg(start, length, "dmp", f"{dev} {offset}")


def linear_seg(start=0, length=8192, offset=0, dev=RAM):
    return seg(start, length, "linear", f"{dev} {offset}")


def table_data(segs):
    data = bytearray()
    for s in segs:
        params = s.params.encode() + b"\0"
        size = dmpctl.DM_SPEC_SIZE + len(params)
        size += -size % 8
        spec = struct.pack(dmpctl.DM_SPEC_FMT, s.start, s.length, 0, size, s.type.encode())
        data += (spec + params).ljust(size, b"\0")
    return bytes(data)


def create(name):
    dm(DM_DEV_CREATE, name)


def load(name, segs):
    dm(dmpctl.DM_TABLE_LOAD, name, data=table_data(segs), target_count=len(segs))


def resume(name):
    dm(dmpctl.DM_DEV_SUSPEND, name)


def suspend(name):
    dm(dmpctl.DM_DEV_SUSPEND, name, flags=dmpctl.DM_SUSPEND_FLAG)


def remove(name):
    dm(DM_DEV_REMOVE, name)


def rename(name, new):
    dm(DM_DEV_RENAME, name, data=new.encode() + b"\0")


def clear(name):
    dm(dmpctl.DM_TABLE_CLEAR, name)


def message(name, text):
    dm(DM_TARGET_MSG, name, data=struct.pack("=Q", 0) + text.encode() + b"\0")


def status(name, table=False):
    dm(dmpctl.DM_TABLE_STATUS, name, flags=dmpctl.DM_STATUS_TABLE_FLAG if table else 0)


def create_table(name, segs):
    """dmsetup create: the device, its table, resume."""
    create(name)
    load(name, segs)
    resume(name)


def devices():
    """{name: dev_t} of every device-mapper device (DM_LIST_DEVICES)."""
    out, buf = CTL.ioctl(DM_LIST_DEVICES, None)
    pos, found = out[4], {}
    while True:
        dev, nxt = struct.unpack_from("=QI", buf, pos)
        if dev == 0:
            break
        name = bytes(buf[pos + 12:]).split(b"\0", 1)[0].decode()
        found[name] = dev
        if nxt == 0:
            break
        pos += nxt
    return found


def targets(name, inactive=False):
    """The target types of NAME's live (or inactive) table; [] if it has none."""
    flags = dmpctl.DM_STATUS_TABLE_FLAG | (DM_QUERY_INACTIVE_TABLE_FLAG if inactive else 0)
    out, buf = dm(dmpctl.DM_TABLE_STATUS, name, flags=flags)
    present = dmpctl.DM_INACTIVE_PRESENT_FLAG if inactive else dmpctl.DM_ACTIVE_PRESENT_FLAG
    if not out[7] & present:
        return []
    types, pos = [], out[4]
    for _ in range(out[5]):
        _s, _l, _st, nxt, ttype = struct.unpack_from(dmpctl.DM_SPEC_FMT, buf, pos)
        types.append(ttype.split(b"\0", 1)[0].decode())
        pos = out[4] + nxt
    return types


def flags(name):
    out, _ = dm(dmpctl.DM_DEV_STATUS, name)
    return out[7]


def read_file(path):
    with open(path) as f:
        return f.read()


def kname(name):
    d = devices()[name]
    return f"dm-{os.minor(d)}"


def module_loaded():
    return os.path.exists("/sys/module/dmp")


def insmod():
    fd = os.open(DMP_KO, os.O_RDONLY | os.O_CLOEXEC)
    try:
        syscall(SYS_FINIT_MODULE, fd, b"", 0)
    finally:
        os.close(fd)


def rmmod():
    syscall(SYS_DELETE_MODULE, b"dmp", os.O_NONBLOCK)


class KernelLog:
    """New records of /dev/kmsg since the last look."""

    def __init__(self):
        self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)
        self.bad = re.compile(os.environ.get("KERNEL_COMPLAINTS") or
                              r"WARNING:|BUG:|Oops|Call Trace|KASAN|UBSAN|panicked")

    def new(self):
        lines = []
        while True:
            try:
                rec = os.read(self.fd, 8192)
            except BlockingIOError:
                break
            except BrokenPipeError:      # overwritten records: go on from the next one
                continue
            lines.append(rec.decode(errors="replace").split(";", 1)[-1].rstrip("\n"))
        return lines

    def complaints(self):
        # The kernel's report of an allocation that failed on purpose (warn_alloc: the
        # line, then its stack to "</TASK>") is the injected fault itself (lib.sh's
        # kernel_log drops it the same way). With DMP_KCSAN_APART=1 (tests/race-run,
        # which sorts them at the end) a KCSAN report is dropped too, from its
        # "BUG: KCSAN:" to the line of '=' that ends it.
        lines, end, kcsan = [], None, bool(os.environ.get("DMP_KCSAN_APART"))
        for line in self.new():
            if end is None and re.search(r"(vmalloc error|page allocation failure): ", line):
                end = "</TASK>"
            elif end is None and kcsan and "BUG: KCSAN: " in line:
                end = "=" * 40
            if end is not None:
                if end in line:
                    end = None
                continue
            lines.append(line)
        hits = [i for i, l in enumerate(lines) if self.bad.search(l)]
        if not hits:
            return []
        return lines[max(0, hits[0] - 5):hits[0] + 25]


def consistent():
    """What disagrees, as sentences: device-mapper's devices and tables, dmp's sysfs
    tree and the module's use count."""
    bad = []
    devs = devices()
    dmp_targets, want_dirs = 0, {}
    for name, dev in devs.items():
        n = 0
        for inactive in (False, True):
            n += targets(name, inactive).count("dmp")
        dmp_targets += n
        if n:
            want_dirs[f"dm-{os.minor(dev)}"] = (name, dev)
        # Every device answers a status (dmp's status callback, for a dmp table).
        status(name)
    if not module_loaded():
        if dmp_targets:
            bad.append(f"dmp is not loaded, but {dmp_targets} dmp targets are in tables")
        if os.path.exists(SYSFS):
            bad.append(f"dmp is not loaded, but {SYSFS} exists")
        return bad
    refcnt = int(read_file("/sys/module/dmp/refcnt"))
    if refcnt != dmp_targets:
        bad.append(f"dmp's use count is {refcnt}, but tables hold {dmp_targets} dmp targets")
    have = set(os.listdir(f"{SYSFS}/block"))
    if have != set(want_dirs):
        bad.append(f"{SYSFS}/block has {sorted(have)}, the devices with dmp targets are "
                   f"{sorted(want_dirs)}")
    for kn in have & set(want_dirs):
        name, dev = want_dirs[kn]
        got = read_file(f"{SYSFS}/block/{kn}/name").strip()
        if got != name:
            bad.append(f"{SYSFS}/block/{kn}/name is {got!r}, the device is {name!r}")
        got = read_file(f"{SYSFS}/block/{kn}/dev").strip()
        if got != f"{os.major(dev)}:{os.minor(dev)}":
            bad.append(f"{SYSFS}/block/{kn}/dev is {got}, the device is {os.major(dev)}:{os.minor(dev)}")
    for link in os.listdir(f"{SYSFS}/devices"):
        p = f"{SYSFS}/devices/{link}"
        if not os.path.isdir(p):
            bad.append(f"{p} points to no directory ({os.readlink(p)})")
    return bad


def teardown(load=True):
    """Back to no fi... device, with ordinary operations: resume what is suspended, remove
    everything; and dmp loaded (with LOAD)."""
    for name in sorted(devices()):
        if not name.startswith(PREFIX):
            continue
        if flags(name) & dmpctl.DM_SUSPEND_FLAG:
            resume(name)
        remove(name)
    if load and not module_loaded():
        insmod()


def read_direct(path, sectors=8):
    """One O_DIRECT read of SECTORS sectors at offset 0 (the ordinary I/O of a check)."""
    buf = mmap.mmap(-1, sectors * 512)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        os.preadv(fd, [buf], 0)
    finally:
        os.close(fd)


def io_counts(name):
    """A 4 KiB read on NAME reaches dmp's counters (the device works after the try)."""
    kn = kname(name)
    before = int(read_file(f"{SYSFS}/block/{kn}/read_reqs"))
    read_direct(f"/dev/{kn}")
    after = int(read_file(f"{SYSFS}/block/{kn}/read_reqs"))
    if after != before + 1:
        return [f"a 4 KiB read on {name} moved read_reqs from {before} to {after}"]
    return []


class Op:
    """An operation: PREPARE builds its starting state with ordinary operations and returns
    what RUN takes (a path, say); RUN(that) is the operation, its system calls under
    FAULTS; AFTER(ok) says what is wrong after a try that succeeded (ok) or failed. A KEEP
    operation (a sysfs read or write) changes no device or table: its state is built once,
    and the tries between the first and the last check only that the module's use count
    and the device's directory are as they were."""

    def __init__(self, name, run, prepare=None, after=None, keep=False):
        self.name, self.run, self.prepare, self.after = name, run, prepare, after
        self.keep = keep


def zoned_null():
    """A host-managed zoned null_blk, /dev/nullb_fi: 8 zones of 4 MiB, 2 conventional."""
    d = "/sys/kernel/config/nullb/nullb_fi"
    if os.path.exists("/dev/nullb_fi"):
        return
    subprocess.run(["modprobe", "null_blk", "nr_devices=0"], check=True)
    if not os.path.ismount("/sys/kernel/config"):
        subprocess.run(["mount", "-t", "configfs", "configfs", "/sys/kernel/config"], check=True)
    os.mkdir(d)
    for k, v in (("blocksize", 4096), ("memory_backed", 1), ("size", 32), ("zoned", 1),
                 ("zone_size", 4), ("zone_nr_conv", 2), ("power", 1)):
        with open(f"{d}/{k}", "w") as f:
            f.write(str(v))
    for _ in range(50):
        if os.path.exists("/dev/nullb_fi"):
            return
        time.sleep(0.1)
    raise RuntimeError("null_blk nullb_fi did not appear")


def report_zones(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        buf = bytearray(struct.pack("=QII", 0, 8, 0) + bytes(8 * 64))
        FAULTS.call(fcntl.ioctl, fd, BLKREPORTZONE, buf, True)
    finally:
        os.close(fd)


def sysfs_read(path):
    # The buffer is made before the calls are armed: an allocation of Python's own (a
    # brk or mmap) should not take the injected fault.
    buf = bytearray(1 << 16)
    fd = FAULTS.call(os.open, path, os.O_RDONLY)
    try:
        while FAULTS.call(os.readv, fd, [buf]):
            pass
    finally:
        os.close(fd)


def sysfs_write(path, text):
    fd = FAULTS.call(os.open, path, os.O_WRONLY)
    try:
        FAULTS.call(os.write, fd, text.encode())
    finally:
        os.close(fd)


def one(name="fi0", segs=None):
    """A prepare: NAME made with a table of SEGS (one dmp segment over RAM); gives the
    device's directory under /sys/kernel/dmp/block/, if it has one."""
    def prepare():
        create_table(name, segs or [dmp_seg()])
        d = f"{SYSFS}/block/{kname(name)}"
        return d if os.path.isdir(d) else None
    return prepare


def operations(lv):
    zsegs = [seg(0, 32 * 2048, "dmp", "/dev/nullb_fi 0")]
    two = [dmp_seg(0, 4096, 0), dmp_seg(4096, 4096, 16384)]
    other = [dmp_seg(offset=8192)]

    def zoned():
        zoned_null()
        return one(segs=zsegs)()

    def linear():
        return one(segs=[linear_seg()])()

    def load_inactive(segs):
        def prepare():
            one()()
            load("fi0", segs)
        return prepare

    def reload(segs):
        return lambda _: (load("fi0", segs), resume("fi0"))

    def renames(_):
        rename("fi0", "fi2")
        rename("fi1", "fi0")
        rename("fi2", "fi1")
        load("fi0", other)
        resume("fi0")

    ops = [
        Op("insmod", lambda _: insmod(), prepare=lambda: module_loaded() and rmmod()),
        Op("create (one segment)", lambda _: create_table("fi0", [dmp_seg()])),
        Op("create (two segments)", lambda _: create_table("fi0", two)),
        Op("create (zoned)", lambda _: create_table("fi0", zsegs), prepare=zoned_null),
        Op("load", lambda _: load("fi0", other), prepare=one()),
        Op("reload and resume", reload(other), prepare=one()),
        Op("reload two segments and resume", reload(two), prepare=one()),
        Op("reload zoned and resume", reload(zsegs), prepare=zoned),
        Op("reload to linear and resume", reload([linear_seg()]), prepare=one()),
        Op("reload from linear to dmp and resume", reload([dmp_seg()]), prepare=linear),
        Op("clear", lambda _: clear("fi0"), prepare=load_inactive(other)),
        Op("suspend and resume", lambda _: (suspend("fi0"), resume("fi0")), prepare=one()),
        Op("status and table", lambda _: (status("fi0"), status("fi0", table=True)),
           prepare=one()),
        Op("message reset", lambda _: message("fi0", "reset"), prepare=one()),
        Op("message slow_threshold", lambda _: message("fi0", "slow_threshold 1000"),
           prepare=one()),
        Op("rename twice, then load and resume", renames,
           prepare=lambda: (one("fi0")(), one("fi1", [dmp_seg(offset=16384)])())),
        Op("zone report", lambda d: report_zones("/dev/" + os.path.basename(d)),
           prepare=zoned),
        Op("remove", lambda _: remove("fi0"), prepare=one()),
        Op("remove (two segments, and an inactive table)", lambda _: remove("fi0"),
           prepare=load_inactive(two)),
        Op("rmmod", lambda _: rmmod(), prepare=lambda: module_loaded() or insmod()),
    ]
    # Every sysfs file, module-wide and a device's: reads, and writes of the writable.
    for f in sorted(os.listdir(SYSFS)):
        p = f"{SYSFS}/{f}"
        if os.path.isfile(p) and os.stat(p).st_mode & 0o444:
            ops.append(Op(f"read {f}", lambda _, p=p: sysfs_read(p), prepare=one(), keep=True))
    ops.append(Op("write reset", lambda _: sysfs_write(f"{SYSFS}/reset", "1"), prepare=one(),
                  keep=True))
    d = one()()
    files = sorted(f for f in os.listdir(d) if os.stat(f"{d}/{f}").st_mode & 0o444)
    teardown()
    for f in files:
        ops.append(Op(f"read block/dm-N/{f}", lambda d, f=f: sysfs_read(f"{d}/{f}"),
                      prepare=one(), keep=True))
    ops.append(Op("write block/dm-N/reset", lambda d: sysfs_write(f"{d}/reset", "1"),
                  prepare=one(), keep=True))
    ops.append(Op("write block/dm-N/slow_threshold_us",
                  lambda d: sysfs_write(f"{d}/slow_threshold_us", "1000\n"), prepare=one(),
                  keep=True))
    ops.append(Op("read devices/fi0/read_reqs",
                  lambda _: sysfs_read(f"{SYSFS}/devices/fi0/read_reqs"), prepare=one(),
                  keep=True))
    if lv:
        ops.append(Op(f"dmpctl attach {lv}", lambda _: dmpctl_run("attach", lv),
                      prepare=lambda: lv_state(lv, "linear"),
                      after=lambda ok: lv_check(lv, "dmp" if ok else None)))
        ops.append(Op(f"dmpctl detach {lv}", lambda _: dmpctl_run("detach", lv),
                      prepare=lambda: lv_state(lv, "dmp"),
                      after=lambda ok: lv_check(lv, "linear" if ok else None)))
    return ops


def dmpctl_run(action, lv):
    """dmpctl ACTION LV, in this process (so that its ioctls are armed); raises OSError
    with dmpctl's last message if it does not exit 0."""
    out = io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = out
    try:
        rc = dmpctl.main([action, lv])
    finally:
        sys.stdout, sys.stderr = saved
    if rc != dmpctl.EXIT_DONE:
        last = (out.getvalue().strip().splitlines() or [""])[-1]
        raise OSError(f"dmpctl {action} {lv} exited {rc}: {last}")


def lv_dm(lv):
    vg, name = lv.split("/")
    return dmpctl.lvm_dm_name(vg, name)


def lv_types(lv):
    return sorted(set(targets(lv_dm(lv))))


def lv_state(lv, want):
    """The LV's table is all WANT (linear or dmp), resumed: dmpctl makes it so."""
    n = lv_dm(lv)
    if flags(n) & dmpctl.DM_SUSPEND_FLAG:
        resume(n)
    if lv_types(lv) != [want]:
        dmpctl_run("attach" if want == "dmp" else "detach", lv)


def lv_check(lv, want):
    """After a try: the LV is resumed, its table all linear or all dmp (attach and detach
    are all or nothing), and its mounted file system takes a synchronous write."""
    bad = []
    n = lv_dm(lv)
    if flags(n) & dmpctl.DM_SUSPEND_FLAG:
        bad.append(f"{n} is left suspended")
        resume(n)
    t = lv_types(lv)
    if t not in (["linear"], ["dmp"]):
        bad.append(f"{n}'s table is half changed: {t}")
    if want and t != [want]:
        bad.append(f"dmpctl succeeded but {n}'s table is {t}, not {want}")
    path = os.path.join(os.environ["FI_MOUNT"], "probe")
    with open(path, "w") as f:
        f.write(str(time.time()))
        f.flush()
        os.fsync(f.fileno())
    return bad


def kmsg(text):
    with open("/dev/kmsg", "w") as f:
        f.write(f"dmp-test: {text}\n")


def text_range(pred):
    """[start, end) of the text symbols in /proc/kallsyms that PRED takes (name, module):
    from the first one's address to the address of the next symbol after the last."""
    syms = []
    with open("/proc/kallsyms") as f:
        for line in f:
            parts = line.split()
            syms.append((int(parts[0], 16), parts[1], parts[2],
                         parts[3].strip("[]") if len(parts) > 3 else ""))
    syms.sort()
    hit = [i for i, (_, t, name, mod) in enumerate(syms) if t in "tT" and pred(name, mod)]
    if not hit:
        raise RuntimeError("no such symbols in /proc/kallsyms")
    last = hit[-1]
    end = next((a for a, *_ in syms[last + 1:] if a > syms[last][0]), syms[last][0] + 0x2000)
    return syms[hit[0]][0], end


FAULT_KINDS = ("failslab", "fail_page_alloc")
REJECT = None
SCOPE = [None]          # the scope set: "all", "init", or dmp's .text address


def set_scope(require):
    """Fault points only where the stack passes through REQUIRE ([start, end), or None for
    anywhere), and never inside the tracing core's registration and removal of a module's
    trace events: there an allocation failure trips the kernel's own WARN_ON_ONCE
    (event_define_fields) and then a refcount warning at unload (event_file_put), a
    kernel bug that is not dmp's (dmp's events are registered like any module's)."""
    global REJECT
    if REJECT is None:
        REJECT = text_range(lambda name, mod: name == "trace_module_notify" and not mod)
    reject = REJECT
    for kind in FAULT_KINDS:
        values = {"stacktrace-depth": "32", "reject-start": str(reject[0]),
                  "reject-end": str(reject[1]),
                  "require-start": str(require[0] if require else 0),
                  "require-end": str(require[1] if require else (1 << 64) - 1)}
        for k, v in values.items():
            with open(f"{DEBUGFS}/{kind}/{k}", "w") as f:
                f.write(v)


def dmp_text():
    """dmp.ko's text while it is loaded (its symbols' range in /proc/kallsyms)."""
    return text_range(lambda name, mod: mod == "dmp")


def scope(everywhere, loading):
    """The fault points of the next try: all (EVERYWHERE); for LOADING (insmod) those
    from the module's initialisation on (do_init_module, which calls dmp's init: the
    loader's own work before it runs no dmp code); otherwise those through dmp's code,
    wherever it was loaded this time."""
    if everywhere:
        want = "all"
    elif loading or not module_loaded():
        want = "init"
    else:
        want = read_file("/sys/module/dmp/sections/.text").strip()
    if want != SCOPE[0]:
        SCOPE[0] = want
        if want == "all":
            set_scope(None)
        elif want == "init":
            set_scope(text_range(lambda name, mod: name == "do_init_module" and not mod))
        else:
            set_scope(dmp_text())


def setup_debugfs():
    """Fail sleeping allocations too (fail-nth obeys these per-kind filters), order-0 pages
    too; and print nothing when a fault is injected: the log check stays meaningful."""
    for kind, values in (("failslab", {"ignore-gfp-wait": "N", "verbose": "0"}),
                         ("fail_page_alloc", {"ignore-gfp-wait": "N", "min-order": "0",
                                              "verbose": "0"}),
                         ("fail_make_request", {"verbose": "0"})):
        for k, v in values.items():
            with open(f"{DEBUGFS}/{kind}/{k}", "w") as f:
                f.write(v)
    kunit_filter("dmp_no_suite")


def kunit_filter(glob):
    """dmp.ko's KUnit suites ran when tests/debug-run loaded it; the insmod operation
    should not run them again at every try ("*.*" runs all again)."""
    with open("/sys/module/kunit/parameters/filter_glob", "w") as f:
        f.write(glob)


def main():
    global FAULTS, CTL
    # --once: every operation once, without faults (the driver's own test, on any kernel)
    once = sys.argv[1:2] == ["--once"]
    only = sys.argv[2:] if once else sys.argv[1:]
    if not once:
        setup_debugfs()
        FAULTS = Faults()
    CTL = dmpctl.Control()
    log = KernelLog()
    lv = os.environ.get("FI_LV")
    if not module_loaded():
        insmod()
    ops = operations(lv)
    if only:
        ops = [o for o in ops if any(s in o.name for s in only)]
    total_points = problems = 0
    start = time.monotonic()
    # FI_SCOPE=dmp (the default): only fault points whose stack passes through dmp's code
    # count; FI_SCOPE=all: every fault point in the operation's system calls.
    everywhere = os.environ.get("FI_SCOPE", "dmp") == "all"
    if not once:
        kmsg("fault injection on")
    try:
        for op in ops:
            op_start, n, op_problems = time.monotonic(), 0, []

            while True:
                n += 1
                FAULTS.stop()
                if not op.keep or n == 1:
                    teardown(load=op.name not in ("insmod", "rmmod"))
                    ctx = op.prepare() if op.prepare else None
                    refcnt = read_file("/sys/module/dmp/refcnt") if module_loaded() else None
                if not once:
                    scope(everywhere, op.name == "insmod")
                FAULTS.start(n)
                err = None
                try:
                    op.run(ctx)
                except (OSError, MemoryError) as e:
                    err = e
                injected = FAULTS.injected
                FAULTS.stop()
                found = []
                if err is not None and not injected:
                    found.append(f"failed without an injected fault: {err}")
                if op.after:
                    found += op.after(err is None)
                if op.keep and n > 1 and injected:
                    now = read_file("/sys/module/dmp/refcnt") if module_loaded() else None
                    if now != refcnt:
                        found.append(f"dmp's use count went from {refcnt} to {now}")
                    if ctx and not os.path.isdir(ctx):
                        found.append(f"{ctx} is gone")
                else:
                    found += consistent()
                found += [f"kernel log: {l}" for l in log.complaints()]
                if found:
                    op_problems.append((n, err, found))
                if not injected:
                    break
            # The try that reached no fault point is the operation done: the device works.
            if op.name.startswith("create"):
                op_problems += [(n, None, [p]) for p in io_counts("fi0")]
            points = n - 1
            total_points += points
            problems += len(op_problems)
            print(f"    {op.name}: {points} fault points, {len(op_problems)} problems "
                  f"({time.monotonic() - op_start:.1f} s)", flush=True)
            for tn, err, found in op_problems[:5]:
                print(f"      fault point {tn} ({err or 'succeeded'}):", flush=True)
                for p in found[:30]:
                    print(f"        {p}", flush=True)
    finally:
        # Also if the driver fails: the log checks leave out allocation reports only
        # between the markers.
        FAULTS.stop()
        if not once:
            kunit_filter("*.*")
            set_scope(None)
            kmsg("fault injection off")
    teardown()
    if module_loaded():
        found = consistent()
        if found:
            problems += 1
            print("    at the end:", *found, sep="\n      ")
    print(f"    ({time.monotonic() - start:.0f} s)")
    print(f"fault injection: {len(ops)} operations, {total_points} fault points, "
          f"{problems} problems", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
