// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's memory across crashes, restarts and reboots: the bans it
 * knows (its own and those added by hand) and each host's offence history,
 * under state_dir in two files: a snapshot of the whole state and a journal
 * of what changed since.
 *
 * The snapshot, smtpgated.state, is text:
 *
 *   smtpgated-state 2
 *   generation GEN
 *   ban PREFIX SCOPE EXPIRES CREATED REASON
 *   offence PREFIX COUNT LAST CLEAN_FROM
 *   kernel INSTANCE FLUSHES
 *   end NBANS NOFFENCES
 *
 * Times are Unix seconds (EXPIRES 0: permanent); REASON is percent-encoded
 * so it is one word ("-" when empty).  The kernel line (at most one)
 * names the kernel state the bans were last reconciled with: its
 * STATS_INSTANCE and STATS_FLUSHES.  Version 1 files (no generation line,
 * written by smtpgated before the journal) are read as generation 0.
 *
 * The journal, smtpgated.journal, is what makes a save cost what changed,
 * not what is kept (a million bans are 78 MB of snapshot, and the save
 * sits in the one loop that also answers NFQUEUE and serves the trap):
 *
 *   smtpgated-journal 1 GEN
 *   J LEN CRC                   one record per save: LEN bytes of lines
 *   ban ... | unban PREFIX | offence ... | unoffence PREFIX | kernel ...
 *
 * A record holds the state, as of that save, of every prefix changed
 * since the one before (the snapshot's line grammar; unban and unoffence
 * for what is gone), so replaying records in order onto the snapshot of
 * the same GEN gives the state; a save is one write and one fdatasync.
 * CRC is the CRC32C of the LEN bytes, in hex: a SIGKILL or power loss in
 * the middle of an append leaves a tail that is not a whole record with
 * its checksum, and nothing valid after it.  Loading drops such a tail
 * (it was never acknowledged: the fdatasync had not returned), says how
 * many bytes, and truncates it before the next append.  A bad record with
 * a valid one after it cannot be a torn write: that is corruption.
 *
 * When the journal outgrows the snapshot (1 MiB at least), a save
 * compacts instead: a new snapshot of generation GEN+1 is written whole,
 * atomically (a temporary file, fsync, rename over the old one, fsync of
 * the directory), then a new, empty journal of GEN+1 the same way.  A
 * crash between the two leaves the new snapshot and the old journal,
 * whose lower GEN marks it stale: its records are all in the snapshot.
 * So at every point either the old snapshot and its whole journal, or the
 * new snapshot, hold every acknowledged save.
 *
 * The daemon saves before it asks the kernel for a ban, so no ban the
 * kernel enforces is ever missing from both the store and the kernel
 * after a crash.
 *
 * Reading is strict: a snapshot that does not parse in full (the end line
 * counts its records, so truncation shows) is reported with file:line and
 * the field, renamed to smtpgated.state.corrupt-TIME for a human to look
 * at (its journal with it), and the daemon goes on with what the kernel
 * still holds.  A corrupt journal record is reported with the file and
 * its offset and the journal moved aside the same way; the snapshot and
 * the records before the bad one are kept.  Nothing is silently dropped
 * or half-read.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "smtpgated.h"
#include "duration.h"

#define STORE_MAGIC_V1	"smtpgated-state 1"
#define STORE_MAGIC	"smtpgated-state 2"
#define JOURNAL_MAGIC	"smtpgated-journal 1"
/* Below this the journal is never compacted for its size. */
#define JOURNAL_MIN	(1 << 20)
/* "J LEN CRC\n": room in front of a record's lines for its header. */
#define REC_HEAD_MAX	32
/* The longest line either file has: a ban with a 63-byte reason, encoded. */
#define LINE_MAX_LEN	512
#define NIL		UINT32_MAX

/* ---- prefix tables ----------------------------------------------------------- */

void ptab_init(struct ptab *t, size_t size)
{
	memset(t, 0, sizeof(*t));
	t->size = size;
}

void ptab_free(struct ptab *t)
{
	free(t->v);
	free(t->head);
	free(t->next);
	ptab_init(t, t->size);
}

void ptab_clear(struct ptab *t)
{
	size_t size = t->size;

	ptab_free(t);
	t->size = size;
}

void *ptab_at(const struct ptab *t, size_t i)
{
	return t->v + i * t->size;
}

static const struct sg_prefix *key_at(const struct ptab *t, size_t i)
{
	return ptab_at(t, i);
}

/* FNV-1a over what makes a prefix: family, length, address. */
static uint32_t hash(const struct sg_prefix *p)
{
	size_t i, n = sg_family_addr_len(p->family);
	uint32_t h = 2166136261u;

	h = (h ^ p->family) * 16777619u;
	h = (h ^ p->len) * 16777619u;
	for (i = 0; i < n; i++)
		h = (h ^ p->addr.bytes[i]) * 16777619u;
	return h;
}

static int fam(const struct sg_prefix *p)
{
	return p->family == AF_INET6;
}

static void link_rec(struct ptab *t, uint32_t i)
{
	uint32_t b = hash(key_at(t, i)) & (t->nbuckets - 1);

	t->next[i] = t->head[b];
	t->head[b] = i;
}

static void unlink_rec(struct ptab *t, uint32_t i)
{
	uint32_t *pp = &t->head[hash(key_at(t, i)) & (t->nbuckets - 1)];

	while (*pp != i)
		pp = &t->next[*pp];
	*pp = t->next[i];
}

static int rehash(struct ptab *t, uint32_t nbuckets)
{
	uint32_t *head = malloc(nbuckets * sizeof(*head)), i;

	if (!head)
		return -ENOMEM;
	free(t->head);
	t->head = head;
	t->nbuckets = nbuckets;
	for (i = 0; i < nbuckets; i++)
		head[i] = NIL;
	for (i = 0; i < t->n; i++)
		link_rec(t, i);
	return 0;
}

