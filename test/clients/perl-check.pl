# Exercises memraft through Cache::Memcached::Fast (Debian's
# libcache-memcached-fast-perl) and prints "name=value" lines for the ava
# test to check. Usage: perl perl-check.pl <port> [host, default 127.0.0.1]
use strict;
use warnings;
use Cache::Memcached::Fast;

my $port = shift @ARGV;
my $host = shift @ARGV // "127.0.0.1";
my $memd = Cache::Memcached::Fast->new({
    servers => ["$host:$port"],
    utf8 => 0,
    io_timeout => 5,
    connect_timeout => 5,
});

sub show { my ($name, $value) = @_; print "$name=", (defined $value ? $value : "undef"), "\n"; }

$memd->flush_all;
show("set", $memd->set("pl:key", "hello"));
show("get", $memd->get("pl:key"));
$memd->set("pl:a", "1");
$memd->set("pl:b", "2");
my $multi = $memd->get_multi("pl:a", "pl:b", "pl:missing");
show("get_multi", join(",", map { "$_:$multi->{$_}" } sort keys %$multi));
show("add_existing", $memd->add("pl:key", "x") ? 1 : 0);
show("add_new", $memd->add("pl:new", "x") ? 1 : 0);
show("replace_missing", $memd->replace("pl:nothing", "x") ? 1 : 0);
$memd->append("pl:key", " world");
$memd->prepend("pl:key", ">");
show("append_prepend", $memd->get("pl:key"));
my $gets = $memd->gets("pl:key");
show("cas_ok", $memd->cas("pl:key", @$gets[0], "swapped") ? 1 : 0);
show("cas_stale", $memd->cas("pl:key", @$gets[0], "again") ? 1 : 0);
show("after_cas", $memd->get("pl:key"));
$memd->set("pl:n", 10);
show("incr", $memd->incr("pl:n", 5));
show("decr", $memd->decr("pl:n", 100));
show("incr_missing", $memd->incr("pl:nope", 1));
show("delete", $memd->delete("pl:n") ? 1 : 0);
show("delete_missing", $memd->delete("pl:n") ? 1 : 0);
show("touch", $memd->touch("pl:key", 100) ? 1 : 0);
my $binary = join("", map { chr($_) } 0 .. 255);
$memd->set("pl:binary", $binary);
show("binary_roundtrip", ($memd->get("pl:binary") eq $binary) ? 1 : 0);
my $versions = $memd->server_versions;
show("version", join(",", values %$versions));
$memd->flush_all;
show("after_flush", $memd->get("pl:key"));
