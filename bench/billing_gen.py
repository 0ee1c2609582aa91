#!/usr/bin/env python3
"""billing_gen.py MODE N SERVERS_FILE NODE_ID T0 - the usage samples of
bench/billing.sh, the same rows whatever the mode:
  resp  Redis protocol: XADD usage:<NODE_ID> * m <json> per sample (for redis-cli --pipe)
  csv   usage_samples rows as CSV (for COPY)
Sample k of server s is stamped T0 + 60 (k + 1); servers take turns, as
engines sampling every minute would interleave them."""
import sys

mode, n, servers_file, node, t0 = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
servers = [l.strip() for l in open(servers_file) if l.strip()]
out = sys.stdout
w = out.write
ns = len(servers)
for i in range(n):
    s = servers[i % ns]
    ts = t0 + 60 * (i // ns + 1)
    cpu, mem = 1000000 * (i % 977), 256 + i % 512
    rx, tx = 1000 * (i % 7919), 1000 * (i % 104729)
    sid = f"{s}:{ts}"
    if mode == "csv":
        w(f"{sid},{s},{node},{ts},60,{cpu},{mem},1024,{rx},{tx},0,0\n")
    else:
        m = ('{"sample_id":"%s","server_id":"%s","node_id":"%s","ts":%d,"period_s":60,'
             '"cpu_ns":%d,"mem_mb":%d,"mem_max_mb":1024,"net_rx_bytes":%d,"net_tx_bytes":%d,'
             '"disk_rd_bytes":0,"disk_wr_bytes":0}') % (sid, s, node, ts, cpu, mem, rx, tx)
        stream = "usage:" + node
        w("*5\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$1\r\n*\r\n$1\r\nm\r\n$%d\r\n%s\r\n"
          % (len(stream), stream, len(m), m))
