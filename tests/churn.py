#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Seeded random operation sequences from several processes at once (tests/inject.sh).

    churn.py [--seed S] [--procs P] [--steps N] [--seconds T]

Process i (of P, default 3) draws its operations from random.Random(f"{S}-{i}"): the
same seed replays the same sequence of operations per process (their interleaving, and
so some outcomes, are the scheduler's). Each process owns two devices: "c<i>a", with fio
reading and writing it the whole run, and "c<i>b", without I/O; each has two names it is
renamed between; a table is dmp or linear, at even odds. The operations: create, load (dmp or linear), resume, suspend, reload
to linear and back, rename, remove, the messages (reset, slow_threshold, a bad one),
reads of sysfs files (the device's and the module-wide), writes of reset and
slow_threshold_us, the module's reload (rmmod, which succeeds only when no table holds a
dmp target, then insmod) and, for process 0 with CHURN_LV=VG/LV, dmpctl attach and detach
of that volume. Most fail now and then (a device that does not exist, one that is open, a table
that is not there): that is expected; what is checked after every step of a process,
for its own devices:
  - a device with a dmp target in a table has its statistics directory, and that
    directory is its own (dev and name); one without has none;
  - counters never go backwards, except across a reset, or when the directory was
    removed (the last dmp table went) and made again;
  - in_flight is never negative (it is unsigned: never above 2^63), and is 0 once a
    suspend of a dmp table returned;
  - the kernel log has no complaint (KERNEL_COMPLAINTS).
At the end every process stops its I/O and checks in_flight is 0 on its devices, removes
them, and the parent checks dmp holds no reference and no directory. The first line is
the seed; the last, "churn: seed S, P processes, N steps, R module reloads, K problems".
"""

import argparse
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inject as fi  # noqa: E402  (tests/inject.py: device-mapper by ioctl, sysfs checks)
from inject import SYSFS, dmpctl  # noqa: E402

STAT_FIELDS = 34
IN_FLIGHT = 27      # 0-based index in stat
SLOTS = ("a", "b")
DEV_FILES = ("read_reqs", "write_reqs", "total_reqs", "avg_size", "stat", "latency_histogram",
             "size_histogram", "slow_requests", "slow_reqs", "name", "uuid", "dev",
             "slow_threshold_us")
MOD_FILES = ("read_reqs", "write_reqs", "total_reqs", "avg_read_size", "avg_write_size",
             "avg_size", "stat", "latency_histogram", "size_histogram", "slow_reqs")


class Device:
    def __init__(self, proc, slot):
        self.names = (f"c{proc}{slot}", f"c{proc}{slot}r")
        self.name = self.names[0]
        self.offset = {"a": 0, "b": 16384}[slot] + 32768 * proc
        self.last = None        # the last stat seen, None: no baseline

    def table(self, kind, shift=0):
        return [fi.seg(0, 8192, kind, f"{fi.RAM} {self.offset + shift}")]


class Proc:
    def __init__(self, i, seed, lv):
        self.i, self.rng, self.lv = i, random.Random(f"{seed}-{i}"), lv
        self.devs = [Device(i, s) for s in SLOTS]
        self.log = fi.KernelLog()
        self.history, self.problems, self.reloads, self.fio = [], 0, 0, None
        self.tally = {}         # op: [tries, successes]
        self.errors = {}        # op: {error: count}

    def exists(self, d):
        return d.name in fi.devices()

    def kn(self, d):
        return fi.kname(d.name)

    def types(self, d):
        return fi.targets(d.name) + fi.targets(d.name, inactive=True)

    def stat(self, d):
        with open(f"{SYSFS}/block/{self.kn(d)}/stat") as f:
            return [int(x) for x in f.read().split()]

    # The operations. Each returns or raises OSError (KeyError: the device is not there);
    # one that resets the device's statistics first sets d.last to None.
    def op_create(self, d):
        fi.create_table(d.name, d.table(self.rng.choice(["dmp", "linear"])))

    def op_load(self, d):
        fi.load(d.name, d.table(self.rng.choice(["dmp", "linear"]), self.rng.choice([0, 8192])))

    def op_resume(self, d):
        fi.resume(d.name)

    def op_suspend(self, d):
        fi.suspend(d.name)
        if "dmp" in fi.targets(d.name):
            s = self.stat(d)
            if s[IN_FLIGHT] != 0:
                self.problem(f"{d.name}: in_flight {s[IN_FLIGHT]} after a suspend returned")

    def op_reload(self, d):
        fi.load(d.name, d.table(self.rng.choice(["dmp", "linear"])))
        fi.resume(d.name)

    def op_rename(self, d):
        new = d.names[1] if d.name == d.names[0] else d.names[0]
        fi.rename(d.name, new)
        d.name = new

    def op_remove(self, d):
        d.last = None
        fi.remove(d.name)

    def op_clear(self, d):
        fi.clear(d.name)

    def op_message(self, d):
        m = self.rng.choice(["reset", "slow_threshold 100", "slow_threshold 0", "no_such"])
        if m == "reset":
            d.last = None
        try:
            fi.message(d.name, m)
        except OSError:
            if m != "no_such":
                raise

    def op_read(self, d):
        if self.rng.random() < 0.3:
            fi.sysfs_read(f"{SYSFS}/{self.rng.choice(MOD_FILES)}")
        else:
            fi.sysfs_read(f"{SYSFS}/block/{self.kn(d)}/{self.rng.choice(DEV_FILES)}")

    def op_write(self, d):
        kn = self.kn(d)
        if self.rng.random() < 0.5:
            d.last = None
            fi.sysfs_write(f"{SYSFS}/block/{kn}/reset", "1")
        else:
            fi.sysfs_write(f"{SYSFS}/block/{kn}/slow_threshold_us", str(self.rng.choice([0, 50, 1000])))

    def op_module(self, _d):
        fi.rmmod()
        try:
            fi.insmod()
        except OSError as e:
            # Another process's reload may have loaded it first.
            if not fi.module_loaded():
                raise OSError(e.errno, f"insmod after rmmod: {e.strerror}") from e
        self.reloads += 1

    def op_attach(self, _d):
        fi.dmpctl_run(self.rng.choice(["attach", "detach"]), self.lv)

    OPS = [("create", 8), ("load", 6), ("resume", 8), ("suspend", 3), ("reload", 8),
           ("rename", 5), ("remove", 4), ("clear", 2), ("message", 5), ("read", 12),
           ("write", 4), ("module", 2), ("attach", 2)]

    def problem(self, text):
        self.problems += 1
        print(f"[p{self.i}] PROBLEM after {' '.join(self.history[-1:])}: {text}", flush=True)
        for h in self.history[-12:-1]:
            print(f"[p{self.i}]   earlier: {h}", flush=True)

    def check(self):
        devs = fi.devices()
        for d in self.devs:
            if d.name not in devs:
                d.last = None
                continue
            dev = devs[d.name]
            kn = f"dm-{os.minor(dev)}"
            has = "dmp" in self.types(d)
            here = os.path.isdir(f"{SYSFS}/block/{kn}")
            if has != here:
                self.problem(f"{d.name} ({kn}): dmp in a table {has}, statistics directory {here}")
                continue
            if not has:
                d.last = None
                continue
            with open(f"{SYSFS}/block/{kn}/dev") as f:
                got = f.read().strip()
            if got != f"{os.major(dev)}:{os.minor(dev)}":
                self.problem(f"{d.name}: {kn}/dev is {got}")
            with open(f"{SYSFS}/block/{kn}/name") as f:
                got = f.read().strip()
            if got != d.name:
                self.problem(f"{d.name}: {kn}/name is {got}")
            s = self.stat(d)
            if len(s) != STAT_FIELDS:
                self.problem(f"{d.name}: stat has {len(s)} fields")
            if s[IN_FLIGHT] >= 1 << 63:
                self.problem(f"{d.name}: in_flight is {s[IN_FLIGHT]} (negative)")
            if d.last is not None:
                back = [k + 1 for k in range(STAT_FIELDS) if k != IN_FLIGHT and s[k] < d.last[k]]
                if back:
                    self.problem(f"{d.name}: stat fields {back} went backwards: "
                                 f"{[d.last[k - 1] for k in back]} -> {[s[k - 1] for k in back]}")
            d.last = s
        for line in self.log.complaints():
            self.problem(f"kernel log: {line}")

    def start_io(self):
        d = self.devs[0]
        fi.create_table(d.name, d.table("dmp"))
        self.fio = subprocess.Popen(
            ["fio", "--name=churn", f"--filename=/dev/{self.kn(d)}", "--direct=1",
             "--rw=randrw", "--bs=4k", "--ioengine=psync", "--size=4M", "--time_based",
             "--runtime=86400", "--rate_iops=200", "--continue_on_error=all", "--eta=never",
             "--output=/dev/null"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # The sequence starts once fio holds the device open (then it cannot be removed).
        for _ in range(600):
            out, _ = fi.dm(dmpctl.DM_DEV_STATUS, d.name)
            if out[6] > 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"fio did not open {d.name} within 60 s")

    def run(self, steps, until):
        self.start_io()
        ops = [o for o in self.OPS if o[0] != "attach" or self.lv]
        weights = [w for _, w in ops]
        n = 0
        while n < steps and time.monotonic() < until:
            n += 1
            op = self.rng.choices(ops, weights)[0][0]
            d = self.rng.choice(self.devs)
            try:
                getattr(self, f"op_{op}")(d)
                result = "ok"
            except OSError as e:
                result = e.strerror or str(e)
            except KeyError:
                result = "no such device"
            self.history.append(f"{n}:{op} {d.name} -> {result}")
            t = self.tally.setdefault(op, [0, 0])
            t[0] += 1
            t[1] += result == "ok"
            if result != "ok":
                e = self.errors.setdefault(op, {})
                e[result] = e.get(result, 0) + 1
            self.check()
        self.finish()
        print(f"[p{self.i}] {n} steps, succeeded/tried: " +
              " ".join(f"{k} {v[1]}/{v[0]}" for k, v in sorted(self.tally.items())), flush=True)
        for op, errs in sorted(self.errors.items()):
            top = sorted(errs.items(), key=lambda kv: -kv[1])[:3]
            print(f"[p{self.i}]   {op} failed: " + "; ".join(f"{n} x {e}" for e, n in top),
                  flush=True)
        return n

    def finish(self):
        # Every device resumed (fio waits on a suspended one), then fio stopped.
        for d in self.devs:
            if self.exists(d) and fi.flags(d.name) & dmpctl.DM_SUSPEND_FLAG:
                fi.resume(d.name)
        if self.fio.poll() is not None:
            self.problem(f"fio on {self.devs[0].name} exited early ({self.fio.returncode})")
        self.fio.send_signal(signal.SIGINT)
        self.fio.wait()
        for d in self.devs:
            if self.exists(d) and "dmp" in fi.targets(d.name):
                s = self.stat(d)
                if s[IN_FLIGHT] != 0:
                    self.problem(f"{d.name}: in_flight {s[IN_FLIGHT]} after the I/O stopped")
            if self.exists(d):
                fi.remove(d.name)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--procs", type=int, default=3)
    p.add_argument("--steps", type=int, default=1 << 30)
    p.add_argument("--seconds", type=float, default=60)
    a = p.parse_args()
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 32)
    print(f"churn: seed {seed} (replay: tests/churn.py --seed {seed} --procs {a.procs})",
          flush=True)
    lv = os.environ.get("CHURN_LV")
    fi.CTL = dmpctl.Control()
    if not fi.module_loaded():
        fi.insmod()
    until = time.monotonic() + a.seconds
    kids = []
    for i in range(a.procs):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            fi.CTL = dmpctl.Control()
            proc = Proc(i, seed, lv if i == 0 else None)
            code = 1
            try:
                n = proc.run(a.steps, until)
                os.write(w, f"{n} {proc.reloads} {proc.problems}".encode())
                code = 0
            except Exception as e:  # noqa: BLE001 (a crash of the driver is a problem)
                print(f"[p{i}] the driver failed: {e!r}", flush=True)
                for h in proc.history[-12:]:
                    print(f"[p{i}]   earlier: {h}", flush=True)
            finally:
                os._exit(code)
        os.close(w)
        kids.append((pid, r))
    steps = reloads = problems = 0
    for pid, r in kids:
        out = os.read(r, 100).decode().split()
        _, status = os.waitpid(pid, 0)
        if status != 0 or len(out) != 3:
            problems += 1
            continue
        steps += int(out[0])
        reloads += int(out[1])
        problems += int(out[2])
    if lv:
        fi.lv_state(lv, "linear")
    if fi.module_loaded():
        bad = fi.consistent()
        if bad:
            problems += len(bad)
            print(*bad, sep="\n")
        refcnt = open("/sys/module/dmp/refcnt").read().strip()
        left = os.listdir(f"{SYSFS}/block")
        if refcnt != "0" or left:
            problems += 1
            print(f"after the run dmp holds {refcnt} references and directories {left}")
    print(f"churn: seed {seed}, {a.procs} processes, {steps} steps, {reloads} module reloads, "
          f"{problems} problems", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
