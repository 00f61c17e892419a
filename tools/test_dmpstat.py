# SPDX-License-Identifier: GPL-2.0
"""Unit tests of dmpstat's pure logic: parsing, percentiles, rates, Prometheus output.
Run: python3 -m unittest discover -s tools -p 'test_*.py'"""

import importlib.machinery
import importlib.util
import json
import os
import tempfile
import unittest

_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dmpstat")
_loader = importlib.machinery.SourceFileLoader("dmpstat", _path)
_spec = importlib.util.spec_from_loader("dmpstat", _loader)
dmpstat = importlib.util.module_from_spec(_spec)
_loader.exec_module(dmpstat)

LAT_BOUNDS = " ".join(str(1000 << i) for i in range(26)) + " +Inf"
SIZE_BOUNDS = " ".join(str(512 << i) for i in range(14)) + " +Inf"


def make_device(root, d, name, minor, stat, lat_read=None, size_read=None, uuid=""):
    p = os.path.join(root, "block", d)
    os.makedirs(p, exist_ok=True)
    files = {"name": name, "kname": f"dm-{minor}", "dev": f"254:{minor}", "stat": stat,
             "uuid": uuid}
    lat = lat_read or [0] * 27
    files["latency_histogram"] = "le_ns " + LAT_BOUNDS + "\n" + "\n".join(
        f"{c} {lat[-1] if c == 'read' else 0} {123 if c == 'read' else 0} "
        + " ".join(str(x if c == "read" else 0) for x in lat)
        for c in dmpstat.CLASSES) + "\n"
    sz = size_read or [0] * 15
    files["size_histogram"] = ("le_bytes " + SIZE_BOUNDS + "\n"
                               + f"read {sz[-1]} {sz[-1] * 4096} " + " ".join(map(str, sz)) + "\n"
                               + "write 0 0 " + " ".join(["0"] * 15) + "\n")
    for k, v in files.items():
        with open(os.path.join(p, k), "w") as f:
            f.write(v + ("" if v.endswith("\n") else "\n"))


def stat_line(reads=0, rbytes=0, ioerr=0, lat=0, writes=0, in_flight=0, zone=0, zlat=0,
              slow=0):
    v = [0] * 34
    v[0:5] = [reads, rbytes, ioerr, 0, lat]
    v[5] = writes
    v[27] = in_flight
    v[28:33] = [zone, 0, 0, 0, zlat]
    v[33] = slow
    return " ".join(map(str, v))


class Quantiles(unittest.TestCase):
    def test_linear_within_bucket(self):
        h = dmpstat.Histogram([1, 2, 4, None], [0, 10, 10, 10], 10, 15)
        self.assertAlmostEqual(h.quantile(0.5), 1.5)
        self.assertAlmostEqual(h.quantile(0.99), 1.99)

    def test_first_bucket_starts_at_zero(self):
        h = dmpstat.Histogram([1, 2, None], [4, 4, 4], 4, 2)
        self.assertAlmostEqual(h.quantile(0.5), 0.5)

    def test_inf_bucket_gives_highest_finite_bound(self):
        h = dmpstat.Histogram([1, 2, None], [0, 0, 3], 3, 100)
        self.assertEqual(h.quantile(0.5), 2.0)

    def test_empty(self):
        self.assertIsNone(dmpstat.Histogram([1, None], [0, 0], 0, 0).quantile(0.5))

    def test_minus(self):
        a = dmpstat.Histogram([1, None], [5, 9], 9, 90)
        b = dmpstat.Histogram([1, None], [2, 3], 3, 30)
        d = a.minus(b)
        self.assertEqual((d.cumulative, d.count, d.sum), ([3, 6], 6, 60))