static int grow(struct ptab *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	uint32_t *next;
	char *v;

	if (cap >= NIL)
		return -ENOSPC;
	v = realloc(t->v, cap * t->size);
	if (!v)
		return -ENOMEM;
	t->v = v;
	next = realloc(t->next, cap * sizeof(*next));
	if (!next)
		return -ENOMEM;
	t->next = next;
	t->cap = cap;
	return rehash(t, cap);
}

void *ptab_find(const struct ptab *t, const struct sg_prefix *p)
{
	uint32_t i;

	if (!t->nbuckets)
		return NULL;
	for (i = t->head[hash(p) & (t->nbuckets - 1)]; i != NIL; i = t->next[i])
		if (sg_prefix_equal(key_at(t, i), p))
			return ptab_at(t, i);
	return NULL;
}

void *ptab_get(struct ptab *t, const struct sg_prefix *p, bool *created)
{
	void *rec = ptab_find(t, p);

	if (created)
		*created = !rec;
	if (rec)
		return rec;
	if (t->n == t->cap && grow(t))
		return NULL;
	rec = ptab_at(t, t->n);
	memset(rec, 0, t->size);
	memcpy(rec, p, sizeof(*p));
	link_rec(t, t->n++);
	t->lens[fam(p)][p->len]++;
	return rec;
}

void ptab_del(struct ptab *t, void *rec)
{
	uint32_t i = ((char *)rec - t->v) / t->size, last = t->n - 1;

	unlink_rec(t, i);
	t->lens[fam(rec)][((struct sg_prefix *)rec)->len]--;
	if (i != last) {
		unlink_rec(t, last);
		memcpy(rec, ptab_at(t, last), t->size);
		link_rec(t, i);
	}
	t->n--;
}

void *ptab_covering(const struct ptab *t, const struct sg_prefix *p)
{
	struct sg_prefix q;
	void *rec;
	int len;

	for (len = p->len; len >= 0; len--) {
		if (!t->lens[fam(p)][len])
			continue;
		q = *p;
		q.len = len;
		sg_prefix_mask(&q);
		rec = ptab_find(t, &q);
		if (rec)
			return rec;
	}
	return NULL;
}

/* ---- CRC32C ---------------------------------------------------------------------- */

/*
 * Castagnoli's polynomial (reflected), as ext4, btrfs and iSCSI use it;
 * slicing by 8 so that replaying a journal as large as a million-ban
 * snapshot stays well under a second.
 */
static uint32_t crc_tab[8][256];

