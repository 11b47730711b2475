/*
 * store.h - turn one accepted message into durable Maildir files.
 *
 * The spool is SPOOL/DOMAIN/LOCALPART/{tmp,new,cur}, created on first use;
 * a recipient may name a Maildir++ folder, SPOOL/DOMAIN/LOCALPART/.FOLDER,
 * which the store uses only if it exists.
 * A message is written once, into the first recipient's tmp/, and
 * hard-linked or renamed into every recipient's new/.  store_commit()
 * returns 0 only when the file and every new/ entry naming it have been
 * fsynced (or, after store_sync(st, 0), "sync no", written without an
 * fsync); on any failure no new/ holds the message.  store_write() takes
 * the message with the CRLF line ends it travelled with and writes
 * Maildir's LF.  store_tidy(), called after a session, removes what
 * crashed deliveries left in tmp/.  A struct store keeps descriptors and
 * a buffer for the process that delivers through it: open it before
 * forking, deliver only after.  store_probe() checks that this process
 * can deliver into the spool at all; store_watch() has it refuse (ESTALE)
 * once a shared number says the spool is no longer the one at its path.  The store knows nothing about SMTP.
 */
#ifndef STORE_H
#define STORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct store;		/* an open spool directory */
struct store_msg;	/* one message being written */

struct store_rcpt {
	const char	*domain;	/* lowercase, checked by store_name_ok() */
	const char	*local;
	const char	*folder;	/* Maildir++ folder, without its dot and
					   with none inside; NULL or "": the
					   inbox */
};

struct store	 *store_open(const char *spool, const char *hostname);
void		  store_close(struct store *);
int		  store_root(const struct store *);
void		  store_watch(struct store *, const atomic_uint *current,
		    unsigned serial);
void		  store_sync(struct store *, int on);
int		  store_probe(struct store *, const char **step);
int		  store_name_ok(const char *);
int		  store_folder_exists(const struct store *,
		    const struct store_rcpt *);
int		  store_box_path(const struct store_rcpt *, char *, size_t);
struct store_msg *store_create(struct store *, const struct store_rcpt *);
const char	 *store_id(const struct store_msg *);
void		  store_write(struct store_msg *, const void *, size_t);
int		  store_commit(struct store_msg *, const struct store_rcpt *,
		    size_t);
void		  store_abort(struct store_msg *);
int		  store_tidy(struct store *);

#endif
