// Byte scripts sent to real memcached 1.6 and to memraft; the replies must
// agree (see harness.ts for what is normalised). They cover every command,
// every error path memcached 1.6.18 has for bad input and limits, noreply,
// pipelining and arbitrary packet splits. Each script starts after a
// flush_all on a fresh connection.

import type { Script, Step } from "./harness.js";

function script(name: string, ...steps: Step[]): Script {
  return { name, steps };
}

function closing(name: string, ...steps: Step[]): Script {
  return { name, steps, closes: true };
}

/** The cas of the last VALUE line for `key` in a reply. */
function casOf(reply: string, key: string): string {
  const matches = [...reply.matchAll(new RegExp(`VALUE ${key} \\d+ \\d+ (\\d+)\\r\\n`, "g"))];
  const cas = matches.at(-1)?.[1];
  if (cas === undefined) throw new Error(`no cas for ${key} in ${JSON.stringify(reply)}`);
  return cas;
}

/** The last ` c<cas>` return flag in a reply. */
function metaCasOf(reply: string): string {
  const cas = [...reply.matchAll(/ c(\d+)/g)].at(-1)?.[1];
  if (cas === undefined) throw new Error(`no meta cas in ${JSON.stringify(reply)}`);
  return cas;
}

const x = (count: number) => "x".repeat(count);
const key250 = "k".repeat(250);
const key251 = "k".repeat(251);
const mib = 1024 * 1024;

