/*
 * fail.h - failure injection: "fail STAGE PATTERN ACTION [times N]".
 *
 * For people who test their own software's mail against smtpd: a rule
 * makes one stage of the dialogue answer a given reply, hang up, answer
 * 421 and hang up, or wait before answering normally, for the clients
 * (or senders, recipients, HELO names) a glob matches, optionally only
 * the first N times.  conf.c parses the rules into the configuration;
 * session.c asks fail_match() at each stage, and says what a rule
 * makes it say: this file decides nothing about the dialogue.
 *
 * The counts of "times" live in a shared anonymous mapping made when
 * the configuration is loaded, before the pool forks: every worker of
 * the daemon counts in the same place, and a reload (SIGHUP) loads a
 * new configuration with new counts.  Under smtpd -i each process has
 * its own counts.
 */
#ifndef FAIL_H
#define FAIL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>

struct txn;

enum fail_stage {
	FAIL_CONNECT, FAIL_HELO, FAIL_MAIL, FAIL_RCPT, FAIL_DATA, FAIL_EOD,
	FAIL_BDAT
};

enum fail_action { FAIL_REPLY, FAIL_DISCONNECT, FAIL_421, FAIL_DELAY };

#define FAIL_TEXT_MAX	400	/* an injected reply's text */

struct fail_rule {
	enum fail_stage	 stage;
	char		*pattern;	/* lowercased; "" matches only "" */
	enum fail_action action;
	int		 code;		/* FAIL_REPLY: 400-559 */
	char		 esc[12];	/* "X.Y.Z", or "" */
	char		*text;		/* FAIL_REPLY */
	unsigned	 seconds;	/* FAIL_DELAY */
	unsigned	 times;		/* 0: every time */
};

struct fail_rules {
	struct fail_rule *v;
	size_t		  n;
	atomic_uint	 *count;	/* one per rule, shared; or NULL */
};

#define FAIL_WORDS_MAX	256	/* in one rule, after "fail" */

int	 fail_parse(struct fail_rules **, char **, const char **);
void	 fail_share(struct fail_rules *);
void	 fail_free(struct fail_rules *);
const struct fail_rule *fail_match(const struct fail_rules *,
	    enum fail_stage, const char *subject, const struct txn *);
const char *fail_stage_name(enum fail_stage);
const char *fail_action_name(enum fail_action);
void	 fail_warn(const struct fail_rules *);
void	 fail_print(const struct fail_rules *, FILE *);

#endif
