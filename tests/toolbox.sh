# SPDX-License-Identifier: GPL-2.0
# The operator's toolbox against the real things: `dmpstat serve` scraped by Debian's
# Prometheus, its exposition checked by promtool, `dmpstat --prometheus --output` read by
# Debian's node_exporter, the exporter under device churn, and `dmpstat top` under tmux.
# scripts/setup-toolbox installs them into the build root; a test whose tool is missing
# is skipped.

EXPORTER=127.0.0.1:11063
PROM=127.0.0.1:19090
NODE=127.0.0.1:19100

# need TOOL...: skip unless every TOOL is on the PATH
need() {
	local t
	for t in "$@"; do command -v "$t" >/dev/null || skip "$t is not installed (scripts/setup-toolbox)"; done
}

# on_exit CMD: run CMD when the test's subshell exits (variables it names must be global:
# the test function has returned by then), keeping the test's exit status
on_exit() { trap "rc=\$?; set +e; $1; exit \$rc" EXIT; }

# The guest's loopback interface, which nothing else brings up.
loopback_up() { ip link set lo up; }

# http_get URL [ACCEPT]: the body of URL (status 200 only), through Python's urllib
http_get() {
	python3 - "$@" <<'EOF'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Accept": sys.argv[2]} if len(sys.argv) > 2 else {})
with urllib.request.urlopen(req, timeout=10) as r:
    sys.stdout.write(r.read().decode())
EOF
}

# wait_http URL: until URL answers (at most 60 s)
wait_http() {
	local i
	for i in $(seq 300); do
		http_get "$1" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	fail "$1 did not answer in 60 s"
}

# start_exporter: `dmpstat serve` on $EXPORTER in the background, its log in
# /tmp/exporter.log; stopped when the test ends
start_exporter() {
	loopback_up
	tools/dmpstat serve --listen "$EXPORTER" 2>/tmp/exporter.log &
	EXPORTER_PID=$!
	on_exit 'kill $EXPORTER_PID ${PROM_PID:-} 2>/dev/null; wait $EXPORTER_PID ${PROM_PID:-} 2>/dev/null' 
	wait_http "http://$EXPORTER/metrics"
}

# promql EXPR: the result vector of an instant query, one "labels value" line per
# series, from the Prometheus server at $PROM
promql() {
	python3 - "$PROM" "$1" <<'EOF'
import json, sys, urllib.parse, urllib.request
url = f"http://{sys.argv[1]}/api/v1/query?" + urllib.parse.urlencode({"query": sys.argv[2]})
with urllib.request.urlopen(url, timeout=10) as r:
    res = json.load(r)
if res["status"] != "success":
    sys.exit(f"query failed: {res}")
for s in res["data"]["result"]:
    print(json.dumps(s["metric"], sort_keys=True, separators=(",", ":")), s["value"][1])
EOF
}

# A dm-delay device over /dev/ram1 whose reads take 50 ms and whose writes take none.
delay50() {
	dmsetup create "$1" --table "0 $RAMDISK_SECTORS delay /dev/ram1 0 50 /dev/ram1 0 0"
}

# Debian's Prometheus scrapes `dmpstat serve` every second: up is 1, the 99th percentile
# of dmp over dm-delay's 50 ms reads falls in the bucket that holds 50 ms, and every
# expression of the Grafana dashboard returns data.
test_prometheus_scrapes_the_exporter() {
	need prometheus
	delay50 slowdisk
	dmsetup create pv --uuid dmp-test-pv --table "0 $RAMDISK_SECTORS dmp /dev/mapper/slowdisk"
	start_exporter
	mkdir -p /tmp/prom
	cat >/tmp/prom/prometheus.yml <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: dmp
    static_configs:
      - targets: ["$EXPORTER"]
EOF
	prometheus --config.file=/tmp/prom/prometheus.yml --storage.tsdb.path=/tmp/prom/data \
		--web.listen-address="$PROM" --log.level=warn >/tmp/prom/log 2>&1 &
	PROM_PID=$!
	local i up=
	for i in $(seq 60); do
		up=$(promql 'up{job="dmp"}' 2>/dev/null | awk '{ print $2 }')
		[ "$up" = 1 ] && break
		sleep 0.5
	done
	expect_eq "$up" 1 "up of the dmp job"
	# 50 ms reads for about 8 s, then at least three more scrapes.
	dio_read /dev/mapper/pv 4096 150 &
	local io=$!
	sleep 8
	dd if=/dev/mapper/pv of=/dev/null bs=4096 count=1 iflag=direct status=none
	wait "$io"
	sleep 4
	local q p99
	q='histogram_quantile(0.99, sum by (le) (rate(dmp_latency_seconds_bucket{device="pv",op="read"}[30s])))'
	p99=$(promql "$q" | awk '{ print $2 }')
	echo "    $q = $p99"
	# dmp's buckets are powers of two from 1 us: 50 ms is in (32.768 ms, 65.536 ms].
	awk -v v="$p99" 'BEGIN { exit !(v > 0.032768 && v <= 0.065536) }' ||
		fail "p99 $p99 is not in the bucket that holds 50 ms"
	# The join with node_exporter's series is by uuid; each label is there.
	expect_eq "$(promql 'dmp_device_info{device="pv"}' | python3 -c '
import json, sys
m = json.loads(sys.stdin.read().rsplit(" ", 1)[0])
print(" ".join(sorted(k for k in m if k not in ("__name__", "instance", "job"))))')" \
		"device dm uuid" "labels of dmp_device_info (vg and lv empty: not LVM)"
	# The dashboard's expressions, with its variables as Grafana would fill them.
	local dash=tools/grafana/dmp-dashboard.json n=0 expr
	while IFS= read -r expr; do
		n=$((n + 1))
		# At least one series with a number (a class without requests gives NaN).
		promql "$expr" | awk '$NF != "NaN" { ok = 1 } END { exit !ok }' ||
			fail "no data for the dashboard's $expr"
	done < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["panels"]:
    for t in p.get("targets", []):
        print(t["expr"].replace("$device", "pv").replace("$__rate_interval", "30s")
              .replace("$job", "dmp"))' "$dash")
	echo "    $n dashboard expressions returned data"
	[ "$n" -ge 6 ] || fail "only $n expressions in $dash"
}