class Parsing(unittest.TestCase):
    def test_stat(self):
        s = dmpstat.parse_stat(stat_line(reads=3, rbytes=12288, in_flight=2, zone=4, zlat=900))
        self.assertEqual(s["read"]["reqs"], 3)
        self.assertEqual(s["read"]["bytes"], 12288)
        self.assertEqual(s["in_flight"], 2)
        # The zone class follows fua_writes preflush_writes in_flight.
        self.assertEqual((s["zone"]["reqs"], s["zone"]["latency_ns"]), (4, 900))
        self.assertEqual(s["write_zeroes"]["latency_ns"], 0)
        with self.assertRaises(ValueError):
            dmpstat.parse_stat("1 2 3")
        # slow_reqs is field 34; a 2.2 module's 33 fields read as none recorded.
        self.assertEqual(dmpstat.parse_stat(stat_line(slow=7))["slow"], 7)
        old = " ".join(stat_line(zone=4).split()[:33])
        self.assertEqual((dmpstat.parse_stat(old)["slow"], dmpstat.parse_stat(old)["zone"]["reqs"]),
                         (0, 4))

    def test_slow_requests(self):
        text = ("1764745600.012345678 read SYNC,META 8 2056 4096 20000000 0 3 1 7\n"
                "1764745601.000000001 write - 16 2064 512 100 5 1 0 0\n")
        a, b = dmpstat.parse_slow(text)
        self.assertEqual((a["op"], a["flags"], a["sector"], a["dev_sector"], a["cpu"], a["seq"]),
                         ("read", ["SYNC", "META"], 8, 2056, 1, 7))
        self.assertEqual((a["time_ns"], a["latency_ns"], a["in_flight"]),
                         (1764745600012345678, 20000000, 3))
        self.assertEqual((b["flags"], b["error"], b["bytes"]), ([], 5, 512))
        self.assertAlmostEqual(b["time"], 1764745601.0)
        with self.assertRaises(ValueError):
            dmpstat.parse_slow("1 read - 8\n")
        with tempfile.TemporaryDirectory() as root:
            make_device(root, "dm-3", "slowdev", 3, stat_line(slow=2))
            with open(os.path.join(root, "block", "dm-3", "slow_requests"), "w") as f:
                f.write(text)
            recs = dmpstat.slow_records(root, set())["dm-3"][1]
            self.assertEqual([r["device"] for r in recs], ["slowdev", "slowdev"])
            line = dmpstat.slow_line(recs[1])
            self.assertIn(" EIO ", line)
            j = json.loads(dmpstat.json_record(recs[0]))
            for k in ["device", "op", "flags", "sector", "dev_sector", "bytes", "latency_ns",
                      "error", "in_flight", "cpu", "time"]:
                self.assertIn(k, j)
            self.assertEqual(dmpstat.slow_records(root, {"other"}), {})

    def test_histograms(self):
        h = dmpstat.parse_histograms("le_ns 1 2 +Inf\nread 3 10 1 2 3\n")
        self.assertEqual(h["read"].bounds, [1, 2, None])
        self.assertEqual(h["read"].cumulative, [1, 2, 3])
        with self.assertRaises(ValueError):
            dmpstat.parse_histograms("le_ns 1 +Inf\nread 3 10 1 2 3\n")


