/*
 * fail.c - failure injection rules: parse one, match one, claim a count.
 *
 *	fail STAGE PATTERN ACTION [times N]
 *
 * STAGE is connect, helo, mail, rcpt, data, eod or bdat; PATTERN a
 * case-insensitive glob (fnmatch(3), no flags: '*' matches '/' and a
 * leading '.') on what the stage is about, "" for the empty string;
 * ACTION is "reply CODE [X.Y.Z] TEXT...", "disconnect", "421" or
 * "delay SECONDS".  What a matched rule makes the session do is
 * session.c's business: here a rule is only found, and its count
 * claimed.
 *
 * Case is folded by lowercasing both the pattern (once, here) and the
 * subject (at each match) in ASCII, since FNM_CASEFOLD is not POSIX.1-2008.
 *
 * The counts are claimed with a compare-and-swap on a shared mapping,
 * so that "times 3" over a pool of workers fails exactly three
 * sessions, whichever workers serve them; the mapping is made in
 * fail_share(), called by conf_load() before any fork, so a reload,
 * which loads a new configuration, starts new counts, and a worker still
 * finishing a session of the old configuration counts in the old ones.
 */
#define _DEFAULT_SOURCE		/* MAP_ANONYMOUS: not POSIX, but everywhere */

#include <sys/types.h>
#include <sys/mman.h>

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fail.h"
#include "log.h"
#include "txn.h"

#define SUBJECT_MAX	1024		/* longer than any address or name */
#define TIMES_MAX	1000000000U
#define DELAY_MAX	86400U		/* a day, as any time in smtpd.conf */

static const char *const stages[] = {
	[FAIL_CONNECT] = "connect", [FAIL_HELO] = "helo",
	[FAIL_MAIL] = "mail", [FAIL_RCPT] = "rcpt", [FAIL_DATA] = "data",
	[FAIL_EOD] = "eod", [FAIL_BDAT] = "bdat"
};

static const char *const actions[] = {
	[FAIL_REPLY] = "reply", [FAIL_DISCONNECT] = "disconnect",
	[FAIL_421] = "421", [FAIL_DELAY] = "delay"
};

static int	 parse_action(struct fail_rule *, char **, int, const char **);
static int	 parse_reply(struct fail_rule *, char **, int, const char **);
static int	 parse_esc(const char *, int);
static int	 parse_uint(const char *, unsigned, unsigned, const char *,
		    unsigned *);
static int	 glob_match(const char *, const char *);
static int	 claim(const struct fail_rules *, size_t);
static void	 rule_free(struct fail_rule *);

/*
 * fail_parse - one rule, from the words that follow "fail" on the file's
 * line (NULL-terminated, at most FAIL_WORDS_MAX: conf.c cuts the line),
 * appended to *rules (allocated by the first).  0, or -1 with *why set.
 */
int
fail_parse(struct fail_rules **rules, char **w, const char **why)
{
	struct fail_rule	 r;
	struct fail_rules	*rs = *rules;
	char			*p;
	int			 n, i;

	memset(&r, 0, sizeof(r));
	*why = "expected: fail STAGE PATTERN ACTION [times N]";
	for (n = 0; w[n] != NULL; n++)
		;
	if (n < 3)
		return -1;
	for (i = 0; i < (int)(sizeof(stages) / sizeof(stages[0])); i++)
		if (strcmp(w[0], stages[i]) == 0)
			break;
	if (i == (int)(sizeof(stages) / sizeof(stages[0]))) {
		*why = "expected a stage: connect, helo, mail, rcpt, data, "
		    "eod or bdat";
		return -1;
	}
	r.stage = i;
	/* "times N" ends the rule; a reply's text cannot end so. */
	if (n >= 5 && strcmp(w[n - 2], "times") == 0) {
		if (parse_uint(w[n - 1], 1, TIMES_MAX, "", &r.times) == -1) {
			*why = "expected: times N, N from 1 to 1000000000";
			return -1;
		}
		n -= 2;
	}
	if (parse_action(&r, w + 2, n - 2, why) == -1)
		return -1;
	p = strcmp(w[1], "\"\"") == 0 ? "" : w[1];
	if ((r.pattern = strdup(p)) == NULL)
		fatal("strdup");
	for (p = r.pattern; *p != '\0'; p++)
		*p = tolower((unsigned char)*p);
	if (rs == NULL && (rs = *rules = calloc(1, sizeof(*rs))) == NULL)
		fatal("calloc");
	if (rs->n + 1 > SIZE_MAX / sizeof(r) ||
	    (rs->v = realloc(rs->v, (rs->n + 1) * sizeof(r))) == NULL)
		fatal("realloc");
	rs->v[rs->n++] = r;
	return 0;
}

