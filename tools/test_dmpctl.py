# SPDX-License-Identifier: GPL-2.0
"""Unit tests of dmpctl's pure logic: tables, LVM names, attach.conf, the ioctl layout.
Run: python3 -m unittest discover -s tools -p 'test_*.py'"""

import importlib.machinery
import importlib.util
import os
import struct
import unittest

_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dmpctl")
_loader = importlib.machinery.SourceFileLoader("dmpctl", _path)
_spec = importlib.util.spec_from_loader("dmpctl", _loader)
dmpctl = importlib.util.module_from_spec(_spec)
_loader.exec_module(dmpctl)

LV = "0 65536 linear 7:0 2048\n65536 65536 linear 7:1 2048\n"


class Tables(unittest.TestCase):
    def test_parse(self):
        segs = dmpctl.parse_table(LV)
        self.assertEqual([s.line() for s in segs], LV.splitlines())
        self.assertEqual((segs[1].start, segs[1].length, segs[1].type, segs[1].params),
                         (65536, 65536, "linear", "7:1 2048"))
        self.assertEqual(dmpctl.parse_table(""), [])
        with self.assertRaises(ValueError):
            dmpctl.parse_table("0 8")

    def test_attach_and_detach_are_inverse(self):
        live = dmpctl.parse_table(LV)
        attached = dmpctl.convert(live, "linear", "dmp")
        self.assertEqual([s.type for s in attached], ["dmp", "dmp"])
        self.assertEqual([(s.start, s.length, s.params) for s in attached],
                         [(s.start, s.length, s.params) for s in live])
        self.assertEqual(dmpctl.convert(attached, "dmp", "linear"), live)
        # Attaching an attached table changes nothing.
        self.assertEqual(dmpctl.convert(attached, "linear", "dmp"), attached)

    def test_other_targets_are_refused_by_name(self):
        live = dmpctl.parse_table(LV + "131072 8192 striped 2 128 7:0 0 7:1 0\n")
        with self.assertRaises(dmpctl.Refused) as c:
            dmpctl.convert(live, "linear", "dmp")
        self.assertIn("segment 3 of 3 (sectors 131072+8192) is striped", str(c.exception))
        for t in ("crypt", "thin", "thin-pool", "zero", "error"):
            with self.assertRaises(dmpctl.Refused) as c:
                dmpctl.convert(dmpctl.parse_table(f"0 8 {t} x"), "linear", "dmp")
            self.assertIn(f"is {t}, not linear", str(c.exception))


class Names(unittest.TestCase):
    def test_split(self):
        self.assertEqual(dmpctl.split_lvm_name("vg-lv"), ("vg", "lv", ""))
        self.assertEqual(dmpctl.split_lvm_name("my--vg-my--lv"), ("my-vg", "my-lv", ""))
        self.assertEqual(dmpctl.split_lvm_name("vg-pool_tdata"), ("vg", "pool_tdata", ""))
        self.assertEqual(dmpctl.split_lvm_name("vg-lv-real"), ("vg", "lv", "real"))
        self.assertIsNone(dmpctl.split_lvm_name("plain"))
        self.assertIsNone(dmpctl.split_lvm_name("-lv"))

    def test_dm_name(self):
        self.assertEqual(dmpctl.lvm_dm_name("my-vg", "my-lv"), "my--vg-my--lv")
        for vg, lv in (("a", "b"), ("a-b", "c--d"), ("x", "y-")):
            self.assertEqual(dmpctl.split_lvm_name(dmpctl.lvm_dm_name(vg, lv))[:2], (vg, lv))


class Config(unittest.TestCase):
    def test_entries(self):
        text = ("# volumes to keep attached\n\nvg0/root\n  vg0-home  # by dm name\n"
                "uuid=LVM-abc\n/dev/vg1/data\n")
        self.assertEqual(dmpctl.parse_config(text), [
            ("vglv", "vg0/root"), ("name", "vg0-home"), ("uuid", "LVM-abc"),
            ("path", "/dev/vg1/data")])

    def test_bad_lines(self):
        for bad in ("vg0/root vg0/home", "/lv", "vg/", "a/b/c"):
            with self.assertRaises(ValueError):
                dmpctl.parse_config(bad)

    def test_matching(self):
        class Dev:
            def __init__(self, kname, name, uuid):
                self.kname, self.name, self.uuid = kname, name, uuid
        devs = [Dev("dm-0", "vg0-root", "LVM-a"), Dev("dm-1", "my--vg-lv", "LVM-b"),
                Dev("dm-2", "plain", "")]
        entries = [("vglv", "my-vg/lv"), ("uuid", "LVM-a"), ("name", "plain"),
                   ("vglv", "vg0/absent")]
        found = [d.kname if d else None for _, d in dmpctl.config_devices(entries, devs)]
        self.assertEqual(found, ["dm-1", "dm-0", "dm-2", None])


class Ioctl(unittest.TestCase):
    def test_layout(self):
        # struct dm_ioctl and struct dm_target_spec of <linux/dm-ioctl.h>
        self.assertEqual(dmpctl.DM_IOCTL_SIZE, 312)
        self.assertEqual(dmpctl.DM_SPEC_SIZE, 40)
        # DM_TABLE_LOAD is _IOWR(0xfd, 9, struct dm_ioctl), as libdevmapper uses it.
        self.assertEqual(dmpctl.dm_cmd(9), 0xC138FD09)
        self.assertEqual(dmpctl.dm_cmd(6), 0xC138FD06)
        hdr = struct.pack(dmpctl.DM_IOCTL_FMT, 4, 0, 0, 312, 312, 0, 0, 0, 0, 0, 0, b"", b"")
        self.assertEqual(len(hdr), 312)


if __name__ == "__main__":
    unittest.main()
