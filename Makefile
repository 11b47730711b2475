# smtpd - a small SMTP receiver.  See README.md.

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
VERSION	= 0.6
CC	?= cc
CFLAGS	?= -O2 -g
WARN	= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	  -Wpointer-arith -Wcast-qual -Werror
STD	= -std=c11 -D_POSIX_C_SOURCE=200809L \
	  -DSMTPD_CONF=\"$(SYSCONFDIR)/smtpd.conf\" \
	  -DSMTPD_VERSION=\"$(VERSION)\"
SAN	= -fsanitize=address,undefined -fno-sanitize-recover=all \
	  -fno-omit-frame-pointer
CLANG	?= clang
FUZZ_SECONDS ?= 60
FUZZSAN	= -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  -fno-omit-frame-pointer
FUZZ	= fuzz/fuzz-session fuzz/fuzz-proxy fuzz/fuzz-conf fuzz/fuzz-dns \
	  fuzz/fuzz-spf
SRCS	= smtpd.c session.c wire.c addr.c txn.c store.c conf.c log.c proxy.c \
	  scoreboard.c contain.c notify.c dns.c dnscheck.c idna.c wait.c \
	  fail.c spf.c auth.c
HDRS	= now.h session.h wire.h addr.h txn.h store.h conf.h log.h proxy.h \
	  scoreboard.h contain.h notify.h dns.h dnscheck.h idna.h wait.h fail.h \
	  spf.h auth.h

all: smtpd

smtpd: $(SRCS) $(HDRS)
	$(CC) $(STD) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $(SRCS)

smtpd-asan: $(SRCS) $(HDRS)
	$(CC) $(STD) $(WARN) $(CFLAGS) $(SAN) $(LDFLAGS) -o $@ $(SRCS)

# The daemon on 127.0.0.1:2525, in the foreground, logging to the
# terminal; mail lands in ./spool.
run: smtpd
	./smtpd -d -f examples/dev.conf

# Every test runs against the plain build and the sanitizer build.
# test/smtpc plays hostile and honest clients over loopback; test/addr_test
# runs a table of addresses through addr.c, and test/unit_test the
# defaults, the per-address count and the log line's edges, under the
# sanitizers.
test: smtpd smtpd-asan test/smtpc test/addr_test test/unit_test \
    test/logsink test/notifysink test/linkshim.so test/dnsd test/dns_test \
    test/spf_test
	./test/run

test/addr_test: test/addr_test.c addr.c addr.h idna.c idna.h
	$(CC) $(STD) $(WARN) $(CFLAGS) $(SAN) $(LDFLAGS) -o $@ \
	    test/addr_test.c addr.c idna.c

test/unit_test: test/unit_test.c conf.c conf.h scoreboard.c scoreboard.h \
    log.c log.h idna.c idna.h fail.c fail.h
	$(CC) $(STD) $(WARN) $(CFLAGS) $(SAN) $(LDFLAGS) -o $@ \
	    test/unit_test.c conf.c scoreboard.c log.c idna.c fail.c

# Minutes of hostile clients against a pool of 16, and how long an honest
# sender waited: the figures in smtpd(8).  Not part of make test.
attack: smtpd test/smtpc
	./test/attack 180 spread
	./test/attack 120 single

# smtpd's msg/s and CPU per message next to Postfix's smtp-sink and the
# disk's fsync ceiling, over loopback: bench/run says how to read it.
# About three minutes; not part of make test.  SMTPD=path benches
# another binary.
bench: smtpd bench/fsyncmark bench/pipe test/dnsd
	./bench/run

bench/fsyncmark: bench/fsyncmark.c bench/bench.h
	$(CC) $(STD) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ bench/fsyncmark.c

bench/pipe: bench/pipe.c bench/bench.h
	$(CC) $(STD) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ bench/pipe.c

test/logsink: test/logsink.c
	$(CC) $(STD) -D_DEFAULT_SOURCE $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ \
	    test/logsink.c

test/notifysink: test/notifysink.c
	$(CC) $(STD) -D_DEFAULT_SOURCE $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ \
	    test/notifysink.c