/*
 * parse_action - the n words of the action into r.
 */
static int
parse_action(struct fail_rule *r, char **w, int n, const char **why)
{
	*why = "expected an action: reply CODE [X.Y.Z] TEXT, disconnect, "
	    "421 or delay SECONDS";
	if (strcmp(w[0], "reply") == 0) {
		r->action = FAIL_REPLY;
		return parse_reply(r, w + 1, n - 1, why);
	}
	if (strcmp(w[0], "disconnect") == 0 && n == 1)
		r->action = FAIL_DISCONNECT;
	else if (strcmp(w[0], "421") == 0 && n == 1)
		r->action = FAIL_421;
	else if (strcmp(w[0], "delay") == 0 && n == 2) {
		r->action = FAIL_DELAY;
		if (parse_uint(w[1], 1, DELAY_MAX, "smh", &r->seconds) == -1) {
			*why = "expected: delay SECONDS, such as 30, 30s or "
			    "2m, at most 1 day";
			return -1;
		}
	} else
		return -1;
	return 0;
}

/*
 * parse_reply - "CODE [X.Y.Z] TEXT...": a 4xx or 5xx code of RFC 5321
 * 4.2 (second digit 0 to 5), an enhanced code of RFC 3463 whose class
 * is the code's, and a text of printable ASCII, its words one space
 * apart.
 */
static int
parse_reply(struct fail_rule *r, char **w, int n, const char **why)
{
	size_t	 len = 0, i;
	int	 k;

	*why = "expected: reply CODE [X.Y.Z] TEXT, CODE from 400 to 559";
	if (n < 1 || strlen(w[0]) != 3 || (w[0][0] != '4' && w[0][0] != '5') ||
	    w[0][1] < '0' || w[0][1] > '5' || !isdigit((unsigned char)w[0][2]))
		return -1;
	r->code = atoi(w[0]);
	w++, n--;
	if (n > 0 && isdigit((unsigned char)w[0][0])) {
		if (parse_esc(w[0], r->code / 100) == -1) {
			*why = "expected an enhanced status code X.Y.Z whose "
			    "class X is the reply code's first digit";
			return -1;
		}
		snprintf(r->esc, sizeof(r->esc), "%s", w[0]);
		w++, n--;
	}
	if (n == 0) {
		*why = "a reply needs a text";
		return -1;
	}
	for (k = 0; k < n; k++)
		len += strlen(w[k]) + 1;
	if (len > FAIL_TEXT_MAX) {
		*why = "the reply's text is longer than 400 octets";
		return -1;
	}
	if ((r->text = malloc(len)) == NULL)
		fatal("malloc");
	r->text[0] = '\0';
	for (k = 0; k < n; k++) {
		for (i = 0; w[k][i] != '\0'; i++)
			if ((unsigned char)w[k][i] < 0x21 ||
			    (unsigned char)w[k][i] > 0x7e) {
				*why = "the reply's text must be printable "
				    "ASCII";
				free(r->text);
				r->text = NULL;
				return -1;
			}
		if (k > 0)
			strcat(r->text, " ");
		strcat(r->text, w[k]);
	}
	return 0;
}

/*
 * parse_esc - RFC 3463: class "." subject "." detail, the class the
 * reply's (4 or 5), subject and detail 1 to 3 digits without a leading
 * zero.
 */
static int
parse_esc(const char *s, int class)
{
	int	 part, digits;

	if (s[0] != '0' + class || s[1] != '.')
		return -1;
	s += 2;
	for (part = 0; part < 2; part++) {
		for (digits = 0; isdigit((unsigned char)s[digits]); digits++)
			;
		if (digits == 0 || digits > 3 || (digits > 1 && s[0] == '0'))
			return -1;
		s += digits;
		if (part == 0 && *s++ != '.')
			return -1;
	}
	return *s == '\0' ? 0 : -1;
}

/*
 * parse_uint - a number of the file (conf_number(): a decimal, one
 * optional suffix from units) from min to max.
 */
static int
parse_uint(const char *s, unsigned min, unsigned max, const char *units,
    unsigned *out)
{
	uint64_t	 n;

	if (conf_number(s, min, units, &n) == -1 || n > max)
		return -1;
	*out = n;
	return 0;
}