const storage: Script[] = [
  script("set then get", "set foo 5 0 3\r\nbar\r\nget foo\r\n"),
  script("gets shows the cas", "set foo 5 0 3\r\nbar\r\ngets foo\r\n"),
  script("get repeats keys and skips misses", "set foo 5 0 3\r\nbar\r\nget foo nosuch foo\r\n"),
  script("get of a missing key", "get nosuch\r\n"),
  script("set replaces", "set k 1 0 1\r\na\r\nset k 2 0 2\r\nbb\r\nget k\r\n"),
  script("add on a new key", "add k 0 0 1\r\nx\r\nget k\r\n"),
  script("add on an existing key", "set k 0 0 1\r\na\r\nadd k 0 0 1\r\nb\r\nget k\r\n"),
  script("replace on a missing key", "replace nosuch 0 0 1\r\nx\r\nget nosuch\r\n"),
  script("replace on an existing key", "set k 0 0 1\r\na\r\nreplace k 3 0 1\r\nb\r\nget k\r\n"),
  script("append on a missing key", "append nosuch 0 0 1\r\nx\r\n"),
  script("prepend on a missing key", "prepend nosuch 0 0 1\r\nx\r\n"),
  script(
    "append and prepend keep the item's flags",
    "set ap 7 0 2\r\nBB\r\nappend ap 99 0 2\r\nCC\r\nprepend ap 99 0 2\r\nAA\r\nget ap\r\n",
  ),
  script(
    "append changes the cas",
    "set ap 0 0 1\r\na\r\ngets ap\r\nappend ap 0 0 1\r\nb\r\ngets ap\r\n",
  ),
  script("cas on a missing key", "cas nosuch 0 0 1 12345\r\nx\r\n"),
  script("cas with a wrong unique", "set c1 0 0 1\r\na\r\ncas c1 0 0 1 999999\r\nb\r\nget c1\r\n"),
  script(
    "cas with the right unique",
    "set c1 0 0 1\r\na\r\ngets c1\r\n",
    (reply) => `cas c1 0 0 1 ${casOf(reply, "c1")}\r\nb\r\ngets c1\r\n`,
  ),
  script("cas reused after success fails", "set c1 0 0 1\r\na\r\ngets c1\r\n", (reply) => {
    const cas = casOf(reply, "c1");
    return `cas c1 0 0 1 ${cas}\r\nb\r\ncas c1 0 0 1 ${cas}\r\nc\r\nget c1\r\n`;
  }),
  script(
    "cas with noreply",
    "set c1 0 0 1\r\na\r\ngets c1\r\n",
    (reply) => `cas c1 0 0 1 ${casOf(reply, "c1")} noreply\r\nb\r\nget c1\r\n`,
  ),
  script("cas without a unique", "cas c1 0 0 1\r\nb\r\n"),
  script("cas with a non-numeric unique", "cas c1 0 0 1 abc\r\nb\r\n"),
  script("cas with too many words", "cas c1 0 0 1 1 noreply extra\r\nb\r\n"),
  script("empty value", "set empty 0 0 0\r\n\r\nget empty\r\n"),
  script(
    "binary value with CR LF and NUL inside",
    Buffer.from("set bin 0 0 6\r\na\r\n\0\rb\r\nget bin\r\n", "latin1"),
  ),
  script(
    "every byte value in a value",
    Buffer.concat([
      Buffer.from("set all 0 0 256\r\n"),
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      Buffer.from("\r\nget all\r\n"),
    ]),
  ),
  script("delete a present key", "set d 0 0 1\r\nx\r\ndelete d\r\nget d\r\n"),
  script("delete a missing key", "delete nosuch\r\n"),
  script("delete with hold time 0", "set d 0 0 1\r\nx\r\ndelete d 0\r\n"),
  script(
    "delete with hold time 0 and noreply",
    "set d 0 0 1\r\nx\r\ndelete d 0 noreply\r\nget d\r\n",
  ),
  script("delete with a non-zero hold time", "set d 0 0 1\r\nx\r\ndelete d 5\r\nget d\r\n"),
  script("delete with a non-zero hold time and noreply", "delete d 10 noreply\r\n"),
  script("delete with too many words", "delete a b c d e\r\n"),
  script("delete with no key", "delete\r\n"),
  script("delete noreply then get", "set d 0 0 1\r\nx\r\ndelete d noreply\r\nget d\r\n"),
  script("delete with a long key", `delete ${key251}\r\n`),
  script("touch a present key", "set t 0 0 1\r\nx\r\ntouch t 100\r\n"),
  script("touch a missing key", "touch nosuch 100\r\n"),
  script("touch with a bad exptime", "touch t abc\r\n"),
  script("touch with a negative exptime expires", "set t 0 0 1\r\nx\r\ntouch t -1\r\nget t\r\n"),
  script("touch keeps the cas", "set t 0 0 1\r\nx\r\ngets t\r\ntouch t 100\r\ngets t\r\n"),
  script("touch with noreply", "set t 0 0 1\r\nx\r\ntouch t 100 noreply\r\n"),
  script("touch with too few words", "touch t\r\n"),
  script("gat returns hits and skips misses", "set g1 3 0 2\r\nhi\r\ngat 100 g1 nosuch\r\n"),
  script("gats shows the cas", "set g1 3 0 2\r\nhi\r\ngats 0 g1\r\n"),
  script("gat with a bad exptime", "gat abc g1\r\n"),
  script("gat with no key", "gat 10\r\n"),
  script(
    "gat with a negative exptime returns then expires",
    "set g 0 0 1\r\nx\r\ngat -1 g\r\nget g\r\n",
  ),
  script("gat then mg shows the new ttl", "set g 0 0 1\r\nx\r\ngat 500 g\r\nmg g t\r\n"),
  script("bget is get", "set b 0 0 1\r\nx\r\nbget b\r\n"),
  script("large value near the limit", `set m 0 0 1048516\r\n${x(1048516)}\r\nmg m s\r\n`),
  script("value one byte over the limit", `set m 0 0 1048517\r\n${x(1048517)}\r\nget m\r\n`),
  script("value of exactly 1 MiB is too large", `set m 0 0 ${mib}\r\n${x(mib)}\r\nget m\r\n`),
  script(
    "too large set removes the old value",
    "set bigv 0 0 1\r\nx\r\n",
    `set bigv 0 0 ${2 * mib}\r\n${x(2 * mib)}\r\nget bigv\r\n`,
  ),
  script(
    "too large set with noreply is silent",
    `set bigv 0 0 ${2 * mib} noreply\r\n${x(2 * mib)}\r\n`,
  ),
  script(
    "too large add keeps the old value",
    "set bigv 0 0 1\r\nx\r\n",
    `add bigv 0 0 ${2 * mib}\r\n${x(2 * mib)}\r\nget bigv\r\n`,
  ),
  script(
    "flags count against the size limit",
    `set m 1 0 1048513\r\n${x(1048513)}\r\nset m 1 0 1048512\r\n${x(1048512)}\r\nmg m s f\r\n`,
  ),
  script(
    "long keys count against the size limit",
    `set ${"q".repeat(200)} 0 0 1048318\r\n${x(1048318)}\r\nset ${"q".repeat(200)} 0 0 1048317\r\n${x(1048317)}\r\nmg ${"q".repeat(200)} s\r\n`,
  ),
  script(
    "append past the size limit is not stored",
    `set ap 0 0 1048000\r\n${x(1048000)}\r\nappend ap 0 0 1000\r\n${x(1000)}\r\nmg ap s\r\n`,
  ),
  script(
    "append up to the size limit is stored",
    `set ap 0 0 1048000\r\n${x(1048000)}\r\nappend ap 0 0 500\r\n${x(500)}\r\nmg ap s\r\n`,
  ),
];