# promtool finds nothing to say about the exposition; OpenMetrics when asked for it.
test_exposition_checked_by_promtool() {
	need promtool
	dmsetup create d1 --table "0 $RAMDISK_SECTORS dmp /dev/ram1"
	dmsetup create d2 --table "0 2048 dmp /dev/ram2"
	dio_read /dev/mapper/d1 4096 10
	tools/dmpstat --prometheus >/tmp/metrics.txt
	local out
	out=$(promtool check metrics </tmp/metrics.txt 2>&1) || { echo "$out"; fail "promtool check metrics failed"; }
	expect_eq "$out" "" "promtool check metrics"
	start_exporter
	http_get "http://$EXPORTER/metrics" 'application/openmetrics-text; version=1.0.0' >/tmp/om.txt
	expect_eq "$(tail -n 1 /tmp/om.txt)" "# EOF" "the OpenMetrics exposition's last line"
	grep -q '^# UNIT dmp_latency_seconds seconds$' /tmp/om.txt || fail "no unit in OpenMetrics"
	grep -q '^dmp_requests_total{device="d1".*op="read".*} 10.0$' /tmp/om.txt || fail "no read count for d1"
	# Any other path answers 404.
	expect_fail python3 -c 'import urllib.request, sys; urllib.request.urlopen(sys.argv[1])' \
		"http://$EXPORTER/nope"
}

# node_exporter, with only its textfile collector, reads what `dmpstat --prometheus
# --output` writes: no scrape error, dmp's series there.
test_textfile_read_by_node_exporter() {
	need prometheus-node-exporter
	loopback_up
	dmsetup create d1 --table "0 $RAMDISK_SECTORS dmp /dev/ram1"
	dio_read /dev/mapper/d1 4096 7
	mkdir -p /tmp/textfile
	tools/dmpstat --prometheus --output /tmp/textfile/dmp.prom
	expect_eq "$(ls /tmp/textfile)" dmp.prom "the directory after the atomic write"
	prometheus-node-exporter --collector.disable-defaults --collector.textfile \
		--collector.textfile.directory=/tmp/textfile --web.listen-address="$NODE" \
		>/tmp/node.log 2>&1 &
	NODE_PID=$!
	on_exit 'kill $NODE_PID 2>/dev/null; wait $NODE_PID 2>/dev/null' 
	wait_http "http://$NODE/metrics"
	http_get "http://$NODE/metrics" >/tmp/node.txt
	grep -qx 'node_textfile_scrape_error 0' /tmp/node.txt || { grep textfile /tmp/node.txt; fail "node_textfile_scrape_error is not 0"; }
	grep -q '^dmp_requests_total{device="d1",.*op="read".*} 7$' /tmp/node.txt || fail "no dmp series in node_exporter"
}

