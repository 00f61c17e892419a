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

    def scrape(self):
        """{(sample name, frozenset of labels): value} and {family: type} of the text
        exposition, as prometheus_client's own parser reads it."""
        from prometheus_client import generate_latest
        from prometheus_client.parser import text_string_to_metric_families
        text = generate_latest(dmpstat.registry(self.root)).decode()
        values, types = {}, {}
        for fam in text_string_to_metric_families(text):
            types[fam.name] = fam.type
            for smp in fam.samples:
                values[(smp.name, frozenset(smp.labels.items()))] = smp.value
        return text, values, types

    def test_prometheus(self):
        lat = [0] * 10 + [5] * 17
        make_device(self.root, "a", 'we"ird', 3,
                    stat_line(reads=5, rbytes=20480, ioerr=1, in_flight=1, zone=2),
                    lat_read=lat, size_read=[0, 0, 0] + [5] * 12, uuid="CRYPT-abc")
        text, v, types = self.scrape()
        self.assertEqual(types["dmp_requests"], "counter")
        self.assertEqual(types["dmp_latency_seconds"], "histogram")
        self.assertEqual(types["dmp_in_flight"], "gauge")
        self.assertEqual(types["dmp_device_info"], "gauge")
        lab = {"device": 'we"ird', "dm": "dm-3", "uuid": "CRYPT-abc", "vg": "", "lv": ""}

        def at(name, **extra):
            return v[(name, frozenset({**lab, **extra}.items()))]
        self.assertEqual(at("dmp_requests_total", op="read"), 5)
        self.assertEqual(at("dmp_device_info"), 1)
        self.assertEqual(at("dmp_errors_total", op="read", kind="io"), 1)
        self.assertEqual(at("dmp_requests_total", op="zone"), 2)
        self.assertEqual(at("dmp_bytes_total", op="zone"), 0)
        self.assertEqual(at("dmp_in_flight"), 1)
        self.assertEqual(at("dmp_latency_seconds_count", op="zone"), 0)
        self.assertNotIn(("dmp_request_size_bytes_count",
                          frozenset({**lab, "op": "zone"}.items())), v)
        self.assertEqual(at("dmp_latency_seconds_bucket", op="read", le="1e-06"), 0)
        self.assertEqual(at("dmp_latency_seconds_bucket", op="read", le="0.001024"), 5)
        self.assertEqual(at("dmp_latency_seconds_bucket", op="read", le="+Inf"), 5)
        self.assertEqual(at("dmp_latency_seconds_count", op="read"), 5)
        self.assertAlmostEqual(at("dmp_latency_seconds_sum", op="read"), 1.23e-07)
        self.assertEqual(at("dmp_request_size_bytes_bucket", op="read", le="4096.0"), 5)
        self.assertEqual(at("dmp_request_size_bytes_bucket", op="read", le="4.194304e+06"), 5)
        self.assertIn('device="we\\"ird"', text)
        for ln in text.splitlines():
            if ln.startswith("# TYPE") and ln.endswith(" counter"):
                self.assertTrue(ln.split()[2].endswith("_total"), ln)

    def test_prometheus_lvm_labels(self):
        make_device(self.root, "dm-4", "my--vg-my--lv", 4, stat_line(), uuid="LVM-" + "x" * 64)
        make_device(self.root, "dm-5", "vg0-lv0-real", 5, stat_line(), uuid="LVM-" + "y" * 64 + "-real")
        make_device(self.root, "dm-6", "plain", 6, stat_line(), uuid="")
        _, v, _ = self.scrape()
        info = {dict(k[1])["dm"]: dict(k[1]) for k in v if k[0] == "dmp_device_info"}
        self.assertEqual((info["dm-4"]["vg"], info["dm-4"]["lv"]), ("my-vg", "my-lv"))
        self.assertEqual((info["dm-5"]["vg"], info["dm-5"]["lv"]), ("vg0", "lv0"))
        self.assertEqual((info["dm-6"]["vg"], info["dm-6"]["lv"]), ("", ""))

    def test_openmetrics_and_textfile(self):
        from prometheus_client.openmetrics.exposition import generate_latest as om
        make_device(self.root, "a", "a", 1, stat_line(reads=2))
        text = om(dmpstat.registry(self.root)).decode()
        self.assertTrue(text.endswith("# EOF\n"))
        self.assertIn("# UNIT dmp_latency_seconds seconds", text)
        out = os.path.join(self.root, "dmp.prom")
        self.assertEqual(dmpstat.main(["--sysfs", self.root, "--prometheus", "--output", out]), 0)
        with open(out) as f:
            self.assertIn('dmp_requests_total{device="a"', f.read())
        self.assertEqual(sorted(os.listdir(self.root)), ["block", "dmp.prom"])

    def test_listen(self):
        self.assertEqual(dmpstat.parse_listen("127.0.0.1:11063"), ("127.0.0.1", 11063))
        self.assertEqual(dmpstat.parse_listen("[::1]:80"), ("::1", 80))
        self.assertEqual(dmpstat.parse_listen(":9"), ("", 9))
        for bad in ["11063", "host:", "host:0", "host:65536", "host:x1"]:
            with self.assertRaises(ValueError):
                dmpstat.parse_listen(bad)


class Server(unittest.TestCase):
    """`dmpstat serve`'s HTTP server on loopback, over a fake sysfs tree."""

    def test_paths_and_formats(self):
        import threading
        import urllib.error
        import urllib.request
        with tempfile.TemporaryDirectory() as root:
            make_device(root, "dm-1", "a", 1, stat_line(reads=7))
            srv = dmpstat.metrics_server(root, "127.0.0.1", 0)
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            base = f"http://127.0.0.1:{srv.server_address[1]}"
            try:
                with urllib.request.urlopen(base + "/metrics") as r:
                    self.assertTrue(r.headers["Content-Type"].startswith("text/plain"))
                    self.assertIn("dmp_requests_total{", r.read().decode())
                req = urllib.request.Request(base + "/metrics", headers={
                    "Accept": "application/openmetrics-text; version=1.0.0"})
                with urllib.request.urlopen(req) as r:
                    self.assertTrue(r.headers["Content-Type"].startswith(
                        "application/openmetrics-text"))
                    self.assertTrue(r.read().decode().endswith("# EOF\n"))
                with self.assertRaises(urllib.error.HTTPError) as e:
                    urllib.request.urlopen(base + "/other")
                self.assertEqual(e.exception.code, 404)
                with urllib.request.urlopen(base + "/") as r:
                    self.assertIn(b'href="/metrics"', r.read())
            finally:
                srv.shutdown()
                srv.server_close()


if __name__ == "__main__":
    unittest.main()