class Devices(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_rates_over_an_interval(self):
        make_device(self.root, "a", "a", 1, stat_line(reads=10, rbytes=40960, lat=10_000_000))
        old = dmpstat.sample_all(self.root, set(), 100.0)
        lat = [0] * 15 + [20] * 12  # 20 reads, all between 16.4 and 32.8 ms
        make_device(self.root, "a", "a", 1, stat_line(reads=30, rbytes=122880,
                                                      lat=10_000_000 + 20 * 25_000_000),
                    lat_read=lat)
        new = dmpstat.sample_all(self.root, set(), 102.0)
        old["254:1"].latency["read"] = dmpstat.Histogram(
            new["254:1"].latency["read"].bounds, [0] * 27, 0, 0)
        r = dmpstat.rows(new["254:1"], old["254:1"])[0]
        self.assertEqual(r[:3], ["a", "dm-1", "read"])
        self.assertEqual(r[3], "10.0")      # 20 reads in 2 s
        self.assertEqual(r[4], "0.04")      # 81920 B in 2 s
        self.assertEqual(r[5], "4.0")       # KiB per read
        self.assertEqual(r[6], "25.000")    # mean latency, ms
        self.assertTrue(16.384 <= float(r[7]) <= 32.768)

    def test_reset_between_samples_counts_from_the_reset(self):
        make_device(self.root, "a", "a", 1, stat_line(reads=100))
        old = dmpstat.sample_all(self.root, set(), 0.0)
        make_device(self.root, "a", "a", 1, stat_line(reads=4))
        new = dmpstat.sample_all(self.root, set(), 1.0)
        self.assertEqual(dmpstat.rows(new["254:1"], old["254:1"])[0][3], "4.0")

    def test_filter_and_vanishing_devices(self):
        make_device(self.root, "a", "a", 1, stat_line())
        make_device(self.root, "b", "b", 2, stat_line())
        os.makedirs(os.path.join(self.root, "block", "gone"))  # removed mid-read
        self.assertEqual(sorted(dmpstat.sample_all(self.root, set(), 0)), ["254:1", "254:2"])
        self.assertEqual(list(dmpstat.sample_all(self.root, {"b"}, 0)), ["254:2"])
        self.assertEqual(dmpstat.sample_all(os.path.join(self.root, "nope"), set(), 0), {})

    def test_prometheus(self):
        lat = [0] * 10 + [5] * 17
        make_device(self.root, "a", 'we"ird', 3,
                    stat_line(reads=5, rbytes=20480, ioerr=1, in_flight=1, zone=2),
                    lat_read=lat, size_read=[0, 0, 0] + [5] * 12, uuid="LVM-abc")
        text = dmpstat.prometheus(dmpstat.sample_all(self.root, set(), 0))
        lines = text.splitlines()
        self.assertIn("# TYPE dmp_requests_total counter", lines)
        self.assertIn("# TYPE dmp_latency_seconds histogram", lines)
        self.assertIn("# TYPE dmp_in_flight gauge", lines)
        self.assertFalse(any("dmp_completed_total" in ln for ln in lines))
        lab = 'device="we\\"ird",dm="dm-3"'
        self.assertIn(f'dmp_requests_total{{{lab},op="read"}} 5', lines)
        self.assertIn("# TYPE dmp_device_info gauge", lines)
        self.assertIn(f'dmp_device_info{{{lab},uuid="LVM-abc"}} 1', lines)
        self.assertIn(f'dmp_errors_total{{{lab},op="read",kind="io"}} 1', lines)
        self.assertIn(f'dmp_requests_total{{{lab},op="zone"}} 2', lines)
        self.assertIn(f'dmp_bytes_total{{{lab},op="zone"}} 0', lines)
        self.assertIn(f'dmp_latency_seconds_count{{{lab},op="zone"}} 0', lines)
        self.assertFalse(any('dmp_request_size_bytes_count' in ln and 'op="zone"' in ln
                             for ln in lines))
        self.assertIn(f'dmp_latency_seconds_bucket{{{lab},op="read",le="1e-06"}} 0', lines)
        self.assertIn(f'dmp_latency_seconds_bucket{{{lab},op="read",le="0.001024"}} 5', lines)
        self.assertIn(f'dmp_latency_seconds_bucket{{{lab},op="read",le="+Inf"}} 5', lines)
        self.assertIn(f'dmp_latency_seconds_count{{{lab},op="read"}} 5', lines)
        self.assertIn(f'dmp_latency_seconds_sum{{{lab},op="read"}} 1.23e-07', lines)
        self.assertIn(f'dmp_request_size_bytes_bucket{{{lab},op="read",le="4096"}} 5', lines)
        self.assertIn(f'dmp_request_size_bytes_bucket{{{lab},op="read",le="4194304"}} 5', lines)
        for ln in lines:
            if ln.startswith("# TYPE") and ln.endswith(" counter"):
                self.assertTrue(ln.split()[2].endswith("_total"), ln)


if __name__ == "__main__":
    unittest.main()
