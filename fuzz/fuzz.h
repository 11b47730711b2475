/*
 * fuzz/fuzz.h - what the libFuzzer targets in fuzz/ share.
 *
 * An input of the session and PROXY targets is the client's octets with
 * the edges of the reads marked in it: a lone 0xff octet is an edge, two
 * (0xff 0xff) are one 0xff of the client's.  0xff never occurs in UTF-8,
 * so a seed is a dialogue as a client sends it, with edges where a test
 * wants them; the fuzzer adds and moves edges as it mutates.
 *
 * A target that finds an invariant broken says which, with the context
 * it has, on the descriptor that was stderr when the target started
 * (libFuzzer's -close_fd_mask=2 sends smtpd's own log lines to
 * /dev/null), and aborts: libFuzzer keeps the input as a crash.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* A growing array of octets. */
struct buf {
	unsigned char	*p;
	size_t		 len, size;
};

/* The client's octets, decoded, and where each read ends. */
struct pieces {
	unsigned char	*data;
	size_t		 len;
	size_t		*end;		/* end[i]: one past piece i in data */
	size_t		 n;
};

int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

void	 fuzz_init(void);
void	 fuzz_cleanup(void (*)(void));
void	 fuzz_note(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 fuzz_note_octets(const char *, const void *, size_t);
void	 fuzz_fail(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
const char *fuzz_tmpdir(void);
void	 fuzz_pieces(struct pieces *, const uint8_t *, size_t, size_t max);
void	 fuzz_pieces_free(struct pieces *);
void	 fuzz_thread_start(void (*)(void *), void *);
void	 fuzz_thread_join(void);
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_free(struct buf *);
int	 fuzz_empty_dir(int);

#endif
