// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's memory across crashes, restarts and reboots: the bans it
 * knows (its own and those added by hand) and each host's offence history,
 * in one text file under state_dir:
 *
 *   smtpgated-state 1
 *   ban PREFIX SCOPE EXPIRES CREATED REASON
 *   offence PREFIX COUNT LAST CLEAN_FROM
 *   kernel INSTANCE FLUSHES
 *   end NBANS NOFFENCES
 *
 * Times are Unix seconds (EXPIRES 0: permanent); REASON is percent-encoded
 * so it is one word ("-" when empty).  One file, so bans and offences are
 * always consistent with each other.  The kernel line (at most one,
 * absent from files written before it existed) names the kernel state the
 * bans were last reconciled with: its STATS_INSTANCE and STATS_FLUSHES.
 *
 * It is written whole, atomically: a temporary file, fsync, rename over the
 * old one, fsync of the directory.  A SIGKILL or power loss leaves either
 * the old or the new file, never a mix.  The daemon writes it before it
 * asks the kernel for a ban, so no ban the kernel enforces is ever missing
 * from both the file and the kernel after a crash.
 *
 * Reading is strict: a file that does not parse in full (the end line
 * counts its records, so truncation shows) is reported with file:line,
 * renamed to smtpgated.state.corrupt-TIME for a human to look at, and the
 * daemon goes on with what the kernel still holds.  It is never silently
 * dropped or half-read.
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

#define STORE_MAGIC	"smtpgated-state 1"
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
	ptab_init(&s->bans, sizeof(struct sgd_ban));
	ptab_init(&s->offences, sizeof(struct sgd_offence));
	s->dir = strdup(dir);
	s->path = path_join(dir, SGD_STATE_FILE);
	s->tmp = path_join(dir, SGD_STATE_FILE ".tmp");
	if (!s->dir || !s->path || !s->tmp) {
		store_free(s);
		return -ENOMEM;
	}
	return 0;
}

void store_free(struct sgd_store *s)
{
	ptab_free(&s->bans);
	ptab_free(&s->offences);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->dir);
	free(s->path);
	free(s->tmp);
	s->dir = s->path = s->tmp = NULL;
	s->lock_fd = -1;
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

struct sgd_ban *store_ban_put(struct sgd_store *s, const struct sg_prefix *p)
{
	struct sgd_ban *b = ptab_get(&s->bans, p, NULL);

	if (b)
		s->dirty = true;
	return b;
}