# An LD_PRELOAD shim whose linkat() and renameat() succeed and say they
# failed, as NFS can: test/spool_check.bats runs smtpd with it.
test/linkshim.so: test/linkshim.c
	$(CC) $(STD) $(WARN) $(CFLAGS) -shared -fPIC $(LDFLAGS) -o $@ \
	    test/linkshim.c

test/dns_test: test/dns_test.c dns.c dns.h now.h
	$(CC) $(STD) $(WARN) $(CFLAGS) $(SAN) $(LDFLAGS) -o $@ \
	    test/dns_test.c dns.c

# spf.c's check_host() alone, against test/dnsd.
test/spf_test: test/spf_test.c spf.c spf.h dns.c dns.h now.h
	$(CC) $(STD) $(WARN) $(CFLAGS) $(SAN) $(LDFLAGS) -o $@ \
	    test/spf_test.c spf.c dns.c

test/dnsd: test/dnsd.c
	$(CC) $(STD) -D_DEFAULT_SOURCE $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ \
	    test/dnsd.c

test/smtpc: test/smtpc.c
	$(CC) $(STD) -D_DEFAULT_SOURCE $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ \
	    test/smtpc.c

# libFuzzer targets (fuzz/), each run FUZZ_SECONDS by fuzz/run, which
# says what it found; not part of make test.  Needs clang and libFuzzer.
fuzz: $(FUZZ)
	./fuzz/run $(FUZZ_SECONDS)

$(FUZZ): | fuzz-check

fuzz-check:
	@CLANG='$(CLANG)' ./fuzz/run -c

fuzz/fuzz-session: fuzz/session.c fuzz/fuzz.c fuzz/fuzz.h session.c wire.c \
    addr.c txn.c store.c conf.c log.c idna.c fail.c auth.c spf.c dns.c \
    $(HDRS)
	$(CLANG) $(STD) $(WARN) -O1 -g $(FUZZSAN) -pthread -o $@ \
	    fuzz/session.c fuzz/fuzz.c session.c wire.c addr.c txn.c \
	    store.c conf.c log.c idna.c fail.c auth.c spf.c dns.c

fuzz/fuzz-proxy: fuzz/proxy.c fuzz/fuzz.c fuzz/fuzz.h proxy.c log.c $(HDRS)
	$(CLANG) $(STD) $(WARN) -O1 -g $(FUZZSAN) -pthread -o $@ \
	    fuzz/proxy.c fuzz/fuzz.c proxy.c log.c

fuzz/fuzz-conf: fuzz/conf.c fuzz/fuzz.c fuzz/fuzz.h conf.c log.c idna.c \
    fail.c $(HDRS)
	$(CLANG) $(STD) $(WARN) -O1 -g $(FUZZSAN) -pthread -o $@ \
	    fuzz/conf.c fuzz/fuzz.c conf.c log.c idna.c fail.c

fuzz/fuzz-dns: fuzz/dns.c fuzz/fuzz.c fuzz/fuzz.h dns.c log.c $(HDRS)
	$(CLANG) $(STD) $(WARN) -O1 -g $(FUZZSAN) -pthread -o $@ \
	    fuzz/dns.c fuzz/fuzz.c dns.c log.c

fuzz/fuzz-spf: fuzz/spf.c fuzz/fuzz.c fuzz/fuzz.h spf.c spf.h dns.c log.c \
    $(HDRS)
	$(CLANG) $(STD) $(WARN) -O1 -g $(FUZZSAN) -pthread -o $@ \
	    fuzz/spf.c fuzz/fuzz.c spf.c dns.c log.c

lint:
	mandoc -Tlint -Wwarning smtpd.8 smtpd.conf.5

install: smtpd
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(MANDIR)/man5
	install -m 755 smtpd $(DESTDIR)$(SBINDIR)/smtpd
	install -m 644 smtpd.8 $(DESTDIR)$(MANDIR)/man8/smtpd.8
	install -m 644 smtpd.conf.5 $(DESTDIR)$(MANDIR)/man5/smtpd.conf.5

clean:
	rm -f smtpd smtpd-asan test/smtpc test/addr_test test/unit_test \
	    test/logsink test/notifysink test/linkshim.so test/dnsd \
	    test/dns_test test/spf_test bench/fsyncmark bench/pipe $(FUZZ)

.PHONY: all run test attack bench fuzz fuzz-check lint install clean