# The exporter scraped every 100 ms while devices are created and removed: no failed
# scrape, nothing in its log; a client that connects and says nothing stalls no one.
test_exporter_under_churn() {
	start_exporter
	# A silent client, holding a connection open.
	python3 -c 'import socket, sys, time; s = socket.create_connection(sys.argv[1].split(":")); time.sleep(60)' \
		"${EXPORTER%:*}:${EXPORTER#*:}" &
	local silent=$!
	python3 - "$EXPORTER" >/tmp/scrapes.txt <<'EOF' &
import sys, time, urllib.request
from prometheus_client.parser import text_string_to_metric_families
ok = bad = 0
end = time.monotonic() + 14
while time.monotonic() < end:
    try:
        with urllib.request.urlopen(f"http://{sys.argv[1]}/metrics", timeout=5) as r:
            list(text_string_to_metric_families(r.read().decode()))
        ok += 1
    except Exception as e:
        bad += 1
        print("failed:", repr(e), file=sys.stderr)
    time.sleep(0.1)
print(ok, bad)
EOF
	local scraper=$! n=0
	local end=$((SECONDS + 12))
	while [ $SECONDS -lt $end ]; do
		dmsetup create "churn$((n % 4))" --table "0 2048 dmp /dev/ram$((n % 4 + 1))"
		dd if=/dev/mapper/"churn$((n % 4))" of=/dev/null bs=4096 count=2 iflag=direct status=none
		[ $((n % 4)) != 3 ] || for i in 0 1 2 3; do dmsetup remove "churn$i"; done
		n=$((n + 1))
	done
	wait "$scraper"
	kill "$silent" 2>/dev/null || true
	local ok bad
	read -r ok bad </tmp/scrapes.txt
	echo "    $n devices created and removed, $ok scrapes, $bad failed"
	expect_eq "$bad" 0 "failed scrapes"
	[ "$ok" -ge 14 ] || fail "only $ok scrapes in 14 s"
	expect_eq "$(cat /tmp/exporter.log | grep -v '^dmpstat: serving')" "" "the exporter's log"
}

# tmux_screen: the visible text of the test's tmux pane
tmux_screen() { tmux capture-pane -p -t dmptop; }

# wait_screen PATTERN: until the pane shows PATTERN (extended regex; at most 30 s)
wait_screen() {
	local i
	for i in $(seq 150); do
		tmux_screen | grep -qE "$1" && return 0
		sleep 0.2
	done
	tmux_screen | sed 's/^/    | /'
	fail "the screen never showed /$1/"
}

# `dmpstat top` in an 80x24 tmux pane, with reads on two devices: both listed, the
# selected one's heatmap drawn, a key moves the selection, and q quits.
test_dmpstat_top_in_tmux() {
	need tmux
	delay50 slowdisk
	dmsetup create busy --table "0 $RAMDISK_SECTORS dmp /dev/ram2"
	dmsetup create slow --table "0 $RAMDISK_SECTORS dmp /dev/mapper/slowdisk"
	dmsetup message slow 0 slow_threshold 20000
	# (Globals: the trap runs after the function has returned.)
	( while :; do dio_read /dev/mapper/busy 4096 200; done ) &
	LOAD_PIDS=$!
	( while :; do dio_read /dev/mapper/slow 4096 5; done ) &
	LOAD_PIDS+=" $!"
	on_exit 'kill $LOAD_PIDS 2>/dev/null; tmux kill-server 2>/dev/null; wait $LOAD_PIDS 2>/dev/null' 
	TERM=xterm tmux new-session -d -s dmptop -x 80 -y 24 \
		"tools/dmpstat top; echo \"exit \$?\" >/tmp/top.rc; sleep 60"
	# Sorted by load: busy first, and selected; its heatmap has rows (an axis label and
	# shaded cells).
	wait_screen '^busy +dm-[0-9]+ +[1-9]'
	wait_screen '^slow +dm-[0-9]+ '
	wait_screen '^-- busy: latency'
	wait_screen '^ *<=[0-9]+(us|ms) +.*[.:=+*#%@-]'
	tmux_screen | sed 's/^/    | /'
	tmux send-keys -t dmptop Down
	wait_screen '^-- slow: latency'
	# The slow device's 50 ms reads, in its heatmap's 64 ms row and its slow requests.
	wait_screen '^ *<=65ms +.*[.:=+*#%@-]'
	wait_screen ' read +SYNC +sector '
	tmux send-keys -t dmptop q
	top_exited
	# As a user, not root: the same view without the slow requests; devices come and go.
	rm -f /tmp/top.rc
	TERM=xterm tmux new-session -d -s dmptop -x 100 -y 30 \
		"setpriv --reuid=65534 --regid=65534 --clear-groups tools/dmpstat top; echo \"exit \$?\" >/tmp/top.rc; sleep 60"
	wait_screen '^busy +dm-[0-9]+ +[1-9]'
	wait_screen 'slow_requests can be read by root only'
	dmsetup create fresh --table "0 2048 dmp /dev/ram3"
	wait_screen '^fresh +dm-[0-9]+ '
	kill $LOAD_PIDS
	wait $LOAD_PIDS 2>/dev/null || true
	LOAD_PIDS=
	dmsetup remove --retry busy
	wait_screen '  [0-9.]+ s  2 devices  '
	tmux_screen | grep -q '^busy ' && fail "busy is still shown after its removal"
	tmux send-keys -t dmptop q
	top_exited
}

# top_exited: the pane's `dmpstat top` has exited with status 0 (at most 10 s)
top_exited() {
	local i
	for i in $(seq 50); do [ -e /tmp/top.rc ] && break; sleep 0.2; done
	expect_eq "$(cat /tmp/top.rc 2>/dev/null)" "exit 0" "dmpstat top's exit after q"
	tmux kill-session -t dmptop
}