/*
 * fail_share - the counts, in memory the pool's workers will share.
 * Made while the configuration is read, before anything is served: a
 * few octets that cannot be had are fatal, as any allocation there.
 */
void
fail_share(struct fail_rules *rs)
{
	void	*p;

	if (rs == NULL || rs->count != NULL)
		return;
	p = mmap(NULL, rs->n * sizeof(*rs->count), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fatal("mmap");
	rs->count = p;		/* a fresh mapping is zero */
}

/*
 * fail_match - the first rule for stage whose pattern matches and whose
 * count is not used up, its count claimed; NULL for none.  For data,
 * eod and bdat the subjects are the transaction's sender and each of its
 * recipients; for the others, subject.
 */
const struct fail_rule *
fail_match(const struct fail_rules *rs, enum fail_stage stage,
    const char *subject, const struct txn *t)
{
	const struct fail_rule	*r;
	size_t			 i, k;
	int			 hit;

	if (rs == NULL)
		return NULL;
	for (i = 0; i < rs->n; i++) {
		r = &rs->v[i];
		if (r->stage != stage)
			continue;
		if (t != NULL) {
			hit = glob_match(r->pattern, t->from);
			for (k = 0; !hit && k < t->nrcpt; k++)
				hit = glob_match(r->pattern, t->rcpt[k].addr);
		} else
			hit = glob_match(r->pattern, subject ? subject : "");
		if (hit && claim(rs, i))
			return r;
	}
	return NULL;
}

/*
 * glob_match - pattern (lowercase) against s, case folded.
 */
static int
glob_match(const char *pattern, const char *s)
{
	char	 low[SUBJECT_MAX];
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i == sizeof(low) - 1)
			return 0;	/* none is this long: no match */
		low[i] = tolower((unsigned char)s[i]);
	}
	low[i] = '\0';
	return fnmatch(pattern, low, 0) == 0;
}

/*
 * claim - take one of rule i's times; 0 when they are used up.  A
 * compare-and-swap, so that two workers racing for the last one cannot
 * both have it, and a count never passes its rule's times.
 */
static int
claim(const struct fail_rules *rs, size_t i)
{
	unsigned	 times = rs->v[i].times, c;

	if (times == 0)
		return 1;
	if (rs->count == NULL)
		return 0;
	c = atomic_load(&rs->count[i]);
	while (c < times)
		if (atomic_compare_exchange_weak(&rs->count[i], &c, c + 1))
			return 1;
	return 0;
}

const char *
fail_stage_name(enum fail_stage s)
{
	return stages[s];
}

const char *
fail_action_name(enum fail_action a)
{
	return actions[a];
}

/*
 * fail_warn - a production log must show that rules are on: one line
 * at start and at each reload that loads some.
 */
void
fail_warn(const struct fail_rules *rs)
{
	if (rs != NULL && rs->n > 0)
		log_warnx("event=fail-rules count=%zu", rs->n);
}

/*
 * fail_print - the rules, one a line, as the file would say them, in
 * the file's order (smtpd -n).
 */
void
fail_print(const struct fail_rules *rs, FILE *fp)
{
	const struct fail_rule	*r;
	size_t			 i;

	for (i = 0; rs != NULL && i < rs->n; i++) {
		r = &rs->v[i];
		fprintf(fp, "fail %s %s %s", stages[r->stage],
		    r->pattern[0] != '\0' ? r->pattern : "\"\"",
		    actions[r->action]);
		if (r->action == FAIL_REPLY)
			fprintf(fp, " %d%s%s %s", r->code,
			    r->esc[0] != '\0' ? " " : "", r->esc, r->text);
		else if (r->action == FAIL_DELAY)
			fprintf(fp, " %u", r->seconds);
		if (r->times != 0)
			fprintf(fp, " times %u", r->times);
		fputc('\n', fp);
	}
}

static void
rule_free(struct fail_rule *r)
{
	free(r->pattern);
	free(r->text);
}

/*
 * fail_free - the rules and their counts.  Under a pool, each process
 * unmaps only its own view: the workers of this configuration keep
 * theirs.
 */
void
fail_free(struct fail_rules *rs)
{
	size_t	 i;

	if (rs == NULL)
		return;
	if (rs->count != NULL)
		munmap(rs->count, rs->n * sizeof(*rs->count));
	for (i = 0; i < rs->n; i++)
		rule_free(&rs->v[i]);
	free(rs->v);
	free(rs);
}