const limits: Script[] = [
  script("key of 250 bytes", `set ${key250} 0 0 1\r\nx\r\nget ${key250}\r\n`),
  script("set with a key of 251 bytes", `set ${key251} 0 0 3\r\nbar\r\n`),
  script("get with a key of 251 bytes", `get ${key251}\r\n`),
  script(
    "a long key in a multiget drops the whole reply",
    `set foo 0 0 1\r\nx\r\nget foo ${key251}\r\n`,
  ),
  script(
    "control bytes and UTF-8 in keys are accepted",
    "set a\x01b 0 0 1\r\nx\r\nget a\x01b\r\nset \xc3\xa9 0 0 1\r\ny\r\nget \xc3\xa9\r\n",
  ),
  script("a tab is part of a key", "set a\tb 0 0 1\r\nx\r\nget a\tb\r\n"),
  script("a NUL ends the line", Buffer.from("set a\0b 0 0 1\r\nx\r\nget a\r\n", "latin1")),
  script("flags 2^32-1 round trip", "set fl 4294967295 0 1\r\nx\r\nget fl\r\n"),
  script("flags wrap modulo 2^32", "set fl 4294967301 0 1\r\nx\r\nget fl\r\n"),
  script("flags 2^31", "set fl 2147483648 0 1\r\nx\r\nget fl\r\n"),
  script("negative flags are refused", "set fl -1 0 1\r\nx\r\n"),
  script("flags beyond 64 bits are refused", "set fl 18446744073709551616 0 1\r\nx\r\n"),
  script("non-numeric flags are refused", "set fl abc 0 1\r\nx\r\n"),
  script("a bytes field that is not a number", "set foo 0 0 abc\r\nbar\r\n"),
  script("a negative bytes field", "set foo 0 0 -1\r\nbar\r\n"),
  script("a fractional exptime", "set foo 0 1.5 3\r\nbar\r\n"),
  script("bytes of 2^31-1", "set huge 0 0 2147483647\r\n"),
  script("bytes of 2^32-1 wrap to -1", "set huge 0 0 4294967295\r\n"),
  script("bytes of 2^32+1 wrap to 1", "set wrap 0 0 4294967297\r\nx\r\nget wrap\r\n"),
  script("too few words for set", "set foo 0 0\r\nbar\r\n"),
  script("too many words for set", "set foo 0 0 3 noreply extra\r\nbar\r\n"),
  script("an unknown sixth word is ignored", "set x6 0 0 1 norepl\r\nx\r\n"),
  script("noreply in the bytes position", "set foo 0 0 noreply\r\nbar\r\n"),
  script("plus signs and leading zeros in numbers", "set pz +5 +0 +03\r\nabc\r\nget pz\r\n"),
  script("a trailing tab after a number", "set tb 0 0 3\t\r\nabc\r\nget tb\r\n"),
  script("bad data chunk", "set foo 0 0 3\r\nbarXX\r\n"),
  script("short data then a command", "set foo 0 0 3\r\nba\r\nget foo\r\n"),
  script("data ended by LF only", "set foo 5 0 3\r\nbar\r\nset foo 0 0 3\r\nbar\nZget foo\r\n"),
  script("bad data chunk with noreply", "set foo 0 0 3 noreply\r\nbarXX\r\n"),
  script(
    "bad data chunk keeps the old value",
    "set foo 0 0 1\r\na\r\nset foo 0 0 1\r\nbb\r\nget foo\r\n",
  ),
  script("unknown command", "bogus\r\n"),
  script("empty line", "\r\n"),
  script("line of spaces", "     \r\n"),
  script("bare LF line", "\n"),
  script("uppercase command", "GET foo\r\n"),
  script("get with no key", "get\r\n"),
  script("gets with no key", "gets\r\n"),
  script("a one-letter command", "g\r\n"),
  script("tab after the command", "get\tfoo\r\n"),
  script("spaces around words", "set foo 0 0 1\r\nx\r\n  get   foo  \r\n"),
  script("LF-only line endings", "set lf 0 0 1\nx\r\nget lf\n"),
  script("a long junk line with its newline", `${x(3000)}\r\n`),
  script("a long key on a set line with its newline", `set ${"k".repeat(3000)} 0 0 3\r\nbar\r\n`),
  closing("a long line without a newline closes", x(3000)),
  script("a line just under the limit then its newline", {
    pieces: [x(2040), "\r\n"],
    pauseMs: 100,
  }),
  closing("a line over the limit waiting for its newline closes", {
    pieces: [x(2100), "\r\n"],
    pauseMs: 100,
  }),
  script("a long multiget may wait for its newline", "set foo 5 0 3\r\nbar\r\n", {
    pieces: [
      `get ${Array.from({ length: 400 }, (_, i) => `key${String(i).padStart(4, "0")}`).join(" ")}`,
      " foo\r\n",
    ],
    pauseMs: 100,
  }),
  closing(
    "a long gat line without a newline closes",
    `gat 0 ${Array.from({ length: 400 }, (_, i) => `key${i}`).join(" ")}`,
  ),
  closing("replies before a too-long line are sent", `get foo\r\n${x(3000)}`),
  closing("an HTTP request closes", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
  closing("an HTTP PUT closes", "PUT /foo HTTP/1.0\r\n"),
  script("an HTTP-looking get is a get", "get / HTTP/1.1\r\n"),
  script("incr on a missing key", "incr nosuch 1\r\n"),
  script("incr on a number", "set n 0 0 1\r\n5\r\nincr n 10\r\nget n\r\n"),
  script("incr on a non-number", "set s 0 0 3\r\nabc\r\nincr s 1\r\n"),
  script("incr on a number followed by letters", "set s 0 0 3\r\n12a\r\nincr s 1\r\n"),
  script("incr on an empty value", "set s 0 0 0\r\n\r\nincr s 1\r\n"),
  script("incr on a negative number", "set s 0 0 2\r\n-5\r\nincr s 1\r\n"),
  script("incr on spaces", "set s 0 0 2\r\n  \r\nincr s 1\r\n"),
  script("incr on 2^64", "set s 0 0 20\r\n18446744073709551616\r\nincr s 1\r\n"),
  script("incr with a non-numeric delta", "incr n abc\r\n"),
  script("incr with a negative delta", "incr n -1\r\n"),
  script("incr with a delta of 2^64", "incr n 18446744073709551616\r\n"),
  script("incr wraps at 2^64", "set w 0 0 20\r\n18446744073709551615\r\nincr w 1\r\nget w\r\n"),
  script("incr wraps past 2^64", "set w 0 0 20\r\n18446744073709551610\r\nincr w 10\r\n"),
  script("decr stops at zero", "set d 0 0 1\r\n5\r\ndecr d 10\r\n"),
  script("decr pads a shorter result with spaces", "set d 0 0 2\r\n10\r\ndecr d 1\r\nget d\r\n"),
  script("incr grows a value", "set g 0 0 1\r\n9\r\nincr g 1\r\nget g\r\n"),
  script(
    "incr accepts leading spaces and a plus",
    "set ls 0 0 2\r\n 5\r\nincr ls 1\r\nset lp 0 0 2\r\n+5\r\nincr lp 1\r\n",
  ),
  script("incr accepts leading zeros", "set z 0 0 5\r\n00001\r\nincr z 1\r\nget z\r\n"),
  script("incr keeps flags", "set f 42 0 1\r\n1\r\nincr f 1\r\nget f\r\n"),
  script(
    "incr past 2^32 and 2^63",
    "set big 0 0 10\r\n4294967295\r\nincr big 1\r\nset big2 0 0 19\r\n9223372036854775807\r\nincr big2 1\r\n",
  ),
  script("incr changes the cas", "set n 0 0 1\r\n1\r\ngets n\r\nincr n 1\r\ngets n\r\n"),
  script("incr with noreply", "set n 0 0 1\r\n1\r\nincr n 1 noreply\r\nget n\r\n"),
  script("incr error hidden by noreply", "set s 0 0 3\r\nabc\r\nincr s 1 noreply\r\n"),
  script("incr with too few words", "incr n\r\n"),
  script("decr with a long key", `decr ${key251} 1\r\n`),
];

const expiry: Script[] = [
  script("negative exptime is already expired", "set neg 0 -1 1\r\nx\r\nget neg\r\n"),
  script("exptime of 30 days is relative", "set e30 0 2592000 1\r\nx\r\nget e30\r\n"),
  script("exptime above 30 days is absolute", "set e31 0 2592001 1\r\nx\r\nget e31\r\n"),
  script("exptime of 2^31 wraps negative", "set w 0 2147483648 1\r\nx\r\nget w\r\n"),
  script("exptime of 2^32 wraps to never", "set w 0 4294967296 1\r\nx\r\nmg w t\r\n"),
  script(
    "absolute exptime in the past",
    () => `set eap 0 ${Math.floor(Date.now() / 1000) - 100} 1\r\nx\r\nget eap\r\n`,
  ),
  script(
    "absolute exptime in the future",
    () => `set eaf 0 ${Math.floor(Date.now() / 1000) + 100} 1\r\nx\r\nmg eaf t\r\n`,
  ),
  script("add after the old item expired", "set a 0 -1 1\r\nx\r\nadd a 0 0 1\r\ny\r\nget a\r\n"),
  script("replace on an expired item", "set a 0 -1 1\r\nx\r\nreplace a 0 0 1\r\ny\r\n"),
  script("a ttl set shows in mg t", "set a 0 100 1\r\nx\r\nmg a t\r\n"),
  script(
    "memcexist adds with an absolute past time",
    "add probe 0 2678400 0\r\n\r\nget probe\r\nadd probe 0 2678400 0\r\n\r\n",
  ),
];

const noreplyAndAdmin: Script[] = [
  script(
    "noreply on every storage command",
    "set a 0 0 1 noreply\r\n1\r\nadd a 0 0 1 noreply\r\n2\r\nreplace a 0 0 1 noreply\r\n3\r\nappend a 0 0 1 noreply\r\n4\r\nprepend a 0 0 1 noreply\r\n5\r\nget a\r\n",
  ),
  script("noreply on a failing add", "set a 0 0 1\r\nx\r\nadd a 0 0 1 noreply\r\ny\r\nget a\r\n"),
  script("noreply on a long key hides the error", `set ${key251} 0 0 3 noreply\r\nbar\r\n`),
  script("noreply data left over", "set foo 0 0 3 noreply\r\nbarXX\r\n"),
  script("version", "version\r\n"),
  script("version ignores extra words", "version foo bar\r\nversion noreply\r\n"),
  script("verbosity", "verbosity 1\r\nverbosity 0\r\n"),
  script("verbosity without a level", "verbosity\r\n"),
  script("verbosity with a bad level", "verbosity abc\r\n"),
  script("verbosity with too many words", "verbosity foo bar my\r\n"),
  script("verbosity noreply is silent", "verbosity noreply\r\nverbosity 0 noreply\r\nversion\r\n"),
  script("verbosity clamps high levels", "verbosity 99\r\n"),
  script("flush_all", "set f 0 0 1\r\nx\r\nflush_all\r\nget f\r\n"),
  script("flush_all 0 and negative", "flush_all 0\r\nflush_all -1\r\n"),
  script("flush_all noreply", "set f 0 0 1\r\nx\r\nflush_all noreply\r\nget f\r\n"),
  script(
    "flush_all with a delay keeps items for now",
    "set fd 0 0 1\r\nx\r\nflush_all 100\r\nget fd\r\n",
  ),
  script("flush_all with a delay and noreply", "flush_all 100 noreply\r\n"),
  script("flush_all with a bad delay", "flush_all abc\r\n"),
  script("flush_all with too many words", "flush_all 1 2 3\r\n"),
  script("flush_all ignores a second number", "set f 0 0 1\r\nx\r\nflush_all 0 5\r\nget f\r\n"),
  script(
    "items set after a flush survive",
    "set f 0 0 1\r\nx\r\nflush_all\r\nset g 0 0 1\r\ny\r\nget f g\r\n",
  ),
  script(
    "an immediate flush cancels a delayed one",
    "flush_all 100\r\nflush_all\r\nset f 0 0 1\r\nx\r\nget f\r\n",
  ),
  script("shutdown is refused unless enabled", "shutdown\r\n"),
  script("shutdown graceful is refused unless enabled", "shutdown graceful\r\n"),
  closing("quit closes", "quit\r\n"),
  closing("quit with words closes", "quit foo bar\r\n"),
  closing("nothing runs after quit", "get foo\r\nquit\r\nget foo\r\n"),
  script("cache_memlimit", "cache_memlimit 100\r\n"),
  script("cache_memlimit too small", "cache_memlimit 4\r\n"),
  script("cache_memlimit not a number", "cache_memlimit abc\r\n"),
  script("cache_memlimit in bytes", "cache_memlimit 2000000000\r\n"),
  script("cache_memlimit noreply", "cache_memlimit 100 noreply\r\n"),
  script("stats reset", "stats reset\r\n"),
  script("stats with an unknown group", "stats bogus\r\n"),
  script("stats noreply is unknown", "stats noreply\r\n"),
  script("stats detail without a verb", "stats detail\r\n"),
  script("stats detail with a bad verb", "stats detail maybe\r\n"),
  script(
    "stats detail counts by prefix",
    "stats detail on\r\nset a:b 0 0 1\r\n1\r\nget a:b a:c nokey\r\ndelete a:b\r\nstats detail dump\r\nstats detail off\r\n",
  ),
  script("stats sizes", "stats sizes\r\n"),
  script("stats items when empty", "stats items\r\n"),
  script("stats cachedump with a bad class", "stats cachedump 64 0\r\n"),
  script("stats cachedump with a non-number", "stats cachedump x 0\r\n"),
  script("stats cachedump with too few words", "stats cachedump 1\r\n"),
  script("stats cachedump of an empty class", "stats cachedump 5 0\r\n"),
  script("slabs automove", "slabs automove 1\r\nslabs automove 0\r\n"),
  script("slabs automove with a bad level", "slabs automove 9\r\nslabs automove x\r\n"),
  script("slabs with an unknown verb", "slabs foo\r\n"),
  script(
    "lru crawler tuning",
    "lru_crawler sleep 100\r\nlru_crawler tocrawl 0\r\nlru_crawler sleep 2000000\r\n",
  ),
  script("lru crawler with a bad verb", "lru_crawler foo\r\n"),
  script("lru tuning", "lru mode flat\r\nlru mode segmented\r\nlru temp_ttl 10\r\n"),
  script("lru with a bad verb", "lru foo bar\r\n"),
];

const meta: Script[] = [
  script("mn", "mn\r\n"),
  script("mg miss", "mg nokey v\r\n"),
  script("mg miss echoes k and O", "mg nokey v k Oabc\r\n"),
  script("mg quiet miss", "mg nokey v q\r\n"),
  script("bare mg", "mg\r\n"),
  script("bare me", "me\r\n"),
  script("unknown meta command", "mz foo\r\n"),
  script("a three-letter m command", "mgx foo\r\n"),
  script("ms with flags", "ms mk2 5 T100 F42 c k O77\r\nhello\r\n"),
  script("mg with many flags", "ms mk2 5 T100 F42\r\nhello\r\nmg mk2 s v f t c k Oxyz h l\r\n"),
  script("mg h and l on a second access", "ms mk2 5\r\nhello\r\nmg mk2 v\r\nmg mk2 h l t\r\n"),
  script("mg quiet hits still answer", "ms mk2 1\r\nx\r\nmg mk2 q\r\nmg mk2 q k\r\n"),
  script("mg T updates the ttl", "ms mk2 1\r\nx\r\nmg mk2 T30 t\r\n"),
  script("mg t before T shows the old ttl", "ms mk2 1 T100\r\nx\r\nmg mk2 t T30\r\nmg mk2 t\r\n"),
  script("mg duplicate flag", "ms mk2 1\r\nx\r\nmg mk2 v v\r\n"),
  script("mg invalid flag", "mg mk2 z\r\n"),
  script("mg E is invalid in 1.6.18", "mg mk2 E123\r\n"),
  script("mg bad ttl token", "mg mk2 Tabc\r\n"),
  script("mg opaque of 32 bytes is too long", `mg mk2 O${x(32)}\r\n`),
  script("mg opaque of 31 bytes", `ms mk2 1\r\nx\r\nmg mk2 O${x(31)}\r\n`),
  script("mg with too many flags", "mg mk2 s v f t c k h l O1 q u P L a b d e\r\n"),
  script("mg with a long key", `mg ${key251} v\r\n`),
  script("mg vivify on miss", "mg viv N30 t c v\r\nmg viv N30 t v\r\n"),
  script("mg recache win", "ms rc 1 T10\r\nx\r\nmg rc R30 v t\r\nmg rc R30 v t\r\n"),
  script(
    "md invalidate then mg wins",
    "ms st 3 T100\r\nold\r\nmd st I T30\r\nmg st v t c\r\nmg st v t\r\n",
  ),
  script("mg u does not bump", "ms mu 1\r\nx\r\nmg mu u\r\nmg mu h\r\n"),
  script("mg s f on a classic item", "set cf 9 0 3\r\nabc\r\nmg cf s f v\r\n"),
  script("mg ignores P and L", "ms pl 1\r\nx\r\nmg pl Pfoo Lbar v\r\n"),
  script("base64 key round trip", "ms YmluAGtlef8= 3 b\r\nbin\r\nmg YmluAGtlef8= b k v\r\n"),
  script(
    "base64 keys share the classic key space",
    "ms Zm9vYmFy 2 b k c O1\r\nhi\r\nget foobar\r\n",
  ),
  script(
    "mg b on a classic item prints the key raw",
    "set foobar 0 0 1\r\nx\r\nmg Zm9vYmFy b k v\r\n",
  ),
  script("bad base64 key in mg", "mg !!!! b v\r\n"),
  script("bad base64 key in ms swallows the data", "ms !!!! 3 b\r\nbar\r\n"),
  script("base64 without padding", "ms Zm9v 1 b\r\nx\r\nget foo\r\n"),
  script("base64 with junk bytes inside", "ms Zm9v!! 1 b\r\nx\r\nget foo\r\n"),
  script("base64 with padding", "ms YQ== 1 b\r\nx\r\nget a\r\nmg YQ== b k\r\n"),
  script("me on a present item", "ms mk2 5 F42\r\nhello\r\nme mk2\r\n"),
  script("me on a missing item", "me nosuch\r\n"),
  script("me with a base64 key", "ms Zm9v 1 b\r\nx\r\nme Zm9v b\r\n"),
  script("me with a bad base64 key", "me !!!! b\r\n"),
  script("ms add on an existing key", "ms mk 1\r\nx\r\nms mk 1 ME\r\ny\r\nmg mk v\r\n"),
  script(
    "ms replace and append on missing keys",
    "ms nosuch 1 MR\r\nx\r\nms nosuch 1 MA\r\nx\r\nms nosuch 1 MP\r\nx\r\n",
  ),
  script("ms append mode", "ms mk 3\r\nbar\r\nms mk 3 MA\r\nXYZ\r\nmg mk v\r\n"),
  script("ms prepend mode", "ms mk 3\r\nbar\r\nms mk 3 MP\r\nXYZ\r\nmg mk v\r\n"),
  script("ms set mode S", "ms mk 3 MS\r\nbar\r\nmg mk v\r\n"),
  script("ms invalid mode swallows the data", "ms mk 1 MZ\r\nx\r\n"),
  script("ms mode token too long", "ms mk 1 MSS\r\nx\r\n"),
  script("ms compare cas mismatch", "ms ck 1\r\nx\r\nms ck 1 C999999\r\ny\r\n"),
  script(
    "ms compare cas match",
    "ms ck 1 c\r\nx\r\n",
    (reply) => `ms ck 1 C${metaCasOf(reply)} c\r\ny\r\nmg ck v\r\n`,
  ),
  script("ms compare cas on a missing key", "ms nock 1 C1\r\ny\r\n"),
  script("ms C0 compares", "ms ck 1\r\nx\r\nms ck 1 C0\r\ny\r\n"),
  script(
    "ms append with a matching cas",
    "ms ck 1 c\r\nx\r\n",
    (reply) => `ms ck 1 MA C${metaCasOf(reply)}\r\ny\r\nmg ck v\r\n`,
  ),
  script("ms append with a wrong cas", "ms ck 1\r\nx\r\nms ck 1 MA C12345\r\ny\r\nmg ck v\r\n"),
  script("ms quiet hides HD only", "ms qk 1 q\r\nx\r\nms qk 1 q ME\r\nx\r\n"),
  script("ms invalid flag swallows the data", "ms mk 3 z\r\nbar\r\n"),
  script("ms without a length", "ms mk\r\n"),
  script("ms with a non-numeric length", "ms mk abc\r\nbar\r\n"),
  script("ms with a negative length", "ms mk -1\r\nbar\r\n"),
  script("ms too large swallows", `ms mk 2000000 T0\r\n${x(2000000)}\r\n`),
  script(
    "ms too large removes the old value",
    "ms mk 1\r\nx\r\n",
    `ms mk 2000000 MA\r\n${x(2000000)}\r\nmg mk v\r\n`,
  ),
  script("ms bad data chunk is always reported", "ms mk 3 q\r\nbarXX\r\n"),
  script(
    "ms invalidate with a lower cas stores stale",
    "ms iv2 1 c\r\na\r\nms iv2 1 I C1\r\nb\r\nmg iv2 v c\r\n",
  ),
  script("ms negative ttl", "ms tk 1 T-1\r\nx\r\nmg tk v\r\n"),
  script("ms opaque too long swallows", `ms mk 1 O${x(40)}\r\nx\r\n`),
  script("ms with too many flags", "ms mk 1 c k O1 q T1 F1 a b d e f g h i j l m\r\nx\r\n"),
  script("ms duplicate flag", "ms mk 1 T1 T2\r\nx\r\n"),
  script("ms bad client flags", "ms mk 1 Fabc\r\nx\r\n"),
  script("ms s flag is silent", "ms mk 1 s\r\nx\r\n"),
  script("ms with a long key", `ms ${key251} 1\r\nx\r\n`),
  script("ms c on a failed store", "ms ck 1\r\nx\r\nms ck 1 ME c\r\ny\r\n"),
  script("md hit and miss", "ms dk 1\r\nx\r\nmd dk\r\nmd dk\r\n"),
  script("md quiet", "ms dk 1\r\nx\r\nmd dk q\r\nmd dk q\r\n"),
  script("md echoes k and O", "ms dk 1\r\nx\r\nmd dk k O9\r\n"),
  script("md with a wrong cas", "ms dk 1\r\nx\r\nmd dk C1\r\n"),
  script(
    "md with the right cas",
    "ms dk 1 c\r\nx\r\n",
    (reply) => `md dk C${metaCasOf(reply)}\r\nmg dk v\r\n`,
  ),
  script("md invalid flags", "md dk z\r\nmd dk x\r\nmd dk Tabc\r\n"),
  script("md bare", "md\r\n"),
  script("md with too many flags", "md dk q k O1 I T1 C1 b c d e f g h i j l m\r\n"),
  script("ma miss", "ma nk\r\nma nk q\r\n"),
  script("ma vivify then increment", "ma nk N0 J10 v\r\nma nk v\r\nma nk D5 v t c\r\n"),
  script(
    "ma decrement modes",
    "ma nk N0 J5 v\r\nma nk MD D100 v\r\nma nk M- v\r\nma nk M+ D3 v\r\n",
  ),
  script("ma quiet update and echo", "set nk 0 0 1\r\n1\r\nma nk q\r\nma nk k O5\r\n"),
  script("ma quiet vivify still answers", "ma nq N0 q\r\n"),
  script("ma on a non-number", "set nn 0 0 3\r\nabc\r\nma nn\r\n"),
  script("ma wraps at 2^64", "ms wr 20\r\n18446744073709551615\r\nma wr v\r\n"),
  script("ma invalid mode", "ma nk MX\r\n"),
  script("ma bad delta", "ma nk Dabc\r\n"),
  script("ma bad initial", "ma nk N0 Jx\r\n"),
  script("ma with a wrong cas", "set nk 0 0 1\r\n1\r\nma nk C1 v\r\n"),
  script(
    "ma with the right cas",
    "ms nk 1 c\r\n1\r\n",
    (reply) => `ma nk C${metaCasOf(reply)} v\r\n`,
  ),
  script("ma T sets the ttl", "set nk 0 0 1\r\n1\r\nma nk T100 t v\r\n"),
  script("ma t before T", "set nk 0 100 1\r\n1\r\nma nk t T50\r\nmg nk t\r\n"),
  script("ma vivify with a ttl", "ma nv N100 t v\r\n"),
  script("ma bare", "ma\r\n"),
  script(
    "quiet pipeline ending in mn",
    "ms a 1 q\r\n1\r\nms b 1 q\r\n2\r\nmg a v q\r\nmg zz v q\r\nmd b q\r\nmd zz q\r\nmn\r\n",
  ),
];

const pipelining: Script[] = [
  script(
    "many commands in one packet",
    "set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\nget a b\r\nincr a 5\r\ndelete b\r\nbogus\r\nversion\r\n",
  ),
  script("a command split inside its keyword", {
    pieces: ["se", "t sp 0 0 5\r\nhel", "lo\r\nget sp\r\n"],
  }),
  script("a value split across packets", {
    pieces: ["set sv 0 0 10\r\n01234", "56789", "\r", "\nget sv\r\n"],
  }),
  script("a line split before its LF", { pieces: ["get foo\r", "\n"] }),
  script("one byte at a time", {
    pieces: [..."set one 0 0 3\r\nabc\r\nget one\r\nmg one v\r\n"],
    pauseMs: 1,
  }),
  script("a meta pipeline split everywhere", {
    pieces: [..."ms p 2 T0\r\nhi\r\nmg p v c\r\nma n N0 J1 v\r\n"],
    pauseMs: 1,
  }),
  script("a swallow split across packets", {
    pieces: [`set big 0 0 ${2 * mib}\r\n`, x(mib), x(mib), "\r", "\nget big\r\n"],
  }),
  script(
    "a multiget of many keys",
    `${Array.from({ length: 100 }, (_, i) => `set k${i} ${i} 0 ${String(i).length}\r\n${i}\r\n`).join("")}get ${Array.from({ length: 100 }, (_, i) => `k${i}`).join(" ")}\r\n`,
  ),
  script(
    "a multiget of more than 24 keys with a long key at the end",
    `set k1 0 0 1\r\nx\r\nget ${Array.from({ length: 30 }, () => "k1").join(" ")} ${key251}\r\n`,
  ),
  script(
    "a multiget of more than 24 keys",
    `set k1 0 0 1\r\nx\r\ngets ${Array.from({ length: 30 }, () => "k1").join(" ")}\r\n`,
  ),
];

export const scripts: readonly Script[] = [
  ...storage,
  ...limits,
  ...expiry,
  ...noreplyAndAdmin,
  ...meta,
  ...pipelining,
];