static void crc_init(void)
{
	uint32_t c, i, j;

	if (crc_tab[0][1])
		return;
	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = c & 1 ? c >> 1 ^ 0x82f63b78 : c >> 1;
		crc_tab[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			crc_tab[j][i] = crc_tab[j - 1][i] >> 8 ^
					crc_tab[0][crc_tab[j - 1][i] & 0xff];
}

static uint32_t crc32c(const void *data, size_t n)
{
	const unsigned char *p = data;
	uint32_t c = ~0u;

	crc_init();
	for (; n >= 8; n -= 8, p += 8) {
		c ^= (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
		c = crc_tab[7][c & 0xff] ^ crc_tab[6][c >> 8 & 0xff] ^
		    crc_tab[5][c >> 16 & 0xff] ^ crc_tab[4][c >> 24] ^
		    crc_tab[3][p[4]] ^ crc_tab[2][p[5]] ^
		    crc_tab[1][p[6]] ^ crc_tab[0][p[7]];
	}
	while (n--)
		c = crc_tab[0][(c ^ *p++) & 0xff] ^ c >> 8;
	return ~c;
}

/* ---- the store ----------------------------------------------------------------- */

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

int store_init(struct sgd_store *s, const char *dir)
{
	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
	s->jfd = -1;
	ptab_init(&s->bans, sizeof(struct sgd_ban));
	ptab_init(&s->offences, sizeof(struct sgd_offence));
	ptab_init(&s->changes, sizeof(struct sgd_change));
	s->dir = strdup(dir);
	s->path = path_join(dir, SGD_STATE_FILE);
	s->tmp = path_join(dir, SGD_STATE_FILE ".tmp");
	s->jpath = path_join(dir, SGD_JOURNAL_FILE);
	s->jtmp = path_join(dir, SGD_JOURNAL_FILE ".tmp");
	if (!s->dir || !s->path || !s->tmp || !s->jpath || !s->jtmp) {
		store_free(s);
		return -ENOMEM;
	}
	return 0;
}

void store_free(struct sgd_store *s)
{
	ptab_free(&s->bans);
	ptab_free(&s->offences);
	ptab_free(&s->changes);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	if (s->jfd >= 0)
		close(s->jfd);
	free(s->dir);
	free(s->path);
	free(s->tmp);
	free(s->jpath);
	free(s->jtmp);
	s->dir = s->path = s->tmp = s->jpath = s->jtmp = NULL;
	s->lock_fd = -1;
	s->jfd = -1;
}

static int mkdirs(char *path)
{
	char *slash;

	for (slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(path, 0755) && errno != EEXIST) {
			*slash = '/';
			return -errno;
		}
		*slash = '/';
	}
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * Is @fd still the file at @path?  A daemon that refused to start
 * unlinks its lock (store_unlock()); another that opened the file before
 * that holds an orphan, and must lock the new file instead.
 */
static bool still_linked(int fd, const char *path)
{
	struct stat a, b;

	return !fstat(fd, &a) && !stat(path, &b) &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * One daemon per state directory: two would both ban, and each would
 * overwrite the other's file.  The lock dies with the process, SIGKILL
 * included.
 */
int store_lock(struct sgd_store *s, char *err, size_t len)
{
	char *lock, pid[24];
	int ret, tries = 0;

	ret = mkdirs(s->dir);
	if (ret) {
		snprintf(err, len, "cannot create %s: %s", s->dir,
			 strerror(-ret));
		return ret;
	}
	lock = path_join(s->dir, "lock");
	if (!lock)
		return -ENOMEM;
again:
	s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		ret = -errno;
		snprintf(err, len, "cannot open %s: %s", lock, strerror(errno));
		goto out;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB)) {
		ret = -errno;
		snprintf(err, len, errno == EWOULDBLOCK ?
			 "another smtpgated uses %s (it holds %s)" :
			 "cannot lock %s (%s)", s->dir,
			 errno == EWOULDBLOCK ? lock : strerror(errno));
		close(s->lock_fd);
		s->lock_fd = -1;
		goto out;
	}
	if (!still_linked(s->lock_fd, lock) && ++tries < 8) {
		close(s->lock_fd);
		goto again;
	}
	/* The pid is a courtesy to whoever wonders who holds the lock. */
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (!ftruncate(s->lock_fd, 0) &&
	    pwrite(s->lock_fd, pid, strlen(pid), 0) < 0)
		pid[0] = '\0';
	ret = 0;
out:
	free(lock);
	return ret;
}

/*
 * Gives the lock up and removes its file, so that a daemon that refused
 * to start leaves no pid behind for anyone to signal.  Unlinked while
 * still held: whoever opened it meanwhile sees it orphaned (still_linked()).
 * Nothing when the lock is not ours.
 */
void store_unlock(struct sgd_store *s)
{
	char *lock;

	if (s->lock_fd < 0)
		return;
	lock = path_join(s->dir, "lock");
	if (lock && still_linked(s->lock_fd, lock))
		unlink(lock);
	free(lock);
	close(s->lock_fd);
	s->lock_fd = -1;
}

/* ---- what changed ------------------------------------------------------------------ */

/*
 * Notes that @p's ban or offence changed: the next save writes its state
 * as it is then, or that it is gone.  Without the memory to note it, the
 * next save writes everything instead.
 */
static void note(struct sgd_store *s, const struct sg_prefix *p, uint8_t what)
{
	struct sgd_change *c = ptab_get(&s->changes, p, NULL);

	s->dirty = true;
	if (c)
		c->what |= what;
	else
		s->need_compact = true;
}

struct sgd_ban *store_ban_put(struct sgd_store *s, const struct sg_prefix *p)
{
	struct sgd_ban *b;

	note(s, p, STORE_CH_BAN);
	b = ptab_get(&s->bans, p, NULL);
	return b;
}

void store_ban_del(struct sgd_store *s, struct sgd_ban *b)
{
	note(s, &b->prefix, STORE_CH_BAN);
	ptab_del(&s->bans, b);
}

void store_ban_changed(struct sgd_store *s, const struct sgd_ban *b)
{
	note(s, &b->prefix, STORE_CH_BAN);
}

void store_offence_changed(struct sgd_store *s, const struct sgd_offence *o)
{
	note(s, &o->prefix, STORE_CH_OFFENCE);
}

struct sgd_offence *store_offence_get(struct sgd_store *s,
				      const struct sg_prefix *p, bool *created)
{
	note(s, p, STORE_CH_OFFENCE);
	return ptab_get(&s->offences, p, created);
}

/* ---- text ----------------------------------------------------------------------- */

static void reason_encode(const char *r, char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (!*r || !strcmp(r, "-")) {
		snprintf(out, len, *r ? "%%2d" : "-");
		return;
	}
	for (; *r && o + 4 < len; r++) {
		unsigned char c = *r;

		if (c > 0x20 && c < 0x7f && c != '%') {
			out[o++] = c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int reason_decode(const char *in, char *out, size_t len)
{
	size_t o = 0;
	int hi, lo;

	if (!strcmp(in, "-")) {
		out[0] = '\0';
		return 0;
	}
	for (; *in; in++) {
		if (o + 1 >= len)
			return -1;
		if (*in != '%') {
			out[o++] = *in;
			continue;
		}
		hi = hexval(in[1]);
		lo = hi < 0 ? -1 : hexval(in[2]);
		if (lo < 0 || (hi == 0 && lo == 0))
			return -1;
		out[o++] = hi << 4 | lo;
		in += 2;
	}
	out[o] = '\0';
	return 0;
}

static const char *scope_word(uint8_t scope)
{
	return scope == SMTPGATE_SCOPE_ALL ? "all" : "smtp";
}

/* One line of either file, with its newline; its length. */
static int ban_line(const struct sgd_ban *b, char *buf, size_t len)
{
	char pfx[SG_PREFIX_STRLEN], reason[SMTPGATE_BAN_REASON_LEN * 3 + 4];

	reason_encode(b->reason, reason, sizeof(reason));
	return snprintf(buf, len, "ban %s %s %" PRIu64 " %" PRIu64 " %s\n",
			sg_prefix_str(&b->prefix, pfx, sizeof(pfx)),
			scope_word(b->scope), b->expires, b->created, reason);
}

static int offence_line(const struct sgd_offence *o, char *buf, size_t len)
{
	char pfx[SG_PREFIX_STRLEN];

	return snprintf(buf, len, "offence %s %u %" PRIu64 " %" PRIu64 "\n",
			sg_prefix_str(&o->prefix, pfx, sizeof(pfx)), o->count,
			o->last, o->clean_from);
}

static int gone_line(const char *what, const struct sg_prefix *p, char *buf,
		     size_t len)
{
	char pfx[SG_PREFIX_STRLEN];

	return snprintf(buf, len, "%s %s\n", what,
			sg_prefix_str(p, pfx, sizeof(pfx)));
}

/*
 * Bans past their end are the kernel's to forget too: not worth keeping.
 * Noted, so that a compaction that fails leaves them to the journal.
 */
static void prune_expired(struct sgd_store *s, uint64_t now)
{
	size_t i;

	for (i = s->bans.n; i-- > 0;) {
		struct sgd_ban *b = ptab_at(&s->bans, i);

		if (b->expires && b->expires <= now)
			store_ban_del(s, b);
	}
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

/* The whole state as a snapshot of generation @gen. */
static int write_all(struct sgd_store *s, FILE *f, uint64_t gen)
{
	char line[LINE_MAX_LEN];
	size_t i;

	fprintf(f, "%s\ngeneration %" PRIu64 "\n", STORE_MAGIC, gen);
	for (i = 0; i < s->bans.n; i++) {
		ban_line(ptab_at(&s->bans, i), line, sizeof(line));
		fputs(line, f);
	}
	for (i = 0; i < s->offences.n; i++) {
		offence_line(ptab_at(&s->offences, i), line, sizeof(line));
		fputs(line, f);
	}
	if (s->kinstance)
		fprintf(f, "kernel %" PRIu64 " %u\n", s->kinstance,
			s->kflushes);
	fprintf(f, "end %zu %zu\n", s->bans.n, s->offences.n);
	if (fflush(f) || ferror(f))
		return -(errno ?: EIO);
	return 0;
}

int store_dump(struct sgd_store *s, FILE *f)
{
	errno = 0;
	return write_all(s, f, s->gen);
}

/* Why a write failed: what, on which file, for the message. */
struct fail {
	const char *what, *file;
};

static int failed(struct sgd_store *s, const struct fail *f, int ret,
		  char *err, size_t len)
{
	s->save_errors++;
	snprintf(err, len, "cannot %s %s: %s", f->what, f->file,
		 strerror(-ret));
	return ret;
}

/* Writes the snapshot atomically: either the old file or this one. */
static int snapshot_write(struct sgd_store *s, uint64_t gen, uint64_t *size,
			  struct fail *why)
{
	struct stat st;
	FILE *f;
	int fd, ret;

	*why = (struct fail){ "create", s->tmp };
	fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	*why = (struct fail){ "write", s->path };
	f = fdopen(fd, "w");
	if (!f) {
		ret = -errno;
		close(fd);
		goto fail_unlink;
	}
	errno = 0;
	ret = write_all(s, f, gen);
	if (!ret && fsync(fileno(f)))
		ret = -errno;
	if (!ret && fstat(fileno(f), &st))
		ret = -errno;
	if (fclose(f) && !ret)
		ret = -(errno ?: EIO);
	if (ret)
		goto fail_unlink;
	if (rename(s->tmp, s->path)) {
		ret = -errno;
		why->what = "rename";
		goto fail_unlink;
	}
	/* The rename is durable only once the directory is. */
	why->what = "sync the directory of";
	ret = fsync_dir(s->dir);
	if (ret)
		return ret;
	*size = st.st_size;
	return 0;
fail_unlink:
	unlink(s->tmp);
	return ret;
}

static int pwrite_full(int fd, const char *p, size_t n, uint64_t off)
{
	ssize_t w;

	while (n) {
		w = pwrite(fd, p, n, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (!w)
			return -EIO;
		p += w;
		n -= w;
		off += w;
	}
	return 0;
}

static uint64_t journal_bound(const struct sgd_store *s)
{
	return s->snap_size > JOURNAL_MIN ? s->snap_size : JOURNAL_MIN;
}

/*
 * A new, empty journal for the snapshot's generation, in place of any
 * other, the same way as the snapshot: whole or not at all.
 */
static int journal_start(struct sgd_store *s, struct fail *why)
{
	char head[64];
	int fd, n, ret;

	n = snprintf(head, sizeof(head), "%s %" PRIu64 "\n", JOURNAL_MAGIC,
		     s->gen);
	*why = (struct fail){ "create", s->jtmp };
	fd = open(s->jtmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	*why = (struct fail){ "write", s->jpath };
	ret = pwrite_full(fd, head, n, 0);
	if (!ret && fsync(fd))
		ret = -errno;
	if (!ret && rename(s->jtmp, s->jpath)) {
		ret = -errno;
		why->what = "rename";
	}
	if (ret) {
		close(fd);
		unlink(s->jtmp);
		return ret;
	}
	/* Not appended to before its name is durable. */
	why->what = "sync the directory of";
	ret = fsync_dir(s->dir);
	if (ret) {
		close(fd);
		return ret;
	}
	s->jfd = fd;
	s->jsize = n;
	s->bytes_written += n;
	s->compact_at = journal_bound(s);
	return 0;
}

static void journal_close(struct sgd_store *s)
{
	if (s->jfd >= 0)
		close(s->jfd);
	s->jfd = -1;
	s->jsize = 0;
}

/* Everything saved: nothing left to append. */
static void saved(struct sgd_store *s)
{
	ptab_clear(&s->changes);
	s->saved_kinstance = s->kinstance;
	s->saved_kflushes = s->kflushes;
	s->dirty = false;
	s->saves++;
}

int store_compact(struct sgd_store *s, uint64_t now, char *err, size_t len)
{
	struct fail why;
	uint64_t size = 0;
	int ret;

	if (s->readonly)
		return -EROFS;
	prune_expired(s, now);
	ret = snapshot_write(s, s->gen + 1, &size, &why);
	if (ret)
		return failed(s, &why, ret, err, len);
	/* The snapshot holds everything now: the old journal is stale. */
	journal_close(s);
	s->gen++;
	s->snap_size = size;
	s->have_snapshot = true;
	s->need_compact = false;
	s->compactions++;
	s->bytes_written += size;
	saved(s);
	ret = journal_start(s, &why);
	/* Nothing lost: without a journal the next save compacts again. */
	if (ret)
		return failed(s, &why, ret, err, len);
	return 0;
}

/* A record's lines, after REC_HEAD_MAX bytes of room for its header. */
struct recbuf {
	char *p;
	size_t n, cap;
	bool nomem;
};

static void rec_add(struct recbuf *r, const char *line, int n)
{
	size_t cap;
	char *p;

	if (r->nomem || n <= 0)
		return;
	if (r->n + n > r->cap) {
		cap = r->cap ? r->cap * 2 : 4096;
		while (cap < r->n + n)
			cap *= 2;
		p = realloc(r->p, cap);
		if (!p) {
			r->nomem = true;
			return;
		}
		r->p = p;
		r->cap = cap;
	}
	memcpy(r->p + r->n, line, n);
	r->n += n;
}

/* The record of what changed since the last save. */
static void rec_build(struct sgd_store *s, struct recbuf *r, uint64_t now)
{
	char line[LINE_MAX_LEN];
	struct sgd_offence *o;
	struct sgd_ban *b;
	size_t i;

	memset(line, ' ', REC_HEAD_MAX);
	rec_add(r, line, REC_HEAD_MAX);
	for (i = 0; i < s->changes.n; i++) {
		const struct sgd_change *c = ptab_at(&s->changes, i);

		if (c->what & STORE_CH_BAN) {
			b = ptab_find(&s->bans, &c->prefix);
			if (b && b->expires && b->expires <= now) {
				ptab_del(&s->bans, b);
				b = NULL;
			}
			rec_add(r, line, b ? ban_line(b, line, sizeof(line)) :
				gone_line("unban", &c->prefix, line,
					  sizeof(line)));
		}
		if (c->what & STORE_CH_OFFENCE) {
			o = ptab_find(&s->offences, &c->prefix);
			rec_add(r, line, o ?
				offence_line(o, line, sizeof(line)) :
				gone_line("unoffence", &c->prefix, line,
					  sizeof(line)));
		}
	}
	/*
	 * Instance 0 (a kernel without instances) has no kernel line, its
	 * flush count is not kept: only the snapshot can say the line went.
	 */
	if (s->kinstance && (s->kinstance != s->saved_kinstance ||
			     s->kflushes != s->saved_kflushes))
		rec_add(r, line, snprintf(line, sizeof(line),
					  "kernel %" PRIu64 " %u\n",
					  s->kinstance, s->kflushes));
	else if (!s->kinstance && s->saved_kinstance)
		r->nomem = true;
}

/* One write and one fdatasync: the record is whole on disk, or ignored. */
static int journal_append(struct sgd_store *s, struct recbuf *r)
{
	size_t plen = r->n - REC_HEAD_MAX;
	char head[REC_HEAD_MAX + 1];
	int hlen, ret;
	char *start;

	hlen = snprintf(head, sizeof(head), "J %zu %08x\n", plen,
			crc32c(r->p + REC_HEAD_MAX, plen));
	start = r->p + REC_HEAD_MAX - hlen;
	memcpy(start, head, hlen);
	ret = pwrite_full(s->jfd, start, hlen + plen, s->jsize);
	if (!ret && fdatasync(s->jfd))
		ret = -errno;
	if (ret) {
		/*
		 * What reached the disk is unknown (after a failed fsync, even
		 * what the page cache says): the next save rewrites it all.
		 */
		if (ftruncate(s->jfd, s->jsize) && !ret)
			ret = -errno;
		journal_close(s);
		s->need_compact = true;
		return ret;
	}
	s->jsize += hlen + plen;
	s->appends++;
	s->bytes_written += hlen + plen;
	return 0;
}

int store_save(struct sgd_store *s, uint64_t now, char *err, size_t len)
{
	struct recbuf r = { 0 };
	struct fail why;
	int ret;

	if (s->readonly)
		return -EROFS;
	/* No journal to append to, or it cannot say what changed. */
	if (s->need_compact || !s->have_snapshot || s->jfd < 0)
		return store_compact(s, now, err, len);
	if (!s->changes.n && s->kinstance == s->saved_kinstance &&
	    s->kflushes == s->saved_kflushes) {
		s->dirty = false;
		return 0;
	}
	rec_build(s, &r, now);
	/* nomem: the record cannot say it all; the snapshot can. */
	if (r.nomem || s->jsize + r.n > s->compact_at) {
		free(r.p);
		return store_compact(s, now, err, len);
	}
	ret = journal_append(s, &r);
	free(r.p);
	if (ret) {
		why = (struct fail){ "append to", s->jpath };
		return failed(s, &why, ret, err, len);
	}
	saved(s);
	return 0;
}

/* ---- reading ---------------------------------------------------------------------- */

struct reader {
	struct sgd_store *s;
	unsigned int line;
	size_t nbans, noff;
	bool magic, gen, end, kernel;
	bool journal;		/* records: lines replace, unban deletes */
	char why[160];
};

static int bad(struct reader *r, const char *why)
{
	snprintf(r->why, sizeof(r->why), "%s", why);
	return -EINVAL;
}

static int read_prefix(struct reader *r, const char *text, struct sg_prefix *p)
{
	char err[SG_PARSE_ERRLEN];

	if (!text || sg_prefix_parse(text, p, err, sizeof(err)) ||
	    !strchr(text, '/'))
		return bad(r, "bad PREFIX");
	return 0;
}

static int read_u64(const char *text, uint64_t *v)
{
	return !text || sg_parse_uint(text, UINT64_MAX, v) ? -EINVAL : 0;
}

/* Every field checked before the table changes: a bad line changes nothing. */
static int read_ban(struct reader *r, char **w, int nw)
{
	struct sgd_ban nb = { 0 }, *b;
	bool created;

	if (nw != 6)
		return bad(r, "a ban line has 6 fields");
	if (read_prefix(r, w[1], &nb.prefix))
		return -EINVAL;
	if (!strcmp(w[2], "all"))
		nb.scope = SMTPGATE_SCOPE_ALL;
	else if (!strcmp(w[2], "smtp"))
		nb.scope = SMTPGATE_SCOPE_SMTP;
	else
		return bad(r, "bad SCOPE");
	if (read_u64(w[3], &nb.expires))
		return bad(r, "bad EXPIRES");
	if (read_u64(w[4], &nb.created))
		return bad(r, "bad CREATED");
	if (reason_decode(w[5], nb.reason, sizeof(nb.reason)))
		return bad(r, "bad REASON");
	b = ptab_get(&r->s->bans, &nb.prefix, &created);
	if (!b)
		return bad(r, "out of memory");
	if (!created && !r->journal)
		return bad(r, "the prefix has a ban already");
	*b = nb;
	r->nbans++;
	return 0;
}

static int read_offence(struct reader *r, char **w, int nw)
{
	struct sgd_offence no = { 0 }, *o;
	uint64_t count;
	bool created;

	if (nw != 5)
		return bad(r, "an offence line has 5 fields");
	if (read_prefix(r, w[1], &no.prefix))
		return -EINVAL;
	if (read_u64(w[2], &count) || !count || count > UINT32_MAX)
		return bad(r, "bad COUNT");
	no.count = count;
	if (read_u64(w[3], &no.last))
		return bad(r, "bad LAST");
	if (read_u64(w[4], &no.clean_from))
		return bad(r, "bad CLEAN_FROM");
	o = ptab_get(&r->s->offences, &no.prefix, &created);
	if (!o)
		return bad(r, "out of memory");
	if (!created && !r->journal)
		return bad(r, "the prefix has an offence line already");
	*o = no;
	r->noff++;
	return 0;
}

/* Journal only: the ban or offence of PREFIX is gone (if it was there). */
static int read_gone(struct reader *r, struct ptab *t, char **w, int nw)
{
	struct sg_prefix p;
	void *rec;

	if (nw != 2)
		return bad(r, "an unban or unoffence line has 2 fields");
	if (read_prefix(r, w[1], &p))
		return -EINVAL;
	rec = ptab_find(t, &p);
	if (rec)
		ptab_del(t, rec);
	return 0;
}

static int read_kernel(struct reader *r, char **w, int nw)
{
	uint64_t inst, fl;

	if (r->kernel && !r->journal)
		return bad(r, "a second kernel line");
	if (nw != 3 || read_u64(w[1], &inst) || !inst ||
	    read_u64(w[2], &fl) || fl > UINT32_MAX)
		return bad(r, "bad kernel line");
	r->s->kinstance = inst;
	r->s->kflushes = fl;
	r->kernel = true;
	return 0;
}

static int read_end(struct reader *r, char **w, int nw)
{
	uint64_t nb, no;

	if (nw != 3 || read_u64(w[1], &nb) || read_u64(w[2], &no))
		return bad(r, "bad end line");
	if (nb != r->nbans || no != r->noff)
		return bad(r, "the end line's counts do not match the records");
	r->end = true;
	return 0;
}

static int split(char *line, char **w, int max)
{
	char *save = NULL, *tok;
	int nw = 0;

	for (tok = strtok_r(line, " ", &save); tok && nw < max;
	     tok = strtok_r(NULL, " ", &save))
		w[nw++] = tok;
	return nw;
}

static int read_line(struct reader *r, char *line)
{
	uint64_t gen;
	char *w[8];
	int nw;

	line[strcspn(line, "\n")] = '\0';
	if (r->end)
		return bad(r, "text after the end line");
	if (!r->magic) {
		if (!strcmp(line, STORE_MAGIC_V1)) {
			r->gen = true;	/* none: generation 0 */
		} else if (strcmp(line, STORE_MAGIC)) {
			return bad(r, "not a smtpgated state file "
				   "(version 1 or 2)");
		}
		r->magic = true;
		return 0;
	}
	nw = split(line, w, 8);
	if (!nw)
		return bad(r, "an empty line");
	if (!r->gen) {
		if (strcmp(w[0], "generation") || nw != 2 ||
		    read_u64(w[1], &gen) || !gen)
			return bad(r, "no generation line after the version");
		r->s->gen = gen;
		r->gen = true;
		return 0;
	}
	if (!strcmp(w[0], "ban"))
		return read_ban(r, w, nw);
	if (!strcmp(w[0], "offence"))
		return read_offence(r, w, nw);
	if (!strcmp(w[0], "kernel"))
		return read_kernel(r, w, nw);
	if (!strcmp(w[0], "end"))
		return read_end(r, w, nw);
	return bad(r, "unknown record");
}

static int read_jline(struct reader *r, char *line)
{
	char *w[8];
	int nw = split(line, w, 8);

	if (!nw)
		return bad(r, "an empty line");
	if (!strcmp(w[0], "ban"))
		return read_ban(r, w, nw);
	if (!strcmp(w[0], "unban"))
		return read_gone(r, &r->s->bans, w, nw);
	if (!strcmp(w[0], "offence"))
		return read_offence(r, w, nw);
	if (!strcmp(w[0], "unoffence"))
		return read_gone(r, &r->s->offences, w, nw);
	if (!strcmp(w[0], "kernel"))
		return read_kernel(r, w, nw);
	return bad(r, "unknown record");
}

/* Keeps a corrupt file for a human, under a name no later run overwrites. */
static int move_aside(const char *path, char *to, size_t len)
{
	unsigned long long t = time(NULL);
	unsigned int n;

	snprintf(to, len, "%s.corrupt-%llu", path, t);
	for (n = 1; !access(to, F_OK) && n < 1000; n++)
		snprintf(to, len, "%s.corrupt-%llu.%u", path, t, n);
	if (rename(path, to))
		return -errno;
	return 0;
}

static void store_reset(struct sgd_store *s)
{
	ptab_clear(&s->bans);
	ptab_clear(&s->offences);
	ptab_clear(&s->changes);
	s->kinstance = s->saved_kinstance = 0;
	s->kflushes = s->saved_kflushes = 0;
	s->gen = 0;
	s->snap_size = 0;
	s->have_snapshot = false;
	s->need_compact = false;
	s->dirty = false;
	s->jrecords = 0;
	s->torn_bytes = 0;
	journal_close(s);
}

/*
 * The snapshot: 0 (loaded, or none), 1 (corrupt: moved aside, @msg says
 * where), <0 (cannot read; read-only: corrupt).
 */
static int snapshot_load(struct sgd_store *s, char *msg, size_t len)
{
	struct reader r = { .s = s };
	char *line = NULL, aside[4096];
	size_t cap = 0;
	uint64_t bytes = 0;
	ssize_t n;
	FILE *f;
	int ret = 0;

	f = fopen(s->path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		ret = -errno;
		snprintf(msg, len, "cannot read %s: %s", s->path,
			 strerror(errno));
		return ret;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		r.line++;
		bytes += n;
		if (strlen(line) != (size_t)n) {
			ret = bad(&r, "a NUL byte");
			break;
		}
		if (line[n - 1] != '\n') {
			ret = bad(&r, "a line without its newline (truncated?)");
			break;
		}
		ret = read_line(&r, line);
		if (ret)
			break;
	}
	if (!ret && ferror(f))
		ret = bad(&r, "read error");
	if (!ret && !r.end) {
		r.line++;
		ret = bad(&r, r.magic ? "no end line (truncated?)" : "empty file");
	}
	free(line);
	fclose(f);
	if (!ret) {
		s->have_snapshot = true;
		s->snap_size = bytes;
		s->saved_kinstance = s->kinstance;
		s->saved_kflushes = s->kflushes;
		return 0;
	}
	store_reset(s);
	if (s->readonly) {
		snprintf(msg, len, "%s:%u: %s", s->path, r.line, r.why);
		return -EINVAL;
	}
	/* Not moved aside, it would be overwritten by the next save. */
	ret = move_aside(s->path, aside, sizeof(aside));
	if (ret) {
		snprintf(msg, len, "%s:%u: %s; cannot move it aside to %s: %s",
			 s->path, r.line, r.why, aside, strerror(-ret));
		return ret;
	}
	snprintf(msg, len, "%s:%u: %s; moved aside to %s, starting from the "
		 "kernel's bans", s->path, r.line, r.why, aside);
	s->need_compact = true;
	s->dirty = true;
	return 1;
}

/* A journal that cannot be used: kept for a human; what is loaded stays. */
static int journal_aside(struct sgd_store *s, char *msg, size_t len,
			 const char *keeps)
{
	char aside[4096];
	size_t n = strlen(msg);
	int ret;

	if (s->readonly)
		return -EINVAL;
	s->need_compact = true;
	s->dirty = true;
	ret = move_aside(s->jpath, aside, sizeof(aside));
	if (ret) {
		snprintf(msg + n, len - n, "; cannot move it aside to %s: %s",
			 aside, strerror(-ret));
		return ret;
	}
	snprintf(msg + n, len - n, "; moved aside to %s, %s", aside, keeps);
	return 1;
}

/*
 * The record at @off: its lines in *@p, *@plen bytes, the next record at
 * *@next.  Anything but a whole record with its checksum is an error.
 */
static const char *rec_parse(const char *buf, size_t size, size_t off,
			     const char **p, size_t *plen, size_t *next)
{
	const char *h = buf + off, *nl, *c;
	size_t avail = size - off, n = 0, hlen;
	uint32_t crc = 0;
	int i, d;

	nl = memchr(h, '\n', avail < REC_HEAD_MAX ? avail : REC_HEAD_MAX);
	if (!nl)
		return "no record header";
	hlen = nl + 1 - h;
	if (h[0] != 'J' || h[1] != ' ' || h[2] < '1' || h[2] > '9')
		return "no record header";
	for (c = h + 2; *c >= '0' && *c <= '9'; c++) {
		if (n > (SIZE_MAX - 9) / 10)
			return "bad record length";
		n = n * 10 + (*c - '0');
	}
	if (*c++ != ' ' || nl - c != 8)
		return "bad record header";
	for (i = 0; i < 8; i++) {
		d = hexval(c[i]);
		if (d < 0)
			return "bad record header";
		crc = crc << 4 | d;
	}
	if (n > avail - hlen)
		return "a record past the end of the file";
	*p = nl + 1;
	*plen = n;
	*next = off + hlen + n;
	if ((*p)[n - 1] != '\n')
		return "a record not ending with a newline";
	if (crc32c(*p, n) != crc)
		return "bad checksum";
	return NULL;
}

/* A whole, valid record anywhere after @off: what a torn tail never has. */
static bool valid_after(const char *buf, size_t size, size_t off)
{
	const char *p, *q;
	size_t plen, next;

	for (q = buf + off; (q = memchr(q, '\n', buf + size - q)); q++)
		if (q + 1 < buf + size &&
		    !rec_parse(buf, size, q + 1 - buf, &p, &plen, &next))
			return true;
	return false;
}

/* Applies a record's lines; @r->line counts them, for the message. */
static int rec_apply(struct reader *r, const char *p, size_t plen)
{
	const char *end = p + plen, *nl;
	char line[LINE_MAX_LEN];

	for (r->line = 1; p < end; p = nl + 1, r->line++) {
		nl = memchr(p, '\n', end - p);
		if ((size_t)(nl - p) >= sizeof(line))
			return bad(r, "a line too long");
		memcpy(line, p, nl - p);
		line[nl - p] = '\0';
		if (strlen(line) != (size_t)(nl - p))
			return bad(r, "a NUL byte");
		if (read_jline(r, line))
			return -EINVAL;
	}
	return 0;
}

/*
 * A record is applied whole or not at all, as it was saved: after one
 * that fails half-way, the load starts again and stops before it (rare,
 * so the common load parses each line once).
 */
static int rewind_to(struct sgd_store *s, const char *buf, size_t from,
		     size_t to)
{
	struct reader r = { .s = s, .journal = true };
	size_t off, plen, next;
	char msg[4608];
	const char *p;

	ptab_clear(&s->bans);
	ptab_clear(&s->offences);
	s->kinstance = s->kflushes = 0;
	s->jrecords = 0;
	if (snapshot_load(s, msg, sizeof(msg)))
		return -EIO;
	for (off = from; off < to; off = next) {
		if (rec_parse(buf, to, off, &p, &plen, &next) ||
		    rec_apply(&r, p, plen))
			return -EIO;
		s->jrecords++;
	}
	return 0;
}

/* "smtpgated-journal 1 GEN\n" */
static int journal_head(const char *buf, size_t size, uint64_t *gen,
			size_t *hlen)
{
	const size_t m = sizeof(JOURNAL_MAGIC);	/* and the space */
	char line[64];
	const char *nl;

	nl = memchr(buf, '\n', size < sizeof(line) ? size : sizeof(line));
	if (!nl)
		return -1;
	*hlen = nl + 1 - buf;
	memcpy(line, buf, nl - buf);
	line[nl - buf] = '\0';
	if (strncmp(line, JOURNAL_MAGIC " ", m) || read_u64(line + m, gen))
		return -1;
	return 0;
}

static int read_full(int fd, char *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = pread(fd, buf + got, n - got, got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r ? -errno : -EIO;
		got += r;
	}
	return 0;
}

/*
 * The journal on top of the snapshot just loaded: 0 (replayed, a torn
 * tail dropped and said in @msg, or stale and left), 1 (corrupt: moved
 * aside, what came before it kept), <0 (cannot read; read-only: corrupt).
 * @fd becomes s->jfd when appends may go on.
 */
static int journal_load(struct sgd_store *s, int fd, char *msg, size_t len)
{
	struct reader r = { .s = s, .journal = true };
	size_t size, off, hlen, plen, next;
	const char *why, *p;
	char *buf = NULL;
	uint64_t jgen;
	struct stat st;
	int ret;

	if (fstat(fd, &st)) {
		ret = -errno;
		goto unreadable;
	}
	size = st.st_size;
	/* Created whole (journal_start): empty means never written. */
	if (!size) {
		close(fd);
		return 0;
	}
	buf = malloc(size + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto unreadable;
	}
	ret = read_full(fd, buf, size);
	if (ret)
		goto unreadable;
	buf[size] = '\0';
	if (journal_head(buf, size, &jgen, &hlen)) {
		snprintf(msg, len, "%s: offset 0: not a smtpgated journal "
			 "(version 1)", s->jpath);
		ret = journal_aside(s, msg, len, "the snapshot alone loaded");
		goto out;
	}
	if (!s->have_snapshot || jgen > s->gen) {
		snprintf(msg, len, "%s: generation %" PRIu64 ", but the "
			 "snapshot's is %" PRIu64 "%s", s->jpath, jgen, s->gen,
			 s->have_snapshot ? " (was the snapshot replaced?)" :
			 " (no snapshot)");
		ret = journal_aside(s, msg, len, "the snapshot alone loaded");
		goto out;
	}
	if (jgen < s->gen) {
		/* A compaction ended before its new journal: the next save
		 * starts one. */
		snprintf(msg, len, "%s: generation %" PRIu64 ", older than the "
			 "snapshot's %" PRIu64 ": left by an interrupted "
			 "compaction, its records are in the snapshot",
			 s->jpath, jgen, s->gen);
		ret = 0;
		goto out;
	}
	for (off = hlen; off < size; off = next) {
		why = rec_parse(buf, size, off, &p, &plen, &next);
		if (why && valid_after(buf, size, off)) {
			snprintf(msg, len, "%s: offset %zu: %s, and valid "
				 "records after it (not a torn write)",
				 s->jpath, off, why);
			ret = journal_aside(s, msg, len, "keeping the snapshot "
					    "and the records before it");
			goto out;
		}
		if (why)
			break;
		if (rec_apply(&r, p, plen)) {
			snprintf(msg, len, "%s: offset %zu (the record's line "
				 "%u): %s", s->jpath, off, r.line, r.why);
			if (rewind_to(s, buf, hlen, off)) {
				ret = -EIO;
				goto out;
			}
			ret = journal_aside(s, msg, len, "keeping the snapshot "
					    "and the records before it");
			goto out;
		}
		s->jrecords++;
	}
	s->saved_kinstance = s->kinstance;
	s->saved_kflushes = s->kflushes;
	s->jsize = off;
	s->compact_at = journal_bound(s);
	if (off < size) {
		/* Never acknowledged: its fdatasync had not returned. */
		s->torn_bytes = size - off;
		snprintf(msg, len, "%s: dropped a torn tail of %zu bytes at "
			 "offset %zu (%s): a save the crash interrupted, never "
			 "acknowledged; %" PRIu64 " records before it replayed",
			 s->jpath, size - off, off, why, s->jrecords);
		if (!s->readonly && (ftruncate(fd, off) || fdatasync(fd))) {
			ret = -errno;
			goto unreadable;
		}
	}
	free(buf);
	if (s->readonly)
		close(fd);
	else
		s->jfd = fd;
	return 0;
unreadable:
	snprintf(msg, len, "cannot read %s: %s", s->jpath, strerror(-ret));
out:
	free(buf);
	close(fd);
	return ret;
}

int store_load(struct sgd_store *s, char *msg, size_t len)
{
	char aside[4096];
	size_t n;
	int ret, jfd;

	msg[0] = '\0';
	store_reset(s);
	/* A crash during a save leaves these; the real files are intact. */
	if (!s->readonly) {
		unlink(s->tmp);
		unlink(s->jtmp);
	}
	/*
	 * The journal first: a compaction between the two opens then shows
	 * as a stale journal, never as one newer than its snapshot (for
	 * store_dump beside a running daemon).
	 */
	jfd = open(s->jpath, (s->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (jfd < 0 && errno != ENOENT) {
		ret = -errno;
		snprintf(msg, len, "cannot read %s: %s", s->jpath,
			 strerror(errno));
		return ret;
	}
	ret = snapshot_load(s, msg, len);
	if (ret && jfd >= 0) {
		close(jfd);
		/* Its records are changes to what was just moved aside. */
		n = strlen(msg);
		if (ret > 0 && move_aside(s->jpath, aside, sizeof(aside)))
			snprintf(msg + n, len - n, "; cannot move %s aside",
				 s->jpath);
		else if (ret > 0)
			snprintf(msg + n, len - n, "; its journal moved aside "
				 "to %s", aside);
	}
	if (ret || jfd < 0)
		return ret;
	return journal_load(s, jfd, msg, len);
}
