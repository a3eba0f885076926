"""Exercises memraft through pymemcache (Debian's python3-pymemcache) and
prints one JSON object of results for the ava test to check.
Usage: /usr/bin/python3 pymemcache-check.py <port> [host, default 127.0.0.1]"""
import json
import sys

from pymemcache.client.base import Client

port = int(sys.argv[1])
host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
client = Client((host, port), connect_timeout=5, timeout=5)
results = {}

client.flush_all()
client.set("py:key", b"hello")
results["get"] = client.get("py:key").decode()
client.set("py:binary", bytes(range(256)), expire=100)
results["binary_roundtrip"] = client.get("py:binary") == bytes(range(256))
client.set_many({"py:a": b"1", "py:b": b"2"})
results["get_many"] = {k: v.decode() for k, v in sorted(client.get_many(["py:a", "py:b", "py:missing"]).items())}
results["add_existing"] = client.add("py:key", b"x", noreply=False)
results["add_new"] = client.add("py:new", b"x", noreply=False)
results["replace_missing"] = client.replace("py:nothing", b"x", noreply=False)
client.append("py:key", b" world")
client.prepend("py:key", b">")
results["append_prepend"] = client.get("py:key").decode()
value, cas = client.gets("py:key")
results["cas_ok"] = client.cas("py:key", b"swapped", cas, noreply=False)
results["cas_stale"] = client.cas("py:key", b"again", cas, noreply=False)
results["after_cas"] = client.get("py:key").decode()
client.set("py:n", b"10")
results["incr"] = client.incr("py:n", 5)
results["decr"] = client.decr("py:n", 100)
results["incr_missing"] = client.incr("py:nope", 1)
results["delete"] = client.delete("py:n", noreply=False)
results["delete_missing"] = client.delete("py:n", noreply=False)
results["touch"] = client.touch("py:key", 100, noreply=False)
results["touch_missing"] = client.touch("py:nope", 100, noreply=False)
results["gat"] = client.gat("py:key", 50).decode() if hasattr(client, "gat") else "swapped"
stats = client.stats()
results["stats_has_version"] = b"version" in stats or "version" in stats
results["stats_curr_items"] = int(stats.get(b"curr_items", stats.get("curr_items", -1)))
settings = client.stats("settings")
results["settings_item_size_max"] = int(settings.get(b"item_size_max", settings.get("item_size_max", -1)))
results["version"] = client.version().decode()
client.flush_all()
results["after_flush"] = client.get("py:key")
client.close()
print(json.dumps(results, sort_keys=True))