void store_ban_del(struct sgd_store *s, struct sgd_ban *b)
{
	ptab_del(&s->bans, b);
	s->dirty = true;
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

static void write_ban(FILE *f, const struct sgd_ban *b)
{
	char pfx[SG_PREFIX_STRLEN], reason[SMTPGATE_BAN_REASON_LEN * 3 + 4];

	reason_encode(b->reason, reason, sizeof(reason));
	fprintf(f, "ban %s %s %" PRIu64 " %" PRIu64 " %s\n",
		sg_prefix_str(&b->prefix, pfx, sizeof(pfx)),
		scope_word(b->scope), b->expires, b->created, reason);
}

static void write_offence(FILE *f, const struct sgd_offence *o)
{
	char pfx[SG_PREFIX_STRLEN];

	fprintf(f, "offence %s %u %" PRIu64 " %" PRIu64 "\n",
		sg_prefix_str(&o->prefix, pfx, sizeof(pfx)), o->count,
		o->last, o->clean_from);
}

/* Bans past their end are the kernel's to forget too: not worth keeping. */
static void prune_expired(struct sgd_store *s, uint64_t now)
{
	size_t i;

	for (i = s->bans.n; i-- > 0;) {
		struct sgd_ban *b = ptab_at(&s->bans, i);

		if (b->expires && b->expires <= now)
			ptab_del(&s->bans, b);
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

static int write_all(struct sgd_store *s, FILE *f)
{
	size_t i;

	fprintf(f, "%s\n", STORE_MAGIC);
	for (i = 0; i < s->bans.n; i++)
		write_ban(f, ptab_at(&s->bans, i));
	for (i = 0; i < s->offences.n; i++)
		write_offence(f, ptab_at(&s->offences, i));
	if (s->kinstance)
		fprintf(f, "kernel %" PRIu64 " %u\n", s->kinstance,
			s->kflushes);
	fprintf(f, "end %zu %zu\n", s->bans.n, s->offences.n);
	if (fflush(f) || ferror(f))
		return -(errno ?: EIO);
	if (fsync(fileno(f)))
		return -errno;
	return 0;
}

int store_save(struct sgd_store *s, uint64_t now, char *err, size_t len)
{
	const char *what = "write";
	FILE *f;
	int fd, ret;

	prune_expired(s, now);
	fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		what = "create";
		goto fail;
	}
	f = fdopen(fd, "w");
	if (!f) {
		ret = -errno;
		close(fd);
		goto fail_unlink;
	}
	errno = 0;
	ret = write_all(s, f);
	if (fclose(f) && !ret)
		ret = -(errno ?: EIO);
	if (ret)
		goto fail_unlink;
	if (rename(s->tmp, s->path)) {
		ret = -errno;
		what = "rename";
		goto fail_unlink;
	}
	/* The rename is durable only once the directory is. */
	ret = fsync_dir(s->dir);
	if (ret) {
		what = "sync the directory of";
		goto fail;
	}
	s->dirty = false;
	s->saves++;
	return 0;
fail_unlink:
	unlink(s->tmp);
fail:
	s->save_errors++;
	snprintf(err, len, "cannot %s %s: %s", what,
		 !strcmp(what, "create") ? s->tmp : s->path, strerror(-ret));
	return ret;
}

/* ---- reading ---------------------------------------------------------------------- */

struct reader {
	struct sgd_store *s;
	unsigned int line;
	size_t nbans, noff;
	bool magic, end, kernel;
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
		return bad(r, "bad prefix");
	return 0;
}

static int read_u64(const char *text, uint64_t *v)
{
	return !text || sg_parse_uint(text, UINT64_MAX, v) ? -EINVAL : 0;
}

static int read_ban(struct reader *r, char **w, int nw)
{
	struct sgd_ban *b;
	struct sg_prefix p;
	bool created;
	uint8_t scope;

	if (nw != 6)
		return bad(r, "a ban line has 6 fields");
	if (read_prefix(r, w[1], &p))
		return -EINVAL;
	if (!strcmp(w[2], "all"))
		scope = SMTPGATE_SCOPE_ALL;
	else if (!strcmp(w[2], "smtp"))
		scope = SMTPGATE_SCOPE_SMTP;
	else
		return bad(r, "bad scope");
	b = ptab_get(&r->s->bans, &p, &created);
	if (!b)
		return bad(r, "out of memory");
	if (!created)
		return bad(r, "the prefix has a ban already");
	b->scope = scope;
	if (read_u64(w[3], &b->expires) || read_u64(w[4], &b->created))
		return bad(r, "bad time");
	if (reason_decode(w[5], b->reason, sizeof(b->reason)))
		return bad(r, "bad reason");
	r->nbans++;
	return 0;
}

static int read_offence(struct reader *r, char **w, int nw)
{
	struct sgd_offence *o;
	struct sg_prefix p;
	uint64_t count;
	bool created;

	if (nw != 5)
		return bad(r, "an offence line has 5 fields");
	if (read_prefix(r, w[1], &p))
		return -EINVAL;
	o = ptab_get(&r->s->offences, &p, &created);
	if (!o)
		return bad(r, "out of memory");
	if (!created)
		return bad(r, "the prefix has an offence line already");
	if (read_u64(w[2], &count) || !count || count > UINT32_MAX)
		return bad(r, "bad count");
	o->count = count;
	if (read_u64(w[3], &o->last) || read_u64(w[4], &o->clean_from))
		return bad(r, "bad time");
	r->noff++;
	return 0;
}

static int read_kernel(struct reader *r, char **w, int nw)
{
	uint64_t inst, fl;

	if (r->kernel)
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

static int read_line(struct reader *r, char *line)
{
	char *w[8], *save = NULL, *tok;
	int nw = 0;

	line[strcspn(line, "\n")] = '\0';
	if (r->end)
		return bad(r, "text after the end line");
	if (!r->magic) {
		if (strcmp(line, STORE_MAGIC))
			return bad(r, "not a smtpgated state file (version 1)");
		r->magic = true;
		return 0;
	}
	for (tok = strtok_r(line, " ", &save); tok && nw < 8;
	     tok = strtok_r(NULL, " ", &save))
		w[nw++] = tok;
	if (!nw)
		return bad(r, "an empty line");
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

/* Keeps a corrupt file for a human, under a name no later run overwrites. */
static int move_aside(struct sgd_store *s, char *to, size_t len)
{
	unsigned long long t = time(NULL);
	unsigned int n;

	snprintf(to, len, "%s.corrupt-%llu", s->path, t);
	for (n = 1; !access(to, F_OK) && n < 1000; n++)
		snprintf(to, len, "%s.corrupt-%llu.%u", s->path, t, n);
	if (rename(s->path, to))
		return -errno;
	return 0;
}

int store_load(struct sgd_store *s, char *msg, size_t len)
{
	struct reader r = { .s = s };
	char *line = NULL, aside[4096];
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int ret = 0;

	msg[0] = '\0';
	ptab_clear(&s->bans);
	ptab_clear(&s->offences);
	s->kinstance = 0;
	s->kflushes = 0;
	/* A crash during a save leaves this; the real file is intact. */
	unlink(s->tmp);
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
	if (!ret)
		return 0;
	ptab_clear(&s->bans);
	ptab_clear(&s->offences);
	s->kinstance = 0;
	s->kflushes = 0;
	/* Not moved aside, it would be overwritten by the next save. */
	ret = move_aside(s, aside, sizeof(aside));
	if (ret) {
		snprintf(msg, len, "%s:%u: %s; cannot move it aside to %s: %s",
			 s->path, r.line, r.why, aside, strerror(-ret));
		return ret;
	}
	snprintf(msg, len, "%s:%u: %s; moved aside to %s, starting from the "
		 "kernel's bans", s->path, r.line, r.why, aside);
	s->dirty = true;
	return 1;
}
