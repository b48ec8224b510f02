#!/usr/bin/env bash
# check_raft_purity.sh DIR - fail if the raft core under DIR does I/O, reads a
# clock, draws outside randomness, uses threads or links an outside library.
#
# CONVENTIONS sections 1.1, 1.3 and 9: raft/ is a deterministic state machine
# with no system calls, no clock and no dependency objects. The compiler
# already refuses a DPDK or liburing include there (raft/ gets no include
# paths for them); this grep catches what libc would happily compile:
#   - #include of I/O, network, clock, thread and outside-library headers;
#   - calls to socket, clock, sleep, randomness, file and process functions
#     (comments and string literals are blanked first, so prose that names
#     them is fine);
#   - dependency() or find_library() in DIR's meson.build files.
# Allocation outside node creation is not checkable by grep; review catches it.
#
# Registered by tests/meson.build as the `raft-purity` test (suite purity).
# Prints one line per finding as FILE:LINE: what and why, and exits 1; exits
# 2 on a usage error; prints `raft/ is pure: N files checked` and exits 0.
set -euo pipefail

if [[ $# -ne 1 || ! -d "$1" ]]; then
    echo "usage: $0 DIR (the raft/ source folder); got: ${*:-nothing}" >&2
    exit 2
fi
dir=${1%/}

files=()
while IFS= read -r -d '' f; do
    files+=("$f")
done < <(find "$dir" -type f \( -name '*.c' -o -name '*.h' -o -name '*.inc' \
                                -o -name meson.build \) -print0 | sort -z)

n_sources=0
for f in "${files[@]}"; do
    [[ "$f" == *meson.build ]] || n_sources=$((n_sources + 1))
done
if [[ $n_sources -eq 0 ]]; then
    echo "$dir: no C sources (*.c, *.h, *.inc) found; nothing to check is a failure" >&2
    exit 1
fi

# perl-base is Essential in Debian, so it is always there.
status=0
perl -e '
use strict;
use warnings;

# [regex on the included name, reason]
my @bad_headers = (
    [qr{^(rte_|dpdk/)}, "DPDK header: the core never touches the NIC"],
    [qr{^liburing(\.h$|/)}, "liburing header: the core never does I/O"],
    [qr{^isa-l(\.h$|/)}, "ISA-L header: checksums belong to storage/"],
    [qr{^numa(if)?\.h$}, "libnuma header: memory placement belongs to dataplane/"],
    [qr{^jansson\.h$}, "jansson header: JSON belongs to control/ and bench/"],
    [qr{^(sys/socket|sys/un|netdb|poll|sys/poll|sys/epoll|sys/select)\.h$},
     "socket/network header: the core never does I/O"],
    [qr{^(netinet|arpa|net|linux)/}, "socket/network header: the core never does I/O"],
    [qr{^(time|sys/time|sys/times|sys/timerfd)\.h$},
     "clock/time header: the core reads no clock, time comes in as ticks"],
    [qr{^(pthread|threads|sched|semaphore|signal)\.h$},
     "thread/signal header: one owner thread drives a node"],
    [qr{^(stdio|unistd|fcntl|dirent|sys/(stat|mman|ioctl|uio|syscall|random|wait))\.h$},
     "I/O or system-call header: the core does no I/O"],
);

my %bad_calls;
$bad_calls{$_} = "network call: the core never does I/O"
    for qw(socket connect bind listen accept accept4 send sendto sendmsg
           recv recvfrom recvmsg getaddrinfo gethostbyname);
$bad_calls{$_} = "clock/sleep call: the core reads no clock, time comes in as ticks"
    for qw(clock_gettime gettimeofday time clock timespec_get rdtsc __rdtsc
           __builtin_ia32_rdtsc nanosleep clock_nanosleep sleep usleep);
$bad_calls{$_} = "randomness outside the node: use the generator seeded at creation"
    for qw(rand srand rand_r random srandom drand48 erand48 lrand48 nrand48
           mrand48 jrand48 srand48 getrandom getentropy arc4random);
$bad_calls{$_} = "I/O or process call: the core does no I/O"
    for qw(open openat creat close read write pread pwrite readv writev fsync
           fdatasync ioctl mmap syscall fork getenv system printf fprintf
           puts fputs fopen fwrite fread perror);
my $call_re = join "|", map { quotemeta } sort keys %bad_calls;

# Replace comments (and, when asked, string and character literals) with
# spaces, keeping every newline, so line numbers stay right.
sub blank {
    my ($text, $strings_too) = @_;
    my $blank = sub { my $s = shift; $s =~ s/[^\n]/ /g; $s };
    $text =~ s{
        ( /\*.*?\*/ | //[^\n]* )
      | ( "(?:\\.|[^"\\\n])*" | \x27(?:\\.|[^\x27\\\n])*\x27 )
    }{
        defined $1 ? $blank->($1) : ($strings_too ? $blank->($2) : $2)
    }gsex;
    return $text;
}

my ($n_files, $n_bad) = (0, 0);
for my $file (@ARGV) {
    open my $fh, "<", $file or die "$file: cannot read: $!\n";
    my $text = do { local $/; <$fh> };
    close $fh;
    $n_files++;

    if ($file =~ m{(^|/)meson\.build$}) {
        my @lines = split /\n/, blank_meson($text), -1;
        for my $i (0 .. $#lines) {
            if ($lines[$i] =~ /\b(dependency|find_library)\s*\(/) {
                print "$file:", $i + 1, ": calls $1(): raft/ gets no dependency objects",
                      " (CONVENTIONS section 9)\n";
                $n_bad++;
            }
        }
        next;
    }

    my @code = split /\n/, blank($text, 0), -1;   # includes keep their names
    my @bare = split /\n/, blank($text, 1), -1;   # calls: no prose, no strings
    for my $i (0 .. $#code) {
        my $where = "$file:" . ($i + 1);
        if ($code[$i] =~ /^\s*#\s*include\s*[<"]([^>"]+)[>"]/) {
            my $name = $1;
            for my $rule (@bad_headers) {
                if ($name =~ $rule->[0]) {
                    print "$where: includes <$name>: $rule->[1]\n";
                    $n_bad++;
                    last;
                }
            }
        }
        while ($bare[$i] =~ /(?<![\w.])(?<!->)($call_re)\s*\(/g) {
            print "$where: calls $1(): $bad_calls{$1}\n";
            $n_bad++;
        }
    }
}

sub blank_meson {
    my $text = shift;
    $text =~ s/#[^\n]*//g;   # meson comments; no meson string here holds a #
    return $text;
}

if ($n_bad) {
    print "raft/ is not pure: $n_bad finding(s) in $n_files files (CONVENTIONS sections 1 and 9)\n";
    exit 1;
}
print "raft/ is pure: $n_files files checked\n";
' "${files[@]}" || status=$?
exit "$status"
